/**
 * Catalogue group I (issue 9), session items I8, I9, I12, I13 and I14: the admission deadline of a
 * shared session store, the per-client share of `maxSessions` on `bind`, `bind` with a principal, the
 * same work (and time) for both kinds of session 404, and the 2024-11-05 HTTP+SSE transport on
 * `bind`/`pin` routes.
 *
 * Every case runs a real Express gateway (captureHeaders + mcpProxy from lib/) in front of a real
 * node:http backend that mints session ids like an MCP server and remembers every id it minted, so a
 * 404 the backend never saw is the relay's own (after e-sessions.test.ts). I14 also runs the real SDK v1
 * legacy pair (SSEServerTransport / SSEClientTransport) end to end through the relay.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { describe, it } from 'node:test';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { SessionOptions } from '../../lib/index.js';
import type { LogLine } from '../helpers/capture-logger.js';
import { MODERN, McpLike, principalOf, slowWarnLogger } from '../helpers/i-sessions.js';
import { listen } from '../helpers/listen.js';
import type { RawResponse } from '../helpers/raw-http.js';
import {
  ALICE,
  ATTACKER_KEY,
  MALLORY,
  VICTIM,
  assertForwarded,
  assertRelay404,
  call,
  countingStore,
  INITIALIZE,
  NOT_FOUND_BODY,
  open,
  PING,
  type CountingStore,
} from '../helpers/session-requests.js';
import {
  SENTINEL,
  SENTINEL_KEY,
  SENTINEL_TENANT,
  assertAlive,
  assertNoLeak,
  assertRefusal,
  assertWireClean,
  secRelay,
  wireValues,
  type SecRelay,
} from '../helpers/sec-relay.js';

const TOOLS_LIST = '{"jsonrpc":"2.0","method":"tools/list","id":3}';

/** A gateway and the MCP-like backend behind it. */
interface Gw {
  r: SecRelay;
  mcp: McpLike;
}

/** A new initialize refused for a full share: 503 session_limit with Retry-After (and, given `backendBefore`, not forwarded). */
function assertShareFull(g: Gw, res: RawResponse, backendBefore?: number): void {
  assertRefusal(res, g.r, 503, 'session_limit', undefined, g.mcp.minted);
  assert.match(res.headers['retry-after'] ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
  if (backendBefore !== undefined) assert.equal(g.r.backend.requests.length, backendBefore, 'not forwarded');
}

/** A 2026-07-28 request (no sessions, no store): forwarded as sent and answered 200. */
async function assertModernServed(g: Gw): Promise<void> {
  const before = g.r.backend.requests.length;
  const key = `${SENTINEL}-key-2026`;
  const res = await g.r.send(['Content-Type: application/json', 'Accept: application/json, text/event-stream', `X-Mcp-Api-Key: ${key}`, ...MODERN], {
    method: 'POST',
    body: TOOLS_LIST,
  });
  assert.equal(res.status, 200, `a 2026-era request needs no store: ${res.raw.slice(0, 300)}`);
  assert.equal(g.r.backend.requests.length, before + 1);
  const got = g.r.backend.last();
  assert.deepEqual(wireValues(got, 'mcp-protocol-version'), ['2026-07-28']);
  assert.deepEqual(wireValues(got, 'mcp-method'), ['tools/list']);
  assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [key]);
}

