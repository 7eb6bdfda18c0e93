/**
 * Security catalogue group C (configuration attacks), B14–B19 (static value attacks) and H1/H2 for
 * configuration: /work/shared/reference/security.md §5. Everything here is layer S (construction
 * throws with the option path and the rule, never the value) unless a request is needed to prove the
 * outcome, in which case a real Express gateway, the real proxy and a real node:http backend are used.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, it, mock } from 'node:test';
import express from 'express';
import {
  HeaderConfigError,
  captureHeaders,
  envSecrets,
  fileSecrets,
  mcpProxy,
  type CaptureHeadersOptions,
  type McpProxyOptions,
  type SecretProvider,
} from '../../lib/index.js';
import { HOP_BY_HOP_HEADERS, PROTOCOL_HEADERS } from '../../lib/header-rules.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { casings } from '../helpers/casings.js';
import { errorViews, expectConfigError } from '../helpers/config-errors.js';
import { label } from '../helpers/labels.js';
import { hasMkfifo, secretInChild } from '../helpers/secret-child.js';
import { listen, type Listening } from '../helpers/listen.js';
import { httpText, rawRequest } from '../helpers/raw-http.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { assertRefusal, wireText, wireValues } from '../helpers/sec-relay.js';
import { SENTINEL as SENTINEL_PREFIX } from '../helpers/sentinel.js';
import { RESTRICTED_NAMES } from '../helpers/spec-names.js';

const SENTINEL = `${SENTINEL_PREFIX}-cconfig-91d4e7`;
const TARGET = 'http://127.0.0.1:9/mcp';

/**
 * Restricted names as docs/security.md lists them (spec-names.ts), members of each restricted family,
 * plus whatever lib exports today (later additions stay covered).
 */
const RESTRICTED = [
  ...new Set([
    ...RESTRICTED_NAMES,
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
    'x-forwarded-port',
    'x-forwarded-prefix',
    'mcp-param-region',
    'mcp-param-x',
    'x-envoy-internal',
    'x-envoy-original-path',
    ...HOP_BY_HOP_HEADERS,
    ...PROTOCOL_HEADERS,
  ]),
];

const proxy = (extra: Record<string, unknown>): unknown => mcpProxy({ target: TARGET, logger: captureLogger(), ...extra });
const capture = (extra: Record<string, unknown>): unknown => captureHeaders({ logger: captureLogger(), ...extra } as unknown as CaptureHeadersOptions);

let dir: string;
let backend: RecordingBackend;
let gateway: Listening;
const gatewayLog = captureLogger();
/** Mutable environment behind the /h1 route's provider, to break the secret after start-up. */
const runtimeEnv: Record<string, string> = { RUNTIME_KEY: 'good-value' };

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-cconfig-'));
  fs.writeFileSync(path.join(dir, 'NEWLINE_KEY'), 'file-value-1\n');
  fs.writeFileSync(path.join(dir, 'CRLF_KEY'), 'file-value-2\r\n');
  backend = await recordingBackend();
  const app = express();
  app.use(captureHeaders({ allow: ['x-key', 'x_tenant', 'x-mcp-api-key'], logger: gatewayLog }));
  app.use('/c4', mcpProxy({ target: `${backend.url}/mcp`, headers: { plaintext: { 'X-Key': 'static-value' } }, logger: gatewayLog }));
  app.use('/c8', mcpProxy({ target: `${backend.url}/mcp`, logger: gatewayLog }));
  app.use(
    '/b15',
    mcpProxy({
      target: `${backend.url}/mcp`,
      headers: { fromSecret: { 'X-Newline': 'NEWLINE_KEY', 'X-Crlf': 'CRLF_KEY' } },
      secrets: fileSecrets(dir),
      logger: gatewayLog,
    }),
  );
  app.use(
    '/h1',
    mcpProxy({
      target: `${backend.url}/mcp`,
      headers: { fromSecret: { 'X-Runtime': 'RUNTIME_KEY' } },
      secrets: envSecrets(runtimeEnv),
      logger: gatewayLog,
      allowedHosts: ['gw.test', '127.0.0.1'],
    }),
  );
  gateway = await listen(app);
});

