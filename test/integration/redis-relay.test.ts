/**
 * `bind` routes on a Redis session store (mcp-header-relay/redis) with a real redis-server, for node-redis
 * and ioredis alike: two gateways in this process share the store as two replicas would (the replica
 * processes themselves are test/e2e/replicas.test.ts). Redis never receives a header value or a session
 * id. When Redis hangs (SIGSTOP) or dies (SIGKILL) the requests that need it get 503
 * `session_store_unavailable` within `connectTimeout`, with an error log line naming the store
 * operation, while `request` routes and 2026-07-28 traffic go on; when Redis is back, so is the service,
 * with no restart of the relay.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { captureHeaders, mcpProxy } from '../../lib/index.js';
import { redisSessionStore } from '../../lib/redis/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { connectRedis, dumpRedis, REDIS_CLIENT_KINDS, type ConnectedClient } from '../helpers/redis-clients.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { SENTINEL } from '../helpers/sentinel.js';

const KEY = `${SENTINEL}-redis-apikey-1111`;
const TENANT = `${SENTINEL}-redis-tenant-2222`;
/** Short, so an outage's 503 comes quickly; the assertions allow for a busy machine. */
const CONNECT_TIMEOUT = 400;
const SLACK = 1500;

/** An MCP-shaped backend: a POST without a session id gets a new one. */
function mintingBackend(): Promise<RecordingBackend> {
  return recordingBackend((req, res) => {
    if (req.method === 'POST' && req.headers['mcp-session-id'] === undefined) res.setHeader('Mcp-Session-Id', randomUUID());
    res.setHeader('content-type', 'application/json');
    res.end('{"jsonrpc":"2.0","result":{},"id":1}');
  });
}

interface Replica extends Listening {
  logger: ReturnType<typeof captureLogger>;
}

/** A gateway with a `bind` route on the shared store at /mcp and a `request` route at /plain. */
async function replica(backend: RecordingBackend, client: ConnectedClient, sessionKey: Uint8Array, prefix: string): Promise<Replica> {
  const logger = captureLogger();
  const store = redisSessionStore({ sendCommand: client.sendCommand, prefix });
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'], logger }));
  const common = { target: `${backend.url}/mcp`, connectTimeout: CONNECT_TIMEOUT, logger };
  app.use('/mcp', mcpProxy({ ...common, session: { mode: 'bind', store, sessionKey, maxSessions: 50 } }));
  app.use('/plain', mcpProxy(common));
  return { ...(await listen(app)), logger };
}

async function post(gateway: Listening, headers: Record<string, string>, path = '/mcp'): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: '{"jsonrpc":"2.0","method":"ping","id":1}',
  });
}

const CLIENT = { 'x-mcp-api-key': KEY, 'x-tenant': TENANT };

async function reason(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { error?: { data?: { reason?: string } } }).error?.data?.reason;
}

/** The request's status, its JSON-RPC reason for a 503, and how long it took. */
async function timed(request: () => Promise<Response>): Promise<{ status: number; reason: string | undefined; ms: number }> {
  const started = Date.now();
  const res = await request();
  const answered = Date.now() - started;
  return { status: res.status, reason: res.status === 503 ? await reason(res) : (await res.arrayBuffer(), undefined), ms: answered };
}

/** The store's error lines since `from`: the operation each names, in order. */
function storeFailures(replica: Replica, from = 0): string[] {
  return replica.logger.lines
    .slice(from)
    .filter((l) => l.level === 'error' && (l.fields as { reason?: string }).reason === 'session_store_unavailable')
    .map((l) => (l.fields as { operation: string }).operation);
}

