/**
 * Replicas of the standalone gateway sharing sessions (docs/gateway.md#sessions-shared-by-replicas): two
 * real `mcp-header-relay serve` processes started with the same YAML file, whose `sessionStore` names a
 * real redis-server (with a password) through environment variables, behind a round-robin balancer. A
 * real SDK v1 client opens its session through one and carries on through the other; a changed header
 * gets 404 on either; the DELETE ends it for both; Redis never holds a header value or session id. Then
 * what can go wrong: check without the variables, Redis away at start (no URL or password printed), Redis
 * lost and back while serving, node-redis not installed, a route's own session key, a reload that
 * changes the store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { mcpBackend, type McpBackend } from '../helpers/mcp-backend.js';
import { eraClient } from '../helpers/mcp-eras-clients.js';
import { eraBackend, type EraBackend } from '../helpers/mcp-eras.js';
import { connectRedis, dumpRedis, type ConnectedClient } from '../helpers/redis-clients.js';
import { command as redisCommand, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { fileDir, hideModule, run, serve, START_MS, stop, type Served } from '../helpers/relay-command.js';
import { roundRobin, type Balancer } from '../helpers/round-robin.js';
import { INITIALIZE } from '../helpers/session-requests.js';
import { SENTINEL } from '../helpers/sentinel.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

const files = fileDir('relay-gateway-redis-');
const KEY = `${SENTINEL}-gateway-redis-apikey`;
const PASSWORD = `${SENTINEL}-redis-password`;
const SESSION_KEY = randomBytes(32).toString('hex');
const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

const gatewayFile = (target: string, store = "prefix: 'gw-e2e:', connectTimeout: 2000", session = 'bind') => `
listen: { host: 127.0.0.1, port: 0 }
shutdownGrace: 1000
capture: { allow: [x-mcp-api-key] }
sessionStore: { type: redis, urlEnv: RELAY_TEST_REDIS_URL, sessionKeyEnv: RELAY_TEST_SESSION_KEY, ${store} }
routes:
  - path: /mcp
    name: projects
    target: ${target}
    passthrough: [x-mcp-api-key]
    session: ${session}
    connectTimeout: 1000
  - path: /plain
    name: plain
    target: ${target}
    passthrough: [x-mcp-api-key]
`;

/** A bind route in front of an SDK v2 server, for 2026-07-28 traffic, which needs no session store. */
const modernRoute = (endpoint: string) =>
  `  - path: /modern\n    name: modern\n    target: ${endpoint}\n    passthrough: [x-mcp-api-key]\n    session: bind\n    connectTimeout: 1000\n`;

function keyFetch(vars: Record<string, string>): FetchLike {
  return (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(vars)) headers.set(name, value);
    return fetch(url, { ...init, headers });
  };
}

async function sdkClient(url: string, vars: Record<string, string>): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: keyFetch(vars), reconnectionOptions: noReconnect });
  const client = new Client({ name: 'e2e-gateway-redis', version: '1.0.0' });
  await withTimeout(client.connect(transport), 'the SDK client to connect', 5000);
  return { client, transport };
}
const noReconnect = { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 };

async function headersSeen(client: Client): Promise<Record<string, string>> {
  const result = await withTimeout(client.callTool({ name: 'headers', arguments: {} }), 'tools/call headers', 5000);
  return JSON.parse((result.content as { text: string }[])[0]!.text) as Record<string, string>;
}

const logLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string; [field: string]: unknown });

