/**
 * Scale-out end to end (issue 14, docs/deployment.md): two relay processes (test/e2e/fixtures/redis-replica.ts;
 * replica A talks to Redis with node-redis, replica B with ioredis) share their `bind` sessions in a real
 * redis-server, behind a balancer that sends each request to the next replica (test/helpers/round-robin.ts).
 * A real SDK v1 client talks through it to a real SDK v1 backend (and an SDK v2 client in 2026-07-28 mode
 * to an SDK v2 backend). A session opened on A carries on through B; a changed header on B gets 404; a
 * DELETE through A ends the session for B; the limits hold across the replicas under a burst of
 * initializes; killing Redis gives 503s, no crash, and requests that need no store go on; restarting it
 * brings the service back, with the same relay processes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { redisSessionStore } from '../../lib/redis/index.js';
import { mcpBackend, SESSION_NOT_FOUND_BODY, type McpBackend } from '../helpers/mcp-backend.js';
import { eraClient } from '../helpers/mcp-eras-clients.js';
import { eraBackend, type EraBackend } from '../helpers/mcp-eras.js';
import { connectRedis, dumpRedis, type ConnectedClient } from '../helpers/redis-clients.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { roundRobin, type Balancer } from '../helpers/round-robin.js';
import { INITIALIZE, PING } from '../helpers/session-requests.js';
import { SENTINEL } from '../helpers/sentinel.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

const KEY = `${SENTINEL}-replicas-apikey-1111`;
const TENANT = `${SENTINEL}-replicas-tenant-2222`;
const CONNECT_TIMEOUT = 500;
const MAX_SESSIONS = 5;
const MAX_PER_CLIENT = 3;
const A = 0;
const B = 1;
const INIT_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-mcp-api-key': KEY, 'x-tenant': TENANT };

interface Replica {
  readonly process: ChildProcess;
  readonly url: string;
  /** Its log lines, parsed. */
  readonly lines: { level: string; fields: Record<string, unknown>; message: string }[];
}

async function startReplica(redisClient: 'node-redis' | 'ioredis', env: Record<string, string>): Promise<Replica> {
  const fixture = fileURLToPath(new URL('fixtures/redis-replica.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env, REDIS_CLIENT: redisClient },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Replica['lines'] = [];
  const input = createInterface({ input: child.stdout });
  const port = new Promise<number>((resolve, reject) => {
    input.on('line', (text) => {
      const line = JSON.parse(text) as { port?: number } & Replica['lines'][number];
      if (line.port !== undefined) resolve(line.port);
      else lines.push(line);
    });
    child.once('exit', (code) => reject(new Error(`replica (${redisClient}) exited with ${String(code)} before listening`)));
  });
  return { process: child, url: `http://127.0.0.1:${await port}`, lines };
}

async function stopReplica(replica: Replica): Promise<void> {
  if (replica.process.exitCode !== null) return;
  const exited = once(replica.process, 'exit');
  replica.process.stdin!.end();
  await exited;
}

/** A fetch for the SDK transport that sends `vars` as headers (a test may change them mid-session). */
function varsFetch(vars: Record<string, string>): FetchLike {
  return (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(vars)) headers.set(name, value);
    return fetch(url, { ...init, headers });
  };
}

interface Session {
  client: Client;
  transport: StreamableHTTPClientTransport;
  vars: Record<string, string>;
  listChanged: number;
}

const opened: Session[] = [];

function openSession(url: string): Session {
  const vars = { 'x-mcp-api-key': KEY, 'x-tenant': TENANT };
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: varsFetch(vars),
    reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
  });
  const client = new Client({ name: 'e2e-replicas', version: '1.0.0' });
  const session: Session = { client, transport, vars, listChanged: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    session.listChanged++;
  });
  opened.push(session);
  return session;
}

/** The headers the backend's `headers` tool saw on this call. */
async function toolHeaders(s: Session): Promise<Record<string, string>> {
  const result = await withTimeout(s.client.callTool({ name: 'headers', arguments: {} }), 'tools/call headers', 5000);
  return JSON.parse((result.content as { text: string }[])[0]!.text) as Record<string, string>;
}

async function rejects404(call: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(withTimeout(call, what, 5000), (err: unknown) => err instanceof StreamableHTTPError && err.code === 404);
}