after(async () => {
  await gateway?.close();
  await backend?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('C: configuration attacks (layer S)', () => {
  for (const name of RESTRICTED) {
    it(`C1: restricted "${name}" in allow, passthrough, plaintext and fromSecret, in every casing (lower, UPPER, Mixed, aLtErNaTiNg), throws ERR_RESTRICTED_HEADER`, () => {
      const variants = casings(name);
      assert.ok(variants.length >= 2, `casings of ${name}: ${variants.join(', ')}`);
      for (const variant of variants) {
        expectConfigError(() => capture({ allow: ['x-ok', variant] }), 'ERR_RESTRICTED_HEADER', 'allow[1]');
        expectConfigError(() => proxy({ passthrough: [variant] }), 'ERR_RESTRICTED_HEADER', 'passthrough[0]');
        expectConfigError(
          () => proxy({ headers: { plaintext: { [variant]: 'value' } } }),
          'ERR_RESTRICTED_HEADER',
          `headers.plaintext[${JSON.stringify(variant)}]`,
        );
        // The secret exists: the refusal is about the name, not about a missing value.
        expectConfigError(
          () => proxy({ headers: { fromSecret: { [variant]: 'KEY' } }, secrets: envSecrets({ KEY: 'value' }) }),
          'ERR_RESTRICTED_HEADER',
          `headers.fromSecret[${JSON.stringify(variant)}]`,
        );
      }
    });
  }

  it('C1: the refusal says why, with the lower-cased name', () => {
    const err = expectConfigError(() => proxy({ headers: { plaintext: { 'X-Forwarded-For': '6.6.6.6' } } }), 'ERR_RESTRICTED_HEADER');
    assert.match(err.message, /"x-forwarded-for" cannot be configured/);
    assert.match(err.message, /x-forwarded-\*/);
  });

  for (const name of ['authorization', 'cookie']) {
    it(`C2: ${name} in every casing in allow/passthrough without allowCredentials throws, naming the opt-in`, () => {
      for (const variant of casings(name)) {
        const a = expectConfigError(() => capture({ allow: [variant] }), 'ERR_CREDENTIAL_HEADER', 'allow[0]');
        assert.match(a.message, /allowCredentials: true/);
        const b = expectConfigError(() => proxy({ passthrough: ['x-a', variant] }), 'ERR_CREDENTIAL_HEADER', 'passthrough[1]');
        assert.match(b.message, /allowCredentials: true/);
        // allowCredentials: false spelled out is the same as absent.
        expectConfigError(() => capture({ allow: [variant], allowCredentials: false }), 'ERR_CREDENTIAL_HEADER', 'allow[0]');
      }
    });
  }

  it('C2: with the opt-in, it constructs and the startup warning names the header', () => {
    const log = captureLogger();
    captureHeaders({ allow: ['Cookie'], allowCredentials: true, logger: log });
    assert.equal(log.lines.filter((l) => l.level === 'warn' && (l.fields as { header?: string }).header === 'cookie').length, 1);
  });

  it('C3: { "X-Key": "a", "x-key": "b" } in static headers throws ERR_DUPLICATE_HEADER (Node would silently send only one)', () => {
    const err = expectConfigError(
      () => proxy({ headers: { plaintext: { 'X-Key': SENTINEL, 'x-key': `${SENTINEL}-2` } } }),
      'ERR_DUPLICATE_HEADER',
      'headers.plaintext["x-key"]',
    );
    assert.match(err.message, /case-insensitive/);
    expectConfigError(
      () => proxy({ headers: { plaintext: { 'X-Key': SENTINEL }, fromSecret: { 'x-KEY': 'K' } }, secrets: envSecrets({ K: SENTINEL }) }),
      'ERR_DUPLICATE_HEADER',
      'headers.fromSecret["x-KEY"]',
    );
    expectConfigError(() => capture({ allow: ['X-Key', 'x-key'] }), 'ERR_DUPLICATE_HEADER', 'allow[1]');
    expectConfigError(() => proxy({ passthrough: ['x-key', 'X-KEY'] }), 'ERR_DUPLICATE_HEADER', 'passthrough[1]');
  });

  it('C4: the same name in explicit passthrough and in static headers throws ERR_HEADER_OVERLAP', () => {
    expectConfigError(
      () => proxy({ passthrough: ['x-key'], headers: { plaintext: { 'X-Key': SENTINEL } } }),
      'ERR_HEADER_OVERLAP',
      'headers.plaintext["X-Key"]',
    );
    expectConfigError(
      () => proxy({ passthrough: ['X-KEY'], headers: { fromSecret: { 'x-key': 'K' } }, secrets: envSecrets({ K: SENTINEL }) }),
      'ERR_HEADER_OVERLAP',
      'headers.fromSecret["x-key"]',
    );
  });

  // Deviation C4: no error and no precedence flag for allow + static; the static value wins (only passthrough + static throws).
  it('C4: captured (allow) and static with the same name and default passthrough: the static value wins, sent once', async () => {
    const res = await fetch(`${gateway.url}/c4`, { headers: { 'X-Key': 'client-forged' } });
    assert.equal(res.status, 200);
    const seen = backend.last();
    assert.deepEqual(wireValues(seen, 'x-key'), ['static-value']);
    assert.ok(!wireText(seen).includes('client-forged'));
  });

  for (const name of ['', ' x', 'x ', 'x:y', 'x\r\ny', 'x\ty', 'é', 'x\ny', 'x\u0000y']) {
    it(`C5: the name ${label(name)} throws ERR_INVALID_HEADER_NAME in allow, passthrough, plaintext and fromSecret, without raw CR/LF or NUL in the message`, () => {
      const errors = [
        expectConfigError(() => capture({ allow: [name] }), 'ERR_INVALID_HEADER_NAME', 'allow[0]'),
        expectConfigError(() => proxy({ passthrough: [name] }), 'ERR_INVALID_HEADER_NAME', 'passthrough[0]'),
        expectConfigError(() => proxy({ headers: { plaintext: { [name]: 'v' } } }), 'ERR_INVALID_HEADER_NAME', `headers.plaintext[${JSON.stringify(name)}]`),
        expectConfigError(
          () => proxy({ headers: { fromSecret: { [name]: 'K' } }, secrets: envSecrets({ K: 'v' }) }),
          'ERR_INVALID_HEADER_NAME',
          `headers.fromSecret[${JSON.stringify(name)}]`,
        ),
      ];
      // A config error is a log line: a name must not be able to forge a second line.
      for (const err of errors) {
        assert.doesNotMatch(err.message, /[\r\n]/, JSON.stringify(name));
        assert.ok(!err.message.includes('\u0000'), JSON.stringify(name));
      }
    });
  }

  it('C6: a JSON.parse\'d {"__proto__": {"x-injected":"evil"}} plaintext map throws ERR_INVALID_HEADER_NAME and Object.prototype is not polluted', () => {
    const plaintext = JSON.parse('{"__proto__": {"x-injected": "evil"}}') as Record<string, string>;
    assert.ok(Object.hasOwn(plaintext, '__proto__'), 'precondition: JSON.parse makes an own __proto__ key');
    expectConfigError(() => proxy({ headers: { plaintext } }), 'ERR_INVALID_HEADER_NAME', 'headers.plaintext["__proto__"]');
    const fromSecret = JSON.parse('{"X-Ok": "K", "__proto__": {"x-injected": "evil"}}') as Record<string, string>;
    expectConfigError(() => proxy({ headers: { fromSecret }, secrets: envSecrets({ K: 'v' }) }), 'ERR_INVALID_HEADER_NAME', 'headers.fromSecret["__proto__"]');
    assert.equal(({} as Record<string, unknown>)['x-injected'], undefined);
    assert.ok(!Object.hasOwn(Object.prototype, 'x-injected'));
    assert.equal(Object.getPrototypeOf(plaintext), Object.prototype);
  });

  it('C6: a whole JSON config with "__proto__" at the top level or under headers is refused as an unknown option', () => {
    const top = JSON.parse(`{"target": "${TARGET}", "__proto__": {"allowCredentials": true, "passthrough": ["authorization"]}}`) as McpProxyOptions;
    expectConfigError(() => mcpProxy(top), 'ERR_INVALID_OPTION', '__proto__');
    const nested = JSON.parse(`{"target": "${TARGET}", "headers": {"__proto__": {"plaintext": {"x-injected": "evil"}}}}`) as McpProxyOptions;
    expectConfigError(() => mcpProxy(nested), 'ERR_INVALID_OPTION', 'headers.__proto__');
    const allow = JSON.parse('{"allow": ["x-a"], "__proto__": {"allowCredentials": true}}') as CaptureHeadersOptions;
    expectConfigError(() => captureHeaders(allow), 'ERR_INVALID_OPTION', '__proto__');
    assert.ok(!Object.hasOwn(Object.prototype, 'allowCredentials'));
  });

  it('C6: inherited map entries are ignored (a restricted name on the prototype of a headers map is never read)', () => {
    const plaintext = Object.create({ host: 'evil.example', 'x-inherited': 'v' }) as Record<string, string>;
    plaintext['x-own'] = 'v';
    assert.doesNotThrow(() => proxy({ headers: { plaintext } }));
    const nullProto = Object.assign(Object.create(null) as Record<string, string>, { 'x-own': 'v' });
    assert.doesNotThrow(() => proxy({ headers: { plaintext: nullProto } }));
  });

  it('C6: an inherited (prototype-polluted) allowCredentials does not switch on credential passthrough', () => {
    const proto = Object.prototype as unknown as Record<string, unknown>;
    proto.allowCredentials = true;
    try {
      expectConfigError(() => capture({ allow: ['authorization'] }), 'ERR_CREDENTIAL_HEADER', 'allow[0]');
      expectConfigError(() => proxy({ passthrough: ['cookie'] }), 'ERR_CREDENTIAL_HEADER', 'passthrough[0]');
    } finally {
      delete proto.allowCredentials;
    }
  });

  for (const name of ['constructor', 'prototype', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'Constructor', 'TOSTRING']) {
    it(`C7: "${name}" as a name throws ERR_INVALID_HEADER_NAME in allow, passthrough, plaintext and fromSecret`, () => {
      expectConfigError(() => capture({ allow: [name] }), 'ERR_INVALID_HEADER_NAME', 'allow[0]');
      expectConfigError(() => proxy({ passthrough: [name] }), 'ERR_INVALID_HEADER_NAME', 'passthrough[0]');
      const plaintext = Object.defineProperty({}, name, { value: 'v', enumerable: true });
      expectConfigError(() => proxy({ headers: { plaintext } }), 'ERR_INVALID_HEADER_NAME', `headers.plaintext[${JSON.stringify(name)}]`);
      const fromSecret = Object.defineProperty({}, name, { value: 'K', enumerable: true });
      expectConfigError(
        () => proxy({ headers: { fromSecret }, secrets: envSecrets({ K: 'v' }) }),
        'ERR_INVALID_HEADER_NAME',
        `headers.fromSecret[${JSON.stringify(name)}]`,
      );
    });
  }

  // Deviation C8: underscore names are accepted (RFC 9110 tokens); a client's twin of a managed name is never forwarded anyway.
  it('C8: underscore names are RFC 9110 tokens and accepted (project decision); a configured x_tenant never forwards its dash twin', async () => {
    assert.doesNotThrow(() => capture({ allow: ['x_tenant'] }));
    assert.doesNotThrow(() => proxy({ passthrough: ['x_tenant'], headers: { plaintext: { x_static: 'v' } } }));
    const res = await fetch(`${gateway.url}/c8`, { headers: { 'x-tenant': 'dash-twin-evil', x_tenant: 'acme', x_mcp_api_key: 'underscore-twin-evil' } });
    assert.equal(res.status, 200);
    const seen = backend.last();
    assert.deepEqual(wireValues(seen, 'x_tenant'), ['acme']);
    assert.deepEqual(wireValues(seen, 'x-tenant'), []);
    assert.deepEqual(wireValues(seen, 'x_mcp_api_key'), []);
    assert.deepEqual(wireValues(seen, 'x-mcp-api-key'), []);
  });

  for (const name of ['*', 'x-*', '*-key', 'x-mcp-*']) {
    it(`C9: the wildcard "${name}" is rejected in allow, passthrough and plaintext`, () => {
      const err = expectConfigError(() => capture({ allow: [name] }), 'ERR_INVALID_HEADER_NAME', 'allow[0]');
      assert.match(err.message, /wildcard/);
      expectConfigError(() => proxy({ passthrough: [name] }), 'ERR_INVALID_HEADER_NAME', 'passthrough[0]');
      expectConfigError(() => proxy({ headers: { plaintext: { [name]: 'v' } } }), 'ERR_INVALID_HEADER_NAME');
    });
  }

  it('C10: a missing env secret throws ERR_SECRET_MISSING, an empty one ERR_SECRET_INVALID; the variable is named in the error log, not the error', () => {
    const name = 'MCP_RELAY_CCONFIG_MISSING';
    delete process.env[name];
    const log = captureLogger();
    const missing = expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-Api-Key': name } }, logger: log }),
      'ERR_SECRET_MISSING',
      'headers.fromSecret["X-Api-Key"]',
    );
    assert.ok(!missing.message.includes(name));
    assert.ok(log.text().includes(name) && log.text().includes('environment variable'));
    process.env[name] = '';
    try {
      const empty = expectConfigError(() => proxy({ headers: { fromSecret: { 'X-Api-Key': name } } }), 'ERR_SECRET_INVALID', 'headers.fromSecret["X-Api-Key"]');
      assert.ok(!empty.message.includes(name));
      assert.match(empty.message, /empty/);
    } finally {
      delete process.env[name];
    }
  });

  it('C11: a missing secret file throws ERR_SECRET_MISSING; a directory and an oversize file throw ERR_SECRET_INVALID promptly', () => {
    const started = Date.now();
    expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-K': 'ABSENT' } }, secrets: fileSecrets(dir) }),
      'ERR_SECRET_MISSING',
      'headers.fromSecret["X-K"]',
    );
    fs.mkdirSync(path.join(dir, 'C11_DIR'));
    expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-K': 'C11_DIR' } }, secrets: fileSecrets(dir) }),
      'ERR_SECRET_INVALID',
      'headers.fromSecret["X-K"]',
    );
    fs.writeFileSync(path.join(dir, 'C11_BIG'), Buffer.alloc(8 * 1024 + 3, 0x61));
    const big = expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-K': 'C11_BIG' } }, secrets: fileSecrets(dir) }),
      'ERR_SECRET_INVALID',
      'headers.fromSecret["X-K"]',
    );
    assert.match(big.message, /longer than 8192 bytes/);
    fs.writeFileSync(path.join(dir, 'C11_HUGE'), Buffer.alloc(4 * 1024 * 1024, 0x61));
    expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-K': 'C11_HUGE' } }, secrets: fileSecrets(dir) }),
      'ERR_SECRET_INVALID',
      'headers.fromSecret["X-K"]',
    );
    assert.ok(Date.now() - started < 3000);
  });

  it(
    'C11: a FIFO as the secret file throws ERR_SECRET_INVALID promptly, no hang (child process)',
    { skip: hasMkfifo() ? false : 'mkfifo is not available' },
    async () => {
      execFileSync('mkfifo', [path.join(dir, 'C11_FIFO')]);
      const { construct } = await secretInChild(dir, 'C11_FIFO');
      assert.equal(construct.threw, true);
      assert.equal(construct.code, 'ERR_SECRET_INVALID');
      assert.equal(construct.path, 'headers.fromSecret["X-Api-Key"]');
      assert.ok(construct.ms < 3000, `took ${construct.ms} ms`);
    },
  );

  it(
    'C11: /dev/zero behind a symlink named like a secret throws ERR_SECRET_INVALID promptly, no unbounded read (child process)',
    { skip: fs.existsSync('/dev/zero') ? false : 'no /dev/zero' },
    async () => {
      fs.symlinkSync('/dev/zero', path.join(dir, 'C11_ZERO'));
      const { construct } = await secretInChild(dir, 'C11_ZERO');
      assert.equal(construct.threw, true);
      assert.equal(construct.code, 'ERR_SECRET_INVALID');
      assert.ok(construct.ms < 3000, `took ${construct.ms} ms`);
    },
  );

  it('C12: a secret value containing CRLF (env or file) throws ERR_SECRET_INVALID without echoing it', () => {
    const value = `${SENTINEL}\r\nX-Evil: 1`;
    expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-K': 'K' } }, secrets: envSecrets({ K: value }) }),
      'ERR_SECRET_INVALID',
      'headers.fromSecret["X-K"]',
    );
    fs.writeFileSync(path.join(dir, 'C12_CRLF'), `${value}\n`);
    expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-K': 'C12_CRLF' } }, secrets: fileSecrets(dir) }),
      'ERR_SECRET_INVALID',
      'headers.fromSecret["X-K"]',
    );
  });

  it('C13: more than 64 entries in allow, passthrough, plaintext or fromSecret throws ERR_TOO_MANY_HEADERS', () => {
    const names = Array.from({ length: 65 }, (_, i) => `x-h${i}`);
    const env = Object.fromEntries(names.map((_, i) => [`K${i}`, SENTINEL]));
    expectConfigError(() => capture({ allow: names }), 'ERR_TOO_MANY_HEADERS', 'allow');
    expectConfigError(() => proxy({ passthrough: names }), 'ERR_TOO_MANY_HEADERS', 'passthrough');
    expectConfigError(
      () => proxy({ headers: { plaintext: Object.fromEntries(names.map((n) => [n, SENTINEL])) } }),
      'ERR_TOO_MANY_HEADERS',
      'headers.plaintext',
    );
    expectConfigError(
      () => proxy({ headers: { fromSecret: Object.fromEntries(names.map((n, i) => [n, `K${i}`])) }, secrets: envSecrets(env) }),
      'ERR_TOO_MANY_HEADERS',
      'headers.fromSecret',
    );
  });

  // Deviation C13: names may have up to 256 characters (ToolHive's limit), not 64.
  it('C13: a name longer than 256 characters throws ERR_INVALID_HEADER_NAME (project limit 256; the catalogue suggests 64)', () => {
    const long = `x-${'a'.repeat(255)}`;
    expectConfigError(() => capture({ allow: [long] }), 'ERR_INVALID_HEADER_NAME', 'allow[0]');
    expectConfigError(() => proxy({ passthrough: [long] }), 'ERR_INVALID_HEADER_NAME', 'passthrough[0]');
    expectConfigError(() => proxy({ headers: { plaintext: { [long]: 'v' } } }), 'ERR_INVALID_HEADER_NAME');
    assert.doesNotThrow(() => capture({ allow: ['a'.repeat(256)] }));
  });

  // Deviation C14: pin takes no header list; it pins every captured header except credentials and static names.
  for (const key of ['pin', 'headers', 'pinHeaders']) {
    it(`C14: pin has no list of headers to pin (session.${key} is an unknown option), so no credential or static name can be put in one (the relay excludes them itself; e-sessions proves it)`, () => {
      const principal = () => 'alice';
      const err = expectConfigError(
        () => proxy({ session: { mode: 'pin', principal, [key]: ['authorization', 'cookie', 'proxy-authorization', 'x-static'] } }),
        'ERR_INVALID_OPTION',
        `session.${key}`,
      );
      assert.match(err.rule, /unknown option/);
    });
  }

  for (const session of ['pin', { mode: 'pin' }, { mode: 'pin', principal: 'req.user.id' }, { mode: 'pin', principal: null }]) {
    it(`C15: pin without a binding source (session ${label(session)}) throws, naming the principal`, () => {
      const err = expectConfigError(() => proxy({ session }), 'ERR_INVALID_OPTION', typeof session === 'string' ? 'session' : 'session.principal');
      assert.match(err.rule, /principal/);
    });
  }

  for (const unsafe of ['unsafe', 'allowUnbound', 'bearer']) {
    it(`C15: there is no unsafe opt-in: pin with ${unsafe}: true still throws ERR_INVALID_OPTION`, () => {
      assert.throws(
        () => proxy({ session: { mode: 'pin', [unsafe]: true } }),
        (e: unknown) => e instanceof HeaderConfigError && e.code === 'ERR_INVALID_OPTION' && /^session\.(principal|\w+)$/.test(e.path),
      );
    });
  }

  for (const option of ['idleTtl', 'absoluteTtl', 'maxSessions', 'maxSessionsPerPrincipal'] as const) {
    for (const bad of [0, -1, -0.5, NaN, Infinity, -Infinity, '30', '', 1.5, null]) {
      it(`C16: session.${option} of ${label(bad)} throws ERR_INVALID_OPTION (${option === 'maxSessionsPerPrincipal' ? 'pin' : 'pin and bind'})`, () => {
        expectConfigError(() => proxy({ session: { mode: 'pin', principal: () => 'a', [option]: bad } }), 'ERR_INVALID_OPTION', `session.${option}`);
        if (option !== 'maxSessionsPerPrincipal') {
          expectConfigError(() => proxy({ session: { mode: 'bind', [option]: bad } }), 'ERR_INVALID_OPTION', `session.${option}`);
        }
      });
    }
  }

  const shortKeys: [string, unknown][] = [
    ['a 22-character string', `${SENTINEL}-short`],
    ['a 16-byte Buffer', Buffer.from(SENTINEL)],
    ['an empty string', ''],
    ['a number', 42],
  ];
  for (const [what, sessionKey] of shortKeys) {
    it(`C16: a sessionKey shorter than 32 bytes (${what}) throws without echoing the key`, () => {
      const err = expectConfigError(() => proxy({ session: { mode: 'bind', sessionKey } }), 'ERR_INVALID_OPTION', 'session.sessionKey');
      assert.ok(!err.message.includes(SENTINEL) && !inspect(err).includes(SENTINEL));
    });
  }

  for (const option of ['connectTimeout', 'responseTimeout', 'maxValueLength'] as const) {
    for (const bad of [0, -1, -0.5, NaN, Infinity, -Infinity, '30', '', 1.5]) {
      it(`C16: ${option} of ${label(bad)} throws ERR_INVALID_OPTION${option === 'maxValueLength' ? ' (mcpProxy and captureHeaders)' : ''}`, () => {
        expectConfigError(() => proxy({ [option]: bad }), 'ERR_INVALID_OPTION', option);
        if (option === 'maxValueLength') expectConfigError(() => capture({ allow: ['x-a'], maxValueLength: bad }), 'ERR_INVALID_OPTION', option);
      });
    }
  }

  for (const bad of [-1, NaN, Infinity, '30']) {
    it(`C16: fileSecrets refreshInterval of ${label(bad)} throws ERR_INVALID_OPTION`, () => {
      assert.throws(
        () => fileSecrets(dir, { refreshInterval: bad as number }),
        (e: unknown) => e instanceof HeaderConfigError && e.code === 'ERR_INVALID_OPTION',
      );
    });
  }

  const credentialTargets: [string, string | URL][] = [
    ['user:password@', `http://user:${SENTINEL}@127.0.0.1/mcp`],
    ['user@ (https)', `https://${SENTINEL}@127.0.0.1/mcp`],
    [':password@', `http://:${SENTINEL}@127.0.0.1/mcp`],
    ['user:password@ in a URL object', new URL(`http://u:${SENTINEL}@127.0.0.1/mcp`)],
  ];
  for (const [what, target] of credentialTargets) {
    it(`C17: a target with credentials in the URL (${what}) throws ERR_INVALID_TARGET without echoing them`, () => {
      const log = captureLogger();
      const err = expectConfigError(() => mcpProxy({ target, logger: log }), 'ERR_INVALID_TARGET', 'target');
      assert.match(err.message, /credentials/);
      assert.ok(!log.text().includes(SENTINEL));
    });
  }

  // Deviation C17: the target's query is not inspected for credentials; only user:pass@ and #fragment are refused.
  it('C17: a secret in the target query is allowed (documented), but neither the relay log nor the console prints it', async () => {
    const log = captureLogger();
    const printed: string[] = [];
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const mocks = methods.map((m) =>
      mock.method(console, m, (...args: unknown[]) => {
        printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
      }),
    );
    let server: Listening | undefined;
    try {
      const app = express();
      app.use('/q', mcpProxy({ target: `${backend.url}/mcp?token=${SENTINEL}`, logger: log }));
      server = await listen(app);
      const res = await fetch(`${server.url}/q?x=1`);
      assert.equal(res.status, 200);
      assert.equal(backend.last().url, `/mcp?token=${SENTINEL}&x=1`, 'the query reaches the backend as configured');
    } finally {
      for (const m of mocks) m.mock.restore();
      await server?.close();
    }
    assert.ok(log.lines.length > 0);
    assert.ok(!log.text().includes(SENTINEL), log.text());
    for (const line of printed) assert.ok(!line.includes(SENTINEL), line);
  });
});