describe('mcp-header-relay serve: two replicas of one gateway file share bind sessions in Redis', () => {
  let redis: RedisServer;
  let backend: McpBackend;
  let file: string;
  let env: NodeJS.ProcessEnv;
  let replicas: Served[];
  let balancer: Balancer;
  let inspector: ConnectedClient;

  before(async () => {
    [redis, backend] = await Promise.all([startRedis(), mcpBackend()]);
    await redisCommand(redis.port, ['CONFIG', 'SET', 'requirepass', PASSWORD]);
    env = { RELAY_TEST_REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${redis.port}`, RELAY_TEST_SESSION_KEY: SESSION_KEY };
    file = files.write('relay.yaml', gatewayFile(`${backend.url}/mcp`));
    replicas = await Promise.all([serve(file, env), serve(file, env)]);
    balancer = await roundRobin(replicas.map((r) => r.url));
    inspector = await connectRedis('node-redis', redis.port, { username: 'default', password: PASSWORD });
  });
  after(async () => {
    await inspector.close();
    await balancer.close();
    await Promise.all(replicas.map(stop));
    await backend.close();
    await redis.stop();
  });

  it('an SDK client initializes on one replica and carries on through both; Redis holds no key and no session id', async () => {
    const { client, transport } = await sdkClient(`${balancer.url}/mcp`, { 'x-mcp-api-key': KEY });
    const id = transport.sessionId!;
    for (let i = 0; i < 4; i++) {
      const seen = await headersSeen(client);
      assert.equal(seen['x-mcp-api-key'], KEY);
      assert.equal(seen['mcp-session-id'], id);
    }
    const posts = balancer.served.filter((r) => r.sessionId === id && r.method === 'POST');
    assert.deepEqual(new Set(posts.map((r) => r.replica)), new Set([0, 1]), 'both replicas served the session');
    assert.ok(posts.every((r) => r.status === 200 || r.status === 202));

    const held = [...(await dumpRedis(inspector.sendCommand)).entries()].map(([k, v]) => `${k} ${v}`).join('\n');
    assert.match(held, /gw-e2e:\{sessions\}/, 'the file prefix is used');
    assert.ok(!held.includes(KEY) && !held.includes(SENTINEL) && !held.includes(id), 'no header value, password or session id in Redis');
    await client.close();
  });

  it('a changed header is refused 404 on either replica; the DELETE through one ends the session for the other', async () => {
    const vars = { 'x-mcp-api-key': KEY };
    const { client, transport } = await sdkClient(`${balancer.url}/mcp`, vars);
    const id = transport.sessionId!;
    vars['x-mcp-api-key'] = `${KEY}-other`;
    for (let i = 0; i < 2; i++) {
      await assert.rejects(headersSeen(client), (error: unknown) => error instanceof StreamableHTTPError && error.code === 404);
    }
    const refused = balancer.served.filter((r) => r.sessionId === id).slice(-2);
    assert.deepEqual(new Set(refused.map((r) => r.replica)), new Set([0, 1]), 'refused by both replicas');
    assert.ok(!backend.requests.some((r) => r.headers['x-mcp-api-key'] === `${KEY}-other`), 'the backend never saw them');
    vars['x-mcp-api-key'] = KEY;
    balancer.route = () => 0;
    await withTimeout(transport.terminateSession(), 'DELETE through replica 0', 5000);
    balancer.route = () => 1;
    const res = await fetch(`${balancer.url}/mcp`, {
      method: 'POST',
      headers: { ...POST_HEADERS, 'x-mcp-api-key': KEY, 'mcp-session-id': id },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
    });
    balancer.route = undefined;
    assert.equal(res.status, 404);
    await client.close();
  });

  it('check reports the shared store by the names of its variables, never their values', async () => {
    const checked = await run(['check', file], env);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /sessions: redis \(URL from RELAY_TEST_REDIS_URL, key from RELAY_TEST_SESSION_KEY\), shared by every bind route/);
    assert.ok(!`${checked.stdout}${checked.stderr}`.includes(SENTINEL) && !checked.stdout.includes(SESSION_KEY));
  });

  it('a reload that changes sessionStore: warned as restart-only; the rebuilt route keeps the running store, so the session goes on', async () => {
    const { client, transport } = await sdkClient(`${balancer.url}/mcp`, { 'x-mcp-api-key': KEY });
    // The route changes too (a new static header), so it is built again: on the store connected at start, not on the new prefix.
    const text = gatewayFile(`${backend.url}/mcp`, "prefix: 'other:'").replace(
      '    session: bind',
      '    session: bind\n    headers: { plaintext: { X-Generation: two } }',
    );
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    for (const replica of replicas) await waitFor(() => replica.stdout().includes('"msg":"reloaded"'), 'both replicas to reload', START_MS);
    for (const replica of replicas) {
      const warning = logLines(replica.stderr()).find((line) => line.msg.includes('apply at the next restart'));
      assert.deepEqual(warning?.settings, ['sessionStore']);
      const reloaded = logLines(replica.stdout()).find((line) => line.msg === 'reloaded');
      assert.deepEqual(reloaded?.changed, ['projects']);
    }
    for (let i = 0; i < 2; i++) {
      const seen = await headersSeen(client);
      assert.equal(seen['mcp-session-id'], transport.sessionId, 'the session goes on, through both rebuilt routes');
      assert.equal(seen['x-generation'], 'two');
    }
    await client.close();
  });
});

describe('mcp-header-relay serve with a sessionStore: what can go wrong', () => {
  let backend: McpBackend;
  let modern: EraBackend;
  before(async () => {
    [backend, modern] = await Promise.all([mcpBackend(), eraBackend('v2-stateless')]);
  });
  after(() => Promise.all([backend.close(), modern.close()]));

  it('Redis lost while serving: 503 for 2025 session requests, one warning; request routes and 2026-07-28 traffic (SDK v2) go on; back: served again, with the same process', async () => {
    const redis = await startRedis();
    const file = files.write('outage.yaml', gatewayFile(`${backend.url}/mcp`) + modernRoute(modern.endpoint));
    const gateway = await serve(file, { RELAY_TEST_REDIS_URL: redis.url, RELAY_TEST_SESSION_KEY: SESSION_KEY });
    try {
      assert.equal(logLines(gateway.stdout()).filter((l) => l.msg.includes('connected to Redis')).length, 1);
      await redis.kill();
      const init = () => fetch(`${gateway.url}/mcp`, { method: 'POST', headers: { ...POST_HEADERS, 'x-mcp-api-key': KEY }, body: INITIALIZE });
      const refused = await init();
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { error: { data?: { reason?: string } } }).error.data?.reason, 'session_store_unavailable');
      await init();
      const lost = logLines(gateway.stderr()).filter((l) => l.msg.includes('lost the connection to Redis'));
      assert.equal(lost.length, 1, 'one warning per outage, not one per reconnect attempt');
      const plain = await fetch(`${gateway.url}/plain`, {
        method: 'POST',
        headers: { ...POST_HEADERS, 'x-mcp-api-key': KEY },
        body: INITIALIZE,
      });
      assert.equal(plain.status, 200, 'a request route needs no store');
      const stateless = eraClient('v2-2026', `${gateway.url}/modern`, { 'x-mcp-api-key': KEY });
      try {
        await withTimeout(stateless.connect(), 'an SDK v2 client to connect in 2026-07-28 mode', 5000);
        assert.equal(stateless.era(), 'modern');
        assert.ok((await withTimeout(stateless.listTools(), '2026 tools/list', 5000)).length > 0, '2026-07-28 traffic on a bind route needs no store');
      } finally {
        await stateless.close();
      }
      await redis.restart();
      await waitFor(() => logLines(gateway.stdout()).filter((l) => l.msg.includes('connected to Redis')).length === 2, 'the reconnect', START_MS);
      const { client } = await sdkClient(`${gateway.url}/mcp`, { 'x-mcp-api-key': KEY });
      assert.equal((await headersSeen(client))['x-mcp-api-key'], KEY);
      await client.close();
      // Away again, with a command waiting for it: the shutdown must not wait for Redis.
      await redis.kill();
      assert.equal((await init()).status, 503);
    } finally {
      await stop(gateway);
      await redis.stop();
    }
    assert.equal((await gateway.exited).code, 0, 'SIGTERM with Redis away: drained, the connection dropped, exit 0');
    // node-redis's close() never settles while Redis is away; the shutdown must not hang on it, nor end without its last line.
    assert.match(gateway.stdout(), /"msg":"stopped"/);
  });

  it('Redis not answering at start: serve exits 1 within connectTimeout, naming the variable and the error code, never the URL', async () => {
    const file = files.write('unreachable.yaml', gatewayFile(`${backend.url}/mcp`, 'connectTimeout: 300'));
    const gone = await startRedis();
    await gone.stop();
    const closedPort = gone.port;
    const ran = await run(['serve', '--config', file], {
      RELAY_TEST_REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${closedPort}`,
      RELAY_TEST_SESSION_KEY: SESSION_KEY,
    });
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /sessionStore: Redis did not answer within 300 ms \(ECONNREFUSED\); check the URL in RELAY_TEST_REDIS_URL/);
    assert.ok(!`${ran.stdout}${ran.stderr}`.includes(SENTINEL), 'no password printed');
  });

  it('the variables: unset, not a Redis URL, a short key; each refused by path and variable name, never the value', async () => {
    const file = files.write('variables.yaml', gatewayFile(`${backend.url}/mcp`));
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ RELAY_TEST_SESSION_KEY: SESSION_KEY }, /sessionStore\.urlEnv: names RELAY_TEST_REDIS_URL, which is not set/],
      [
        { RELAY_TEST_REDIS_URL: `http://default:${PASSWORD}@127.0.0.1:1`, RELAY_TEST_SESSION_KEY: SESSION_KEY },
        /sessionStore\.urlEnv: names RELAY_TEST_REDIS_URL, which does not hold a redis:\/\/ or rediss:\/\/ URL/,
      ],
      [{ RELAY_TEST_REDIS_URL: 'redis://127.0.0.1:1' }, /sessionStore\.sessionKeyEnv: names RELAY_TEST_SESSION_KEY, which is not set/],
      [
        { RELAY_TEST_REDIS_URL: 'redis://127.0.0.1:1', RELAY_TEST_SESSION_KEY: `${SENTINEL}-short` },
        /sessionStore\.sessionKeyEnv: names RELAY_TEST_SESSION_KEY, which holds fewer than 32 bytes/,
      ],
    ];
    for (const [vars, expected] of cases) {
      for (const args of [
        ['check', file],
        ['serve', '--config', file],
      ]) {
        const ran = await run(args, { RELAY_TEST_REDIS_URL: undefined, RELAY_TEST_SESSION_KEY: undefined, ...vars });
        assert.equal(ran.code, 1, `${args[0]}: ${ran.stderr}`);
        assert.match(ran.stderr, expected);
        assert.ok(!ran.stderr.includes(SENTINEL), `${args[0]}: no value echoed`);
      }
    }
  });

  it("a bind route's own sessionKey beside the shared store is refused by its path", async () => {
    const file = files.write('own-key.yaml', gatewayFile(`${backend.url}/mcp`, '', `{ mode: bind, sessionKey: ${SENTINEL}-0123456789abcdef0123456789abcdef }`));
    const ran = await run(['check', file], { RELAY_TEST_REDIS_URL: 'redis://127.0.0.1:1', RELAY_TEST_SESSION_KEY: SESSION_KEY });
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /routes\[0\]\.session\.sessionKey: is set by the top-level sessionStore for every bind route: remove it here/);
    assert.ok(!ran.stderr.includes(SENTINEL));
  });

  it('without node-redis installed, serve says what to install', async () => {
    const file = files.write('no-redis.yaml', gatewayFile(`${backend.url}/mcp`));
    const hook = files.write('hide-redis.mjs', hideModule('redis'));
    const ran = await run(['serve', '--config', file], { RELAY_TEST_REDIS_URL: 'redis://127.0.0.1:1', RELAY_TEST_SESSION_KEY: SESSION_KEY }, [
      '--import',
      hook,
    ]);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /sessionStore: \{ type: redis \} needs node-redis \(an optional peer dependency\): npm install redis/);
  });
});
