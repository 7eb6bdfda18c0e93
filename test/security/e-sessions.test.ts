/**
 * Catalogue group E (security.md §5): session attacks on mcpProxy's `bind` and `pin` modes (issue 3).
 * Every case runs against a real Express gateway (sec-relay: captureHeaders + mcpProxy) in front of a
 * real node:http backend that mints session ids like an MCP server: a request without
 * `Mcp-Session-Id` gets a new id, a request with an id the backend does not know gets the SDK's 404.
 * The backend remembers every id it minted (also on non-2xx answers), so a request the relay forwards
 * on a minted id would be answered 200: a 404 the backend never saw is the relay's own.
 *
 * Cases answered differently from the catalogue (E2, E6, E7, E20) or run at a smaller scale (E14, E15)
 * are marked `// Deviation` or `// Scaled` at their test and listed in docs/security.md.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SessionOptions, SessionTtl } from '../../lib/index.js';
import type { LogLine } from '../helpers/capture-logger.js';
import type { RecordedRequest, Responder } from '../helpers/recording-backend.js';
import { scaled } from '../helpers/scale.js';
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
  open as openSession,
  PING,
  type CountingStore,
} from '../helpers/session-requests.js';
import {
  SECRET_ENV_NAME,
  SENTINEL,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  SENTINEL_TENANT,
  STATIC_VALUE,
  assertAlive,
  assertRefusal,
  assertNoLeak,
  assertWireClean,
  wireValues,
  secRelay,
  type CapturedLogger,
  type SecRelay,
  type SecRelayOptions,
} from '../helpers/sec-relay.js';
import { sleep } from '../helpers/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const TAG = /^[0-9a-f]{12}$/;

type Mode = 'bind' | 'pin';
const MODES: Mode[] = ['bind', 'pin'];

const principalOf = (req: http.IncomingMessage): string | undefined => {
  const user = req.headers['x-user'];
  return typeof user === 'string' && user !== '' ? user : undefined;
};

/* ------------------------------------------------------------------------------------------------ */
/* Run-wide log registry (E23): every gateway's logger and every id a backend minted.                */
/* ------------------------------------------------------------------------------------------------ */

const registry = { loggers: [] as { logger: CapturedLogger; startupLines: LogLine[] }[], ids: new Set<string>() };

/* ------------------------------------------------------------------------------------------------ */
/* A backend that behaves like an MCP server with sessions.                                         */
/* ------------------------------------------------------------------------------------------------ */

class McpLike {
  /** Ids this backend treats as live sessions. */
  readonly live = new Set<string>();
  readonly minted: string[] = [];
  /** The id for a request without one; `undefined`: none (a 2026-07-28 server). */
  mint: () => string | undefined = () => randomUUID();
  /** Status of an answer to a request without an id. */
  initStatus = 200;
  /** Initialize answered as an SSE stream whose headers are flushed at once and whose body waits for `releaseAll()`. */
  sse = false;
  deleteStatus = 200;
  readonly held: (() => void)[] = [];

  readonly respond: Responder = (req, res) => {
    const id = req.headers['mcp-session-id'];
    if (id === undefined) {
      const minted = this.mint();
      if (minted !== undefined) {
        this.minted.push(minted);
        this.live.add(minted);
        registry.ids.add(minted);
        res.setHeader('Mcp-Session-Id', minted);
      }
      res.statusCode = this.initStatus;
      if (this.sse) {
        res.setHeader('Content-Type', 'text/event-stream');
        res.flushHeaders();
        this.held.push(() => res.end('event: message\ndata: {"jsonrpc":"2.0","result":{"protocolVersion":"2025-11-25"},"id":1}\n\n'));
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end('{"jsonrpc":"2.0","result":{"protocolVersion":"2025-11-25"},"id":1}');
      return;
    }
    if (typeof id !== 'string' || !this.live.has(id)) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'application/json');
      res.end(NOT_FOUND_BODY);
      return;
    }
    if (req.method === 'DELETE') {
      res.statusCode = this.deleteStatus;
      if (this.deleteStatus >= 200 && this.deleteStatus < 300) this.live.delete(id);
      if (this.deleteStatus === 204) res.end();
      else {
        res.setHeader('Content-Type', 'application/json');
        res.end(this.deleteStatus === 405 ? '{"jsonrpc":"2.0","error":{"code":-32000,"message":"Method not allowed."},"id":null}' : '{}');
      }
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end('{"jsonrpc":"2.0","result":{},"id":2}');
  };

  releaseAll(): void {
    for (const release of this.held.splice(0)) release();
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* Gateways.                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

interface Limits {
  idleTtl?: number;
  absoluteTtl?: number;
  maxSessions?: number;
  maxSessionsPerPrincipal?: number;
  /** bind only. */
  maxSessionsPerClient?: number;
}

interface GatewayOptions extends Omit<SecRelayOptions, 'session' | 'respond'> {
  limits?: Limits;
  /** bind only: the store (default: a fresh counting store over memorySessionStore()). */
  store?: CountingStore;
  mcp?: McpLike;
}

interface Gw {
  mode: Mode;
  r: SecRelay;
  mcp: McpLike;
  /** bind: the store the relay was given; pin keeps its own, unobservable. */
  store: CountingStore | undefined;
}

function sessionFor(mode: Mode, limits: Limits, store: CountingStore | undefined): SessionOptions {
  const { maxSessionsPerPrincipal, maxSessionsPerClient, ...shared } = limits;
  if (mode === 'bind') {
    return { mode: 'bind', store, sessionKey: randomBytes(32), ...shared, ...(maxSessionsPerClient === undefined ? {} : { maxSessionsPerClient }) };
  }
  return { mode: 'pin', principal: principalOf, ...shared, ...(maxSessionsPerPrincipal === undefined ? {} : { maxSessionsPerPrincipal }) };
}

async function withGateway(mode: Mode, options: GatewayOptions, fn: (g: Gw) => Promise<void>): Promise<void> {
  const { limits = {}, store: given, mcp = new McpLike(), ...rest } = options;
  const store = mode === 'bind' ? (given ?? countingStore()) : undefined;
  const r = await secRelay({ ...rest, respond: rest.target ? undefined : mcp.respond, session: sessionFor(mode, limits, store) });
  registry.loggers.push({ logger: r.logger, startupLines: r.startupLines });
  try {
    await fn({ mode, r, mcp, store });
    assertWireClean(r);
  } finally {
    mcp.releaseAll();
    await r.close();
  }
}

/** One subtest per mode, each against a fresh gateway. */
async function eachMode(
  t: TestContext,
  options: GatewayOptions | ((mode: Mode) => GatewayOptions),
  fn: (g: Gw) => Promise<void>,
  modes = MODES,
): Promise<void> {
  for (const mode of modes) {
    await t.test(mode, () => withGateway(mode, typeof options === 'function' ? options(mode) : options, fn));
  }
}

/** An initialize by the victim unless other headers are given. */
const open = (g: Gw, headers: string[] = VICTIM): Promise<string> => openSession(g, headers);

/** The captured values the backend received, by name (absent names left out). */
function received(got: RecordedRequest, names = ['x-mcp-api-key', 'x-tenant']): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of names) {
    const values = wireValues(got, name);
    if (values.length > 0) out[name] = values;
  }
  return out;
}

