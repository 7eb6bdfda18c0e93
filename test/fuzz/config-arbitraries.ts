/**
 * Random options for captureHeaders() and mcpProxy(). Objects are written as JSON text and parsed,
 * so `__proto__` becomes an own key as it would from a configuration file; values JSON cannot hold
 * (a logger, a secret provider, a URL, a function) are spliced in by the reviver.
 */
import fc from 'fast-check';
import { VALUE_SENTINEL, casing, valueString } from './arbitraries.js';
import { baseName } from './config-names.js';

/** An object literal with its entries in order; keys may be `__proto__` or repeat in another case. */
export class Obj {
  constructor(readonly entries: ReadonlyArray<readonly [string, unknown]>) {}
}

/** A value spliced in after JSON.parse (not JSON-representable). */
export class Live {
  constructor(readonly value: unknown) {}
}

export interface ConfigCase {
  readonly kind: 'capture' | 'proxy';
  readonly options: Obj;
  /** The secret store behind envSecrets(); also an Obj, so `__proto__` can be a secret name. */
  readonly env: Obj;
}

const S = VALUE_SENTINEL;

/** A configured value: mostly sentinel + text, sometimes padded, empty or of a wrong type. */
const configValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.string({ unit: fc.constantFrom(...'abc-XYZ_09 ~=') }).map((v) => `${S}${v}.`), weight: 30 },
  { arbitrary: valueString.map((v) => S + v), weight: 10 },
  { arbitrary: fc.tuple(fc.constantFrom(' ', '\t', ''), valueString, fc.constantFrom(' ', '\t', '')).map(([a, v, b]) => a + S + v + b), weight: 2 },
  { arbitrary: fc.integer({ min: 250, max: 9000 }).map((n) => S + 'v'.repeat(n)), weight: 1 },
  { arbitrary: fc.constantFrom('', 42, true, null, [`${S}-in-array`], new Obj([['v', `${S}-in-object`]])), weight: 2 },
);

/** A value of the wrong type for an option that wants a list, map or scalar. */
const wrongType = fc.constantFrom<unknown>(null, 'x-tenant', 7, true, [], new Obj([]), [`${S}-x`], new Obj([['__proto__', `${S}-y`]]));

const secretNames = ['API_KEY', 'TOKEN', '__proto__', 'constructor', 'toString', 'unset_secret', '.hidden', '-dash', 'a/b', ''];
const secretName = fc.oneof({ arbitrary: fc.constantFrom(...secretNames), weight: 10 }, { arbitrary: fc.constantFrom<unknown>(5, null), weight: 1 });

const env: fc.Arbitrary<Obj> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...secretNames), configValue), { selector: ([k]) => k, maxLength: 6 })
  .map((entries) => new Obj(entries));

/** An option left out (a missing key, not `undefined`) one time in `freq`. */
const optional = <T>(arb: fc.Arbitrary<T>, freq = 2): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq });

/** Mostly a valid choice, sometimes one of the invalid ones. */
const validOr = (valid: unknown[], invalid: unknown[]): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: fc.constantFrom(...valid), weight: 15 }, { arbitrary: fc.constantFrom(...invalid), weight: 1 });

const maxValueLength = optional(validOr([8, 16, 64, 300, 8192, 65_536], [0, 65_537, 2.5, -1, '8192']));
const allowCredentials = optional(validOr([true, false], ['true', 1]));
const timeoutValue = (): fc.Arbitrary<unknown> => optional(validOr([1, 30_000, 2 ** 31 - 1], [0, 2 ** 31, 1.5, '100']), 4);
/** The option removed in 0.2.0: always refused, whatever its value. */
const removedTimeout = optional(fc.constantFrom<unknown>(30_000, `${S}-timeout`), 20);

const HOSTS = ['gateway.example', 'localhost:8080', '[::1]', '127.0.0.1', 'GW.Example:443', 'a-b.c'];
const BAD_HOSTS = ['', 'http://x', 'a b', 'x:0', 'x:70000', '*.example.com', 'host/path', '-bad.example', '[::1', `${S}:x`];
const ORIGINS = ['https://app.example', 'http://localhost:5173', 'HTTPS://App.Example:443/', 'vscode-webview://abc', 'http://[::1]:3000'];
const BAD_ORIGINS = ['', 'app.example', 'https://app.example/path', 'https://u@app.example', 'https://', `https://${S} x`, 'http://x:99999'];
/** An allowlist: mostly valid entries, sometimes a bad one, `['*']`, `*` among others, empty, or the wrong type. */
const allowlist = (valid: string[], invalid: string[]): fc.Arbitrary<unknown> =>
  optional(
    fc.oneof(
      { arbitrary: fc.array(validOr(valid, invalid), { minLength: 1, maxLength: 3 }), weight: 10 },
      { arbitrary: fc.constantFrom<unknown>(['*'], ['*', valid[0]], [], 'gateway.example', 7), weight: 2 },
    ),
    4,
  );

const TARGET = 'http://127.0.0.1:9/mcp';
const target = validOr(
  [TARGET, 'https://backend.test/mcp?x=1', new Live(new URL(TARGET))],
  ['not a url', '', 'ftp://127.0.0.1/', 42, null, `http://user:${S}pw@127.0.0.1:9/mcp`, `http://${S}@127.0.0.1/`, `http://127.0.0.1:9/mcp#${S}`],
);

