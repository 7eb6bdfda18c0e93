/**
 * Random raw HTTP/1.1 requests for the gateway of requests.test.ts: header names of every kind the
 * relay must sort (allowlisted, static, unlisted, restricted, underscore twins, invalid), values with
 * every byte class (CR, LF, NUL, C0, DEL, latin1, UTF-8), repeated lines, `Connection` lists, and
 * the body framings Node's parser accepts or refuses. Content-Length is only ever sent by the
 * framing variants, with the true length, so a keep-alive connection stays in step whatever the
 * server decides.
 */
import fc from 'fast-check';
import { VALUE_SENTINEL, casing, valueCharCode } from './arbitraries.js';
import { PROTOCOL_NAMES } from './rules-model.js';

export const ALLOWLISTED = ['x-mcp-api-key', 'x-tenant'];
export const STATIC_NAMES = ['x-static', 'x-backend-auth'];

export interface FuzzLine {
  /** The name's bytes, latin1; may hold bytes Node refuses. */
  readonly name: string;
  readonly value: Buffer;
}

/** `coding:X` sends `Transfer-Encoding: X` with a chunked body (Node decodes it as chunked or refuses it). */
export type Framing = 'none' | 'length' | 'length-twice' | 'chunked' | 'chunked-and-length' | `coding:${string}`;

export interface FuzzRequest {
  /** The transport's three methods, and some an MCP endpoint never takes. */
  readonly method: 'GET' | 'POST' | 'DELETE' | 'TRACE' | 'PUT' | 'PATCH' | 'OPTIONS';
  /**
   * `origin`: /b/id; `query`: /b/id?…; `absolute`: http://evil.test/b/id; `dot`, `encoded-dot`,
   * `fragment`, `double-slash`: paths the relay must refuse (/b/id/.., /b/id/%2E%2e, /b/id#x, /b//id).
   */
  readonly target: 'origin' | 'query' | 'absolute' | 'dot' | 'encoded-dot' | 'fragment' | 'double-slash';
  /** Whether the usual `Host: gw.test` line is sent (HTTP/1.1 requires one). */
  readonly host: boolean;
  readonly lines: readonly FuzzLine[];
  readonly framing: Framing;
}

const restricted = [
  'host',
  'te',
  'trailer',
  'expect',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
  'via',
  'x-real-ip',
  'x-envoy-internal',
  'transfer-encoding',
];
const unlisted = ['authorization', 'cookie', 'user-agent', 'origin', 'x-other', 'mcp-foo', 'x-mcp-api-keys', 'x-tenant-id', 'x-forwarded'];
const twins = ['x_mcp_api_key', 'x_tenant', 'x_static', 'x_backend_auth', 'x-mcp_api-key'];
const protocol = [...PROTOCOL_NAMES, 'mcp-param-region', 'mcp-param-x'];
const invalidNames = ['x mcp', 'x-(a)', 'a@b', 'x\u00e9', 'x\u0000y', 'x\u007f', '', ' x-tenant', 'x-tenant ', 'x\ty'];

const name: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: casing(fc.constantFrom(...ALLOWLISTED)), weight: 8 },
  { arbitrary: casing(fc.constantFrom(...STATIC_NAMES)), weight: 3 },
  { arbitrary: casing(fc.constantFrom(...restricted)), weight: 6 },
  { arbitrary: casing(fc.constantFrom(...protocol)), weight: 5 },
  { arbitrary: casing(fc.constantFrom(...unlisted)), weight: 3 },
  { arbitrary: casing(fc.constantFrom(...twins)), weight: 2 },
  { arbitrary: fc.constant('Connection'), weight: 4 },
  { arbitrary: fc.constantFrom(...invalidNames), weight: 1 },
);

/**
 * CR LF inside a value would end the line and start another: a different header block, not a bad
 * byte. Bare CR and bare LF stay (Node must refuse them); a CR LF pair loses its LF.
 */
function withoutLineBreaks(bytes: Buffer): Buffer {
  return Buffer.from(bytes.filter((b, i) => !(b === 0x0a && bytes[i - 1] === 0x0d)));
}