const VICTIM_VALUES = { 'x-mcp-api-key': [SENTINEL_KEY], 'x-tenant': [SENTINEL_TENANT] };

/** Log lines about a session rejection. */
function notFoundLines(g: Gw): LogLine[] {
  return g.r.logger.lines.filter((l) => (l.fields as { reason?: string }).reason === 'session_not_found');
}

function fieldsOf(line: LogLine): Record<string, unknown> {
  return line.fields as Record<string, unknown>;
}

/** Many requests over a keep-alive agent, `concurrency` at a time; counts statuses and bodies. */
async function drive(
  port: number,
  total: number,
  concurrency: number,
  request: (i: number) => { method?: string; headers: Record<string, string> },
): Promise<{ statuses: Map<number, number>; bodies: Map<string, number> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = new Map<number, number>();
  const bodies = new Map<string, number>();
  let next = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const { method = 'GET', headers } = request(i);
      const req = http.request({ host: '127.0.0.1', port, path: '/b', method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          bodies.set(body, (bodies.get(body) ?? 0) + 1);
          resolve();
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (next < total) await one(next++);
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return { statuses, bodies };
}

/**
 * `total` requests over `connections` keep-alive sockets, each pipelining `batch` requests at a time
 * (HTTP/1.1 pipelining: Node answers them in order). Counts `status body` pairs; every response the
 * relay writes here has a Content-Length.
 */
async function pipelined(port: number, total: number, connections: number, batch: number, request: () => string): Promise<Map<string, number>> {
  const answers = new Map<string, number>();
  let next = 0;
  const connection = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let buffer = '';
      let outstanding = 0;
      const send = (): void => {
        if (next >= total) {
          socket.end();
          resolve();
          return;
        }
        let chunk = '';
        for (; outstanding < batch && next < total; next++, outstanding++) chunk += request();
        socket.write(chunk);
      };
      socket.setEncoding('latin1');
      socket.on('data', (data: string) => {
        buffer += data;
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end === -1) break;
          const head = buffer.slice(0, end);
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN);
          if (!Number.isInteger(length)) return reject(new Error(`a response without Content-Length: ${head}`));
          if (buffer.length < end + 4 + length) break;
          const key = `${head.slice(9, 12)} ${buffer.slice(end + 4, end + 4 + length)}`;
          answers.set(key, (answers.get(key) ?? 0) + 1);
          buffer = buffer.slice(end + 4 + length);
          outstanding--;
        }
        if (outstanding === 0) send();
      });
      socket.on('error', reject);
      socket.on('close', () => (outstanding === 0 ? resolve() : reject(new Error(`connection closed with ${outstanding} requests unanswered`))));
      socket.on('connect', send);
    });
  await Promise.all(Array.from({ length: connections }, connection));
  return answers;
}

