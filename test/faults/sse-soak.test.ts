/**
 * 200 concurrent SSE GET streams through one real gateway while faults hit them: the backend resets
 * some streams mid-SSE, clients abort some, some requests stall into a 504, some get a backend 503,
 * and the rest end cleanly. Afterwards no socket, server or timer the run created may be left: the
 * process's active handles are counted before and after, and while the gateway is still open every
 * remaining socket must be an idle keep-alive connection of the proxy's pool.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { SENTINEL, assertNoLeak } from '../helpers/sec-relay.js';
import { sleep, waitFor } from '../helpers/wait.js';
import {
  assertAlive,
  assertBrokenStream,
  assertSentinelsForwarded,
  faultGateway,
  faultSuite,
  httpBackend,
  openStream,
  type FaultGateway,
  type HttpBackend,
  type RawClient,
} from './harness.js';

const STREAMS = 200;
/** The stall route's timeout; the stream route keeps the default (30 s), which 200 streams never approach. */
const STALL_TIMEOUT_MS = 500;
const BACKEND_503 = '{"jsonrpc":"2.0","error":{"code":-32000,"message":"overloaded"},"id":null}';
const LAST_CHUNK = '\r\n0\r\n\r\n';

interface Stream {
  i: number;
  role: Role;
  client: RawClient;
}

interface RoleSpec {
  /** Gateway mount the stream is opened on. */
  route: '/mcp' | '/stall';
  /** Text the client has once its stream is open, or its whole answer arrived. */
  opened: string;
  /** The fault, given the client and the backend's response for this stream. */
  inject(client: RawClient, res: http.ServerResponse | undefined): void;
  /** The fault has played out for this client. */
  settled(client: RawClient): boolean;
  /** What the client must have received. */
  check(text: string): void;
}

const ROLES = {
  /** The backend ends the stream cleanly: a complete chunked body. */
  end: {
    route: '/mcp',
    opened: 'data: tick',
    inject: (_client, res) => res?.end('data: bye\n\n'),
    settled: (client) => client.text().endsWith(LAST_CHUNK),
    check: (text) => assert.match(text, /data: bye\n\n\r\n0\r\n\r\n$/),
  },
  /** The backend resets mid-SSE: the gateway must close the client's connection itself. */
  reset: {
    route: '/mcp',
    opened: 'data: tick',
    inject: (_client, res) => res?.socket?.resetAndDestroy(),
    settled: (client) => client.closedAt() !== undefined,
    check: assertBrokenStream,
  },
  /** The client goes away mid-SSE. */
  abort: {
    route: '/mcp',
    opened: 'data: tick',
    inject: (client) => client.abort(),
    settled: () => true,
    check: (text) => assert.match(text, /^HTTP\/1\.1 200 /),
  },
  /** The backend never answers: 504 from the short-timeout route. */
  stall: {
    route: '/stall',
    opened: '"reason":"backend_timeout"}',
    inject: () => {},
    settled: () => true,
    check: (text) => assert.match(text, /^HTTP\/1\.1 504 /),
  },
  /** The backend answers 503: passed through. */
  error: {
    route: '/mcp',
    opened: BACKEND_503,
    inject: () => {},
    settled: () => true,
    check: (text) => assert.match(text, /^HTTP\/1\.1 503 /),
  },
} satisfies Record<string, RoleSpec>;
type Role = keyof typeof ROLES;
const ROLE_NAMES = Object.keys(ROLES) as Role[];

/** Streams events every 100 ms until the test injects a fault; `open` maps stream index -> response. */
async function streamingBackend(): Promise<{ backend: HttpBackend; open: Map<number, http.ServerResponse> }> {
  const open = new Map<number, http.ServerResponse>();
  const backend = await httpBackend((req, res) => {
    const query = new URL(req.url ?? '/', 'http://backend').searchParams;
    const role = query.get('role') as Role;
    if (role === 'stall') return;
    if (role === 'error') {
      res.writeHead(503, { 'content-type': 'application/json' }).end(BACKEND_503);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const tick = (): boolean => res.write(`data: tick ${n++}\n\n`);
    tick();
    const timer = setInterval(tick, 100);
    res.on('close', () => clearInterval(timer));
    open.set(Number(query.get('i')), res);
  });
  return { backend, open };
}

function openAll(port: number): Stream[] {
  return Array.from({ length: STREAMS }, (_, i) => {
    const role = ROLE_NAMES[i % ROLE_NAMES.length]!;
    return { i, role, client: openStream(port, `${ROLES[role].route}?role=${role}&i=${i}`) };
  });
}

/** Sockets, servers and timers: what a leak would leave behind in this process. */
function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = { TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 };
  for (const name of process.getActiveResourcesInfo()) if (name in counts) counts[name]! += 1;
  return counts;
}

