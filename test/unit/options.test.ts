import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import express from 'express';
import {
  captureHeaders,
  envSecrets,
  getForwardedHeaders,
  mcpProxy,
  memorySessionStore,
  type CaptureHeadersOptions,
  type McpProxyOptions,
} from '../../lib/index.js';
import { parseProxyOptions } from '../../lib/parse-options.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { expectConfigError } from '../helpers/config-errors.js';
import { label } from '../helpers/labels.js';
import { listen, type Listening } from '../helpers/listen.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { SENTINEL as SENTINEL_PREFIX } from '../helpers/sentinel.js';

const TARGET = 'http://127.0.0.1:9/mcp';
const SENTINEL = `${SENTINEL_PREFIX}-options-7f3a9c`;

const proxy = (extra: Record<string, unknown>): unknown => mcpProxy({ target: TARGET, logger: captureLogger(), ...extra });
const capture = (extra: Record<string, unknown>): unknown => captureHeaders({ allow: ['x-a'], logger: captureLogger(), ...extra });

/** Freezes objects and arrays recursively, but never the logger (it records into an array). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const [key, child] of Object.entries(value)) if (key !== 'logger') deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** A JSON snapshot of everything but the logger. */
const snapshot = (options: object): string => JSON.stringify(options, (key, v: unknown) => (key === 'logger' ? '<logger>' : v));