/** `X-Name: value` lines as an object for http.request. */
function headerObject(lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

/* ------------------------------------------------------------------------------------------------ */

describe('E: session attacks (bind and pin)', () => {
  it('E1: an unknown session id, with or without a key: the SDK 404 from the relay, not forwarded, nothing injected, nothing stored', async (t) => {
    await eachMode(t, {}, async (g) => {
      const victim = await open(g);
      const backendBefore = g.r.backend.requests.length;
      const storeBefore = g.store?.entries();
      const unknown = randomUUID();
      for (const headers of [[`X-User: ${ALICE}`], VICTIM, []]) {
        for (const method of ['POST', 'GET', 'DELETE'] as const) {
          assertRelay404(g, await call(g, headers, { id: unknown, method }), backendBefore, [unknown]);
        }
      }
      assert.equal(g.store?.entries(), storeBefore, 'a miss allocates nothing');
      if (g.store) assert.equal(g.store.calls.set, 1, 'only the initialize was ever written');
      // Logged at info (an unknown id is not evidence of an attack), as a 12-hex tag, never the raw id.
      const lines = notFoundLines(g);
      assert.equal(lines.length, 9);
      for (const line of lines) {
        assert.equal(line.level, 'info');
        assert.match(String(fieldsOf(line).session), TAG);
        assert.equal(fieldsOf(line).status, 404);
      }
      assert.equal(new Set(lines.map((l) => fieldsOf(l).session)).size, 1, 'one id, one tag');
      assert.ok(!g.r.logger.text().includes(unknown));
      // The victim's session is untouched.
      const before = g.r.backend.requests.length;
      assert.deepEqual(received(assertForwarded(g, await call(g, VICTIM, { id: victim }), before, victim)), VICTIM_VALUES);
    });
    await t.test("bind (the default in-memory store, session: 'bind')", async () => {
      const mcp = new McpLike();
      const r = await secRelay({ respond: mcp.respond, session: 'bind' });
      registry.loggers.push({ logger: r.logger, startupLines: r.startupLines });
      try {
        const g: Gw = { mode: 'bind', r, mcp, store: undefined };
        await open(g);
        const before = r.backend.requests.length;
        assertRelay404(g, await call(g, VICTIM, { id: randomUUID() }), before);
      } finally {
        await r.close();
      }
    });
  });

  // Deviation E2: no per-peer rate limit on 404s (left to the host app); they stay identical and allocate nothing.
  it('E2: forged ids (random 36 characters, near misses of a real id): all the same 404, not forwarded, nothing allocated', async (t) => {
    await eachMode(t, {}, async (g) => {
      const victim = await open(g);
      const backendBefore = g.r.backend.requests.length;
      const forged = [
        ...Array.from({ length: 20 }, () => randomBytes(27).toString('base64url')),
        victim.slice(0, -1),
        `${victim}0`,
        `${victim.slice(0, -1)}${victim.endsWith('a') ? 'b' : 'a'}`,
        `${victim}!`,
      ];
      const answers = new Set<string>();
      for (const id of forged) {
        assert.ok(id.length >= 35);
        const res = await call(g, VICTIM, { id });
        assertRelay404(g, res, backendBefore, [id]);
        answers.add(
          res.headerLines
            .filter(([n]) => n.toLowerCase() !== 'date')
            .map(([n, v]) => `${n}: ${v}`)
            .join('\n') + res.body,
        );
      }
      assert.equal(answers.size, 1, 'every forged id gets the identical answer');
      if (g.store) {
        assert.equal(g.store.entries(), 1);
        assert.equal(g.store.calls.set, 1);
        assert.equal(g.store.calls.get, forged.length);
      }
    });
  });

  it("E3: the victim's id with another principal or no binding material: 404, not forwarded, nothing injected, an info line with the hashed id", async (t) => {
    await eachMode(t, {}, async (g) => {
      const victim = await open(g);
      const backendBefore = g.r.backend.requests.length;
      const attempts: string[][] =
        g.mode === 'pin'
          ? [
              [`X-User: ${MALLORY}`],
              [],
              [`X-User: ${MALLORY}`, `X-Tenant: ${SENTINEL_TENANT}`],
              [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`],
            ]
          : [[], [`X-User: ${MALLORY}`], [`X-Tenant: ${SENTINEL_TENANT}`], [`X-Mcp-Api-Key: ${SENTINEL_KEY}`]];
      for (const headers of attempts) {
        for (const method of ['POST', 'GET'] as const) assertRelay404(g, await call(g, headers, { id: victim, method }), backendBefore, [victim]);
      }
      const lines = notFoundLines(g);
      assert.equal(lines.length, attempts.length * 2);
      for (const line of lines) {
        // The level of an unknown id's line: a warning would cost more and tell the two apart (I13).
        assert.equal(line.level, 'info');
        assert.match(String(fieldsOf(line).session), TAG);
        assert.ok(!String(fieldsOf(line).session).includes(victim.slice(0, 12)));
      }
      assert.equal(new Set(lines.map((l) => fieldsOf(l).session)).size, 1);
      // The probes changed nothing: the owner still gets through, with the owner's values.
      const before = g.r.backend.requests.length;
      assert.deepEqual(received(assertForwarded(g, await call(g, VICTIM, { id: victim }), before, victim)), VICTIM_VALUES);
      if (g.mode === 'pin') {
        // Positive control for "never injected": the owner omitting the values gets them injected.
        const got = assertForwarded(g, await call(g, [`X-User: ${ALICE}`], { id: victim }), before + 1, victim);
        assert.deepEqual(received(got), VICTIM_VALUES);
      }
    });
  });

  it("E4: the victim's id with the attacker's own X-Mcp-Api-Key: 404, the request value never wins, not forwarded", async (t) => {
    await eachMode(t, {}, async (g) => {
      const victim = await open(g);
      const backendBefore = g.r.backend.requests.length;
      const attempts = [
        [`X-User: ${ALICE}`, `X-Mcp-Api-Key: ${ATTACKER_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`],
        [`X-User: ${ALICE}`, `X-Mcp-Api-Key: ${ATTACKER_KEY}`],
        [`X-User: ${MALLORY}`, `X-Mcp-Api-Key: ${ATTACKER_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`],
        [`X-User: ${ALICE}`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Tenant: ${SENTINEL}-tenant-other`],
        // Same length as the real key, one character off.
        [`X-User: ${ALICE}`, `X-Mcp-Api-Key: ${SENTINEL_KEY.slice(0, -1)}${SENTINEL_KEY.endsWith('a') ? 'b' : 'a'}`],
      ];
      for (const headers of attempts) {
        for (const method of ['POST', 'GET', 'DELETE'] as const) assertRelay404(g, await call(g, headers, { id: victim, method }), backendBefore, [victim]);
      }
      assert.ok(!g.r.backend.requests.some((req) => wireValues(req, 'x-mcp-api-key').includes(ATTACKER_KEY)), 'the attacker key reached the backend');
      const before = g.r.backend.requests.length;
      assert.deepEqual(received(assertForwarded(g, await call(g, VICTIM, { id: victim }), before, victim)), VICTIM_VALUES);
    });
  });

  it('E5: idle TTL passed, and absolute TTL passed while active: the relay 404s, not forwarded; the client re-initializes', async (t) => {
    const IDLE = 300;
    const ABSOLUTE = 900;
    await eachMode(t, { limits: { idleTtl: IDLE, absoluteTtl: ABSOLUTE } }, async (g) => {
      // Idle: one quiet period longer than the idle TTL.
      const idle = await open(g);
      await sleep(IDLE + 200);
      const backendBefore = g.r.backend.requests.length;
      assertRelay404(g, await call(g, VICTIM, { id: idle }), backendBefore, [idle]);
      assert.ok(g.mcp.live.has(idle), "precondition: the backend still knows the session, so the 404 is the relay's");

      // Absolute: activity every 100 ms keeps the idle TTL sliding, until the absolute TTL ends it.
      const start = Date.now();
      const active = await open(g);
      let ok = 0;
      for (;;) {
        assert.ok(Date.now() - start < ABSOLUTE + 3000, 'the absolute TTL never ended the session');
        await sleep(100);
        const before = g.r.backend.requests.length;
        const res = await call(g, g.mode === 'pin' ? [`X-User: ${ALICE}`] : VICTIM, { id: active });
        if (res.status === 200) {
          assert.deepEqual(received(assertForwarded(g, res, before, active)), VICTIM_VALUES);
          ok++;
          continue;
        }
        assert.ok(Date.now() - start >= ABSOLUTE, `ended after ${Date.now() - start} ms, before the absolute TTL`);
        assertRelay404(g, res, before, [active]);
        break;
      }
      assert.ok(ok >= 4, `the session lived through several idle periods (${ok} requests)`);
      // The client starts over: a new session works.
      const fresh = await open(g);
      assert.notEqual(fresh, active);
      const before = g.r.backend.requests.length;
      assertForwarded(g, await call(g, VICTIM, { id: fresh }), before, fresh);
      if (g.store) assert.equal(g.store.entries(), 1, 'expired records are gone from the store');
    });
  });

  // Deviation E6: an initialize carrying a client-chosen id is not forwarded at all: 404, as any unknown id.
  it('E6: a client-chosen Mcp-Session-Id on an initialize is never recorded: 404, not forwarded; only the id the backend issues is', async (t) => {
    await eachMode(t, {}, async (g) => {
      const chosen = `attacker-chosen-${randomUUID()}`;
      const res = await g.r.send(['Content-Type: application/json', ...VICTIM, `Mcp-Session-Id: ${chosen}`], { method: 'POST', body: INITIALIZE });
      assertRelay404(g, res, 0, [chosen]);
      assert.equal(g.mcp.minted.length, 0);
      if (g.store) assert.deepEqual([g.store.calls.set, g.store.entries()], [0, 0]);
      // The backend is made to know the chosen id as well: it still never becomes usable through the relay.
      g.mcp.live.add(chosen);
      const issued = await open(g);
      assertRelay404(g, await call(g, VICTIM, { id: chosen }), 1, [chosen]);
      if (g.store) {
        assert.equal(g.store.setKeys.length, 1);
        assert.ok(g.store.setKeys[0]!.endsWith(issued) && !g.store.setKeys[0]!.includes(chosen));
      }
      assertForwarded(g, await call(g, VICTIM, { id: issued }), 1, issued);
    });
  });

  // Deviation E7: a duplicate backend id is not recorded and the response passes, instead of 502.
  it('E7: a backend that issues an id already recorded: the response passes, the existing record is kept (no overwrite), a warn line', async (t) => {
    await eachMode(t, {}, async (g) => {
      const fixed = `fixed-${randomUUID()}`;
      registry.ids.add(fixed);
      g.mcp.mint = () => fixed;
      assert.equal(await open(g), fixed);
      // The same id again, now for the attacker's initialize (other key, other principal).
      const attacker = [`X-User: ${MALLORY}`, `X-Mcp-Api-Key: ${ATTACKER_KEY}`];
      const res = await call(g, attacker);
      assert.equal(res.status, 200, 'the response passes');
      assert.equal(res.headers['mcp-session-id'], fixed);
      const dup = g.r.logger.lines.filter((l) => /already recorded/.test(l.message));
      assert.equal(dup.length, 1);
      assert.equal(dup[0]!.level, 'warn');
      assert.match(String(fieldsOf(dup[0]!).session), TAG);
      if (g.store) assert.deepEqual([g.store.calls.set, g.store.entries()], [2, 1]);
      // The first record is the one that holds: the attacker's headers do not match it, the owner's do.
      const before = g.r.backend.requests.length;
      assertRelay404(g, await call(g, attacker, { id: fixed }), before, [fixed]);
      assertRelay404(g, await call(g, [`X-User: ${MALLORY}`], { id: fixed }), before, [fixed]);
      const got = assertForwarded(g, await call(g, g.mode === 'pin' ? [`X-User: ${ALICE}`] : VICTIM, { id: fixed }), before, fixed);
      assert.deepEqual(received(got), VICTIM_VALUES);
      assertNoLeak(undefined, g.r, [fixed]);
    });
  });

  it('E8: a backend id that is not 1-256 visible ASCII (space, tab, 257 chars, a control byte) is not recorded; 256 chars is', async (t) => {
    const invalid: [string, () => string][] = [
      ['a space', () => `bad id-${randomUUID()}`],
      ['a tab', () => `bad\tid-${randomUUID()}`],
      ['257 characters', () => `${randomUUID()}${'x'.repeat(257 - 36)}`],
    ];
    await eachMode(t, {}, async (g) => {
      for (const [label, make] of invalid) {
        g.mcp.mint = make;
        const res = await call(g, VICTIM);
        const id = g.mcp.minted.at(-1)!;
        assert.equal(res.status, 200, `${label}: the response passes`);
        assert.equal(res.headers['mcp-session-id'], id, `${label}: the id passes unchanged`);
        const warn = g.r.logger.lines.at(-1)!;
        assert.equal(warn.level, 'warn', label);
        assert.equal(fieldsOf(warn).reason, 'invalid_session_id', label);
        // Presenting it back is refused before any lookup (the client-side rule is the same).
        const before = g.r.backend.requests.length;
        const again = await call(g, VICTIM, { id });
        assertRefusal(again, g.r, 400, 'invalid_session_id', 'mcp-session-id', [id]);
        assert.equal(g.r.backend.requests.length, before);
      }
      if (g.store) assert.deepEqual([g.store.calls.set, g.store.calls.get, g.store.entries()], [0, 0, 0]);
      assertNoLeak(undefined, g.r, g.mcp.minted);
      // Boundary: exactly 256 visible characters is a valid id and is recorded.
      g.mcp.mint = () => `${randomUUID()}${'~'.repeat(256 - 36)}`;
      const longest = await open(g);
      assert.equal(longest.length, 256);
      const before = g.r.backend.requests.length;
      assertForwarded(g, await call(g, VICTIM, { id: longest }), before, longest);
      assertRelay404(g, await call(g, [`X-User: ${MALLORY}`], { id: longest }), before + 1, [longest]);
    });

    await t.test('a control byte (0x01) in the id, from a raw-socket backend Node cannot be made to write', async () => {
      const bytes: string[] = [];
      const id = `ctl\x01id-${randomUUID()}`;
      const server = net.createServer((socket) => {
        socket.on('data', (chunk: Buffer) => {
          bytes.push(chunk.toString('latin1'));
          if (!bytes.join('').includes('\r\n\r\n')) return;
          const body = '{"jsonrpc":"2.0","result":{},"id":1}';
          socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: ${id}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      assert.throws(() => http.validateHeaderValue('mcp-session-id', id), { code: 'ERR_INVALID_CHAR' });
      const store = countingStore();
      try {
        for (const mode of MODES) {
          await withGateway(mode, { target: `http://127.0.0.1:${port}/mcp`, store }, async (g) => {
            bytes.length = 0;
            const res = await call(g, VICTIM);
            assert.ok(bytes.join('').startsWith('POST /mcp HTTP/1.1'), 'the initialize reached the raw backend');
            // Node's HTTP client refuses the control byte: the relay answers 502, and nothing is recorded.
            assertRefusal(res, g.r, 502, 'backend_bad_response', undefined, [id]);
          });
        }
        assert.deepEqual([store.calls.set, store.entries()], [0, 0]);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  it('E9: an initialize answered as SSE is recorded from the response headers, before the body streams', async (t) => {
    await eachMode(t, {}, async (g) => {
      g.mcp.sse = true;
      const stream = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: g.r.port,
            path: '/b',
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headerObject(VICTIM) },
          },
          resolve,
        );
        req.on('error', reject);
        req.end(INITIALIZE);
      });
      let body = '';
      stream.setEncoding('utf8').on('data', (c: string) => (body += c));
      const ended = new Promise<void>((resolve) => stream.on('end', resolve));
      const id = g.mcp.minted[0]!;
      assert.equal(stream.statusCode, 200);
      assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
      assert.equal(stream.headers['mcp-session-id'], id);
      assert.equal(g.mcp.held.length, 1, 'precondition: the initialize body has not been sent yet');
      g.mcp.sse = false;
      // While the initialize stream is still open, the session is already bound.
      const before = g.r.backend.requests.length;
      const got = assertForwarded(g, await call(g, g.mode === 'pin' ? [`X-User: ${ALICE}`] : VICTIM, { id }), before, id);
      assert.deepEqual(received(got), VICTIM_VALUES);
      assertRelay404(g, await call(g, [`X-User: ${MALLORY}`, `X-Mcp-Api-Key: ${ATTACKER_KEY}`], { id }), before + 1, [id]);
      assert.equal(body, '', 'still no body');
      g.mcp.releaseAll();
      await ended;
      assert.match(body, /^event: message\ndata: \{"jsonrpc":"2\.0","result"/);
      if (g.store) assert.equal(g.store.entries(), 1);
    });
  });

  it('E10: an initialize that fails (3xx/4xx/5xx) but carries Mcp-Session-Id: the response passes, nothing is recorded', async (t) => {
    await eachMode(t, {}, async (g) => {
      for (const status of [302, 400, 401, 403, 404, 429, 500, 503]) {
        g.mcp.initStatus = status;
        const res = await call(g, VICTIM);
        const id = g.mcp.minted.at(-1)!;
        assert.equal(res.status, status);
        assert.equal(res.headers['mcp-session-id'], id, `${status}: the id passes unchanged`);
        // The backend does know the id: only the relay can be refusing it.
        g.mcp.initStatus = 200;
        const before = g.r.backend.requests.length;
        assertRelay404(g, await call(g, VICTIM, { id }), before, [id]);
      }
      if (g.store) assert.deepEqual([g.store.calls.set, g.store.entries()], [0, 0]);
    });
  });

  it("E11: a DELETE with the victim's id from an attacker (binding mismatch): 404, not forwarded, the session lives on", async (t) => {
    await eachMode(t, {}, async (g) => {
      const victim = await open(g);
      const backendBefore = g.r.backend.requests.length;
      const attackers =
        g.mode === 'pin'
          ? [[`X-User: ${MALLORY}`], [], [`X-User: ${MALLORY}`, ...VICTIM.slice(1)], [`X-User: ${ALICE}`, `X-Mcp-Api-Key: ${ATTACKER_KEY}`]]
          : [[], [`X-Mcp-Api-Key: ${ATTACKER_KEY}`, `X-Tenant: ${SENTINEL_TENANT}`], [`X-Mcp-Api-Key: ${SENTINEL_KEY}`]];
      for (const headers of attackers) assertRelay404(g, await call(g, headers, { id: victim, method: 'DELETE' }), backendBefore, [victim]);
      assert.ok(g.mcp.live.has(victim));
      if (g.store) assert.deepEqual([g.store.calls.delete, g.store.entries()], [0, 1]);
      const before = g.r.backend.requests.length;
      assertForwarded(g, await call(g, VICTIM, { id: victim }), before, victim);
      // The owner's DELETE is forwarded.
      const del = await call(g, VICTIM, { id: victim, method: 'DELETE' });
      assert.equal(del.status, 200);
      assert.equal(g.r.backend.last().method, 'DELETE');
      assert.equal(g.mcp.live.has(victim), false);
    });
  });

  it("E12: the owner's DELETE: the record goes on the backend's 200, 204 and 404, and stays on its 405", async (t) => {
    await eachMode(t, {}, async (g) => {
      for (const status of [200, 204, 404, 405]) {
        g.mcp.deleteStatus = status;
        const id = await open(g);
        const owner = g.mode === 'pin' ? [`X-User: ${ALICE}`] : VICTIM;
        const del = await call(g, owner, { id, method: 'DELETE' });
        assert.equal(del.status, status, `the backend's ${status} passes`);
        assert.equal(g.r.backend.last().method, 'DELETE');
        // Whatever the backend did, it is made to know the id again: only the relay can refuse it now.
        g.mcp.live.add(id);
        const before = g.r.backend.requests.length;
        const next = await call(g, owner, { id });
        if (status === 405) {
          assert.deepEqual(received(assertForwarded(g, next, before, id)), VICTIM_VALUES, '405: the session is kept');
        } else {
          assertRelay404(g, next, before, [id]);
        }
      }
      if (g.store) assert.deepEqual([g.store.calls.delete, g.store.entries()], [3, 1]);
    });
  });

  it('E13: the backend answers 404 for a recorded id (it restarted): the 404 passes and the record goes', async (t) => {
    await eachMode(t, {}, async (g) => {
      for (const method of ['POST', 'GET'] as const) {
        const id = await open(g);
        g.mcp.live.delete(id);
        const before = g.r.backend.requests.length;
        const res = await call(g, VICTIM, { id, method });
        assert.equal(res.status, 404);
        assert.equal(res.body, NOT_FOUND_BODY);
        assertNoLeak(res, g.r, [id]);
        assert.equal(g.r.backend.requests.length, before + 1, "the backend's own 404");
        g.mcp.live.add(id);
        assertRelay404(g, await call(g, VICTIM, { id }), before + 1, [id]);
      }
      if (g.store) assert.deepEqual([g.store.calls.delete, g.store.entries()], [2, 0]);
    });
  });

  // Scaled E14: caps of 2 and 5 instead of 50 000 initializes: the refusal at the cap is the same at any size.
  it('E14: caps: per principal and global → 503 with Retry-After and a JSON-RPC body; existing sessions keep working; a DELETE frees a place', async (t) => {
    const full = async (g: Gw, headers: string[]): Promise<void> => {
      const backendBefore = g.r.backend.requests.length;
      const res = await call(g, headers);
      assertRefusal(res, g.r, 503, 'session_limit', undefined, g.mcp.minted);
      assert.equal(res.headers['retry-after'], '60', 'min(idle TTL, 60 s) in seconds');
      assert.equal(g.r.backend.requests.length, backendBefore, 'not forwarded');
    };
    /** Which cap the last refusal hit, from its log line (a name, never a value). */
    const limitOf = (g: Gw): unknown => fieldsOf(g.r.logger.lines.findLast((l) => Object.hasOwn(fieldsOf(l), 'limit'))!).limit;

    await t.test('pin, maxSessions 5, maxSessionsPerPrincipal 2', () =>
      withGateway('pin', { limits: { maxSessions: 5, maxSessionsPerPrincipal: 2 } }, async (g) => {
        const user = (name: string): string[] => [`X-User: ${SENTINEL}-user-${name}`, `X-Mcp-Api-Key: ${SENTINEL}-key-${name}`];
        const sessions: [string, string][] = [];
        for (const name of ['alice', 'alice']) sessions.push([name, await open(g, user(name))]);
        for (let i = 0; i < 10; i++) {
          await full(g, user('alice'));
          assert.equal(limitOf(g), 'client');
        }
        for (const name of ['bob', 'bob', 'carol']) sessions.push([name, await open(g, user(name))]);
        // Five recorded: the global cap, for a new principal and for one below its own cap alike.
        for (const name of ['dave', 'carol', 'erin']) {
          await full(g, user(name));
          assert.equal(limitOf(g), 'sessions');
        }
        // Every existing session still works, with its pinned value injected.
        for (const [name, id] of sessions) {
          const before = g.r.backend.requests.length;
          const got = assertForwarded(g, await call(g, [`X-User: ${SENTINEL}-user-${name}`], { id }), before, id);
          assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [`${SENTINEL}-key-${name}`]);
        }
        // Ending one of alice's sessions frees a place for her (and globally).
        const [, aliceFirst] = sessions[0]!;
        assert.equal((await call(g, user('alice'), { id: aliceFirst, method: 'DELETE' })).status, 200);
        sessions[0] = ['alice', await open(g, user('alice'))];
        await full(g, user('dave'));
        // Ending carol's frees a global place for dave.
        assert.equal((await call(g, user('carol'), { id: sessions[4]![1], method: 'DELETE' })).status, 200);
        const dave = await open(g, user('dave'));
        const before = g.r.backend.requests.length;
        assertForwarded(g, await call(g, [`X-User: ${SENTINEL}-user-dave`], { id: dave }), before, dave);
      }),
    );

    await t.test('bind, maxSessions 5', () =>
      withGateway('bind', { limits: { maxSessions: 5 } }, async (g) => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await open(g, [`X-Mcp-Api-Key: ${SENTINEL}-key-${i}`]));
        for (let i = 0; i < 20; i++) {
          await full(g, [`X-Mcp-Api-Key: ${SENTINEL}-key-new-${i}`]);
          assert.equal(limitOf(g), 'sessions');
        }
        assert.equal(g.store!.entries(), 5, 'memory bounded by the cap');
        for (const [i, id] of ids.entries()) {
          const before = g.r.backend.requests.length;
          assertForwarded(g, await call(g, [`X-Mcp-Api-Key: ${SENTINEL}-key-${i}`], { id }), before, id);
        }
        assert.equal((await call(g, [`X-Mcp-Api-Key: ${SENTINEL}-key-0`], { id: ids[0]!, method: 'DELETE' })).status, 200);
        assert.equal(g.store!.entries(), 4);
        const fresh = await open(g, [`X-Mcp-Api-Key: ${SENTINEL}-key-new`]);
        const before = g.r.backend.requests.length;
        assertForwarded(g, await call(g, [`X-Mcp-Api-Key: ${SENTINEL}-key-new`], { id: fresh }), before, fresh);
        await full(g, [`X-Mcp-Api-Key: ${SENTINEL}-key-more`]);
      }),
    );
  });

  // Scaled E15: 5 000 lookups in npm test, 1 000 000 under RELAY_TEST_SCALE=full: a miss allocates nothing, which the store's size of 0 shows at any count.
  const LOOKUPS = scaled(5_000, 1_000_000);
  it(`E15: ${LOOKUPS} lookups of random unknown ids: all 404, the store stays empty; ids over 256 chars: 400, no lookup`, { timeout: 1_200_000 }, async () => {
    const TOTAL = LOOKUPS;
    const store = countingStore();
    const r = await secRelay({ session: { mode: 'bind', store, sessionKey: randomBytes(32) } });
    try {
      const answers = await pipelined(
        r.port,
        TOTAL,
        50,
        20,
        () => `GET /b HTTP/1.1\r\nHost: gw.test\r\nX-Mcp-Api-Key: ${SENTINEL_KEY}\r\nMcp-Session-Id: ${randomBytes(24).toString('base64url')}\r\n\r\n`,
      );
      assert.deepEqual([...answers], [[`404 ${NOT_FOUND_BODY}`, TOTAL]]);
      assert.equal(r.backend.requests.length, 0);
      assert.deepEqual(store.calls, { get: TOTAL, set: 0, delete: 0, size: 0 });
      assert.equal(store.entries(), 0);
      // Each miss was logged once, as a tag, with no value.
      assert.equal(r.logger.lines.length, TOTAL);
      for (const line of r.logger.lines) {
        const fields = fieldsOf(line);
        assert.equal(fields.reason, 'session_not_found');
        assert.match(String(fields.session), TAG);
      }
      assertNoLeak(undefined, r);
      r.logger.lines.length = 0;

      // Over 256 characters (and other invalid ids): 400 before the store is touched.
      const getsBefore = store.calls.get;
      for (const id of ['a'.repeat(257), `${randomUUID()}${'b'.repeat(4000)}`, 'has space', '']) {
        const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `Mcp-Session-Id: ${id}`]);
        assertRefusal(res, r, 400, 'invalid_session_id', 'mcp-session-id', id === '' ? [] : [id]);
      }
      assert.equal(store.calls.get, getsBefore, 'no lookup for an invalid id');
      assert.equal(store.entries(), 0);
    } finally {
      await r.close();
    }
  });

  it('E16: two Mcp-Session-Id lines → 400 duplicate_header before the store is touched; "a, b" in one line → 400 invalid_session_id', async (t) => {
    await eachMode(t, {}, async (g) => {
      const victim = await open(g);
      const other = await open(g, [`X-User: ${MALLORY}`, `X-Mcp-Api-Key: ${ATTACKER_KEY}`]);
      const backendBefore = g.r.backend.requests.length;
      const getsBefore = g.store?.calls.get;
      for (const [first, second] of [
        [victim, victim],
        [other, victim],
        [victim, randomUUID()],
      ] as const) {
        const lines = ['Content-Type: application/json', ...VICTIM, `Mcp-Session-Id: ${first}`, `Mcp-Session-Id: ${second}`];
        const res = await g.r.send(lines, { method: 'POST', body: PING });
        assertRefusal(res, g.r, 400, 'duplicate_header', 'mcp-session-id', [victim, other]);
        assert.equal(g.r.backend.requests.length, backendBefore);
      }
      const joined = await call(g, VICTIM, { id: `${victim}, ${victim}` });
      assertRefusal(joined, g.r, 400, 'invalid_session_id', 'mcp-session-id', [victim]);
      assert.equal(g.r.backend.requests.length, backendBefore);
      assert.equal(g.store?.calls.get, getsBefore, 'the store was not consulted');
      assertForwarded(g, await call(g, VICTIM, { id: victim }), backendBefore, victim);
    });
  });

  it('E17: the same id in another case is another id: exact, case-sensitive match, no normalisation', async (t) => {
    await eachMode(t, {}, async (g) => {
      g.mcp.mint = () => `AbCd-${randomUUID()}`;
      const id = await open(g);
      const variants = [id.toUpperCase(), id.toLowerCase(), `${id[0]!.toLowerCase()}${id.slice(1)}`];
      for (const variant of variants) {
        assert.notEqual(variant, id);
        g.mcp.live.add(variant); // a case-insensitive backend would accept it
        const before = g.r.backend.requests.length;
        assertRelay404(g, await call(g, VICTIM, { id: variant }), before, [variant]);
      }
      const before = g.r.backend.requests.length;
      assertForwarded(g, await call(g, VICTIM, { id }), before, id);
    });
  });

  it('E18: concurrent requests during expiry and eviction: each forwarded request carries the pin whole, every other one is the 404; no crash', async (t) => {
    await eachMode(t, { limits: { idleTtl: 400, absoluteTtl: 1200 } }, async (g) => {
      const sent = g.mode === 'pin' ? [`X-User: ${ALICE}`] : VICTIM;
      const headers = (id: string): Record<string, string> => ({ ...headerObject(sent), 'mcp-session-id': id });
      const burst = async (id: string, n: number, withDelete = false): Promise<Map<number, number>> => {
        const { statuses, bodies } = await drive(g.r.port, n, 20, (i) => ({ method: withDelete && i === n / 2 ? 'DELETE' : 'GET', headers: headers(id) }));
        for (const body of bodies.keys()) assert.ok(body === NOT_FOUND_BODY || body.startsWith('{"jsonrpc":"2.0","result"') || body === '{}', body);
        for (const status of statuses.keys()) assert.ok(status === 200 || status === 404, `status ${status}`);
        return statuses;
      };
      // Expiry: bursts of concurrent requests across the absolute TTL.
      const expiring = await open(g);
      const seen = new Map<number, number>();
      const start = Date.now();
      while (Date.now() - start < 1600) {
        for (const [status, n] of await burst(expiring, 40)) seen.set(status, (seen.get(status) ?? 0) + n);
        await sleep(20);
      }
      assert.ok((seen.get(200) ?? 0) > 0 && (seen.get(404) ?? 0) > 0, `the run crossed the expiry: ${JSON.stringify([...seen])}`);
      // Eviction: a DELETE in the middle of concurrent requests, then the idle sweep of a second session.
      const deleted = await open(g);
      await burst(deleted, 60, true);
      assert.ok(g.r.backend.requests.some((q) => q.method === 'DELETE' && wireValues(q, 'mcp-session-id')[0] === deleted));
      const swept = await open(g);
      const sweeping = burst(swept, 40);
      await sleep(900);
      await sweeping;
      await burst(swept, 40);

      const onSessions = g.r.backend.requests.filter((q) => [expiring, deleted, swept].includes(wireValues(q, 'mcp-session-id')[0] ?? ''));
      assert.ok(onSessions.length > 40);
      for (const q of onSessions) assert.deepEqual(received(q), VICTIM_VALUES, 'a forwarded request carries every pinned value or is not forwarded');
      assert.deepEqual(
        g.r.logger.lines.filter((l) => l.level === 'error'),
        [],
        'no relay failure',
      );
      if (g.store) assert.equal(g.store.entries(), 0);
      g.r.logger.lines.length = 0;
      await assertAlive(g.r);
    });
  });

  it('E19: MCP-Protocol-Version 2026-07-28 traffic (no session ids): nothing recorded or minted, each request forwarded as sent, no cap', async (t) => {
    await eachMode(t, { limits: { maxSessions: 1, maxSessionsPerPrincipal: 1 } }, async (g) => {
      g.mcp.mint = () => undefined;
      for (let i = 0; i < 6; i++) {
        for (const method of ['POST', 'GET'] as const) {
          const key = `${SENTINEL}-key-2026-${i}`;
          const res = await call(g, [`X-User: ${i % 2 ? ALICE : MALLORY}`, `X-Mcp-Api-Key: ${key}`, 'MCP-Protocol-Version: 2026-07-28'], { method });
          assert.equal(res.status, 200);
          assert.equal(res.headers['mcp-session-id'], undefined, 'the gateway mints and echoes nothing');
          const got = g.r.backend.last();
          assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [key]);
          assert.deepEqual(wireValues(got, 'mcp-protocol-version'), ['2026-07-28']);
          assert.deepEqual(wireValues(got, 'mcp-session-id'), []);
        }
      }
      // Without a principal too (pin: nothing to record, so nothing to warn about).
      assert.equal((await call(g, [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, 'MCP-Protocol-Version: 2026-07-28'])).status, 200);
      assert.equal(g.r.backend.requests.length, 13);
      if (g.store) assert.deepEqual([g.store.calls.set, g.store.calls.get, g.store.entries()], [0, 0, 0]);
      // Once per route, the operator learns that this mode does not apply to such traffic.
      assert.deepEqual(
        g.r.logger.lines.map((l) => [l.level, fieldsOf(l)]),
        [['warn', { route: `127.0.0.1:${g.r.backend.port}/mcp`, mode: g.mode, protocol: '2026-07-28' }]],
      );
      assert.match(g.r.logger.lines[0]!.message, /2026-07-28 requests on this route are handled per request/);
    });
  });

  // Deviation E20: a stray id on a 2026-era request is forwarded without the id (a hybrid backend would serve the 2025 session it names, unchecked); on a 2025-era request an unknown id stays 404.
  it('E20: an old client sends Mcp-Session-Id to a 2026-07-28 backend: a 2026-era request is forwarded without it, a 2025-era one gets 404 (a deviation)', async (t) => {
    await eachMode(t, {}, async (g) => {
      g.mcp.mint = () => undefined;
      const stray = randomUUID();
      g.mcp.live.add(stray);
      const modern = await call(g, [...VICTIM, 'MCP-Protocol-Version: 2026-07-28'], { id: stray });
      assert.equal(modern.status, 200, 'a 2026 server ignores the id, and so does the relay');
      assert.deepEqual(wireValues(g.r.backend.last(), 'mcp-session-id'), [], 'the stray id is not forwarded');
      assert.deepEqual(wireValues(g.r.backend.last(), 'x-mcp-api-key'), [SENTINEL_KEY]);
      const before = g.r.backend.requests.length;
      const id = randomUUID();
      g.mcp.live.add(id);
      assertRelay404(g, await call(g, [...VICTIM, 'MCP-Protocol-Version: 2025-11-25'], { id }), before, [id]);
      if (g.store) assert.deepEqual([g.store.calls.set, g.store.calls.get, g.store.entries()], [0, 1, 0]);
    });
  });

  it('E21: fingerprints are compared as HMAC digests with timingSafeEqual; wrong fingerprints of equal and of different length both 404', async (t) => {
    await t.test('the code path (lib/session-guard.ts and lib/session-digests.ts)', () => {
      const read = (file: string): string =>
        fs
          .readFileSync(path.join(root, file), 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/\/\/.*$/gm, '');
      const source = `${read('lib/session-guard.ts')}\n${read('lib/session-digests.ts')}`;
      assert.match(source, /import\s*\{[^}]*\bcreateHmac\b[^}]*\btimingSafeEqual\b[^}]*\}\s*from\s*'node:crypto'/);
      assert.match(source, /createHmac\('sha256',\s*this\.#key\)/, 'fingerprints are keyed HMAC-SHA256');
      const sameDigest = /function sameDigest\(([^)]*)\)[^{]*\{([\s\S]*?)\n\}/.exec(source);
      assert.ok(sameDigest, 'sameDigest found');
      assert.match(sameDigest[1]!, /digest: Buffer/);
      assert.match(sameDigest[2]!, /timingSafeEqual\(digest, expected\)/);
      // Both modes compare through it: bind against the stored digest, pin against the pinned one.
      const match = /\n {2}match\([\s\S]*?\n {2}\}/.exec(source)?.[0] ?? '';
      assert.equal([...match.matchAll(/sameDigest\(/g)].length, 2, 'bind and pin both use sameDigest');
      assert.match(source, /#verify\([\s\S]*?this\.#digests\.match\(/, 'SessionGuard verifies through SessionDigests.match');
      // No fingerprint, digest or record is compared with ===, ==, .equals or Buffer.compare.
      const comparisons = [...source.matchAll(/([\w.#[\]'"]+)\s*(?:===|!==|==|!=)\s*([\w.#[\]'"]+)/g)].map((m) => [m[1]!, m[2]!] as const);
      const secretish = /fingerprint|digest|expected|found|record|stored/i;
      const harmless = /^(undefined|FAILED|'string'|'bind'|'pin'|null)$|\.length$/;
      const offending = comparisons.filter(([a, b]) => (secretish.test(a) || secretish.test(b)) && !(harmless.test(a) || harmless.test(b)));
      assert.deepEqual(offending, [], 'a fingerprint compared with a plain operator');
      assert.ok(
        comparisons.some(([a, b]) => a === 'expected.length' && b === 'digest.length'),
        'the scan sees the length check',
      );
      assert.ok(!/\.equals\(|Buffer\.compare\(/.test(source));
      // The scan does catch a plain comparison.
      const planted = [...'matches = found === digest'.matchAll(/([\w.#[\]'"]+)\s*(?:===|!==|==|!=)\s*([\w.#[\]'"]+)/g)];
      assert.equal(planted.filter((m) => secretish.test(m[1]!) && !harmless.test(m[2]!)).length, 1);
    });

    await t.test('behaviour: wrong header values of equal and different length', (st) =>
      eachMode(st, {}, async (g) => {
        const victim = await open(g);
        const before = g.r.backend.requests.length;
        const same = `${SENTINEL_KEY.slice(0, -1)}${SENTINEL_KEY.endsWith('Z') ? 'Y' : 'Z'}`;
        for (const key of [same, `${SENTINEL_KEY}x`, SENTINEL_KEY.slice(0, 5), 'k'.repeat(4000)]) {
          assertRelay404(g, await call(g, [`X-User: ${ALICE}`, `X-Mcp-Api-Key: ${key}`, `X-Tenant: ${SENTINEL_TENANT}`], { id: victim }), before, [victim]);
        }
        assertForwarded(g, await call(g, VICTIM, { id: victim }), before, victim);
      }),
    );

    await t.test('behaviour: stored records of equal and of different length (a corrupt shared store) both 404, no crash', () =>
      withGateway('bind', {}, async (g) => {
        const store = g.store!;
        const victim = await open(g);
        const key = store.setKeys[0]!;
        const real = store.inner.get(key) as string;
        assert.match(real, /^[A-Za-z0-9_-]{43}$/, 'a 32-byte digest, base64url');
        const ttl: SessionTtl = { idleMs: 60_000, absoluteMs: 60_000 };
        const corrupt = ['', 'AAAA', randomBytes(32).toString('base64url'), randomBytes(64).toString('base64url'), `${real}AA`];
        for (const value of corrupt) {
          await store.inner.delete(key);
          assert.equal(await store.inner.set(key, value, ttl), true);
          assertRelay404(g, await call(g, VICTIM, { id: victim }), 1, [victim]);
        }
        assert.deepEqual(
          g.r.logger.lines.filter((l) => l.level === 'error'),
          [],
          'no relay failure',
        );
        await store.inner.delete(key);
        await store.inner.set(key, real, ttl);
        assertForwarded(g, await call(g, VICTIM, { id: victim }), 1, victim);
      }),
    );
  });

  it('E22: a static secret rotated mid-session: the next request carries the new value (static headers are never pinned or bound)', async (t) => {
    await eachMode(t, {}, async (g) => {
      const id = await open(g);
      assert.deepEqual(wireValues(g.r.backend.last(), 'x-backend-auth'), [SENTINEL_SECRET]);
      const rotated = `${SENTINEL}-secret-rotated-9d1c`;
      g.r.env[SECRET_ENV_NAME] = rotated;
      const owner = g.mode === 'pin' ? [`X-User: ${ALICE}`] : VICTIM;
      for (const method of ['POST', 'GET'] as const) {
        const before = g.r.backend.requests.length;
        const got = assertForwarded(g, await call(g, owner, { id, method }), before, id);
        assert.deepEqual(wireValues(got, 'x-backend-auth'), [rotated]);
        assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
        assert.deepEqual(received(got), VICTIM_VALUES);
      }
      g.r.env[SECRET_ENV_NAME] = `${SENTINEL}-secret-rotated-again`;
      const before = g.r.backend.requests.length;
      assert.deepEqual(wireValues(assertForwarded(g, await call(g, owner, { id }), before, id), 'x-backend-auth'), [`${SENTINEL}-secret-rotated-again`]);
      assertNoLeak(undefined, g.r, [rotated]);
    });
  });

  it('C14 (behaviour): under pin, authorization, cookie and static header names are never pinned: omitted → not injected, changed → not a 404', async () => {
    const options: GatewayOptions = {
      allowCredentials: true,
      allow: ['x-mcp-api-key', 'x-tenant', 'authorization', 'cookie', 'x-static', 'x-backend-auth'],
    };
    await withGateway('pin', options, async (g) => {
      const first = [
        ...VICTIM,
        `Authorization: Bearer ${SENTINEL}-token-1`,
        `Cookie: sid=${SENTINEL}-cookie-1`,
        'X-Static: client-static',
        'X-Backend-Auth: client-secret',
      ];
      const id = await open(g, first);
      const init = g.r.backend.last();
      assert.deepEqual(wireValues(init, 'authorization'), [`Bearer ${SENTINEL}-token-1`], 'precondition: credentials are forwarded on this route');
      assert.deepEqual(wireValues(init, 'x-static'), [STATIC_VALUE]);
      const names = ['x-mcp-api-key', 'x-tenant', 'authorization', 'cookie', 'x-static', 'x-backend-auth'];

      // Omitted: only the captured, non-credential values come back.
      let before = g.r.backend.requests.length;
      let got = assertForwarded(g, await call(g, [`X-User: ${ALICE}`], { id }), before, id);
      assert.deepEqual(received(got, names), { ...VICTIM_VALUES, 'x-static': [STATIC_VALUE], 'x-backend-auth': [SENTINEL_SECRET] });

      // Changed: credentials and static names are per request, so this is no mismatch.
      const changed = [
        `X-User: ${ALICE}`,
        `Authorization: Bearer ${SENTINEL}-token-2`,
        `Cookie: sid=${SENTINEL}-cookie-2`,
        'X-Static: other',
        'X-Backend-Auth: other',
      ];
      before = g.r.backend.requests.length;
      got = assertForwarded(g, await call(g, changed, { id }), before, id);
      assert.deepEqual(received(got, names), {
        ...VICTIM_VALUES,
        authorization: [`Bearer ${SENTINEL}-token-2`],
        cookie: [`sid=${SENTINEL}-cookie-2`],
        'x-static': [STATIC_VALUE],
        'x-backend-auth': [SENTINEL_SECRET],
      });

      // Control: a changed pinned value is still a mismatch.
      before = g.r.backend.requests.length;
      assertRelay404(g, await call(g, [...changed, `X-Mcp-Api-Key: ${ATTACKER_KEY}`], { id }), before, [id]);
    });
  });

  it('E23: logs during all of the above hold names and 12-hex session tags only: no raw session id, no header value, no principal', async () => {
    // This case's own run touches every session log path, so it also holds when run alone.
    const store = countingStore();
    await withGateway('bind', { store, limits: { maxSessions: 3, maxSessionsPerClient: 3 } }, async (g) => {
      const id = await open(g);
      await call(g, [`X-Mcp-Api-Key: ${ATTACKER_KEY}`], { id }); // mismatch, info
      await call(g, VICTIM, { id: randomUUID() }); // unknown, info
      g.mcp.mint = () => id;
      await call(g, VICTIM); // duplicate id, warn
      g.mcp.mint = () => `bad id ${randomUUID()}`;
      await call(g, VICTIM); // invalid backend id, warn
      g.mcp.mint = () => randomUUID();
      await open(g);
      await open(g);
      await call(g, VICTIM); // session_limit
      await call(g, VICTIM, { id, method: 'DELETE' }); // eviction, debug
    });
    await withGateway('pin', {}, async (g) => {
      await call(g, VICTIM.slice(1)); // initialized without a principal, warn
      const id = await open(g);
      await call(g, [`X-User: ${MALLORY}`], { id }); // other principal, info
    });

    const all = registry.loggers.flatMap(({ logger, startupLines }) => [...logger.lines, ...startupLines]);
    // Lower bounds that this case's own run meets; the whole suite collects far more.
    assert.ok(all.length >= 15, `log lines collected: ${all.length}`);
    assert.ok(registry.ids.size >= 5, `session ids minted: ${registry.ids.size}`);
    const text = all.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields)}`).join('\n');
    assert.ok(!text.includes(SENTINEL), `a sentinel value in the logs: ${text.slice(Math.max(0, text.indexOf(SENTINEL) - 200), text.indexOf(SENTINEL) + 100)}`);
    for (const id of registry.ids) {
      assert.ok(!text.includes(id), `raw session id in the logs: ${JSON.stringify(id.slice(0, 40))}`);
      // Nor a recognisable part of one.
      const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(id)?.[0];
      if (uuid) assert.ok(!text.includes(uuid.slice(0, 13)) && !text.includes(uuid.slice(-12)), 'part of a raw session id in the logs');
    }
    const tagged = all.filter((l) => Object.hasOwn(fieldsOf(l), 'session'));
    assert.ok(tagged.length >= 8, `lines with a session tag: ${tagged.length}`);
    for (const line of tagged) {
      const session = fieldsOf(line).session;
      const startup = line.message.includes('route configured') && ['bind', 'pin'].includes(String(session));
      assert.ok(TAG.test(String(session)) || startup, `session field: ${String(session)}`);
    }
    const messages = new Set(all.map((l) => l.message));
    const paths = [/404 session_not_found/, /already recorded/, /not 1-256 visible ASCII/, /503 session_limit/, /without a principal/, /ended by the backend/];
    for (const expected of paths) {
      assert.ok(
        [...messages].some((m) => expected.test(m)),
        `a log line matching ${expected}`,
      );
    }
  });
});