describe('e2e: two relay replicas sharing bind sessions in Redis, behind a round-robin balancer', () => {
  let redis: RedisServer;
  let backend: McpBackend;
  let capped: McpBackend;
  let modern: EraBackend;
  let replicas: Replica[];
  let balancer: Balancer;
  let inspector: ConnectedClient;

  before(async () => {
    [redis, backend, capped, modern] = await Promise.all([startRedis(), mcpBackend(), mcpBackend({ jsonResponse: true }), eraBackend('v2-stateless')]);
    const env = {
      REDIS_PORT: String(redis.port),
      SESSION_KEY: randomBytes(32).toString('hex'),
      CONNECT_TIMEOUT: String(CONNECT_TIMEOUT),
      BACKEND: `${backend.url}/mcp`,
      CAPPED_BACKEND: `${capped.url}/mcp`,
      MODERN_BACKEND: modern.endpoint,
      MAX_SESSIONS: String(MAX_SESSIONS),
      MAX_PER_CLIENT: String(MAX_PER_CLIENT),
    };
    replicas = await Promise.all([startReplica('node-redis', env), startReplica('ioredis', env)]);
    balancer = await roundRobin(replicas.map((r) => r.url));
    inspector = await connectRedis('node-redis', redis.port);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.client.close().catch(() => {})));
    balancer.route = undefined;
  });
  after(async () => {
    await inspector.close();
    await balancer.close();
    await Promise.all(replicas.map(stopReplica));
    await Promise.all([backend.close(), capped.close(), modern.close()]);
    await redis.stop();
  });

  it('an SDK client initializes through replica A and carries on through replica B: calls, the GET stream, then alternating', async () => {
    balancer.route = (req) => (req.headers['mcp-session-id'] === undefined ? A : B);
    const s = openSession(`${balancer.url}/mcp`);
    await withTimeout(s.client.connect(s.transport), 'connect', 5000);
    const id = s.transport.sessionId!;
    assert.ok(backend.sessionIds().includes(id));
    const seen = await toolHeaders(s);
    assert.equal(seen['x-mcp-api-key'], KEY);
    assert.equal(seen['mcp-session-id'], id);
    await waitFor(() => balancer.served.some((r) => r.method === 'GET' && r.sessionId === id && r.status === 200), 'the GET stream through B', 5000);
    backend.notifyAll();
    await waitFor(() => s.listChanged > 0, 'a notification on the GET stream through B', 5000);
    const ofSession = balancer.served.filter((r) => r.sessionId === id);
    assert.deepEqual(new Set(ofSession.map((r) => r.replica)), new Set([B]), 'every request of the session went to B');
    assert.equal(balancer.served.find((r) => r.sessionId === undefined && r.method === 'POST')?.replica, A, 'the initialize went to A');

    balancer.route = undefined;
    for (let i = 0; i < 4; i++) assert.equal((await toolHeaders(s))['mcp-session-id'], id);
    const lastFour = balancer.served.filter((r) => r.sessionId === id && r.method === 'POST').slice(-4);
    assert.deepEqual(new Set(lastFour.map((r) => r.replica)), new Set([A, B]), 'round robin: both replicas served the session');
    assert.ok(lastFour.every((r) => r.status === 200));
  });

  it('a changed header on replica B gets 404 from the relay, not forwarded', async () => {
    balancer.route = (req) => (req.headers['mcp-session-id'] === undefined ? A : B);
    const s = openSession(`${balancer.url}/mcp`);
    await withTimeout(s.client.connect(s.transport), 'connect', 5000);
    await toolHeaders(s);
    const forwarded = backend.requests.length;
    s.vars['x-tenant'] = `${TENANT}-other`;
    await rejects404(toolHeaders(s), 'tools/call with another x-tenant on B');
    assert.equal(backend.requests.length, forwarded, 'the backend never saw it');
    assert.equal(balancer.served.at(-1)?.replica, B);
  });

  it('a DELETE through replica A ends the session for replica B', async () => {
    const s = openSession(`${balancer.url}/mcp`);
    await withTimeout(s.client.connect(s.transport), 'connect', 5000);
    const id = s.transport.sessionId!;
    balancer.route = () => A;
    await withTimeout(s.transport.terminateSession(), 'DELETE through A', 5000);
    assert.ok(!backend.sessionIds().includes(id));
    balancer.route = () => B;
    const forwarded = backend.requests.length;
    const res = await fetch(`${balancer.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-mcp-api-key': KEY,
        'x-tenant': TENANT,
        'mcp-session-id': id,
      },
      body: PING,
    });
    assert.equal(res.status, 404);
    assert.equal(await res.text(), SESSION_NOT_FOUND_BODY);
    assert.equal(backend.requests.length, forwarded, "B's relay answered: the record is gone from Redis");
  });

  it(`the limits hold across replicas: 24 initializes at once from 4 clients, maxSessions ${MAX_SESSIONS} and ${MAX_PER_CLIENT} per client`, async () => {
    const post = (key: string, id?: string) =>
      fetch(`${balancer.url}/capped`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'x-mcp-api-key': key,
          ...(id ? { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } : {}),
        },
        body: id ? PING : INITIALIZE,
      });
    const keys = Array.from({ length: 24 }, (_, i) => `${KEY}-client-${i % 4}`);
    const answers = await Promise.all(keys.map((key) => post(key)));
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    const statuses = answers.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      statuses.join(),
    );
    // Which initializes were recorded: their next request is served, the others get 404.
    const later = await Promise.all(answers.map((r, i) => (r.status === 200 ? post(keys[i]!, r.headers.get('mcp-session-id')!) : Promise.resolve(undefined))));
    const recorded = keys.filter((_, i) => later[i]?.status === 200);
    assert.ok(later.every((r) => r === undefined || r.status === 200 || r.status === 404));
    assert.equal(recorded.length, MAX_SESSIONS, `recorded ${recorded.length}, statuses ${statuses.join()}`);
    for (let c = 0; c < 4; c++) assert.ok(recorded.filter((k) => k.endsWith(`-client-${c}`)).length <= MAX_PER_CLIENT);
    const store = redisSessionStore({ sendCommand: inspector.sendCommand, prefix: 'replicas:' });
    assert.equal(
      await store.admit({ scope: `${capped.url}/mcp\n`, client: 'anyone', maxSessions: MAX_SESSIONS, maxPerClient: MAX_PER_CLIENT }),
      'sessions',
      'Redis counts the limit as reached',
    );
    for (const replica of [A, B]) {
      balancer.route = () => replica;
      const res = await post(`${KEY}-client-new`);
      assert.equal(res.status, 503, `replica ${replica} refuses a new initialize`);
      assert.equal(((await res.json()) as { error: { data: { reason: string } } }).error.data.reason, 'session_limit');
    }
    const text = [...(await dumpRedis(inspector.sendCommand))].join('\n');
    assert.ok(!text.includes(SENTINEL), 'no header value in Redis');
  });

  it('Redis killed mid-run: 503s within connectTimeout, no crash, no store needed no failure; Redis restarted: service resumes with the same relay processes', async () => {
    const s = openSession(`${balancer.url}/mcp`);
    await withTimeout(s.client.connect(s.transport), 'connect', 5000);
    await toolHeaders(s);
    const pids = replicas.map((r) => r.process.pid);
    const logged = replicas.map((r) => r.lines.length);

    await redis.kill();
    for (const replica of [A, B]) {
      balancer.route = () => replica;
      const started = Date.now();
      await assert.rejects(toolHeaders(s), (err: unknown) => err instanceof StreamableHTTPError && err.code === 503);
      assert.ok(Date.now() - started < CONNECT_TIMEOUT + 2000, `replica ${replica} answered after ${Date.now() - started} ms`);
    }
    balancer.route = undefined;
    const plain = openSession(`${balancer.url}/plain`);
    await withTimeout(plain.client.connect(plain.transport), 'connect on the request route', 5000);
    assert.equal((await toolHeaders(plain))['x-mcp-api-key'], KEY, 'a request route needs no store');
    const stateless = eraClient('v2-2026', `${balancer.url}/modern`, { 'x-mcp-api-key': KEY });
    try {
      await withTimeout(stateless.connect(), '2026 connect', 5000);
      assert.ok((await withTimeout(stateless.listTools(), '2026 tools/list', 5000)).length > 0, '2026-07-28 traffic on a bind route needs no store');
    } finally {
      await stateless.close();
    }
    for (const [i, replica] of replicas.entries()) {
      const failures = replica.lines.slice(logged[i]).filter((l) => l.fields.reason === 'session_store_unavailable' && l.level === 'error');
      assert.ok(failures.length > 0 && failures.every((l) => l.fields.operation === 'get'), `replica ${i} logged the failed operation`);
      assert.equal(replica.process.exitCode, null, `replica ${i} is still running`);
    }

    await redis.restart();
    // Each replica's client reconnects by itself, with its own backoff: wait until both serve an initialize.
    for (const replica of [A, B]) {
      balancer.route = () => replica;
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline) {
        const res = await fetch(`${balancer.url}/mcp`, { method: 'POST', headers: INIT_HEADERS, body: INITIALIZE });
        await res.arrayBuffer();
        status = res.status;
        if (status !== 200) await sleep(100);
      }
      assert.equal(status, 200, `replica ${replica} serves initializes again`);
    }
    // Redis lost its data: the old session is unknown (404), and the application reconnects (docs/sessions.md).
    balancer.route = () => B;
    await rejects404(toolHeaders(s), 'the old session after the restart');
    balancer.route = undefined;
    const again = openSession(`${balancer.url}/mcp`);
    await withTimeout(again.client.connect(again.transport), 'connect after the restart', 10_000);
    for (let i = 0; i < 4; i++) assert.equal((await toolHeaders(again))['mcp-session-id'], again.transport.sessionId);
    assert.deepEqual(
      replicas.map((r) => r.process.pid),
      pids,
    );
    const text = replicas.flatMap((r) => r.lines.map((l) => JSON.stringify(l))).join('\n');
    assert.ok(!text.includes(SENTINEL), 'no header value in a replica log');
  });
});