describe('options: defaults and normalisation', () => {
  let backend: RecordingBackend;
  let gateway: Listening;
  const routeLogger = captureLogger();

  before(async () => {
    backend = await recordingBackend();
    const app = express();
    app.use(captureHeaders({ allow: ['X-MCP-API-Key', 'Authorization', 'X-Tenant'], allowCredentials: true, logger: routeLogger }));
    app.get('/captured', (req, res) => {
      res.json(getForwardedHeaders(req));
    });
    // Default passthrough: every captured header except the credentials.
    app.use('/default', mcpProxy({ target: `${backend.url}/mcp`, logger: routeLogger }));
    gateway = await listen(app);
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  it('allow names in any casing are stored lower-case and matched case-insensitively', async () => {
    const res = await fetch(`${gateway.url}/captured`, { headers: { 'x-mcp-api-key': 'k1', 'X-TENANT': 't1' } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { 'x-mcp-api-key': 'k1', 'x-tenant': 't1' });
  });

  it('default passthrough forwards every captured header except authorization/cookie', async () => {
    const res = await fetch(`${gateway.url}/default`, {
      headers: { 'x-mcp-api-key': 'k1', 'x-tenant': 't1', authorization: 'Bearer client-token' },
    });
    assert.equal(res.status, 200);
    const seen = backend.last().headers;
    assert.equal(seen['x-mcp-api-key'], 'k1');
    assert.equal(seen['x-tenant'], 't1');
    assert.equal(seen.authorization, undefined);
  });

  it('default maxValueLength of captureHeaders is 8192: 8192 bytes captured, 8193 → 431', async () => {
    const ok = await fetch(`${gateway.url}/captured`, { headers: { 'x-tenant': 'a'.repeat(8192) } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as Record<string, string>)['x-tenant']?.length, 8192);
    const tooLong = await fetch(`${gateway.url}/captured`, { headers: { 'x-tenant': 'a'.repeat(8193) } });
    assert.equal(tooLong.status, 431);
    const body = (await tooLong.json()) as { error: { data: { reason: string } } };
    assert.equal(body.error.data.reason, 'header_too_large');
  });

  it('default maxValueLength of mcpProxy is 8192 for static values', () => {
    assert.doesNotThrow(() => proxy({ headers: { plaintext: { 'x-p': 'a'.repeat(8192) } } }));
    expectConfigError(() => proxy({ headers: { plaintext: { 'x-p': 'a'.repeat(8193) } } }), 'ERR_INVALID_HEADER_VALUE', 'headers.plaintext["x-p"]');
  });

  it('an explicit maxValueLength replaces the default', () => {
    assert.doesNotThrow(() => proxy({ maxValueLength: 10, headers: { plaintext: { 'x-p': 'a'.repeat(10) } } }));
    expectConfigError(
      () => proxy({ maxValueLength: 10, headers: { plaintext: { 'x-p': 'a'.repeat(11) } } }),
      'ERR_INVALID_HEADER_VALUE',
      'headers.plaintext["x-p"]',
    );
    assert.doesNotThrow(() => proxy({ maxValueLength: 65_536, headers: { plaintext: { 'x-p': 'a'.repeat(20_000) } } }));
  });

  it('the default secret provider is the process environment, read at construction', () => {
    const name = 'MCP_RELAY_OPTIONS_TEST_KEY';
    delete process.env[name];
    const logger = captureLogger();
    expectConfigError(() => proxy({ headers: { fromSecret: { 'X-Api-Key': name } }, logger }), 'ERR_SECRET_MISSING', 'headers.fromSecret["X-Api-Key"]');
    assert.match(logger.text(), /environment variable/);
    assert.ok(logger.text().includes(name));
    process.env[name] = 'value-1';
    try {
      assert.doesNotThrow(() => proxy({ headers: { fromSecret: { 'X-Api-Key': name } } }));
    } finally {
      delete process.env[name];
    }
  });

  it("session defaults to 'request' and accepts it explicitly", () => {
    assert.doesNotThrow(() => proxy({}));
    assert.doesNotThrow(() => proxy({ session: 'request' }));
  });

  for (const option of ['connectTimeout', 'responseTimeout']) {
    it(`${option} accepts 1 and 2^31-1 and refuses 2^31`, () => {
      assert.doesNotThrow(() => proxy({ [option]: 1 }));
      assert.doesNotThrow(() => proxy({ [option]: 2 ** 31 - 1 }));
      expectConfigError(() => proxy({ [option]: 2 ** 31 }), 'ERR_INVALID_OPTION', option);
    });
  }

  for (const value of [30_000, undefined]) {
    it(`the removed timeout option (set to ${String(value)}) throws, naming the two options that replace it`, () => {
      const err = expectConfigError(() => proxy({ timeout: value }), 'ERR_INVALID_OPTION', 'timeout');
      assert.match(err.rule, /connectTimeout/);
      assert.match(err.rule, /responseTimeout/);
    });
  }

  it('timeouts default to 10 s for connecting and sending, 5 minutes for the response to start', () => {
    const config = parseProxyOptions({ target: 'http://127.0.0.1:9/mcp' });
    assert.equal(config.connectTimeout, 10_000);
    assert.equal(config.responseTimeout, 300_000);
  });

  it('health probes default to a 5 s bound and a 5 s cache; a cacheTtl of 0 is allowed', () => {
    assert.deepEqual(parseProxyOptions({ target: TARGET }).health, { timeout: 5000, cacheTtl: 5000 });
    assert.deepEqual(parseProxyOptions({ target: TARGET, health: { cacheTtl: 0 } }).health, { timeout: 5000, cacheTtl: 0 });
  });

  it('without a logger option, the allowCredentials warning goes to console.warn', () => {
    const warn = mock.method(console, 'warn', () => {});
    try {
      captureHeaders({ allow: ['Authorization'], allowCredentials: true });
      assert.equal(warn.mock.callCount(), 1);
      assert.match(String(warn.mock.calls[0]!.arguments[0]), /authorization/);
    } finally {
      warn.mock.restore();
    }
  });

  it('names are case-insensitive: X-A and x-a in one list are duplicates', () => {
    const err = expectConfigError(() => capture({ allow: ['X-A', 'x-a'] }), 'ERR_DUPLICATE_HEADER', 'allow[1]');
    assert.match(err.message, /"x-a"/);
    expectConfigError(() => proxy({ passthrough: ['x-b', 'X-Tenant', 'X-TENANT'] }), 'ERR_DUPLICATE_HEADER', 'passthrough[2]');
  });
});

describe('options: the user object is read, never mutated or kept', () => {
  it('deep-frozen captureHeaders options construct successfully and stay unchanged', () => {
    const options = deepFreeze({ allow: ['X-MCP-API-Key', 'Authorization'], allowCredentials: true, maxValueLength: 100, logger: captureLogger() });
    const before = snapshot(options);
    assert.doesNotThrow(() => captureHeaders(options));
    assert.equal(snapshot(options), before);
    assert.deepEqual(options.allow, ['X-MCP-API-Key', 'Authorization']);
  });

  it('deep-frozen mcpProxy options (every option set) construct successfully and stay unchanged', () => {
    const options = deepFreeze({
      target: new URL('http://127.0.0.1:9/mcp?x=1'),
      passthrough: ['X-MCP-API-Key', 'Cookie'],
      headers: { plaintext: { 'X-Toolsets': 'projects' }, fromSecret: { 'X-Api-Key': 'GITHUB_KEY' } },
      secrets: envSecrets({ GITHUB_KEY: 'value-1' }),
      session: 'request' as const,
      allowCredentials: true,
      connectTimeout: 1000,
      responseTimeout: 2000,
      allowedHosts: ['gateway.example', 'localhost:8080'],
      allowedOrigins: ['https://app.example'],
      responseHeaders: ['X-Request-Cost'],
      maxValueLength: 200,
      logger: captureLogger(),
    });
    const before = snapshot(options);
    assert.doesNotThrow(() => mcpProxy(options));
    assert.equal(snapshot(options), before);
    assert.equal(options.target.href, 'http://127.0.0.1:9/mcp?x=1');
  });

  it('non-frozen options are not normalised in place (names keep the caller casing)', () => {
    const options = {
      target: TARGET,
      passthrough: ['X-A'],
      headers: { plaintext: { 'X-P': 'v' }, fromSecret: { 'X-S': 'K' } },
      secrets: envSecrets({ K: 'v' }),
      logger: captureLogger(),
    };
    const before = snapshot(options);
    mcpProxy(options);
    assert.equal(snapshot(options), before);
    assert.deepEqual(Object.keys(options), ['target', 'passthrough', 'headers', 'secrets', 'logger']);
  });

  it('mutating the options after construction changes nothing (the config is a copy)', async () => {
    const backend = await recordingBackend();
    const options = { allow: ['x-a'], logger: captureLogger() };
    const proxyOptions = {
      target: `${backend.url}/mcp`,
      passthrough: ['x-a'],
      headers: { plaintext: { 'x-p': 'static' } as Record<string, string> },
      logger: captureLogger(),
    };
    const app = express();
    app.use(captureHeaders(options));
    app.use('/r', mcpProxy(proxyOptions));
    const gateway = await listen(app);
    try {
      options.allow.push('x-b');
      proxyOptions.passthrough.push('x-b');
      proxyOptions.headers.plaintext['x-p'] = 'changed\r\nX-Evil: 1';
      proxyOptions.headers.plaintext['x-q'] = 'added';
      proxyOptions.target = 'http://127.0.0.1:1/evil';
      const res = await fetch(`${gateway.url}/r`, { headers: { 'x-a': '1', 'x-b': '2' } });
      assert.equal(res.status, 200);
      const seen = backend.last();
      assert.equal(seen.url, '/mcp');
      assert.equal(seen.headers['x-a'], '1');
      assert.equal(seen.headers['x-b'], undefined);
      assert.equal(seen.headers['x-p'], 'static');
      assert.equal(seen.headers['x-q'], undefined);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});

describe('options: shape and type errors (ERR_INVALID_OPTION)', () => {
  for (const bad of [undefined, null, 'x', 1, [], new Map()]) {
    it(`not an options object: ${label(bad)}`, () => {
      expectConfigError(() => mcpProxy(bad as unknown as McpProxyOptions), 'ERR_INVALID_OPTION', '(options)');
      expectConfigError(() => captureHeaders(bad as unknown as CaptureHeadersOptions), 'ERR_INVALID_OPTION', '(options)');
    });
  }

  it('unknown keys name the key and suggest the near miss', () => {
    const a = expectConfigError(() => proxy({ pasthrough: ['x-a'] }), 'ERR_INVALID_OPTION', 'pasthrough');
    assert.match(a.message, /did you mean "passthrough"/);
    const b = expectConfigError(() => proxy({ headers: { plaintxt: {} } }), 'ERR_INVALID_OPTION', 'headers.plaintxt');
    assert.match(b.message, /did you mean "plaintext"/);
    const c = expectConfigError(() => capture({ alow: ['x-b'] }), 'ERR_INVALID_OPTION', 'alow');
    assert.match(c.message, /did you mean "allow"/);
    const d = expectConfigError(() => proxy({ ResponseTimeout: 5 }), 'ERR_INVALID_OPTION', 'ResponseTimeout');
    assert.match(d.message, /did you mean "responseTimeout"/);
    const e = expectConfigError(() => proxy({ completelyUnrelated: true }), 'ERR_INVALID_OPTION', 'completelyUnrelated');
    assert.doesNotMatch(e.message, /did you mean/);
    // An mcpProxy-only option passed to captureHeaders is unknown there.
    expectConfigError(() => capture({ passthrough: ['x-a'] }), 'ERR_INVALID_OPTION', 'passthrough');
  });

  for (const bad of [0, -1, NaN, Infinity, -Infinity, '30', 1.5, null, true]) {
    it(`timeout ${String(bad)} (${typeof bad}) is rejected`, () => {
      expectConfigError(() => proxy({ timeout: bad }), 'ERR_INVALID_OPTION', 'timeout');
    });
  }

  for (const bad of [0, -1, NaN, Infinity, '30', 1.5, 65_537, null]) {
    it(`maxValueLength ${String(bad)} (${typeof bad}) is rejected by both constructors`, () => {
      expectConfigError(() => proxy({ maxValueLength: bad }), 'ERR_INVALID_OPTION', 'maxValueLength');
      expectConfigError(() => capture({ maxValueLength: bad }), 'ERR_INVALID_OPTION', 'maxValueLength');
    });
  }

  for (const bad of ['yes', 'true', 1, 0, null, {}]) {
    it(`allowCredentials must be a boolean: ${label(bad)} is refused by both constructors`, () => {
      expectConfigError(() => capture({ allowCredentials: bad }), 'ERR_INVALID_OPTION', 'allowCredentials');
      expectConfigError(() => proxy({ allowCredentials: bad }), 'ERR_INVALID_OPTION', 'allowCredentials');
    });
  }

  const badLoggers: [string, unknown][] = [
    ['no warn()', { error() {} }],
    ['no error()', { warn() {} }],
    ['a string warn', { warn: 'x', error() {} }],
    ['the string "console"', 'console'],
    ['a number', 1],
    ['null', null],
  ];
  for (const [what, bad] of badLoggers) {
    it(`logger must have warn() and error(): a logger with ${what} is refused by both constructors`, () => {
      expectConfigError(() => proxy({ logger: bad }), 'ERR_INVALID_OPTION', 'logger');
      expectConfigError(() => capture({ logger: bad }), 'ERR_INVALID_OPTION', 'logger');
    });
  }

  it('a logger with warn() and error() is accepted', () => {
    assert.doesNotThrow(() => proxy({ logger: { warn() {}, error() {} } }));
  });

  const badProviders: [string, unknown][] = [
    ['{}', {}],
    ['read() without a description', { read: () => 'x' }],
    ['a description without read()', { description: 'd' }],
    ['a numeric description', { description: 1, read: () => 'x' }],
    ['the string "env"', 'env'],
    ['a bare function', () => 'x'],
    ['null', null],
  ];
  for (const [what, bad] of badProviders) {
    it(`secrets must be a provider with description and read(): ${what} is refused`, () => {
      expectConfigError(() => proxy({ secrets: bad }), 'ERR_INVALID_OPTION', 'secrets');
    });
  }

  it('a custom provider with description and read() is accepted', () => {
    assert.doesNotThrow(() => proxy({ secrets: { description: 'custom', read: () => undefined } }));
  });

  for (const session of [
    'request',
    'bind',
    { mode: 'request' },
    { mode: 'bind' },
    { mode: 'bind', idleTtl: 1, absoluteTtl: 2, maxSessions: 1 },
    { mode: 'pin', principal: () => 'a', maxSessionsPerPrincipal: 3 },
    { mode: 'bind', principal: () => 'a', maxSessionsPerClient: 3, allowLegacySse: true },
    { mode: 'pin', principal: () => 'a', allowLegacySse: false },
  ]) {
    it(`session accepts ${label(session)}`, () => {
      assert.equal(typeof proxy({ session }), 'function');
    });
  }

  for (const bad of ['Request', '', true, null, 1, ['bind']]) {
    it(`session: ${label(bad)} is refused, naming the modes to write instead`, () => {
      const err = expectConfigError(() => proxy({ session: bad }), 'ERR_INVALID_OPTION', 'session');
      assert.match(err.rule, /'request', 'bind'/);
    });
  }

  it('session: a wrong mode or key is refused with the path and what to write instead', () => {
    expectConfigError(() => proxy({ session: { mode: 'sticky' } }), 'ERR_INVALID_OPTION', 'session.mode');
    expectConfigError(() => proxy({ session: {} }), 'ERR_INVALID_OPTION', 'session.mode');
    assert.match(expectConfigError(() => proxy({ session: 'pin' }), 'ERR_INVALID_OPTION', 'session').rule, /principal/);
    assert.match(
      expectConfigError(() => proxy({ session: { mode: 'bind', idleTTL: 5 } }), 'ERR_INVALID_OPTION', 'session.idleTTL').rule,
      /did you mean "idleTtl"/,
    );
    expectConfigError(() => proxy({ session: { mode: 'request', idleTtl: 5 } }), 'ERR_INVALID_OPTION', 'session.idleTtl');
    expectConfigError(() => proxy({ session: { mode: 'bind', principal: 'alice' } }), 'ERR_INVALID_OPTION', 'session.principal');
    expectConfigError(
      () => proxy({ session: { mode: 'pin', principal: () => 'a', maxSessionsPerClient: 3 } }),
      'ERR_INVALID_OPTION',
      'session.maxSessionsPerClient',
    );
    expectConfigError(() => proxy({ session: { mode: 'bind', maxSessionsPerPrincipal: 3 } }), 'ERR_INVALID_OPTION', 'session.maxSessionsPerPrincipal');
    assert.match(
      expectConfigError(
        () => proxy({ session: { mode: 'bind', maxSessions: 5, maxSessionsPerClient: 6 } }),
        'ERR_INVALID_OPTION',
        'session.maxSessionsPerClient',
      ).rule,
      /larger than maxSessions \(5\)/,
    );
    expectConfigError(() => proxy({ session: { mode: 'bind', allowLegacySse: 'yes' } }), 'ERR_INVALID_OPTION', 'session.allowLegacySse');
    expectConfigError(() => proxy({ session: { mode: 'pin', principal: () => 'a', sessionKey: 'k'.repeat(32) } }), 'ERR_INVALID_OPTION', 'session.sessionKey');
  });

  it('session: an absolute TTL shorter than the idle TTL is refused', () => {
    assert.match(
      expectConfigError(() => proxy({ session: { mode: 'bind', idleTtl: 10, absoluteTtl: 5 } }), 'ERR_INVALID_OPTION', 'session.absoluteTtl').rule,
      /shorter than the idle TTL/,
    );
    expectConfigError(() => proxy({ session: { mode: 'bind', idleTtl: 2 ** 31 - 1 } }), 'ERR_INVALID_OPTION', 'session.idleTtl');
  });

  it('session.store: needs get/set/delete/size; with bind it needs a sessionKey; pin refuses any store', () => {
    const store = { get: () => undefined, set: () => true, delete: () => {}, size: () => 0 };
    expectConfigError(() => proxy({ session: { mode: 'bind', store: { get: () => undefined } } }), 'ERR_INVALID_OPTION', 'session.store');
    assert.match(expectConfigError(() => proxy({ session: { mode: 'bind', store } }), 'ERR_INVALID_OPTION', 'session.sessionKey').rule, /same key/);
    assert.equal(typeof proxy({ session: { mode: 'bind', store, sessionKey: 'k'.repeat(32) } }), 'function');
    assert.equal(typeof proxy({ session: { mode: 'bind', store, sessionKey: new Uint8Array(32) } }), 'function');
    assert.match(expectConfigError(() => proxy({ session: { mode: 'pin', principal: () => 'a', store } }), 'ERR_INVALID_OPTION', 'session.store').rule, /bind/);
  });

  it('session options are read as own properties only (a polluted prototype cannot switch pin on)', () => {
    const session = Object.create({ mode: 'pin', principal: () => 'a' }) as Record<string, unknown>;
    expectConfigError(() => proxy({ session }), 'ERR_INVALID_OPTION', 'session.mode');
  });

  it('allow and passthrough must be arrays of strings', () => {
    expectConfigError(() => capture({ allow: 'x-a' }), 'ERR_INVALID_OPTION', 'allow');
    expectConfigError(() => capture({ allow: undefined }), 'ERR_INVALID_OPTION', 'allow');
    expectConfigError(() => capture({ allow: ['x-a', 1] }), 'ERR_INVALID_OPTION', 'allow[1]');
    expectConfigError(() => capture({ allow: new Set(['x-a']) }), 'ERR_INVALID_OPTION', 'allow');
    expectConfigError(() => proxy({ passthrough: 'x-a' }), 'ERR_INVALID_OPTION', 'passthrough');
    expectConfigError(() => proxy({ passthrough: [null] }), 'ERR_INVALID_OPTION', 'passthrough[0]');
  });

  it('`allow: []` is rejected: a capture that captures nothing is a mistake', () => {
    const err = expectConfigError(() => capture({ allow: [] }), 'ERR_INVALID_OPTION', 'allow');
    assert.match(err.rule, /at least one/);
  });

  it('headers, plaintext and fromSecret must be plain objects', () => {
    expectConfigError(() => proxy({ headers: 'x' }), 'ERR_INVALID_OPTION', 'headers');
    expectConfigError(() => proxy({ headers: [] }), 'ERR_INVALID_OPTION', 'headers');
    expectConfigError(() => proxy({ headers: { plaintext: [] } }), 'ERR_INVALID_OPTION', 'headers.plaintext');
    expectConfigError(() => proxy({ headers: { plaintext: new Map([['x-a', 'v']]) } }), 'ERR_INVALID_OPTION', 'headers.plaintext');
    expectConfigError(() => proxy({ headers: { fromSecret: 'KEY' } }), 'ERR_INVALID_OPTION', 'headers.fromSecret');
    expectConfigError(() => proxy({ headers: { fromSecret: { 'X-K': 123 } } }), 'ERR_INVALID_OPTION', 'headers.fromSecret["X-K"]');
  });

  for (const bad of ['', '../etc/passwd', 'a/b', '.hidden', '-x', 'a b', 'a'.repeat(256)]) {
    it(`secret names are plain names: ${label(bad, 20)} is refused`, () => {
      expectConfigError(() => proxy({ headers: { fromSecret: { 'X-K': bad } }, secrets: envSecrets({}) }), 'ERR_INVALID_OPTION', 'headers.fromSecret["X-K"]');
    });
  }
});

describe('options: what the resolved route holds', () => {
  it('required names are lower-cased and listed once', () => {
    assert.deepEqual(parseProxyOptions({ target: TARGET, passthrough: ['x-a'], required: ['X-A', 'x-a'] }).required, ['x-a']);
  });

  it('credentialInputs: the captured names read into a credential header (which pin never pins), not those read into others', () => {
    const config = parseProxyOptions({
      target: TARGET,
      principal: () => 'u',
      headers: {
        fromCaptured: { Authorization: 'x-upstream-authorization', 'X-Team': 'x-team-in' },
        template: { Cookie: 's={captured:x-session-in}', 'X-User': '{captured:x-user-in}' },
      },
    });
    assert.deepEqual([...config.credentialInputs].sort(), ['x-session-in', 'x-upstream-authorization']);
    assert.deepEqual([...config.capturedInputs].sort(), ['x-session-in', 'x-team-in', 'x-upstream-authorization', 'x-user-in']);
  });

  it('forwardTraceContext is off unless set', () => {
    assert.equal(parseProxyOptions({ target: TARGET }).forwardTraceContext, false);
    assert.equal(parseProxyOptions({ target: TARGET, forwardTraceContext: true }).forwardTraceContext, true);
  });

  it("a shared session store's keys carry the whole target, query included", () => {
    const config = parseProxyOptions({ target: `${TARGET}?tenant=a`, session: { mode: 'bind', store: memorySessionStore(), sessionKey: 'k'.repeat(32) } });
    assert.equal(config.session.mode === 'bind' && config.session.namespace, `${TARGET}?tenant=a\n`);
  });

  it("the session's principal serves {principal} templates when the route has none of its own; the route's own wins", () => {
    const template = { template: { 'X-User': 'u={principal}' } };
    const fromSession = parseProxyOptions({ target: TARGET, session: { mode: 'pin', principal: () => 'session-user' }, headers: template });
    assert.equal(fromSession.principal?.({} as never), 'session-user');
    const own = parseProxyOptions({
      target: TARGET,
      principal: () => 'route-user',
      session: { mode: 'pin', principal: () => 'session-user' },
      headers: template,
    });
    assert.equal(own.principal?.({} as never), 'route-user');
    expectConfigError(() => parseProxyOptions({ target: TARGET, headers: template }), 'ERR_INVALID_TEMPLATE', 'headers.template["X-User"]');
  });

  it('a secret missing at start-up is named in the error log, with where the provider looked; the message names the option only', () => {
    const log = captureLogger();
    const error = expectConfigError(
      () => mcpProxy({ target: TARGET, headers: { fromSecret: { 'X-A': 'MCP_RELAY_OPTIONS_ABSENT' } }, secrets: envSecrets({}), logger: log }),
      'ERR_SECRET_MISSING',
      'headers.fromSecret["X-A"]',
    );
    assert.equal(error.rule, 'the secret for this header is missing; the error log names the secret and its source');
    assert.deepEqual(
      log.lines.filter((l) => l.level === 'error').map((l) => [l.fields, l.message]),
      [
        [
          { route: '127.0.0.1:9/mcp', option: 'headers.fromSecret["X-A"]', secret: 'MCP_RELAY_OPTIONS_ABSENT', source: 'environment variable' },
          'mcpProxy: the secret behind headers.fromSecret["X-A"] is missing',
        ],
      ],
    );
  });
});

describe('options: target', () => {
  const bad: [string, unknown][] = [
    ['relative path', '/mcp'],
    ['bare word', 'mcp'],
    ['ftp: scheme', 'ftp://127.0.0.1/mcp'],
    ['file: scheme', 'file:///etc/passwd'],
    ['ws: scheme', 'ws://127.0.0.1/mcp'],
    ['user:pw@ credentials', 'http://user:pw@127.0.0.1/mcp'],
    ['user@ credentials', 'https://user@127.0.0.1/mcp'],
    [':pw@ credentials', 'http://:pw@127.0.0.1/mcp'],
    ['#fragment', 'http://127.0.0.1/mcp#frag'],
    ['URL object with credentials', new URL('http://u:p@127.0.0.1/mcp')],
  ];
  for (const [label, target] of bad) {
    it(`${label} is rejected with ERR_INVALID_TARGET`, () => {
      const error = expectConfigError(() => mcpProxy({ target: target as string, logger: captureLogger() }), 'ERR_INVALID_TARGET', 'target');
      if (label.includes('credentials')) assert.match(error.rule, /send the credential as headers\.fromSecret/);
    });
  }

  for (const target of [undefined, 1, {}, null]) {
    it(`a non-string, non-URL target (${label(target)}) is a shape error`, () => {
      expectConfigError(() => proxy({ target }), 'ERR_INVALID_OPTION', 'target');
    });
  }

  for (const target of [
    'http://127.0.0.1:9/mcp',
    'https://example.com/mcp',
    'http://127.0.0.1:9/mcp?tenant=a',
    'http://127.0.0.1:9',
    new URL('http://127.0.0.1:9/x'),
  ]) {
    it(`the target ${label(target)} is accepted (http, https, a query string, URL objects)`, () => {
      assert.doesNotThrow(() => mcpProxy({ target, logger: captureLogger() }));
    });
  }
});

describe('options: credentials opt-in', () => {
  for (const name of ['authorization', 'Authorization', 'COOKIE']) {
    it(`${name} in allow or passthrough without allowCredentials is ERR_CREDENTIAL_HEADER naming the opt-in`, () => {
      const a = expectConfigError(() => capture({ allow: ['x-a', name] }), 'ERR_CREDENTIAL_HEADER', 'allow[1]');
      assert.match(a.message, /allowCredentials/);
      const b = expectConfigError(() => proxy({ passthrough: [name] }), 'ERR_CREDENTIAL_HEADER', 'passthrough[0]');
      assert.match(b.message, /allowCredentials/);
    });
  }

  it('with allowCredentials the startup warning names the header (lower-case) and carries no value', () => {
    const log = captureLogger();
    captureHeaders({ allow: ['X-A', 'Authorization'], allowCredentials: true, logger: log });
    const warns = log.lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 1);
    assert.deepEqual(warns[0]!.fields, { header: 'authorization', option: 'allow' });
    assert.match(warns[0]!.message, /"authorization"/);

    const proxyLog = captureLogger();
    mcpProxy({
      target: TARGET,
      passthrough: ['Cookie', 'x-a'],
      allowCredentials: true,
      headers: { plaintext: { 'X-P': SENTINEL }, fromSecret: { 'X-S': 'K' } },
      secrets: envSecrets({ K: `${SENTINEL}-secret` }),
      logger: proxyLog,
    });
    const proxyWarns = proxyLog.lines.filter((l) => l.level === 'warn');
    assert.equal(proxyWarns.length, 1);
    assert.deepEqual(proxyWarns[0]!.fields, { route: '127.0.0.1:9/mcp', header: 'cookie', option: 'passthrough' });
    assert.ok(!proxyLog.text().includes(SENTINEL), proxyLog.text());
  });

  it('each credential warning says which function and option forward which header, and what that means', () => {
    const warnings = (build: (logger: ReturnType<typeof captureLogger>) => void) => {
      const log = captureLogger();
      build(log);
      return log.lines.filter((l) => l.level === 'warn').map((l) => [l.fields, l.message]);
    };
    const PASSTHROUGH = 'This is token passthrough: the backend must accept tokens issued for it, see docs/security.md';
    assert.deepEqual(
      warnings((logger) => captureHeaders({ allow: ['Authorization'], allowCredentials: true, logger })),
      [[{ header: 'authorization', option: 'allow' }, `captureHeaders: allow forwards the caller's "authorization" header (allowCredentials). ${PASSTHROUGH}`]],
    );
    assert.deepEqual(
      warnings((logger) => mcpProxy({ target: TARGET, name: 'r', passthrough: ['cookie'], allowCredentials: true, logger })),
      [
        [
          { route: 'r', header: 'cookie', option: 'passthrough' },
          `mcpProxy: passthrough forwards the caller's "cookie" header (allowCredentials). ${PASSTHROUGH}`,
        ],
      ],
    );
    assert.deepEqual(
      warnings((logger) => mcpProxy({ target: TARGET, name: 'r', allowCredentials: true, logger })),
      [
        [
          { route: 'r', option: 'allowCredentials', headers: ['authorization', 'cookie'] },
          `mcpProxy: allowCredentials without passthrough forwards any captured authorization or cookie header. ${PASSTHROUGH}`,
        ],
      ],
    );
    assert.deepEqual(
      warnings((logger) => mcpProxy({ target: TARGET, name: 'r', passthrough: ['x-a'], allowCredentials: true, logger })),
      [],
    );
  });

  it('allowCredentials without any credential name logs no warning; credentials as static headers need no opt-in', () => {
    const log = captureLogger();
    captureHeaders({ allow: ['x-a'], allowCredentials: true, logger: log });
    mcpProxy({
      target: TARGET,
      headers: { plaintext: { Cookie: 'a=b' }, fromSecret: { Authorization: 'K' } },
      secrets: envSecrets({ K: 'Bearer t' }),
      logger: log,
    });
    assert.equal(log.lines.filter((l) => l.level === 'warn').length, 0);
  });
});

describe('options: overlaps, duplicates and limits', () => {
  it('ERR_HEADER_OVERLAP: a name in explicit passthrough and in static headers (any casing)', () => {
    const a = expectConfigError(
      () => proxy({ passthrough: ['x-a'], headers: { plaintext: { 'X-A': 'v' } } }),
      'ERR_HEADER_OVERLAP',
      'headers.plaintext["X-A"]',
    );
    assert.match(a.message, /"x-a"/);
    expectConfigError(
      () => proxy({ passthrough: ['X-KEY'], headers: { fromSecret: { 'x-key': 'K' } }, secrets: envSecrets({ K: 'v' }) }),
      'ERR_HEADER_OVERLAP',
      'headers.fromSecret["x-key"]',
    );
  });

  it('ERR_DUPLICATE_HEADER within plaintext, within fromSecret, and across plaintext and fromSecret with different casing', () => {
    expectConfigError(() => proxy({ headers: { plaintext: { 'X-Key': 'a', 'x-key': 'b' } } }), 'ERR_DUPLICATE_HEADER', 'headers.plaintext["x-key"]');
    expectConfigError(
      () => proxy({ headers: { fromSecret: { 'X-Key': 'A', 'X-KEY': 'B' } }, secrets: envSecrets({ A: '1', B: '2' }) }),
      'ERR_DUPLICATE_HEADER',
      'headers.fromSecret["X-KEY"]',
    );
    const err = expectConfigError(
      () => proxy({ headers: { plaintext: { 'X-Api-Key': 'a' }, fromSecret: { 'x-API-key': 'K' } }, secrets: envSecrets({ K: 'v' }) }),
      'ERR_DUPLICATE_HEADER',
      'headers.fromSecret["x-API-key"]',
    );
    assert.ok(err.message.includes('headers.plaintext["X-Api-Key"]'), 'names the earlier entry');
  });

  it('ERR_TOO_MANY_HEADERS: 65 entries in allow, passthrough, plaintext or fromSecret; 64 is fine', () => {
    const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `x-h${i}`);
    const map = (n: number, value: (i: number) => string): Record<string, string> => Object.fromEntries(names(n).map((name, i) => [name, value(i)]));
    const env = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`K${i}`, `v${i}`]));

    assert.doesNotThrow(() => capture({ allow: names(64) }));
    expectConfigError(() => capture({ allow: names(65) }), 'ERR_TOO_MANY_HEADERS', 'allow');
    assert.doesNotThrow(() => proxy({ passthrough: names(64) }));
    expectConfigError(() => proxy({ passthrough: names(65) }), 'ERR_TOO_MANY_HEADERS', 'passthrough');
    assert.doesNotThrow(() => proxy({ headers: { plaintext: map(64, (i) => `v${i}`) } }));
    expectConfigError(() => proxy({ headers: { plaintext: map(65, (i) => `v${i}`) } }), 'ERR_TOO_MANY_HEADERS', 'headers.plaintext');
    assert.doesNotThrow(() => proxy({ headers: { fromSecret: map(64, (i) => `K${i}`) }, secrets: envSecrets(env) }));
    expectConfigError(
      () => proxy({ headers: { fromSecret: map(65, (i) => `K${i}`) }, secrets: envSecrets(env) }),
      'ERR_TOO_MANY_HEADERS',
      'headers.fromSecret',
    );
  });

  it('restricted and invalid names carry the option path of the offending entry', () => {
    expectConfigError(() => capture({ allow: ['x-a', 'Host'] }), 'ERR_RESTRICTED_HEADER', 'allow[1]');
    expectConfigError(() => proxy({ passthrough: ['x-a', 'x-b', 'X-Forwarded-For'] }), 'ERR_RESTRICTED_HEADER', 'passthrough[2]');
    expectConfigError(
      () => proxy({ headers: { plaintext: { 'X-Forwarded-For': '1.2.3.4' } } }),
      'ERR_RESTRICTED_HEADER',
      'headers.plaintext["X-Forwarded-For"]',
    );
    expectConfigError(() => proxy({ headers: { plaintext: { 'x y': 'v' } } }), 'ERR_INVALID_HEADER_NAME', 'headers.plaintext["x y"]');
    const long = 'x'.repeat(300);
    const err = expectConfigError(
      () => proxy({ headers: { plaintext: { [long]: 'v' } } }),
      'ERR_INVALID_HEADER_NAME',
      `headers.plaintext["${'x'.repeat(64)}…"]`,
    );
    assert.ok(err.message.length < 400, 'a long key is shortened in the path');
  });

  // Static values: wrong type, empty, bad characters and surrounding whitespace.
  for (const bad of [123, ['a', 'b'], {}, null, undefined, true, '', ' lead', 'trail\t', 'a\r\nb', 'caf\u00e9']) {
    it(`the static value ${label(bad)} is ERR_INVALID_HEADER_VALUE`, () => {
      expectConfigError(() => proxy({ headers: { plaintext: { 'X-P': bad } } }), 'ERR_INVALID_HEADER_VALUE', 'headers.plaintext["X-P"]');
    });
  }

  it('a static value with interior space and tab is accepted', () => {
    assert.doesNotThrow(() => proxy({ headers: { plaintext: { 'X-P': 'a b\tc' } } }));
  });
});

describe('messages that say what to do', () => {
  const cases: [string, () => unknown, string, string, RegExp][] = [
    ['mcpProxy without target', () => mcpProxy({} as McpProxyOptions), 'ERR_INVALID_OPTION', 'target', /is required: the backend's MCP endpoint/],
    [
      'captureHeaders without allow',
      () => captureHeaders({} as CaptureHeadersOptions),
      'ERR_INVALID_OPTION',
      'allow',
      /is required: the incoming header names/,
    ],
    [
      'captureHeaders({ allowlist })',
      () => captureHeaders({ allowlist: ['x-a'] } as unknown as CaptureHeadersOptions),
      'ERR_INVALID_OPTION',
      'allowlist',
      /^unknown option of captureHeaders\(\); did you mean "allow"/,
    ],
    [
      'mcpProxy({ passthru })',
      () => mcpProxy({ target: TARGET, passthru: ['x-a'] } as unknown as McpProxyOptions),
      'ERR_INVALID_OPTION',
      'passthru',
      /did you mean "passthrough"/,
    ],
    ['a fractional connectTimeout', () => mcpProxy({ target: TARGET, connectTimeout: 1.5 }), 'ERR_INVALID_OPTION', 'connectTimeout', /whole milliseconds/],
    [
      'a string responseTimeout',
      () => mcpProxy({ target: TARGET, responseTimeout: '30s' as unknown as number }),
      'ERR_INVALID_OPTION',
      'responseTimeout',
      /whole milliseconds/,
    ],
    [
      'a session idleTtl of 0',
      () => mcpProxy({ target: TARGET, session: { mode: 'bind', idleTtl: 0 } }),
      'ERR_INVALID_OPTION',
      'session.idleTtl',
      /whole milliseconds, an integer from 1/,
    ],
    ['port 99999 in target', () => mcpProxy({ target: 'http://127.0.0.1:99999/mcp' }), 'ERR_INVALID_TARGET', 'target', /port 99999 is out of range/],
    [
      'a health timeout of 0',
      () => mcpProxy({ target: TARGET, health: { timeout: 0 } }),
      'ERR_INVALID_OPTION',
      'health.timeout',
      /whole milliseconds, an integer from 1/,
    ],
    ...(
      [
        ['a number', 5, /value must be a string, not number$/],
        ['null', null, /value must be a string, not null$/],
        ['an array', ['v'], /value must be a string, not an array$/],
        ['a value over maxValueLength', 'v'.repeat(8193), /value is longer than 8192 bytes \(maxValueLength\)/],
      ] as const
    ).map(([what, value, rule]): [string, () => unknown, string, string, RegExp] => [
      `${what} as a static value`,
      () => mcpProxy({ target: TARGET, headers: { plaintext: { 'X-A': value as string } } }),
      'ERR_INVALID_HEADER_VALUE',
      'headers.plaintext["X-A"]',
      rule,
    ]),
    [
      'a number as a secret name',
      () => mcpProxy({ target: TARGET, headers: { fromSecret: { 'X-A': 5 as unknown as string } } }),
      'ERR_INVALID_OPTION',
      'headers.fromSecret["X-A"]',
      /secret name must be a string, not number$/,
    ],
    [
      'a health ttl for cacheTtl',
      () => mcpProxy({ target: TARGET, health: { ttl: 5 } } as unknown as McpProxyOptions),
      'ERR_INVALID_OPTION',
      'health.ttl',
      /unknown option of mcpProxy/,
    ],
  ];
  for (const [name, build, code, path, rule] of cases) {
    it(`${name}: ${code} at ${path}, ${rule.source}`, () => {
      const err = expectConfigError(build, code as never, path);
      assert.match(err.rule, rule);
    });
  }
});