function connections(server: http.Server): Promise<number> {
  return promisify(server.getConnections.bind(server))();
}

/**
 * With the gateway still open, once every client has gone: the gateway holds no client connection,
 * the backend has no request in flight, and every backend connection left is an idle keep-alive one.
 * The proxy's agent (httpxy's, keepAlive, up to 64 free sockets per origin) unref()s the sockets it
 * pools, so they are absent from getActiveResourcesInfo() while their backend ends are present: the
 * process holds exactly one counted socket per open backend connection. An upstream request left in
 * flight would add two (agent and backend side), a client connection left open two more.
 */
async function assertOnlyPooledSockets(gw: FaultGateway, backend: HttpBackend, baseline: Record<string, number>): Promise<void> {
  const inFlight = (): number => backend.seen.filter((e) => e.socket.closedAt === undefined && !e.res.writableFinished).length;
  let state = '';
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [gateway, upstream] = await Promise.all([connections(gw.server), connections(backend.server)]);
    const extra = handleCounts().TCPSocketWrap! - baseline.TCPSocketWrap!;
    state = `gateway connections ${gateway}, backend requests in flight ${inFlight()}, backend connections ${upstream}, extra sockets ${extra}`;
    if (gateway === 0 && inFlight() === 0 && extra === upstream && upstream <= 64) return;
    if (Date.now() > deadline) assert.fail(`sockets left behind after every client went away: ${state}`);
    await sleep(20);
  }
}

describe('SSE soak under faults', () => {
  const { track } = faultSuite();

  it(`${STREAMS} concurrent SSE streams (reset, aborted, stalled into 504, 503, ended) leave no socket, server or timer behind`, async () => {
    const baseline = handleCounts();
    const { backend, open } = await streamingBackend();
    track(backend);
    const target = `${backend.url}/mcp`;
    const gw = track(await faultGateway({ '/mcp': { target }, '/stall': { target, responseTimeout: STALL_TIMEOUT_MS } }));

    const streams = openAll(gw.port);
    const opened = (s: Stream): boolean => s.client.text().includes(ROLES[s.role].opened);
    await waitFor(() => streams.every(opened), `all ${STREAMS} streams to open or be answered`, 15_000);
    assert.equal(backend.seen.length, STREAMS);
    for (const { headers } of backend.seen) assertSentinelsForwarded(headers);

    for (const s of streams) ROLES[s.role].inject(s.client, open.get(s.i));
    const unsettled = (): string[] => streams.filter((s) => !ROLES[s.role].settled(s.client)).map((s) => `${s.i} (${s.role})`);
    // On timeout, the assertion names the streams still waiting.
    await waitFor(() => unsettled().length === 0, 'every fault to play out', 10_000).catch(() => assert.deepEqual(unsettled(), []));
    for (const s of streams) {
      ROLES[s.role].check(s.client.text());
      assert.ok(!s.client.text().includes(SENTINEL), `stream ${s.i} (${s.role}) received a sentinel value`);
    }
    assertNoLeak(undefined, gw);
    // Every client leaves, as one does after a complete answer.
    for (const s of streams) s.client.abort();

    await assertOnlyPooledSockets(gw, backend, baseline);
    await assertAlive(gw);
    await gw.close();
    await backend.close();
    const back = (): boolean => JSON.stringify(handleCounts()) === JSON.stringify(baseline);
    await waitFor(back, 'handles back to the baseline', 5000).catch(() => assert.deepEqual(handleCounts(), baseline, 'handles left after closing everything'));
  });
});