const session = optional(
  validOr(
    [
      'request',
      'bind',
      new Obj([['mode', 'request']]),
      new Obj([['mode', 'bind']]),
      new Obj([
        ['mode', 'bind'],
        ['sessionKey', `${S}${'k'.repeat(40)}`],
      ]),
      new Obj([
        ['mode', 'pin'],
        ['principal', new Live(() => 'someone')],
      ]),
    ],
    [
      'pin',
      'bogus',
      7,
      new Obj([['mode', 'pin']]),
      new Obj([
        ['mode', 'bind'],
        ['sessionKey', `${S}-short`],
      ]),
      new Obj([
        ['mode', 'request'],
        ['sessionKey', `${S}${'k'.repeat(40)}`],
      ]),
      new Obj([['mode', '__proto__']]),
      new Obj([['__proto__', new Obj([['mode', 'bind']])]]),
    ],
  ),
  4,
);

/** Keys neither factory knows (or only the other one does), including pollution payloads. */
const extraKey = fc.tuple(
  fc.constantFrom('pasthrough', 'Allow', 'allowcredentials', '__proto__', 'constructor', 'prototype', 'toString', 'headers', 'allow'),
  fc.constantFrom<unknown>(new Obj([['allowCredentials', true]]), null, 1, `${S}-extra`),
);
const extraKeys = fc.oneof({ arbitrary: fc.constant([]), weight: 20 }, { arbitrary: fc.tuple(extraKey), weight: 1 });

/** Draws names from a small pool, so duplicates in another case and overlaps between lists are frequent. */
function fromPool(pool: readonly string[]): fc.Arbitrary<string> {
  return casing(fc.constantFrom(...pool));
}

function nameList(name: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const item = fc.oneof({ arbitrary: name, weight: 60 }, { arbitrary: fc.constantFrom<unknown>(5, null, new Obj([['v', `${S}-item`]])), weight: 1 });
  return fc.oneof(
    { arbitrary: fc.array(item, { maxLength: 4 }), weight: 30 },
    // Around the 64-entry limit, with distinct plain names: the limit is the only rule broken.
    { arbitrary: fc.integer({ min: 63, max: 66 }).map((n) => Array.from({ length: n }, (_, i) => `x-l${i}`)), weight: 1 },
    { arbitrary: wrongType, weight: 1 },
  );
}

/**
 * A static map. `value` for short maps; a long map (around the 64-entry limit) gets distinct plain
 * names and one valid value, so the limit is the only rule it can break.
 */
function headerMap(name: fc.Arbitrary<string>, value: fc.Arbitrary<unknown>, validValue: unknown): fc.Arbitrary<unknown> {
  const short = fc.uniqueArray(fc.tuple(name, value), { selector: ([k]) => k, minLength: 0, maxLength: 3 });
  const long = fc.integer({ min: 63, max: 66 }).map((n) => Array.from({ length: n }, (_, i) => [`x-h${i}`, validValue] as const));
  return fc.oneof(
    { arbitrary: short.map((e) => new Obj(e)), weight: 30 },
    { arbitrary: long.map((e) => new Obj(e)), weight: 1 },
    { arbitrary: wrongType, weight: 1 },
  );
}

function headers(name: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const extraKey = fc.tuple(fc.constantFrom('Plaintext', 'fromsecret', '__proto__', 'secrets'), wrongType);
  const extra = fc.oneof({ arbitrary: fc.constant([]), weight: 20 }, { arbitrary: fc.tuple(extraKey), weight: 1 });
  const object = fc
    .record({ plaintext: optional(headerMap(name, configValue, `${S}.`), 4), fromSecret: optional(headerMap(name, secretName, 'API_KEY'), 4), extra })
    .map(({ plaintext, fromSecret, extra }) => new Obj([...present({ plaintext, fromSecret }), ...extra]));
  return fc.oneof({ arbitrary: object, weight: 30 }, { arbitrary: wrongType, weight: 1 });
}

/** The defined fields of `fields`, as entries: an absent option is a missing key, not `undefined`. */
function present(fields: Record<string, unknown>): [string, unknown][] {
  return Object.entries(fields).filter(([, v]) => v !== undefined);
}

function captureCase(name: fc.Arbitrary<string>): fc.Arbitrary<ConfigCase> {
  return fc.record({ allow: nameList(name), allowCredentials, maxValueLength, extra: extraKeys }).map(({ extra, ...fields }) => ({
    kind: 'capture' as const,
    options: new Obj([...present(fields), ...extra.filter(([k]) => k !== 'allow')]),
    env: new Obj([]),
  }));
}

function proxyCase(name: fc.Arbitrary<string>): fc.Arbitrary<ConfigCase> {
  return fc
    .record({
      target,
      passthrough: optional(nameList(name)),
      headers: optional(headers(name), 4),
      allowCredentials,
      maxValueLength,
      connectTimeout: timeoutValue(),
      responseTimeout: timeoutValue(),
      timeout: removedTimeout,
      allowedHosts: allowlist(HOSTS, BAD_HOSTS),
      allowedOrigins: allowlist(ORIGINS, BAD_ORIGINS),
      session,
      extra: extraKeys,
      env,
    })
    .map(({ extra, env, ...fields }) => ({
      kind: 'proxy' as const,
      options: new Obj([...present(fields), ...extra.filter(([k]) => k !== 'headers')]),
      env,
    }));
}

export const configCase: fc.Arbitrary<ConfigCase> = fc
  .uniqueArray(baseName, { minLength: 1, maxLength: 6 })
  .chain((pool) => fc.oneof({ arbitrary: captureCase(fromPool(pool)), weight: 1 }, { arbitrary: proxyCase(fromPool(pool)), weight: 2 }));