const utf8Char = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).map((c) => Buffer.from(c, 'utf8'));
/** Any byte class, controls included: Node's parser refuses most such requests itself. */
const anyBytes = fc.oneof({ arbitrary: valueCharCode.map((c) => Buffer.of(c)), weight: 12 }, { arbitrary: utf8Char, weight: 1 });
/** Bytes Node lets through (visible ASCII, SP, HTAB, obs-text): whether they pass is the relay's call. */
const parserSafeBytes = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => Buffer.of(c)), weight: 30 },
  { arbitrary: fc.constant(Buffer.of(0x09)), weight: 1 },
  { arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => Buffer.of(c)), weight: 1 },
  { arbitrary: utf8Char, weight: 1 },
);
const sentinelThen = (bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> =>
  fc.array(bytes, { maxLength: 10 }).map((b) => withoutLineBreaks(Buffer.concat([Buffer.from(VALUE_SENTINEL), ...b])));

/** A value: sentinel + bytes (mostly visible ASCII), padded, empty, or long enough for 431. */
const value: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: sentinelThen(parserSafeBytes), weight: 30 },
  { arbitrary: sentinelThen(anyBytes), weight: 4 },
  { arbitrary: fc.constantFrom(' ', '\t', '  ').map((pad) => Buffer.from(`${pad}${VALUE_SENTINEL}-padded${pad}`)), weight: 1 },
  { arbitrary: fc.constant(Buffer.alloc(0)), weight: 1 },
  { arbitrary: fc.integer({ min: 8180, max: 8200 }).map((n) => Buffer.from(VALUE_SENTINEL.padEnd(n, 'L'))), weight: 1 },
);

const connectionTokens = [
  'close',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  ...ALLOWLISTED,
  ...STATIC_NAMES,
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'authorization',
  'cookie',
  'x-forwarded-for',
  'x-envoy-x',
  'mcp-session-id',
  'accept',
  'mcp-param-x',
  'via',
  'user-agent',
  'x_tenant',
  '',
];
/** A `Connection` list: tokens in any casing, with empty elements and stray whitespace. */
const connectionValue = fc
  .array(fc.tuple(casing(fc.constantFrom(...connectionTokens)), fc.constantFrom(',', ', ', ' ,', ',,')), { minLength: 1, maxLength: 4 })
  .map((parts) => Buffer.from(parts.map(([t, sep], i) => (i ? sep : '') + t).join('')));

const hostValue = fc.constantFrom('gw.test', 'evil.test', '127.0.0.1:1', '').map((h) => Buffer.from(h));
const originValue = fc
  .constantFrom('http://localhost:5173', 'https://127.0.0.1', 'http://[::1]:8080', 'http://evil.test', 'null', 'http://localhost.evil.test')
  .map((o) => Buffer.from(o));
const expectValue = fc.constantFrom('100-continue', '100-Continue', 'nothing').map((v) => Buffer.from(v));

/** Lines whose value has a grammar of its own get values from it most of the time. */
const line: fc.Arbitrary<FuzzLine> = fc
  .tuple(name, value, connectionValue, hostValue, expectValue, originValue, fc.boolean())
  .map(([n, random, connection, host, expect, origin, useRandom]) => {
    const special = { connection, host, expect, origin }[n.toLowerCase() as 'connection' | 'host' | 'expect' | 'origin'];
    return { name: n, value: special && !useRandom ? special : random };
  });

/** A header block: random lines, with some repeated verbatim or in another casing. */
const lines = fc.tuple(fc.array(line, { maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 1 })).map(([ls, repeats]) => {
  const out = [...ls];
  for (const [i, upper] of repeats) {
    const original = ls[i % Math.max(ls.length, 1)];
    if (original) out.splice(i % (out.length + 1), 0, { ...original, name: upper ? original.name.toUpperCase() : original.name });
  }
  return out;
});

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method: fc.oneof(
    { arbitrary: fc.constantFrom('GET' as const, 'POST' as const, 'DELETE' as const), weight: 12 },
    { arbitrary: fc.constantFrom('TRACE' as const, 'PUT' as const, 'PATCH' as const, 'OPTIONS' as const), weight: 1 },
  ),
  target: fc.oneof(
    { arbitrary: fc.constant('origin' as const), weight: 16 },
    { arbitrary: fc.constantFrom('query' as const, 'absolute' as const), weight: 2 },
    { arbitrary: fc.constantFrom('dot' as const, 'encoded-dot' as const, 'fragment' as const, 'double-slash' as const), weight: 1 },
  ),
  host: fc.oneof({ arbitrary: fc.constant(true), weight: 30 }, { arbitrary: fc.constant(false), weight: 1 }),
  lines,
  framing: fc.oneof(
    { arbitrary: fc.constantFrom<Framing>('none', 'length', 'chunked'), weight: 10 },
    {
      arbitrary: fc.constantFrom<Framing>(
        'length-twice',
        'chunked-and-length',
        'coding:gzip, chunked',
        'coding:chunked, gzip',
        'coding:CHUNKED',
        'coding:identity',
      ),
      weight: 1,
    },
  ),
});