for (const kind of REDIS_CLIENT_KINDS) {
  describe(`bind on the Redis store with ${kind}`, () => {
    const sessionKey = randomBytes(32);
    const prefix = `relay-${kind}:`;
    let redis: RedisServer;
    let backend: RecordingBackend;
    let clients: ConnectedClient[];
    let a: Replica;
    let b: Replica;

    before(async () => {
      redis = await startRedis();
      backend = await mintingBackend();
      clients = [await connectRedis(kind, redis.port), await connectRedis(kind, redis.port)];
      a = await replica(backend, clients[0]!, sessionKey, prefix);
      b = await replica(backend, clients[1]!, sessionKey, prefix);
    });
    after(async () => {
      await a.close();
      await b.close();
      for (const client of clients) await client.close();
      await backend.close();
      await redis.stop();
    });

    it('a session opened on replica A is followed on B at once; another header on B gets 404; a DELETE on A ends it for B', async () => {
      const init = await post(a, CLIENT);
      assert.equal(init.status, 200);
      const id = init.headers.get('mcp-session-id')!;
      // No wait: the record is one command on its way to Redis before the relay answers the initialize.
      assert.equal((await post(b, { ...CLIENT, 'mcp-session-id': id })).status, 200);
      assert.equal(backend.last().headers['mcp-session-id'], id);
      const forwarded = backend.requests.length;
      const changed = await post(b, { ...CLIENT, 'x-tenant': `${TENANT}-other`, 'mcp-session-id': id });
      assert.equal(changed.status, 404);
      assert.deepEqual(await changed.json(), { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      assert.equal(backend.requests.length, forwarded, 'not forwarded');
      const deleted = await fetch(`${a.url}/mcp`, { method: 'DELETE', headers: { ...CLIENT, 'mcp-session-id': id } });
      assert.equal(deleted.status, 200);
      assert.equal((await post(b, { ...CLIENT, 'mcp-session-id': id })).status, 404);
    });

    it('a replica with another sessionKey cannot use the shared sessions: 404, not forwarded (every replica needs the same key)', async () => {
      const id = (await post(a, CLIENT)).headers.get('mcp-session-id')!;
      const stranger = await replica(backend, clients[1]!, randomBytes(32), prefix);
      try {
        const forwarded = backend.requests.length;
        assert.equal((await post(stranger, { ...CLIENT, 'mcp-session-id': id })).status, 404);
        assert.equal(backend.requests.length, forwarded);
        assert.equal((await post(b, { ...CLIENT, 'mcp-session-id': id })).status, 200);
      } finally {
        await stranger.close();
      }
    });

    it('Redis holds keys under the prefix only, with no header value and no session id', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await post(i % 2 ? a : b, CLIENT)).headers.get('mcp-session-id')!);
      const everything = await dumpRedis(clients[0]!.sendCommand);
      assert.ok(everything.size >= 4);
      const text = [...everything].map(([k, v]) => `${k} ${v}`).join('\n');
      for (const key of everything.keys()) assert.ok(key.startsWith(`${prefix}{sessions}:`), key);
      assert.ok(!text.includes(SENTINEL), 'a header value in Redis');
      for (const id of ids) assert.ok(!text.includes(id), 'a session id in Redis');
      assert.ok(!a.logger.text().includes(SENTINEL) && !b.logger.text().includes(SENTINEL));
    });

    it('Redis hanging (SIGSTOP): 503 session_store_unavailable within connectTimeout, the log names the operation; then it resumes', async () => {
      const id = (await post(a, CLIENT)).headers.get('mcp-session-id')!;
      const logged = b.logger.lines.length;
      redis.pause();
      try {
        const lookup = await timed(() => post(b, { ...CLIENT, 'mcp-session-id': id }));
        const initialize = await timed(() => post(b, CLIENT));
        for (const [what, answer] of [
          ['a request on a session', lookup],
          ['an initialize', initialize],
        ] as const) {
          assert.equal(answer.status, 503, what);
          assert.equal(answer.reason, 'session_store_unavailable', what);
          assert.ok(answer.ms >= CONNECT_TIMEOUT - 50 && answer.ms < CONNECT_TIMEOUT + SLACK, `${what}: answered after ${answer.ms} ms`);
        }
        assert.deepEqual(storeFailures(b, logged), ['get', 'admit']);
        assert.match(b.logger.lines.find((l) => l.level === 'error')!.message, /session store get\(\) did not answer within connectTimeout \(400 ms\)/);
        const plain = await timed(() => post(b, CLIENT, '/plain'));
        assert.equal(plain.status, 200, 'a request route does not need the store');
      } finally {
        redis.resume();
      }
      assert.equal((await post(b, { ...CLIENT, 'mcp-session-id': id })).status, 200, 'the session is still there');
    });

    it('Redis killed (SIGKILL): 503s within connectTimeout and no crash; request routes and 2026 traffic go on; restarted, service resumes without a relay restart', async () => {
      const id = (await post(a, CLIENT)).headers.get('mcp-session-id')!;
      const logged = a.logger.lines.length;
      await redis.kill();
      const down = [
        await timed(() => post(a, { ...CLIENT, 'mcp-session-id': id })),
        await timed(() => post(a, CLIENT)),
        await timed(() => fetch(`${a.url}/mcp`, { method: 'DELETE', headers: { ...CLIENT, 'mcp-session-id': id } })),
      ];
      for (const answer of down) {
        assert.equal(answer.status, 503);
        assert.equal(answer.reason, 'session_store_unavailable');
        assert.ok(answer.ms < CONNECT_TIMEOUT + SLACK, `answered after ${answer.ms} ms`);
      }
      assert.deepEqual(storeFailures(a, logged), ['get', 'admit', 'get']);
      assert.equal((await post(a, CLIENT, '/plain')).status, 200, 'a request route');
      const before = backend.requests.length;
      const modern = await post(a, { ...CLIENT, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' });
      assert.equal(modern.status, 200, 'a 2026-07-28 request on the bind route needs no store');
      assert.equal(backend.requests.length, before + 1);

      await redis.restart();
      // Each replica's client reconnects by itself, with its own backoff; the data did not survive (no
      // persistence), so the old session is unknown.
      const untilServed = async (request: () => Promise<Response>): Promise<Response> => {
        const deadline = Date.now() + 10_000;
        let res = await request();
        while (res.status === 503 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          res = await request();
        }
        return res;
      };
      const again = await untilServed(() => post(a, CLIENT));
      assert.equal(again.status, 200, 'a new initialize once Redis is back');
      const fresh = again.headers.get('mcp-session-id')!;
      assert.equal((await untilServed(() => post(b, { ...CLIENT, 'mcp-session-id': fresh }))).status, 200);
      assert.equal((await post(b, { ...CLIENT, 'mcp-session-id': id })).status, 404, 'what Redis lost is an unknown session');
      assert.ok(
        clients.every((c) => c.errors.length > 0),
        'the clients reported the lost connection as errors, and nothing crashed',
      );
    });
  });
}