function fieldsOf(line: LogLine): Record<string, unknown> {
  return line.fields as Record<string, unknown>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One request over a keep-alive agent; resolves with status, body, headers (Date left out) and elapsed ms. */
function timed(
  port: number,
  agent: http.Agent,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string; head: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = http.request(
      { host: '127.0.0.1', port, path: '/b', method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          const head: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            if (res.rawHeaders[i]!.toLowerCase() !== 'date') head.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
          }
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1'), head: head.join('\n'), ms });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/* ------------------------------------------------------------------------------------------------ */

describe('I: sessions (admission deadline, per-client share, bind principal, equal 404s, legacy SSE)', () => {
  it('I8: a session store whose get() or size() never settles: 503 session_store_unavailable within connectTimeout, an error line naming the operation; 2026 traffic still served', async (t) => {
    const CONNECT_TIMEOUT = 500;
    /** The old lib waits on the store forever: the test bounds its own wait. */
    const BOUND = 3000;
    const SLACK = 300;

    const withStalledStore = async (
      hang: 'get' | 'size',
      fn: (g: Gw & { send: (lines: string[], body?: string) => Promise<RawResponse> }, store: CountingStore) => Promise<void>,
    ): Promise<void> => {
      const mcp = new McpLike();
      const store = countingStore({ hang: [hang] });
      const r = await secRelay({
        respond: mcp.respond,
        connectTimeout: CONNECT_TIMEOUT,
        session: { mode: 'bind', store, sessionKey: randomBytes(32) },
      });
      try {
        const send = (lines: string[], body?: string): Promise<RawResponse> =>
          r.send(['Content-Type: application/json', 'Accept: application/json, text/event-stream', ...lines], {
            method: body === undefined ? 'GET' : 'POST',
            timeoutMs: BOUND,
            ...(body === undefined ? {} : { body }),
          });
        await fn({ r, mcp, send }, store);
        assertWireClean(r);
      } finally {
        await r.close();
      }
    };

    /** The refusal, its timing, and the error line naming the store operation. */
    const assertStalled = (g: Gw, res: RawResponse, ms: number, operation: 'get' | 'size', linesBefore: number): void => {
      assertRefusal(res, g.r, 503, 'session_store_unavailable', undefined, g.mcp.minted);
      assert.ok(ms < CONNECT_TIMEOUT + SLACK, `answered after ${Math.round(ms)} ms, connectTimeout is ${CONNECT_TIMEOUT} ms`);
      const errors = g.r.logger.lines.slice(linesBefore).filter((l) => l.level === 'error');
      assert.ok(
        errors.some((l) => fieldsOf(l).operation === operation),
        `an error line with operation '${operation}': ${JSON.stringify(g.r.logger.lines.slice(linesBefore))}`,
      );
    };

    await t.test("get() never settles: a request on a session (POST, GET) gets 503 with operation 'get'", () =>
      withStalledStore('get', async (g, store) => {
        for (const body of [PING, undefined]) {
          const linesBefore = g.r.logger.lines.length;
          const start = performance.now();
          const res = await g.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `Mcp-Session-Id: ${randomUUID()}`], body);
          assertStalled(g, res, performance.now() - start, 'get', linesBefore);
        }
        assert.equal(g.r.backend.requests.length, 0, 'nothing forwarded');
        assert.equal(store.calls.get, 2);
        await assertModernServed(g);
        assert.equal(store.calls.get, 2, 'the 2026 request cost no store call');
      }),
    );

    await t.test("size() never settles: an initialize gets 503 with operation 'size'", () =>
      withStalledStore('size', async (g, store) => {
        const linesBefore = g.r.logger.lines.length;
        const start = performance.now();
        const res = await g.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`], INITIALIZE);
        assertStalled(g, res, performance.now() - start, 'size', linesBefore);
        assert.equal(g.r.backend.requests.length, 0, 'nothing forwarded');
        assert.equal(store.calls.set, 0);
        const sizeCalls = store.calls.size;
        await assertModernServed(g);
        assert.equal(store.calls.size, sizeCalls, 'the 2026 request cost no store call');
      }),
    );
  });

  it('I9: bind shares maxSessions per client: one client at its share gets 503 session_limit, other clients still initialize (by captured headers, or by principal)', async (t) => {
    await t.test('maxSessions 50, default share 5, client = fingerprint of the captured headers', async () => {
      const mcp = new McpLike();
      const r = await secRelay({ respond: mcp.respond, session: { mode: 'bind', maxSessions: 50 } });
      const g: Gw = { r, mcp };
      try {
        const clientA = [`X-Tenant: ${SENTINEL}-tenant-a`];
        const clientB = [`X-Tenant: ${SENTINEL}-tenant-b`];
        // A floods the route with initializes (as many as the whole cap), then B arrives.
        const a: RawResponse[] = [];
        for (let i = 0; i < 50; i++) a.push(await call(g, clientA));
        const b = await call(g, clientB);
        const summary = {
          aRecorded: a.filter((res) => res.status === 200).length,
          aRefused: a.filter((res) => res.status === 503).length,
          b: b.status,
        };
        assert.deepEqual(summary, { aRecorded: 5, aRefused: 45, b: 200 }, 'A is held to its share of 5; B still gets a session');
        // A's first five were forwarded and recorded; every later one refused without reaching the backend.
        for (const res of a.slice(0, 5)) assert.match(res.headers['mcp-session-id'] ?? '', /^[0-9a-f-]{36}$/);
        for (const res of a.slice(5)) assertShareFull(g, res);
        assert.equal(r.backend.requests.length, 6, "A's five initializes and B's");
        // B's session works, and so do A's.
        const bId = b.headers['mcp-session-id']!;
        assert.equal(bId, mcp.minted.at(-1));
        let before = r.backend.requests.length;
        assertForwarded(g, await call(g, clientB, { id: bId }), before, bId);
        for (const aId of mcp.minted.slice(0, 5)) {
          before = r.backend.requests.length;
          assertForwarded(g, await call(g, clientA, { id: aId }), before, aId);
        }
        // A still at its share; a third client is not.
        before = r.backend.requests.length;
        assertShareFull(g, await call(g, clientA), before);
        await open(g, [`X-Tenant: ${SENTINEL}-tenant-c`]);
        await assertAlive(r);
      } finally {
        await r.close();
      }
    });

    await t.test('principal (X-User) and maxSessionsPerClient 3: the same principal varying X-Tenant still hits its share', async () => {
      const mcp = new McpLike();
      const r = await secRelay({ respond: mcp.respond, session: { mode: 'bind', principal: principalOf, maxSessionsPerClient: 3 } });
      const g: Gw = { r, mcp };
      try {
        const alice = (i: number): string[] => [`X-User: ${ALICE}`, `X-Tenant: ${SENTINEL}-tenant-${i}`];
        const statuses: number[] = [];
        const answers: RawResponse[] = [];
        for (let i = 0; i < 6; i++) {
          const res = await call(g, alice(i));
          statuses.push(res.status);
          answers.push(res);
        }
        const bob = await call(g, [`X-User: ${SENTINEL}-user-bob`, `X-Tenant: ${SENTINEL}-tenant-0`]);
        assert.deepEqual({ alice: statuses, bob: bob.status }, { alice: [200, 200, 200, 503, 503, 503], bob: 200 });
        for (const res of answers.slice(3)) assertShareFull(g, res);
        assert.equal(r.backend.requests.length, 4, "alice's three initializes and bob's: the refused ones were not forwarded");
        const bobId = bob.headers['mcp-session-id']!;
        const before = r.backend.requests.length;
        assertForwarded(g, await call(g, [`X-User: ${SENTINEL}-user-bob`, `X-Tenant: ${SENTINEL}-tenant-0`], { id: bobId }), before, bobId);
        assertNoLeak(undefined, r, mcp.minted);
        assertWireClean(r);
      } finally {
        await r.close();
      }
    });
  });

  it('I12: bind without a principal lets anyone holding the id use a session opened without captured headers (documented); with session.principal, another principal or none gets the SDK 404', async (t) => {
    await t.test('no principal: documented behaviour, the id alone opens a session that carried no captured headers', async () => {
      const mcp = new McpLike();
      const r = await secRelay({ respond: mcp.respond, session: 'bind' });
      const g: Gw = { r, mcp };
      try {
        const id = await open(g, [`X-User: ${ALICE}`]);
        for (const other of [[`X-User: ${MALLORY}`, 'User-Agent: someone-else/1.0'], []]) {
          for (const method of ['POST', 'GET'] as const) {
            const before = r.backend.requests.length;
            const got = assertForwarded(g, await call(g, other, { id, method }), before, id);
            assert.deepEqual([wireValues(got, 'x-mcp-api-key'), wireValues(got, 'x-tenant')], [[], []]);
          }
        }
        // The binding still covers captured headers: adding one is a mismatch.
        const before = r.backend.requests.length;
        assertRelay404(g, await call(g, [`X-User: ${MALLORY}`, `X-Tenant: ${SENTINEL_TENANT}`], { id }), before, [id]);
        assertWireClean(r);
      } finally {
        await r.close();
      }
    });

    await t.test('session.principal on bind: another principal or none → the SDK 404 byte for byte, not forwarded; the same principal is served', async () => {
      const mcp = new McpLike();
      const r = await secRelay({ respond: mcp.respond, session: { mode: 'bind', principal: principalOf } });
      const g: Gw = { r, mcp };
      try {
        const id = await open(g, [`X-User: ${ALICE}`]);
        const backendBefore = r.backend.requests.length;
        for (const other of [[`X-User: ${MALLORY}`], [], [`X-User: ${MALLORY}`, 'User-Agent: someone-else/1.0']]) {
          for (const method of ['POST', 'GET', 'DELETE'] as const) {
            assertRelay404(g, await call(g, other, { id, method }), backendBefore, [id, ALICE, MALLORY]);
          }
        }
        assert.ok(mcp.live.has(id), "the backend still knows the session: the 404s were the relay's");
        for (const method of ['POST', 'GET'] as const) {
          const before = r.backend.requests.length;
          assertForwarded(g, await call(g, [`X-User: ${ALICE}`], { id, method }), before, id);
        }
        assertNoLeak(undefined, r, [id]);
        await assertAlive(r);
      } finally {
        await r.close();
      }
    });
  });

  it('I13: "unknown id" and "known id, other captured headers" do the same work: one log line each, same level and field names, identical bodies, medians within 4 ms', async () => {
    const PER_KIND = 40;
    // A warning costs 10 ms, as a console write to a slow terminal may: a path that warns shows up.
    const logger = slowWarnLogger(10);
    const mcp = new McpLike();
    const r = await secRelay({ respond: mcp.respond, session: { mode: 'bind', sessionKey: randomBytes(32) }, logger });
    const g: Gw = { r, mcp };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const victim = await open(g, VICTIM);
      const backendBefore = r.backend.requests.length;
      const probe = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-mcp-api-key': ATTACKER_KEY,
        'x-tenant': SENTINEL_TENANT,
      };
      type Kind = 'unknown' | 'mismatch';
      const one = async (kind: Kind): Promise<{ ms: number; body: string; head: string; lines: LogLine[] }> => {
        const before = logger.lines.length;
        const res = await timed(r.port, agent, { ...probe, 'mcp-session-id': kind === 'unknown' ? randomUUID() : victim }, PING);
        assert.equal(res.status, 404, `${kind}: ${res.body}`);
        return { ms: res.ms, body: res.body, head: res.head, lines: logger.lines.slice(before) };
      };
      // Warm-up (JIT, keep-alive socket), not measured.
      for (let i = 0; i < 10; i++) {
        await one('unknown');
        await one('mismatch');
      }
      const results: Record<Kind, Awaited<ReturnType<typeof one>>[]> = { unknown: [], mismatch: [] };
      for (let i = 0; i < PER_KIND; i++) {
        // Interleaved, the order alternating, so drift in the machine's load hits both kinds alike.
        const order: Kind[] = i % 2 ? ['unknown', 'mismatch'] : ['mismatch', 'unknown'];
        for (const kind of order) results[kind].push(await one(kind));
      }
      const unknownMs = median(results.unknown.map((x) => x.ms));
      const mismatchMs = median(results.mismatch.map((x) => x.ms));
      assert.ok(
        Math.abs(mismatchMs - unknownMs) < 4,
        `median latency: unknown id ${unknownMs.toFixed(2)} ms, known id with other headers ${mismatchMs.toFixed(2)} ms (differ by ${(mismatchMs - unknownMs).toFixed(2)} ms)`,
      );
      // Byte-identical answers (headers but Date, and body), the SDK's 404 body.
      const answers = new Set([...results.unknown, ...results.mismatch].map((x) => `${x.head}\n\n${x.body}`));
      assert.equal(answers.size, 1, `the two 404s differ: ${JSON.stringify([...answers])}`);
      assert.equal(results.unknown[0]!.body, NOT_FOUND_BODY);
      assert.equal(results.mismatch[0]!.body, NOT_FOUND_BODY);
      // Exactly one log line per request, same level (info), same field names.
      const shape = (x: { lines: LogLine[] }): string => x.lines.map((l) => `${l.level} ${Object.keys(fieldsOf(l)).sort().join(',')}`).join(' | ');
      const shapes = { unknown: new Set(results.unknown.map(shape)), mismatch: new Set(results.mismatch.map(shape)) };
      for (const kind of ['unknown', 'mismatch'] as const) {
        for (const x of results[kind]) assert.equal(x.lines.length, 1, `${kind}: ${x.lines.length} log lines: ${shape(x)}`);
      }
      assert.deepEqual([...shapes.mismatch], [...shapes.unknown], 'the same level and field names for both 404s');
      assert.equal([...shapes.unknown][0]!.split(' ')[0], 'info');
      assert.equal(r.backend.requests.length, backendBefore, 'no probe was forwarded');
      assertNoLeak(undefined, r, [victim]);
      assertWireClean(r);
    } finally {
      agent.destroy();
      await r.close();
    }
  });

  it('I14: the 2024-11-05 HTTP+SSE transport (?sessionId=) is refused on bind and pin routes (400 unsupported_transport) unless allowLegacySse; forwarded on request routes; SDK v1 end to end', async (t) => {
    const LEGACY_POST = { method: 'POST', path: '/b/messages?sessionId=abc', body: PING };
    const legacyLines = ['Content-Type: application/json', `X-User: ${ALICE}`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`];
    /** An SSEServerTransport's answer to a POST on /messages it accepted; 200 `{"ok":true}` to anything else. */
    const accepted = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      if (req.url?.startsWith('/mcp/messages?') === true) {
        res.statusCode = 202;
        res.end('Accepted');
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end('{"ok":true}');
    };

    await t.test('raw: bind and pin routes refuse POST /messages?sessionId=… with 400 unsupported_transport, not forwarded', async () => {
      const routes = [
        ['bind', { mode: 'bind' }],
        ['pin', { mode: 'pin', principal: principalOf }],
      ] as const;
      const seen: Record<string, number> = {};
      const checks: (() => void)[] = [];
      for (const [label, session] of routes) {
        const r = await secRelay({ respond: accepted, session });
        try {
          const res = await r.send(legacyLines, LEGACY_POST);
          seen[label] = res.status;
          const forwarded = r.backend.requests.length;
          checks.push(() => {
            assertRefusal(res, r, 400, 'unsupported_transport');
            assert.equal(forwarded, 0, `${label}: not forwarded`);
          });
          // The route still serves an ordinary request (the relay, not the backend, refused).
          await assertAlive(r);
        } finally {
          await r.close();
        }
      }
      assert.deepEqual(seen, { bind: 400, pin: 400 }, 'status of POST /b/messages?sessionId=abc (202: forwarded to the backend)');
      for (const check of checks) check();
    });

    const forwardingRoutes = [
      ['request', undefined],
      ['bind + allowLegacySse', { mode: 'bind', allowLegacySse: true }],
      ['pin + allowLegacySse', { mode: 'pin', principal: principalOf, allowLegacySse: true }],
    ] as const;
    for (const [label, session] of forwardingRoutes) {
      await t.test(`raw: a ${label} route forwards POST /messages?sessionId=… as before, unbound`, async () => {
        const store = countingStore();
        const options = session?.mode === 'bind' ? { ...session, store, sessionKey: randomBytes(32) } : session;
        const r = await secRelay({ respond: accepted, ...(options ? { session: options } : {}) });
        try {
          const res = await r.send(legacyLines, LEGACY_POST);
          assert.equal(res.status, 202, res.raw.slice(0, 300));
          assert.equal(r.backend.requests.length, 1);
          const got = r.backend.last();
          assert.equal(got.url, '/mcp/messages?sessionId=abc');
          assert.equal(got.body, PING);
          assert.deepEqual(wireValues(got, 'mcp-session-id'), []);
          assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
          if (session?.mode === 'bind') assert.equal(store.calls.set, 0, 'nothing recorded');
          assertWireClean(r);
        } finally {
          await r.close();
        }
      });
    }

    /** A real SDK v1 HTTP+SSE server: `GET /mcp/sse` opens a stream whose endpoint is `/b/messages?sessionId=…`. */
    interface LegacyBackend {
      url: string;
      /** URLs of the POSTs that reached it. */
      posts: string[];
      /** `GET /mcp/sse` streams opened. */
      streams: number;
      close: () => Promise<void>;
    }
    const legacyBackend = async (): Promise<LegacyBackend> => {
      const transports = new Map<string, SSEServerTransport>();
      const posts: string[] = [];
      const app = express();
      const backend: LegacyBackend = { url: '', posts, streams: 0, close: () => Promise.resolve() };
      app.get('/mcp/sse', (_req, res) => {
        backend.streams++;
        // The path the client must use, seen through the gateway (mounted at /b, target …/mcp).
        const transport = new SSEServerTransport('/b/messages', res);
        transports.set(transport.sessionId, transport);
        res.on('close', () => transports.delete(transport.sessionId));
        const server = new McpServer({ name: 'legacy-backend', version: '1.0.0' });
        server.registerTool('whoami', { description: 'Answers legacy-ok' }, () => ({ content: [{ type: 'text', text: 'legacy-ok' }] }));
        void server.connect(transport);
      });
      app.post('/mcp/messages', (req, res) => {
        posts.push(req.url);
        const id = req.query.sessionId;
        const transport = typeof id === 'string' ? transports.get(id) : undefined;
        if (!transport) {
          res.status(404).end('unknown sessionId');
          return;
        }
        void transport.handlePostMessage(req, res);
      });
      const listening = await listen(app);
      backend.url = listening.url;
      backend.close = () => listening.close();
      return backend;
    };

    /** Connects an SDK v1 legacy client to the gateway's `/b/sse`; every client made is kept in `clients`, to be closed. */
    const legacyClient = async (port: number, clients: Client[]): Promise<Client> => {
      const client = new Client({ name: 'legacy-client', version: '1.0.0' });
      clients.push(client);
      await client.connect(new SSEClientTransport(new URL(`http://127.0.0.1:${port}/b/sse`)));
      return client;
    };
    /** A legacy backend behind a gateway on `session`; clients, gateway and backend are always closed, also when the lib refuses the options. */
    const withLegacyGateway = async (session: SessionOptions, fn: (r: SecRelay, backend: LegacyBackend, clients: Client[]) => Promise<void>): Promise<void> => {
      const backend = await legacyBackend();
      const clients: Client[] = [];
      try {
        const r = await secRelay({ target: `${backend.url}/mcp`, session });
        try {
          await fn(r, backend, clients);
        } finally {
          for (const client of clients) await client.close();
          await r.close();
        }
      } finally {
        await backend.close();
      }
    };

    await t.test('SDK v1 end to end: on a bind route the SSEClientTransport client cannot connect (its POST gets 400)', () =>
      withLegacyGateway('bind', async (r, backend, clients) => {
        await assert.rejects(
          async () => {
            const client = await legacyClient(r.port, clients);
            await client.callTool({ name: 'whoami' });
          },
          (err: Error) => {
            assert.match(err.message, /HTTP 400/);
            assert.match(err.message, /unsupported_transport/);
            return true;
          },
        );
        assert.deepEqual(backend.posts, [], 'no legacy POST reached the backend');
        assert.equal(backend.streams, 1, 'the GET /sse stream itself was forwarded');
        assertNoLeak(undefined, r);
      }),
    );

    await t.test('SDK v1 end to end: with allowLegacySse: true the client connects and calls the tool', () =>
      withLegacyGateway({ mode: 'bind', allowLegacySse: true }, async (r, backend, clients) => {
        const client = await legacyClient(r.port, clients);
        const result = await client.callTool({ name: 'whoami' });
        assert.deepEqual(result.content, [{ type: 'text', text: 'legacy-ok' }]);
        assert.ok(backend.posts.length >= 3, 'initialize, initialized and tools/call went through');
        assert.ok(
          backend.posts.every((url) => /^\/mcp\/messages\?sessionId=[0-9a-f-]{36}$/.test(url)),
          JSON.stringify(backend.posts),
        );
        assertNoLeak(undefined, r);
      }),
    );
  });
});
