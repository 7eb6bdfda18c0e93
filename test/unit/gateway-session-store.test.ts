/**
 * The gateway file's `sessionStore` (lib/cli/shared-sessions.ts, config-shape.ts): its keys, the
 * environment variables it names (refused by path and variable name, never by value), the store and
 * key it adds to every bind route, and what a reload can change. End to end, with Redis and two
 * `serve` processes: test/e2e/gateway-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { buildGateway } from '../../lib/cli/build-routes.js';
import { ConfigFileError, parseConfig, type GatewayConfig } from '../../lib/cli/config-file.js';
import { restartOnly } from '../../lib/cli/reload.js';
import { storeSettings, withSharedSessions, type SharedSessions } from '../../lib/cli/shared-sessions.js';
import { memorySessionStore } from '../../lib/index.js';
import { closedAfterwards } from '../helpers/built-gateways.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { SENTINEL } from '../helpers/sentinel.js';

const FILE = 'relay.yaml';
const KEY = 'k'.repeat(32);
const ENV = { REDIS_URL: `redis://default:${SENTINEL}@redis.internal:6379/2`, SESSION_KEY: KEY };
const STORE = 'sessionStore: { type: redis, urlEnv: REDIS_URL, sessionKeyEnv: SESSION_KEY }\n';
const file = (top: string, session = 'bind') =>
  `listen: { port: 0 }\n${top}routes:\n  - path: /a\n    target: http://127.0.0.1:9001/mcp\n    session: ${session}\n`;
const config = (text: string): GatewayConfig => parseConfig(text, FILE, tmpdir());

const keep = closedAfterwards();

function refused(run: () => unknown, path: string, rule: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigFileError, String(error));
    assert.equal(error.path, path, error.message);
    assert.match(error.rule, rule);
    assert.ok(!error.message.includes(SENTINEL) && !error.message.includes(KEY), `a value in the message: ${error.message}`);
    return true;
  });
}

describe('gateway file: sessionStore keys', () => {
  it('as written; connectTimeout defaults to 5000 ms; without it, no shared store', () => {
    assert.deepEqual(config(file(STORE)).sessionStore, { type: 'redis', urlEnv: 'REDIS_URL', sessionKeyEnv: 'SESSION_KEY' });
    assert.equal(storeSettings(config(file(STORE)), ENV)?.connectTimeout, 5000);
    assert.equal(config(file('')).sessionStore, undefined);
    assert.equal(storeSettings(config(file('')), {}), undefined);
  });

  const cases: [string, string, RegExp][] = [
    ['sessionStore: { type: memcached, urlEnv: A, sessionKeyEnv: B }', 'sessionStore.type', /must be redis/],
    ['sessionStore: { type: redis, sessionKeyEnv: B }', 'sessionStore.urlEnv', /must name the environment variable holding the Redis URL/],
    ['sessionStore: { type: redis, urlEnv: redis://host:6379, sessionKeyEnv: B }', 'sessionStore.urlEnv', /must name the environment variable/],
    [
      'sessionStore: { type: redis, urlEnv: A, sessionKeyEnv: "1KEY" }',
      'sessionStore.sessionKeyEnv',
      /must name the environment variable holding the session key/,
    ],
    ['sessionStore: { type: redis, urlEnv: A, sessionKeyEnv: B, connectTimeout: 0 }', 'sessionStore.connectTimeout', /integer from 1 to 60000/],
    ['sessionStore: { type: redis, urlEnv: A, sessionKeyEnv: B, connectTimeout: 1.5 }', 'sessionStore.connectTimeout', /integer from 1 to 60000/],
    ['sessionStore: { type: redis, urlEnv: A, sessionKeyEnv: B, prefix: 7 }', 'sessionStore.prefix', /must be a string/],
    ['sessionStore: { type: redis, urlEnv: A, sessionKeyEnv: B, sessionKey: x }', 'sessionStore.sessionKey', /did you mean "sessionKeyEnv"/],
  ];
  for (const [line, path, rule] of cases) it(`${path}: ${line}`, () => refused(() => config(file(`${line}\n`)), path, rule));
});

describe('gateway file: the variables sessionStore names, read when the routes are built', () => {
  const cases: [string, NodeJS.ProcessEnv, string, RegExp][] = [
    ['URL variable unset', { SESSION_KEY: KEY }, 'sessionStore.urlEnv', /names REDIS_URL, which is not set/],
    ['URL variable empty', { REDIS_URL: '', SESSION_KEY: KEY }, 'sessionStore.urlEnv', /names REDIS_URL, which is not set/],
    ['an http: URL', { ...ENV, REDIS_URL: `http://${SENTINEL}@host:6379` }, 'sessionStore.urlEnv', /does not hold a redis:\/\/ or rediss:\/\/ URL/],
    ['not a URL', { ...ENV, REDIS_URL: `${SENTINEL} host:6379` }, 'sessionStore.urlEnv', /does not hold a redis:\/\/ or rediss:\/\/ URL/],
    ['a URL without a host', { ...ENV, REDIS_URL: 'redis://' }, 'sessionStore.urlEnv', /does not hold a redis:\/\/ or rediss:\/\/ URL/],
    ['key variable unset', { REDIS_URL: 'redis://h:6379' }, 'sessionStore.sessionKeyEnv', /names SESSION_KEY, which is not set/],
    ['a key of 31 bytes', { ...ENV, SESSION_KEY: SENTINEL.padEnd(31, 'x') }, 'sessionStore.sessionKeyEnv', /fewer than 32 bytes/],
  ];
  for (const [what, env, path, rule] of cases) {
    it(`${what}: refused at ${path}, by check's build too`, () => {
      refused(() => storeSettings(config(file(STORE)), env), path, rule);
      refused(() => buildGateway(config(file(STORE)), { logger: captureLogger(), env }), path, rule);
    });
  }

  it('rediss: and a 32-byte key pass; the prefix is checked by redisSessionStore, under sessionStore', async () => {
    const settings = storeSettings(config(file(STORE)), { ...ENV, REDIS_URL: 'rediss://redis.internal:6380' })!;
    assert.equal(settings.url, 'rediss://redis.internal:6380');
    assert.equal(settings.sessionKey, KEY);
    await assert.rejects(settings.offline.get('x'), /check and explain do not connect to Redis/);
    const badPrefix = file("sessionStore: { type: redis, urlEnv: REDIS_URL, sessionKeyEnv: SESSION_KEY, prefix: 'a{b' }\n");
    refused(() => storeSettings(config(badPrefix), ENV), 'sessionStore.prefix', /visible ASCII/);
  });
});

describe('every bind route gets the shared store and key', () => {
  const shared: SharedSessions = { store: memorySessionStore(), sessionKey: KEY };
  const at = 'routes[2]';

  it('bind, and { mode: bind } with its limits kept', () => {
    assert.deepEqual(withSharedSessions({ target: 't', session: 'bind' }, shared, FILE, at), {
      target: 't',
      session: { mode: 'bind', store: shared.store, sessionKey: KEY },
    });
    assert.deepEqual(withSharedSessions({ session: { mode: 'bind', idleTtl: 1000, maxSessions: 3 } }, shared, FILE, at), {
      session: { mode: 'bind', idleTtl: 1000, maxSessions: 3, store: shared.store, sessionKey: KEY },
    });
  });

  it('request routes, routes without session, and what the library refuses anyway, as written', () => {
    for (const options of [{ target: 't' }, { session: 'request' }, { session: { mode: 'request' } }, { session: 'pin' }, { session: null }, { session: 7 }]) {
      assert.equal(withSharedSessions(options, shared, FILE, at), options);
    }
  });

  it("a route's own sessionKey or store beside the shared ones is refused by its path", () => {
    for (const key of ['sessionKey', 'store']) {
      refused(
        () => withSharedSessions({ session: { mode: 'bind', [key]: `${SENTINEL}-own` } }, shared, FILE, at),
        `routes[2].session.${key}`,
        /is set by the top-level sessionStore for every bind route: remove it here/,
      );
    }
  });

  it('buildGateway: serve passes the sessions connected at start (or null) to every build, whatever the file says; a route key beside them is refused', () => {
    const built = buildGateway(config(file('')), { logger: captureLogger(), env: {}, sessions: shared });
    keep(built);
    assert.equal(built.routes.length, 1);
    const memory = buildGateway(config(file(STORE)), { logger: captureLogger(), env: ENV, sessions: null });
    keep(memory);
    assert.equal(memory.routes.length, 1);
    refused(
      () => buildGateway(config(file(STORE, `{ mode: bind, sessionKey: ${SENTINEL}-0123456789abcdef0123456789 }`)), { logger: captureLogger(), env: ENV }),
      'routes[0].session.sessionKey',
      /set by the top-level sessionStore/,
    );
  });
});

describe('sessionStore is applied at start', () => {
  it('a reload that adds, removes or changes it lists it among the settings only a restart applies; reordered keys do not', () => {
    const base = config(file(STORE));
    assert.deepEqual(restartOnly(base, config(file('sessionStore: { sessionKeyEnv: SESSION_KEY, urlEnv: REDIS_URL, type: redis }\n'))), []);
    assert.deepEqual(restartOnly(base, config(file(''))), ['sessionStore']);
    assert.deepEqual(restartOnly(config(file('')), base), ['sessionStore']);
    assert.deepEqual(restartOnly(base, config(file('sessionStore: { type: redis, urlEnv: OTHER_URL, sessionKeyEnv: SESSION_KEY }\n'))), ['sessionStore']);
  });
});
