/**
 * validateShape (lib/option-shape-errors.ts), the adapter from a zod option schema to HeaderConfigError,
 * on small schemas of its own: the path it names (through nested objects, lists and maps), the owner in
 * the message, "is required" with its hint, the did-you-mean rules, and options inherited from a
 * polluted Object.prototype never taking effect.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { HeaderConfigError } from '../../lib/index.js';
import { validateShape } from '../../lib/option-shape-errors.js';

const schema = z.strictObject({
  target: z.string(),
  name: z.string().optional(),
  allow: z.array(z.string()).optional(),
  passthrough: z.array(z.string()).optional(),
  label: z.string({ message: 'must be a label, e.g. "github"' }).optional(),
  session: z.strictObject({ mode: z.string(), idleTtl: z.number().optional() }).optional(),
  routes: z.array(z.strictObject({ path: z.string(), port: z.number().optional() })).optional(),
  secrets: z.record(z.string(), z.strictObject({ type: z.string() })).optional(),
  headers: z.strictObject({ plaintext: z.record(z.string(), z.string()).optional() }).optional(),
  tls: z.strictObject({ servername: z.string().optional() }).optional(),
});

/** The error validateShape throws for `options`, as [path, rule]. */
function refusal(options: unknown, fn = 'mcpProxy', at = '', shape: z.ZodType = schema): [string, string] {
  try {
    validateShape(shape, options, fn, at);
  } catch (error) {
    assert.ok(error instanceof HeaderConfigError);
    assert.equal(error.code, 'ERR_INVALID_OPTION');
    return [error.path, error.rule];
  }
  assert.fail('accepted');
}

describe('validateShape: the owner of the options', () => {
  it('a function name is shown as a call; words stay words', () => {
    assert.deepEqual(refusal(null), ['(options)', 'mcpProxy() takes an options object']);
    assert.deepEqual(refusal([], 'relayMetrics'), ['(options)', 'relayMetrics() takes an options object']);
    assert.deepEqual(refusal('x', 'the gateway file'), ['(options)', 'the gateway file takes an options object']);
    assert.deepEqual(refusal({ target: 't', nme: 'x' }, 'a file v2'), ['nme', 'unknown option of a file v2; did you mean "name"?']);
  });
});

describe('validateShape: where the problem is', () => {
  const cases: [string, unknown, string, [string, string]][] = [
    ['an unknown top-level key', { target: 't', passthru: [] }, '', ['passthru', 'unknown option of mcpProxy(); did you mean "passthrough"?']],
    ['under `at`', { target: 't', passthru: [] }, 'routes[2]', ['routes[2].passthru', 'unknown option of mcpProxy(); did you mean "passthrough"?']],
    [
      'inside an optional object',
      { target: 't', session: { mode: 'bind', idleTTL: 5 } },
      '',
      ['session.idleTTL', 'unknown option of mcpProxy(); did you mean "idleTtl"?'],
    ],
    [
      'inside a list item',
      { target: 't', routes: [{ path: '/a' }, { path: '/b', pth: 1 }] },
      '',
      ['routes[1].pth', 'unknown option of mcpProxy(); did you mean "path"?'],
    ],
    [
      'inside a map value',
      { target: 't', secrets: { files: { typ: 'file' } } },
      '',
      ['secrets.files.typ', 'unknown option of mcpProxy(); did you mean "type"?'],
    ],
    [
      'an unknown key far from every known one has no suggestion',
      { target: 't', routes: [{ path: '/a', port: 1 }], prt: 1 },
      '',
      ['prt', 'unknown option of mcpProxy()'],
    ],
    ['a value of the wrong type: zod says what it expected', { target: 5 }, '', ['target', 'Invalid input: expected string, received number']],
    ['a wrong type inside a list', { target: 't', allow: ['x-a', 7] }, '', ['allow[1]', 'Invalid input: expected string, received number']],
    ['a required option missing, with what it holds', {}, '', ['target', "is required: the backend's MCP endpoint, e.g. 'http://127.0.0.1:9001/mcp'"]],
    [
      'a required option missing inside a list item',
      { target: 't', routes: [{}] },
      '',
      ['routes[0].path', "is required: the route's mount path, e.g. '/github'"],
    ],
    ['a required option missing inside an object', { target: 't', session: {} }, '', ['session.mode', "is required: 'request', 'bind' or 'pin'"]],
    ["a schema's own message is kept", { target: 't', label: 5 }, '', ['label', 'must be a label, e.g. "github"']],
  ];
  for (const [name, options, at, expected] of cases) {
    it(name, () => assert.deepEqual(refusal(options, 'mcpProxy', at), expected));
  }

  it('every option with a hint says what it holds; one without says it is required', () => {
    const required = z.strictObject({ allow: z.string(), principal: z.string(), port: z.number(), other: z.string() });
    const missing = (present: Record<string, unknown>) => refusal(present, 'mcpProxy', '', required);
    assert.deepEqual(missing({}), ['allow', "is required: the incoming header names to capture, e.g. ['x-mcp-api-key']"]);
    assert.deepEqual(missing({ allow: 'a' }), ['principal', 'is required: a function (req) => string | undefined naming the authenticated caller']);
    assert.deepEqual(missing({ allow: 'a', principal: 'p' }), ['port', 'is required: a TCP port from 0 to 65535 (0: any free port)']);
    assert.deepEqual(missing({ allow: 'a', principal: 'p', port: 1 }), ['other', 'is required']);
  });

  it('a problem with the options as a whole is at (options)', () => {
    const whole = z.strictObject({ a: z.string().optional() }).refine((o) => o.a !== 'b', { message: 'a cannot be b' });
    assert.deepEqual(refusal({ a: 'b' }, 'mcpProxy', '', whole), ['(options)', 'a cannot be b']);
  });
});

describe('validateShape: did you mean', () => {
  const known = z.strictObject({ target: z.string().optional(), allow: z.string().optional(), port: z.number().optional() });
  const hint = (key: string): string => refusal({ [key]: 1 }, 'f', '', known)[1].replace('unknown option of f()', '');
  const cases: [string, string][] = [
    ['Allow', '; did you mean "allow"?'],
    ['alow', '; did you mean "allow"?'],
    ['alw', '; did you mean "allow"?'],
    ['prto', '; did you mean "port"?'],
    ['allowlist', '; did you mean "allow"?'],
    ['targetUrl', '; did you mean "target"?'],
    ['tar', ''],
    ['tarx', ''],
    ['zzz', ''],
  ];
  for (const [key, expected] of cases) it(`${key}: ${expected || 'no suggestion'}`, () => assert.equal(hint(key), expected));
});

describe('validateShape: what it returns', () => {
  it('own options only, on null-prototype objects, nested headers and tls too: a polluted Object.prototype takes no effect', () => {
    const proto = Object.prototype as unknown as Record<string, unknown>;
    proto.name = 'polluted';
    proto.plaintext = { 'x-evil': '1' };
    proto.servername = 'evil.example';
    try {
      const parsed = validateShape(schema, { target: 't', headers: {}, tls: {} }, 'mcpProxy');
      assert.equal(Object.getPrototypeOf(parsed), null);
      assert.equal(parsed.name, undefined);
      assert.equal(parsed.headers?.plaintext, undefined);
      assert.equal(parsed.tls?.servername, undefined);
      assert.deepEqual(Object.keys(parsed).sort(), ['headers', 'target', 'tls']);
    } finally {
      delete proto.name;
      delete proto.plaintext;
      delete proto.servername;
    }
  });
});