describe('B14–B19: static value attacks (layer S)', () => {
  const errPath = 'headers.plaintext["X-Static"]';
  const plain = (value: unknown): unknown => proxy({ headers: { plaintext: { 'X-Static': value } } });
  const secret = (value: string): unknown => proxy({ headers: { fromSecret: { 'X-Static': 'K' } }, secrets: envSecrets({ K: value }) });

  for (const suffix of ['\r\nX-Evil: 1', '\nX-Evil: 1', '\rX', '\u0000', '\u007f', '\u0001']) {
    it(`B14: a static plaintext value "abc" + ${label(suffix)} throws at construction`, () => {
      const err = expectConfigError(() => plain(`${SENTINEL}${suffix}`), 'ERR_INVALID_HEADER_VALUE', errPath);
      assert.match(err.message, /visible ASCII/);
    });
  }

  it('B15: a secret file ending in "\\n" or "\\r\\n" is accepted with one newline stripped; the backend gets the exact value', async () => {
    const res = await fetch(`${gateway.url}/b15`);
    assert.equal(res.status, 200);
    const seen = backend.last();
    assert.deepEqual(wireValues(seen, 'x-newline'), ['file-value-1']);
    assert.deepEqual(wireValues(seen, 'x-crlf'), ['file-value-2']);
  });

  const badSecrets: [string, string][] = [
    ['a leading space', ` ${SENTINEL}`],
    ['a trailing space', `${SENTINEL} `],
    ['a leading tab', `\t${SENTINEL}`],
    ['a trailing tab', `${SENTINEL}\t`],
    ['an interior CR', `${SENTINEL}\rx`],
    ['an interior LF', `${SENTINEL}\nx`],
    ['an interior CRLF', `${SENTINEL}\r\nx`],
  ];
  for (const [index, [what, value]] of badSecrets.entries()) {
    it(`B16: a secret with ${what} throws ERR_SECRET_INVALID without the value (env and file)`, () => {
      expectConfigError(() => secret(value), 'ERR_SECRET_INVALID', 'headers.fromSecret["X-Static"]');
      const name = `B16_${index}`;
      fs.writeFileSync(path.join(dir, name), value);
      expectConfigError(
        () => proxy({ headers: { fromSecret: { 'X-Static': name } }, secrets: fileSecrets(dir) }),
        'ERR_SECRET_INVALID',
        'headers.fromSecret["X-Static"]',
      );
    });
  }

  // The same whitespace rule for plaintext values.
  for (const [what, value] of [
    ['a leading space', ` ${SENTINEL}`],
    ['a trailing tab', `${SENTINEL}\t`],
  ] as const) {
    it(`B16: a plaintext value with ${what} throws ERR_INVALID_HEADER_VALUE`, () => {
      expectConfigError(() => plain(value), 'ERR_INVALID_HEADER_VALUE', errPath);
    });
  }

  for (const suffix of ['ключ', '😀', 'caf\u00e9', '\u0100']) {
    it(`B17: a static value ending in ${label(suffix)} throws (plaintext and secret)`, () => {
      const value = `${SENTINEL}${suffix}`;
      expectConfigError(() => plain(value), 'ERR_INVALID_HEADER_VALUE', errPath);
      expectConfigError(() => secret(value), 'ERR_SECRET_INVALID', 'headers.fromSecret["X-Static"]');
    });
  }

  const wrongTypes: [string, unknown][] = [
    ['123', 123],
    ["['a', 'b']", ['a', 'b']],
    ['{}', {}],
    ['null', null],
    ['undefined', undefined],
    ['true', true],
    ['an object whose toString gives the value', { toString: () => SENTINEL }],
    ['an array holding the value', [SENTINEL]],
    ['12n', 12n],
  ];
  for (const [what, value] of wrongTypes) {
    it(`B18: a static value of the wrong type (${what}) throws ERR_INVALID_HEADER_VALUE`, () => {
      const err = expectConfigError(() => plain(value), 'ERR_INVALID_HEADER_VALUE', errPath);
      assert.match(err.message, /must be a string/);
    });
  }

  for (const name of [123, ['K'], {}, null, true]) {
    it(`B18: a fromSecret secret name of the wrong type (${label(name)}) throws ERR_INVALID_OPTION`, () => {
      expectConfigError(
        () => proxy({ headers: { fromSecret: { 'X-Static': name } }, secrets: envSecrets({ K: 'v' }) }),
        'ERR_INVALID_OPTION',
        'headers.fromSecret["X-Static"]',
      );
    });
  }

  it('B19: an empty static value "" throws (plaintext, env secret and file secret)', () => {
    const a = expectConfigError(() => plain(''), 'ERR_INVALID_HEADER_VALUE', errPath);
    assert.match(a.message, /empty/);
    expectConfigError(() => secret(''), 'ERR_SECRET_INVALID', 'headers.fromSecret["X-Static"]');
    fs.writeFileSync(path.join(dir, 'B19_EMPTY'), '');
    expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-Static': 'B19_EMPTY' } }, secrets: fileSecrets(dir) }),
      'ERR_SECRET_INVALID',
      'headers.fromSecret["X-Static"]',
    );
  });
});

describe('H1/H2 for configuration: no configured value in errors, logs or printed objects', () => {
  // H1: every configuration error built around a sentinel value leaks it in no view (message, stack, inspect, JSON, String) and no log line.
  const throwing: SecretProvider = {
    description: 'vault',
    read: () => {
      throw new Error(`backend said: ${SENTINEL}`);
    },
  };
  const weird: SecretProvider = { description: 'weird', read: () => ({ toString: () => SENTINEL }) as unknown as string };
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`x-h${i}`, SENTINEL]));
  const cases: [string, Record<string, unknown>][] = [
    ['CRLF plaintext', { headers: { plaintext: { 'X-A': `${SENTINEL}\r\nX-Evil: 1` } } }],
    ['leading-space plaintext', { headers: { plaintext: { 'X-A': ` ${SENTINEL}` } } }],
    ['too-long plaintext', { headers: { plaintext: { 'X-A': SENTINEL.repeat(1000) } } }],
    ['too-long for maxValueLength', { maxValueLength: 8, headers: { plaintext: { 'X-A': SENTINEL } } }],
    ['non-ASCII plaintext', { headers: { plaintext: { 'X-A': `${SENTINEL}é` } } }],
    ['array plaintext', { headers: { plaintext: { 'X-A': [SENTINEL] } } }],
    ['object plaintext', { headers: { plaintext: { 'X-A': { toString: () => SENTINEL } } } }],
    ['restricted name with a value', { headers: { plaintext: { Host: SENTINEL } } }],
    ['invalid name with a value', { headers: { plaintext: { 'x y': SENTINEL } } }],
    ['duplicate names with values', { headers: { plaintext: { 'X-A': SENTINEL, 'x-a': SENTINEL } } }],
    ['overlap with passthrough', { passthrough: ['x-a'], headers: { plaintext: { 'X-A': SENTINEL } } }],
    ['65 static values', { headers: { plaintext: many } }],
    ['CRLF env secret', { headers: { fromSecret: { 'X-A': 'K' } }, secrets: envSecrets({ K: `${SENTINEL}\r\n` }) }],
    ['surrounding-space env secret', { headers: { fromSecret: { 'X-A': 'K' } }, secrets: envSecrets({ K: `${SENTINEL} ` }) }],
    ['too-long env secret', { headers: { fromSecret: { 'X-A': 'K' } }, secrets: envSecrets({ K: SENTINEL.repeat(1000) }) }],
    ['provider throwing with the value', { headers: { fromSecret: { 'X-A': 'K' } }, secrets: throwing }],
    ['provider returning a non-string', { headers: { fromSecret: { 'X-A': 'K' } }, secrets: weird }],
    ['credentials in target', { target: `http://u:${SENTINEL}@127.0.0.1/mcp` }],
    ['unknown option holding a value', { pasthrough: [SENTINEL], apiKey: SENTINEL }],
    ['wrong-type option holding a value', { responseTimeout: SENTINEL }],
    ['removed option holding a value', { timeout: SENTINEL }],
    ['session holding a value', { session: SENTINEL }],
    ['bad logger', { logger: { warn: SENTINEL, error: SENTINEL } }],
  ];
  for (const [what, extra] of cases) {
    it(`H1: the mcpProxy configuration error for ${what} leaks the sentinel in no view (message, stack, inspect, JSON, String) and no log line`, () => {
      const log = captureLogger();
      let thrown: unknown;
      try {
        mcpProxy({ target: TARGET, logger: log, ...extra });
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown instanceof HeaderConfigError, `${what}: expected a HeaderConfigError, got ${String(thrown)}`);
      for (const view of errorViews(thrown)) assert.ok(!view.includes(SENTINEL), `${what} leaks: ${view}`);
      assert.ok(!log.text().includes(SENTINEL), `${what} logs the value: ${log.text()}`);
    });
  }

  const captureCases: [string, Record<string, unknown>][] = [
    ['a wrong-type maxValueLength', { allow: ['x-a'], maxValueLength: SENTINEL }],
    ['a wrong-type allowCredentials', { allow: ['x-a'], allowCredentials: SENTINEL }],
    ['an unknown option', { allow: ['x-a'], alow: [SENTINEL] }],
    ['a wrong-type allow', { allow: SENTINEL }],
  ];
  for (const [what, options] of captureCases) {
    it(`H1: the captureHeaders configuration error for ${what} holding the sentinel leaks it in no view and no log line`, () => {
      const log = captureLogger();
      let thrown: unknown;
      try {
        captureHeaders({ logger: log, ...options } as unknown as CaptureHeadersOptions);
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown instanceof HeaderConfigError, `expected a HeaderConfigError, got ${String(thrown)}`);
      for (const view of errorViews(thrown)) assert.ok(!view.includes(SENTINEL), `leak: ${view}`);
      assert.ok(!log.text().includes(SENTINEL));
    });
  }

  it('H1: a secret broken after start-up gives 502 secret_unavailable; body and logs name the header and secret, never the value', async () => {
    runtimeEnv.RUNTIME_KEY = `${SENTINEL}\r\nX-Evil: 1`;
    try {
      const res = await rawRequest(gateway.port, httpText('GET /h1 HTTP/1.1', ['Host: gw.test', `X-Mcp-Api-Key: ${SENTINEL}-client-key`]));
      assertRefusal(res, { logger: gatewayLog, startupLines: [] }, 502, 'secret_unavailable');
      assert.ok(!res.raw.includes('RUNTIME_KEY'), 'the secret name stays in the log, not in the response');
      const line = gatewayLog.lines.find((l) => l.message.includes('secret_unavailable'));
      assert.ok(line, gatewayLog.text());
      assert.match(JSON.stringify(line.fields), /x-runtime/);
      assert.match(JSON.stringify(line.fields), /RUNTIME_KEY/);
    } finally {
      runtimeEnv.RUNTIME_KEY = 'good-value';
    }
    const ok = await fetch(`${gateway.url}/h1`);
    assert.equal(ok.status, 200);
    assert.deepEqual(wireValues(backend.last(), 'x-runtime'), ['good-value']);
  });

  // Deviation H2: providers print as SecretProvider(<description>), not [REDACTED]; no configuration object holds a secret value.
  describe('H2: printed middleware functions and providers', () => {
    const log = captureLogger();
    const subjects = new Map<string, unknown>();
    before(() => {
      fs.writeFileSync(path.join(dir, 'H2_FILE'), `${SENTINEL}-file\n`);
      const env = envSecrets({ H2_ENV: `${SENTINEL}-env` });
      const files = fileSecrets(dir);
      assert.equal(files.read('H2_FILE'), `${SENTINEL}-file`, 'precondition: the value is cached inside the provider');
      subjects.set(
        'the mcpProxy middleware with a plaintext and an env secret',
        mcpProxy({
          target: TARGET,
          headers: { plaintext: { 'X-Plain': `${SENTINEL}-plain` }, fromSecret: { 'X-Env': 'H2_ENV' } },
          secrets: env,
          logger: log,
        }),
      );
      subjects.set(
        'the mcpProxy middleware with a file secret',
        mcpProxy({ target: TARGET, headers: { fromSecret: { 'X-File': 'H2_FILE' } }, secrets: files, logger: log }),
      );
      subjects.set('the captureHeaders middleware', captureHeaders({ allow: ['x-a'], logger: log }));
      subjects.set('the envSecrets provider', env);
      subjects.set('the fileSecrets provider after a read', files);
    });

    for (const what of [
      'the mcpProxy middleware with a plaintext and an env secret',
      'the mcpProxy middleware with a file secret',
      'the captureHeaders middleware',
      'the envSecrets provider',
      'the fileSecrets provider after a read',
    ]) {
      it(`H2: util.inspect, JSON.stringify and String of ${what} contain no secret value`, () => {
        assert.ok(subjects.has(what), `built in before(): ${[...subjects.keys()].join('; ')}`);
        const subject = subjects.get(what);
        const views = [
          inspect(subject),
          inspect(subject, { showHidden: true, depth: Infinity, getters: true }),
          inspect(subject, { customInspect: false, showHidden: true, depth: Infinity }),
          String(subject),
          // JSON.stringify of a function is undefined, whatever its type says.
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion
          String(JSON.stringify(subject)),
          JSON.stringify({ route: subject }),
          inspect({ route: subject }, { depth: Infinity }),
          Object.getOwnPropertyNames(subject).join(','),
        ];
        for (const view of views) assert.ok(!view.includes(SENTINEL), `leak: ${view.slice(0, 300)}`);
      });
    }

    it('H2: a provider prints as SecretProvider(<description>), and building these middlewares logged no value', () => {
      assert.equal(String(subjects.get('the envSecrets provider')), 'SecretProvider(environment variable)');
      assert.ok(log.lines.length > 0, 'the middlewares logged their start-up lines');
      assert.ok(!log.text().includes(SENTINEL), log.text());
    });
  });
});
