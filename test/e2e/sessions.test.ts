/**
 * End to end for mcpProxy's session modes (issue 3, docs/sessions.md): a real @modelcontextprotocol/sdk
 * Client (StreamableHTTPClientTransport) talks through a real Express gateway (a stand-in for the host
 * app's authentication, captureHeaders and mcpProxy routes) to real SDK McpServer backends. The client's
 * `fetch` takes its header values from a mutable record, so a test can change, omit or add a header (or
 * the authenticated user) in the middle of a session. Every MCP leg is covered: POST answered with JSON
 * and with SSE, the standalone GET stream, and DELETE.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { captureHeaders, mcpProxy, memorySessionStore } from '../../lib/index.js';
import type { SessionOptions, SessionStore } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { mcpBackend, SESSION_NOT_FOUND_BODY, type McpBackend, type McpBackendOptions } from '../helpers/mcp-backend.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';
import { SENTINEL } from '../helpers/sec-relay.js';

/** Captured values and user ids all carry the sentinel: none may show up in a log line or a rejection. */
const KEY_1 = `${SENTINEL}-session-key-one-1111`;
const KEY_2 = `${SENTINEL}-session-key-two-2222`;
const TENANT = `${SENTINEL}-session-tenant-3333`;
const ALICE = `${SENTINEL}-user-alice`;
const BOB = `${SENTINEL}-user-bob`;
const CAROL = `${SENTINEL}-user-carol`;

/** What the host app's auth middleware sets; `pin` reads the principal from it. */
interface AuthedRequest extends IncomingMessage {
  user?: { id: string };
}

const principal = (req: IncomingMessage): string | undefined => (req as AuthedRequest).user?.id;

interface Route {
  path: string;
  backend: McpBackend;
  session: SessionOptions;
}

interface Gateway extends Listening {
  logger: ReturnType<typeof captureLogger>;
}

/** An Express gateway: auth stand-in (x-user names the caller), captureHeaders, then one mcpProxy per route. */
async function startGateway(routes: Route[]): Promise<Gateway> {
  const logger = captureLogger();
  const app = express();
  app.use((req, _res, next) => {
    const user = req.headers['x-user'];
    if (typeof user === 'string' && user !== '') (req as AuthedRequest).user = { id: user };
    next();
  });
  app.use(captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'], logger }));
  for (const route of routes) app.use(route.path, mcpProxy({ target: `${route.backend.url}/mcp`, session: route.session, responseTimeout: 5000, logger }));
  const listening = await listen(app);
  return { ...listening, logger };
}

/** Header values the client sends from now on, by lower-case name; `undefined` omits the header. */
type HeaderVars = Record<string, string | undefined>;

/** One HTTP request as the SDK client sent it, and what came back. */
interface ClientLeg {
  method: string;
  headers: Record<string, string>;
  rpcMethod: string | undefined;
  status?: number;
  responseHeaders?: Headers;
  /** The body of a non-2xx answer. */
  errorBody?: string;
}

/** A fetch for the SDK transport that applies `vars` to every request and records each leg. */
function sessionFetch(vars: HeaderVars, legs: ClientLeg[]): FetchLike {
  return async (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(vars)) {
      if (value === undefined) headers.delete(name);
      else headers.set(name, value);
    }
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const leg: ClientLeg = {
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(headers.entries()),
      rpcMethod: body === undefined ? undefined : (JSON.parse(body) as { method?: string }).method,
    };
    legs.push(leg);
    const response = await fetch(url, { ...init, headers });
    leg.status = response.status;
    leg.responseHeaders = response.headers;
    if (!response.ok) leg.errorBody = await response.clone().text();
    return response;
  };
}

interface McpSession {
  client: Client;
  transport: StreamableHTTPClientTransport;
  legs: ClientLeg[];
  vars: HeaderVars;
  /** notifications/tools/list_changed received (they come on the GET stream). */
  listChanged: number;
}

/** Every client opened by a test; closed after it. */
const opened: McpSession[] = [];

function openSession(gateway: Gateway, path: string, vars: HeaderVars): McpSession {
  const legs: ClientLeg[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}${path}`), {
    fetch: sessionFetch(vars, legs),
    // A GET stream that ends must not be retried behind the test's back: request counts must stay exact.
    reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
  });
  const client = new Client({ name: 'e2e-sessions', version: '1.0.0' });
  const session: McpSession = { client, transport, legs, vars, listChanged: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    session.listChanged++;
  });
  opened.push(session);
  return session;
}

async function closeOpened(): Promise<void> {
  await Promise.all(opened.splice(0).map((s) => s.client.close()));
}

/** Connects, then waits for the GET stream the SDK opens in the background, so request counts are stable. */
async function connect(s: McpSession): Promise<string | undefined> {
  await withTimeout(s.client.connect(s.transport), 'client.connect');
  await waitFor(() => s.legs.some((l) => l.method === 'GET' && l.status !== undefined), 'the answer to the GET stream');
  return s.transport.sessionId;
}

/** connect() for a backend with sessions: the id came back through the relay and the GET stream is open. */
async function connectSession(s: McpSession, backend: McpBackend): Promise<string> {
  const id = await connect(s);
  assert.ok(id, 'the client holds a session id');
  assert.ok(backend.sessionIds().includes(id), "the client's session id is the backend's");
  assert.equal(s.legs.find((l) => l.method === 'GET')?.status, 200, 'the GET stream opened through the relay');
  return id;
}

/** The headers the backend's `headers` tool saw on this tools/call. */
async function toolHeaders(s: McpSession): Promise<Record<string, string>> {
  const result = await withTimeout(s.client.callTool({ name: 'headers', arguments: {} }), 'tools/call headers');
  const content = result.content as { type: string; text?: string }[];
  assert.equal(content[0]?.type, 'text');
  return JSON.parse(content[0]?.text ?? '') as Record<string, string>;
}

/** Sends a notification through the backend and waits for it to arrive on the client's GET stream. */
async function assertStreamDelivers(s: McpSession, backend: McpBackend): Promise<void> {
  const before = s.listChanged;
  backend.notifyAll();
  await waitFor(() => s.listChanged > before, 'notifications/tools/list_changed on the GET stream');
}

function assertNoSentinelIn(headers: Headers | undefined, what: string): void {
  assert.ok(headers, `${what}: response headers recorded`);
  for (const [name, value] of headers) assert.ok(!`${name}: ${value}`.includes(SENTINEL), `${what}: response header ${name} leaks a value`);
}

/** Log lines added by `action` that record a session_not_found rejection. */
function notFoundLines(gateway: Gateway, from: number): { level: string; fields: Record<string, unknown> }[] {
  return gateway.logger.lines
    .slice(from)
    .map((l) => ({ level: l.level, fields: l.fields as Record<string, unknown> }))
    .filter((l) => l.fields.reason === 'session_not_found');
}

/**
 * `action` (an SDK call) fails with the SDK's own 404 body, answered by the relay: the backend never
 * received the request. The log line is a warning for a mismatch and info for an unknown id, and
 * names the session by a 12-hex keyed hash only.
 */
async function expectRelayNotFound(
  gateway: Gateway,
  backend: McpBackend,
  s: McpSession,
  action: () => Promise<unknown>,
  level: 'warn' | 'info',
  what: string,
): Promise<void> {
  const backendBefore = backend.requests.length;
  const legsBefore = s.legs.length;
  const logsBefore = gateway.logger.lines.length;
  await assert.rejects(withTimeout(action(), what), (err: unknown) => {
    assert.ok(err instanceof StreamableHTTPError, `${what}: expected a StreamableHTTPError, got ${String(err)}`);
    assert.equal(err.code, 404, `${what}: status`);
    return true;
  });
  assert.equal(backend.requests.length, backendBefore, `${what}: the relay answered; the backend never received the request`);
  assert.equal(s.legs.length, legsBefore + 1, `${what}: one HTTP request`);
  const leg = s.legs.at(-1)!;
  assert.equal(leg.status, 404, `${what}: status on the wire`);
  assert.equal(leg.errorBody, SESSION_NOT_FOUND_BODY, `${what}: exactly the SDK's Session-not-found body`);
  assertNoSentinelIn(leg.responseHeaders, what);
  const lines = notFoundLines(gateway, logsBefore);
  assert.equal(lines.length, 1, `${what}: one session_not_found log line`);
  assert.equal(lines[0]!.level, level, `${what}: log level`);
  assert.equal(lines[0]!.fields.status, 404);
  assert.match(String(lines[0]!.fields.session), /^[0-9a-f]{12}$/, `${what}: the log names the session by its keyed hash`);
}

interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** A request outside the SDK client (to reuse a session id the client has dropped, or to probe a GET). */
async function rawLeg(url: string, method: 'GET' | 'POST', headers: Record<string, string>): Promise<RawAnswer> {
  const init: RequestInit =
    method === 'GET'
      ? { method, headers: { accept: 'text/event-stream', ...headers } }
      : {
          method,
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
          body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
        };
  const response = await withTimeout(fetch(url, init), `raw ${method}`);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A raw request carrying `sessionId` is answered 404 by the relay, without reaching the backend. */
async function expectRawNotFound(
  gateway: Gateway,
  backend: McpBackend,
  path: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  level: 'warn' | 'info',
  what: string,
): Promise<void> {
  const backendBefore = backend.requests.length;
  const logsBefore = gateway.logger.lines.length;
  const answer = await rawLeg(`${gateway.url}${path}`, method, headers);
  assert.equal(answer.status, 404, `${what}: status`);
  assert.equal(answer.body, SESSION_NOT_FOUND_BODY, `${what}: exactly the SDK's Session-not-found body`);
  assertNoSentinelIn(answer.headers, what);
  assert.equal(backend.requests.length, backendBefore, `${what}: the relay answered; the backend never received the request`);
  const lines = notFoundLines(gateway, logsBefore);
  assert.equal(lines.length, 1, `${what}: one session_not_found log line`);
  assert.equal(lines[0]!.level, level, `${what}: log level`);
}

/** The headers an SDK client sends after initialize, for a raw request on its session. */
function sessionHeaders(s: McpSession, id: string): Record<string, string> {
  return { 'mcp-session-id': id, 'mcp-protocol-version': s.transport.protocolVersion ?? '' };
}

/** The relay's log holds no captured value, user id or raw session id. */
function assertCleanLog(gateway: Gateway, sessionIds: readonly string[]): void {
  const text = gateway.logger.text();
  assert.ok(!text.includes(SENTINEL), 'a header value or user id leaked into the relay log');
  for (const id of sessionIds) assert.ok(!text.includes(id), 'a raw session id leaked into the relay log');
}

function lastToolCall(backend: McpBackend): McpBackend['requests'][number] {
  const posts = backend.requests.filter((r) => r.method === 'POST');
  return posts.at(-1)!;
}

const BACKENDS: { kind: string; options: McpBackendOptions; contentType: RegExp }[] = [
  { kind: 'JSON', options: { jsonResponse: true }, contentType: /^application\/json/ },
  { kind: 'SSE', options: { jsonResponse: false }, contentType: /^text\/event-stream/ },
];

describe("e2e sessions: 'request' (default) forwards every request's own values", () => {
  let gateway: Gateway;
  const backends: McpBackend[] = [];
  before(async () => {
    for (const { options } of BACKENDS) backends.push(await mcpBackend(options));
    gateway = await startGateway(BACKENDS.map((_b, i) => ({ path: `/r${i}`, backend: backends[i]!, session: 'request' })));
  });
  afterEach(closeOpened);
  after(async () => {
    await gateway.close();
    for (const b of backends) await b.close();
  });

  BACKENDS.forEach(({ kind }, i) => {
    it(`${kind} backend: a mid-session change reaches the backend with the new value; an omitted header is simply absent`, async () => {
      const backend = backends[i]!;
      const s = openSession(gateway, `/r${i}`, { 'x-mcp-api-key': KEY_1 });
      const id = await connectSession(s, backend);
      assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_1);
      s.vars['x-mcp-api-key'] = KEY_2;
      const seen = await toolHeaders(s);
      assert.equal(seen['x-mcp-api-key'], KEY_2, 'the tool saw the new value');
      assert.equal(seen['mcp-session-id'], id, 'on the same session');
      s.vars['x-mcp-api-key'] = undefined;
      s.vars['x-tenant'] = TENANT;
      const third = await toolHeaders(s);
      assert.equal(third['x-mcp-api-key'], undefined, 'nothing is pinned in request mode');
      assert.equal(third['x-tenant'], TENANT, 'a header added mid-session is forwarded');
      await assertStreamDelivers(s, backend);
      await withTimeout(s.transport.terminateSession(), 'DELETE');
      assert.ok(!backend.sessionIds().includes(id), 'the DELETE reached the backend');
      assertCleanLog(gateway, [id]);
    });
  });
});

for (const { kind, options, contentType } of BACKENDS) {
  describe(`e2e sessions: 'bind' with a ${kind} backend`, () => {
    let gateway: Gateway;
    let backend: McpBackend;
    before(async () => {
      backend = await mcpBackend({ ...options, name: `bind-${kind}` });
      gateway = await startGateway([{ path: '/mcp', backend, session: 'bind' }]);
    });
    afterEach(closeOpened);
    after(async () => {
      await gateway.close();
      await backend.close();
    });

    it('a session whose headers never change works on every leg: POSTs, the GET stream (a notification arrives) and DELETE', async () => {
      const s = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1, 'x-tenant': TENANT });
      const id = await connectSession(s, backend);
      assert.deepEqual(
        s.legs.map((l) => l.rpcMethod ?? l.method),
        ['initialize', 'notifications/initialized', 'GET'],
        'the SDK client sent these legs',
      );
      const seen = await toolHeaders(s);
      assert.equal(seen['x-mcp-api-key'], KEY_1);
      assert.equal(seen['x-tenant'], TENANT);
      assert.equal(seen['mcp-session-id'], id);
      const call = s.legs.find((l) => l.rpcMethod === 'tools/call')!;
      assert.match(call.responseHeaders?.get('content-type') ?? '', contentType, `tools/call is answered with ${kind}`);
      assert.match(s.legs[0]!.responseHeaders?.get('content-type') ?? '', contentType, `initialize is answered with ${kind}; its session id was still read`);
      await assertStreamDelivers(s, backend);
      await withTimeout(s.transport.terminateSession(), 'DELETE');
      assert.ok(!backend.sessionIds().includes(id), 'the DELETE reached the backend');
      for (const r of backend.requests.filter((r) => r.headers['mcp-session-id'] === id)) {
        assert.equal(r.headers['x-mcp-api-key'], KEY_1, `${r.method}: forwarded with the request's own value`);
        assert.equal(r.headers['x-user'], undefined, `${r.method}: the auth header is not captured`);
      }
      assertCleanLog(gateway, [id]);
    });

    it('a mid-session change or omission gets the SDK 404 from the relay, not forwarded; the session survives the probe; a new client works', async () => {
      const s = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1, 'x-tenant': TENANT });
      const id = await connectSession(s, backend);
      assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_1);

      s.vars['x-mcp-api-key'] = KEY_2;
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call with a changed x-mcp-api-key');
      assert.ok(s.legs.at(-1)!.headers['x-mcp-api-key'] === KEY_2, 'the client really sent the new value');
      s.vars['x-mcp-api-key'] = undefined;
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call without x-mcp-api-key');
      s.vars['x-mcp-api-key'] = KEY_1;
      s.vars['x-tenant'] = `${TENANT}-other`;
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call with a changed x-tenant');

      // A mismatch evicts nothing: the rightful client carries on with the original headers.
      s.vars['x-tenant'] = TENANT;
      const seen = await toolHeaders(s);
      assert.equal(seen['x-mcp-api-key'], KEY_1);
      assert.equal(seen['mcp-session-id'], id);
      assert.ok(backend.sessionIds().includes(id));

      // The client with the new key starts over: a new Client and transport initialize and work.
      const fresh = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_2 });
      const freshId = await connectSession(fresh, backend);
      assert.notEqual(freshId, id);
      const freshSeen = await toolHeaders(fresh);
      assert.equal(freshSeen['x-mcp-api-key'], KEY_2);
      assert.equal(freshSeen['mcp-session-id'], freshId);
      await assertStreamDelivers(fresh, backend);
      assertCleanLog(gateway, [id, freshId]);
    });

    it('the GET stream: a GET with a wrong binding gets 404 and is not forwarded; the bound stream keeps delivering', async () => {
      const s = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1 });
      const id = await connectSession(s, backend);
      const session = sessionHeaders(s, id);
      await expectRawNotFound(gateway, backend, '/mcp', 'GET', { ...session, 'x-mcp-api-key': KEY_2 }, 'info', 'GET with another key');
      await expectRawNotFound(gateway, backend, '/mcp', 'GET', session, 'info', 'GET without the key');
      await expectRawNotFound(gateway, backend, '/mcp', 'GET', { ...session, 'x-mcp-api-key': KEY_1, 'x-tenant': TENANT }, 'info', 'GET with an added header');
      await assertStreamDelivers(s, backend);
      assertCleanLog(gateway, [id]);
    });

    it('DELETE with a mismatched binding: 404, not forwarded, the backend keeps the session; with the matching binding: forwarded, evicts', async () => {
      const s = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1 });
      const id = await connectSession(s, backend);
      s.vars['x-mcp-api-key'] = KEY_2;
      await expectRelayNotFound(gateway, backend, s, () => s.transport.terminateSession(), 'info', 'DELETE with another key');
      assert.ok(backend.sessionIds().includes(id), 'the backend still has the session');
      assert.equal(s.transport.sessionId, id, 'the client still holds it');
      await assertStreamDelivers(s, backend);

      s.vars['x-mcp-api-key'] = KEY_1;
      const before = backend.requests.length;
      await withTimeout(s.transport.terminateSession(), 'DELETE with the matching key');
      assert.equal(backend.requests.length, before + 1, 'the DELETE was forwarded');
      assert.equal(backend.requests.at(-1)!.method, 'DELETE');
      assert.ok(!backend.sessionIds().includes(id), 'the backend ended the session');

      // Evicted: the same id with the same headers is unknown to the relay now (the backend would say 400).
      await expectRawNotFound(gateway, backend, '/mcp', 'POST', { ...sessionHeaders(s, id), 'x-mcp-api-key': KEY_1 }, 'info', 'POST after DELETE');
      await expectRawNotFound(gateway, backend, '/mcp', 'GET', { ...sessionHeaders(s, id), 'x-mcp-api-key': KEY_1 }, 'info', 'GET after DELETE');
      assertCleanLog(gateway, [id]);
    });
  });
}

for (const { kind, options, contentType } of BACKENDS) {
  describe(`e2e sessions: 'pin' with a ${kind} backend (principal from the host app's auth)`, () => {
    let gateway: Gateway;
    let backend: McpBackend;
    before(async () => {
      backend = await mcpBackend({ ...options, name: `pin-${kind}` });
      gateway = await startGateway([{ path: '/mcp', backend, session: { mode: 'pin', principal } }]);
    });
    afterEach(closeOpened);
    after(async () => {
      await gateway.close();
      await backend.close();
    });

    it('the same principal: an omitted header gets the pinned value injected; a changed or added header gets 404, not forwarded', async () => {
      const s = openSession(gateway, '/mcp', { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 });
      const id = await connectSession(s, backend);
      const first = await toolHeaders(s);
      assert.equal(first['x-mcp-api-key'], KEY_1);
      assert.equal(first['x-user'], undefined, 'the auth header is not captured');
      const call = s.legs.find((l) => l.rpcMethod === 'tools/call')!;
      assert.match(call.responseHeaders?.get('content-type') ?? '', contentType, `tools/call is answered with ${kind}`);
      await assertStreamDelivers(s, backend);

      s.vars['x-mcp-api-key'] = undefined;
      const injected = await toolHeaders(s);
      assert.equal(s.legs.at(-1)!.headers['x-mcp-api-key'], undefined, 'the client sent no key');
      assert.equal(injected['x-mcp-api-key'], KEY_1, 'the tool saw the pinned value');
      assert.equal(lastToolCall(backend).headers['x-mcp-api-key'], KEY_1, 'the backend received the pinned value');
      assert.equal(injected['mcp-session-id'], id);

      s.vars['x-mcp-api-key'] = KEY_2;
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call with a changed x-mcp-api-key');
      s.vars['x-mcp-api-key'] = KEY_1;
      s.vars['x-tenant'] = TENANT;
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call adding x-tenant, which was not pinned');

      s.vars['x-tenant'] = undefined;
      const again = await toolHeaders(s);
      assert.equal(again['x-mcp-api-key'], KEY_1, 'the same principal with the pinned value still works');
      assert.equal(again['x-tenant'], undefined);
      assertCleanLog(gateway, [id]);
    });

    it('another principal, or none: 404 on POST, GET and DELETE, none forwarded; the owner keeps the session and its stream, and ends it', async () => {
      const s = openSession(gateway, '/mcp', { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 });
      const id = await connectSession(s, backend);

      s.vars['x-user'] = BOB;
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call by another principal with the same key');
      s.vars['x-user'] = undefined;
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call with no principal');
      const on = sessionHeaders(s, id);
      await expectRawNotFound(gateway, backend, '/mcp', 'GET', { ...on, 'x-user': BOB, 'x-mcp-api-key': KEY_1 }, 'info', 'GET by another principal');
      await expectRawNotFound(gateway, backend, '/mcp', 'GET', { ...on, 'x-mcp-api-key': KEY_1 }, 'info', 'GET with no principal');
      await expectRawNotFound(gateway, backend, '/mcp', 'GET', { ...on, 'x-user': ALICE, 'x-mcp-api-key': KEY_2 }, 'info', 'GET by the owner with another key');
      s.vars['x-user'] = BOB;
      await expectRelayNotFound(gateway, backend, s, () => s.transport.terminateSession(), 'info', 'DELETE by another principal');
      assert.ok(backend.sessionIds().includes(id), 'the backend still has the session');

      s.vars['x-user'] = ALICE;
      await assertStreamDelivers(s, backend);
      assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_1);

      // The owner's DELETE, without the key: forwarded with the pinned value, and it evicts.
      s.vars['x-mcp-api-key'] = undefined;
      const before = backend.requests.length;
      await withTimeout(s.transport.terminateSession(), "the owner's DELETE");
      assert.equal(backend.requests.length, before + 1, 'the DELETE was forwarded');
      const del = backend.requests.at(-1)!;
      assert.equal(del.method, 'DELETE');
      assert.equal(del.headers['x-mcp-api-key'], KEY_1, 'the DELETE carried the pinned value');
      assert.ok(!backend.sessionIds().includes(id), 'the backend ended the session');
      await expectRawNotFound(gateway, backend, '/mcp', 'POST', { ...on, 'x-user': ALICE, 'x-mcp-api-key': KEY_1 }, 'info', 'POST after DELETE');
      assertCleanLog(gateway, [id]);
    });

    it('a session initialized without a principal is not recorded: the SDK connect fails with 404 at notifications/initialized, never forwarded', async () => {
      const s = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1 });
      const logsBefore = gateway.logger.lines.length;
      const backendBefore = backend.requests.length;
      await assert.rejects(withTimeout(s.client.connect(s.transport), 'connect without a principal'), (err: unknown) => {
        assert.ok(err instanceof StreamableHTTPError, `expected a StreamableHTTPError, got ${String(err)}`);
        assert.equal(err.code, 404);
        return true;
      });
      assert.deepEqual(
        s.legs.map((l) => l.rpcMethod),
        ['initialize', 'notifications/initialized'],
      );
      assert.equal(s.legs[0]!.status, 200, 'the initialize itself passed unchanged');
      const id = s.legs[0]!.responseHeaders?.get('mcp-session-id');
      assert.ok(id, 'the backend minted a session id');
      assert.equal(s.legs[1]!.status, 404);
      assert.equal(s.legs[1]!.errorBody, SESSION_NOT_FOUND_BODY);
      assert.deepEqual(
        backend.requests.slice(backendBefore).map((r) => r.headers['mcp-session-id']),
        [undefined],
        'only the initialize reached the backend; notifications/initialized did not',
      );
      const lines = gateway.logger.lines.slice(logsBefore);
      assert.ok(
        lines.some((l) => l.level === 'warn' && l.message.includes('without a principal')),
        'the relay warned that it could not record the session',
      );
      const notFound = notFoundLines(gateway, logsBefore);
      assert.equal(notFound.length, 1);
      assert.equal(notFound[0]!.level, 'info', 'an unrecorded id is an unknown id');
      assertCleanLog(gateway, [id]);
    });

    it("two principals' sessions stay apart: each one's values reach the backend on its own session only", async () => {
      const a = openSession(gateway, '/mcp', { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 });
      const b = openSession(gateway, '/mcp', { 'x-user': BOB, 'x-mcp-api-key': KEY_2 });
      const idA = await connectSession(a, backend);
      const idB = await connectSession(b, backend);
      a.vars['x-mcp-api-key'] = undefined;
      b.vars['x-mcp-api-key'] = undefined;
      const [seenA, seenB] = await Promise.all([toolHeaders(a), toolHeaders(b)]);
      assert.equal(seenA['x-mcp-api-key'], KEY_1);
      assert.equal(seenA['mcp-session-id'], idA);
      assert.equal(seenB['x-mcp-api-key'], KEY_2);
      assert.equal(seenB['mcp-session-id'], idB);
      // Bob presenting Alice's session id, even with her key, gets 404.
      const onAlice = { ...sessionHeaders(a, idA), 'x-mcp-api-key': KEY_1 };
      await expectRawNotFound(gateway, backend, '/mcp', 'POST', { ...onAlice, 'x-user': BOB }, 'info', "Bob on Alice's session, with her key");
      assertCleanLog(gateway, [idA, idB]);
    });
  });
}

describe('e2e sessions: a backend restart (its 404) evicts the record', () => {
  const modes: { mode: string; backendOptions: McpBackendOptions; session: SessionOptions; vars: HeaderVars }[] = [
    { mode: 'bind', backendOptions: { jsonResponse: true }, session: 'bind', vars: { 'x-mcp-api-key': KEY_1 } },
    { mode: 'pin', backendOptions: { jsonResponse: false }, session: { mode: 'pin', principal }, vars: { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 } },
  ];
  afterEach(closeOpened);

  for (const { mode, backendOptions, session, vars } of modes) {
    it(`${mode}: the backend's 404 for a forgotten session passes through; the next one with that id is the relay's; the client re-initializes`, async () => {
      const backend = await mcpBackend({ ...backendOptions, unknownSession: 'not-found', name: `restart-${mode}` });
      const gateway = await startGateway([{ path: '/mcp', backend, session }]);
      try {
        const s = openSession(gateway, '/mcp', { ...vars });
        const id = await connectSession(s, backend);
        assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_1);
        await backend.restart();
        assert.deepEqual(backend.sessionIds(), [], 'the backend forgot its sessions');

        const before = backend.requests.length;
        await assert.rejects(withTimeout(toolHeaders(s), 'tools/call after the restart'), (err: unknown) => {
          assert.ok(err instanceof StreamableHTTPError);
          assert.equal(err.code, 404);
          assert.ok(err.message.includes(SESSION_NOT_FOUND_BODY), 'the SDK client surfaces the backend 404 body');
          return true;
        });
        assert.equal(backend.requests.length, before + 1, 'this one was forwarded: the backend answered 404');
        assert.equal(backend.requests.at(-1)!.headers['mcp-session-id'], id);
        assert.equal(s.legs.at(-1)!.errorBody, SESSION_NOT_FOUND_BODY);

        // The record is gone: the relay answers this one itself (info: an unknown id, not a mismatch).
        await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call after the backend 404');
        assert.ok(gateway.logger.lines.some((l) => l.level === 'debug' && l.message.includes('session ended by the backend')));

        const fresh = openSession(gateway, '/mcp', { ...vars });
        const freshId = await connectSession(fresh, backend);
        assert.notEqual(freshId, id);
        assert.equal((await toolHeaders(fresh))['x-mcp-api-key'], KEY_1);
        await assertStreamDelivers(fresh, backend);
        assertCleanLog(gateway, [id, freshId]);
      } finally {
        await closeOpened();
        await gateway.close();
        await backend.close();
      }
    });
  }
});

describe('e2e sessions: idle and absolute TTL (idleTtl 200 ms, absoluteTtl 600 ms)', () => {
  const IDLE = 200;
  const ABSOLUTE = 600;
  let backend: McpBackend;
  let gateway: Gateway;
  const store: SessionStore = memorySessionStore();
  before(async () => {
    backend = await mcpBackend({ jsonResponse: true, name: 'ttl' });
    gateway = await startGateway([
      { path: '/bind', backend, session: { mode: 'bind', store, sessionKey: randomBytes(32), idleTtl: IDLE, absoluteTtl: ABSOLUTE } },
      { path: '/pin', backend, session: { mode: 'pin', principal, idleTtl: IDLE, absoluteTtl: ABSOLUTE } },
    ]);
  });
  afterEach(closeOpened);
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  for (const mode of ['bind', 'pin'] as const) {
    const vars: HeaderVars = mode === 'pin' ? { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 } : { 'x-mcp-api-key': KEY_1 };

    it(`${mode}: a session idle past idleTtl gets 404 from the relay, not forwarded; the client re-initializes`, async () => {
      const s = openSession(gateway, `/${mode}`, { ...vars });
      const id = await connectSession(s, backend);
      assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_1);
      await sleep(IDLE + 150);
      await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call after the idle TTL');
      assert.ok(backend.sessionIds().includes(id), 'the relay forgot the session, the backend did not');

      const fresh = openSession(gateway, `/${mode}`, { ...vars });
      const freshId = await connectSession(fresh, backend);
      assert.notEqual(freshId, id);
      assert.equal((await toolHeaders(fresh))['x-mcp-api-key'], KEY_1);
      assertCleanLog(gateway, [id, freshId]);
    });

    it(`${mode}: activity slides the idle TTL past ${IDLE} ms, but the absolute TTL ends the session after ${ABSOLUTE} ms`, async () => {
      const s = openSession(gateway, `/${mode}`, { ...vars });
      const started = Date.now();
      const id = await connectSession(s, backend);
      const connected = Date.now();
      let lastSuccessStart = connected;
      let failedAt: number | undefined;
      while (failedAt === undefined) {
        assert.ok(Date.now() - started < ABSOLUTE + 1000, 'the absolute TTL never ended the session');
        await sleep(40);
        const callStart = Date.now();
        const backendBefore = backend.requests.length;
        try {
          assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_1);
          lastSuccessStart = callStart;
        } catch (err) {
          assert.ok(err instanceof StreamableHTTPError, `expected a StreamableHTTPError, got ${String(err)}`);
          assert.equal(err.code, 404);
          assert.equal(s.legs.at(-1)!.errorBody, SESSION_NOT_FOUND_BODY);
          assert.equal(backend.requests.length, backendBefore, 'the expired session request was not forwarded');
          failedAt = Date.now();
        }
      }
      // The session was recorded after `started` (at the initialize response) and before `connected`.
      const alive = lastSuccessStart - connected;
      assert.ok(alive > IDLE + 50, `requests kept the session alive beyond idleTtl (last success ${alive} ms in)`);
      assert.ok(failedAt - started >= ABSOLUTE, `the session ended no earlier than absoluteTtl (${failedAt - started} ms)`);
      assert.ok(backend.sessionIds().includes(id), 'the relay forgot the session, the backend did not');
      assertCleanLog(gateway, [id]);
    });
  }

  it('bind: the sweep timer removes an idle record without any request on it', async () => {
    // Records left by the tests above expire first.
    await waitFor(() => store.size() === 0, 'earlier records to expire', 1000);
    const s = openSession(gateway, '/bind', { 'x-mcp-api-key': KEY_1 });
    const id = await connectSession(s, backend);
    assert.equal(store.size(), 1, 'the session is recorded while fresh');
    const backendBefore = backend.requests.length;
    await waitFor(() => store.size() === 0, 'the sweep to drop the idle record', 1000);
    assert.equal(backend.requests.length, backendBefore, 'no request was made meanwhile');
    await expectRelayNotFound(gateway, backend, s, () => toolHeaders(s), 'info', 'tools/call after the sweep');
    assertCleanLog(gateway, [id]);
  });
});

describe('e2e sessions: caps answer 503 with Retry-After; existing sessions keep working', () => {
  afterEach(closeOpened);

  /** `connect` fails with the relay's 503 session_limit, and the backend never saw this initialize. */
  async function expectCapped(s: McpSession, backend: McpBackend, what: string): Promise<void> {
    const before = backend.requests.length;
    await assert.rejects(withTimeout(s.client.connect(s.transport), what), (err: unknown) => {
      assert.ok(err instanceof StreamableHTTPError, `${what}: expected a StreamableHTTPError, got ${String(err)}`);
      assert.equal(err.code, 503, `${what}: status`);
      return true;
    });
    assert.equal(backend.requests.length, before, `${what}: the initialize was not forwarded`);
    const leg = s.legs.at(-1)!;
    assert.equal(leg.rpcMethod, 'initialize');
    assert.equal(leg.status, 503);
    assert.match(leg.responseHeaders?.get('retry-after') ?? '', /^[1-9][0-9]*$/, `${what}: Retry-After in whole seconds`);
    const body = JSON.parse(leg.errorBody ?? '') as { jsonrpc: string; error: { code: number; data: { reason: string } }; id: null };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.error.code, -32000);
    assert.equal(body.error.data.reason, 'session_limit');
    assert.equal(body.id, null);
    assert.ok(!(leg.errorBody ?? '').includes(SENTINEL), `${what}: no value in the body`);
    assertNoSentinelIn(leg.responseHeaders, what);
  }

  it('bind, maxSessions 2: the third initialize gets 503 while the two sessions still work; after one ends a new one succeeds', async () => {
    const backend = await mcpBackend({ jsonResponse: false, name: 'cap-bind' });
    const gateway = await startGateway([{ path: '/mcp', backend, session: { mode: 'bind', maxSessions: 2 } }]);
    try {
      const one = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1 });
      const two = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_2 });
      const idOne = await connectSession(one, backend);
      const idTwo = await connectSession(two, backend);
      await expectCapped(openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1 }), backend, 'third initialize');
      assert.ok(gateway.logger.lines.some((l) => l.level === 'warn' && (l.fields as { reason?: string }).reason === 'session_limit'));

      assert.equal((await toolHeaders(one))['x-mcp-api-key'], KEY_1, 'session one still works');
      assert.equal((await toolHeaders(two))['x-mcp-api-key'], KEY_2, 'session two still works');
      await assertStreamDelivers(one, backend);

      await withTimeout(one.transport.terminateSession(), 'DELETE of session one');
      const four = openSession(gateway, '/mcp', { 'x-mcp-api-key': KEY_1 });
      const idFour = await connectSession(four, backend);
      assert.equal((await toolHeaders(four))['x-mcp-api-key'], KEY_1, 'a new session fits after one ended');
      assert.equal((await toolHeaders(two))['x-mcp-api-key'], KEY_2);
      assertCleanLog(gateway, [idOne, idTwo, idFour]);
    } finally {
      await closeOpened();
      await gateway.close();
      await backend.close();
    }
  });

  it('pin, maxSessionsPerPrincipal 1, maxSessions 2: a second session of a principal, or one beyond the cap: 503; freed places are reusable', async () => {
    const backend = await mcpBackend({ jsonResponse: true, name: 'cap-pin' });
    const gateway = await startGateway([{ path: '/mcp', backend, session: { mode: 'pin', principal, maxSessions: 2, maxSessionsPerPrincipal: 1 } }]);
    try {
      const alice = openSession(gateway, '/mcp', { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 });
      const idAlice = await connectSession(alice, backend);
      await expectCapped(openSession(gateway, '/mcp', { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 }), backend, "Alice's second initialize");
      const bob = openSession(gateway, '/mcp', { 'x-user': BOB, 'x-mcp-api-key': KEY_2 });
      const idBob = await connectSession(bob, backend);
      await expectCapped(openSession(gateway, '/mcp', { 'x-user': CAROL, 'x-mcp-api-key': KEY_2 }), backend, "Carol's initialize beyond maxSessions");
      assert.equal((await toolHeaders(alice))['x-mcp-api-key'], KEY_1);
      assert.equal((await toolHeaders(bob))['x-mcp-api-key'], KEY_2);

      await withTimeout(alice.transport.terminateSession(), "DELETE of Alice's session");
      const again = openSession(gateway, '/mcp', { 'x-user': ALICE, 'x-mcp-api-key': KEY_2 });
      const idAgain = await connectSession(again, backend);
      assert.equal((await toolHeaders(again))['x-mcp-api-key'], KEY_2, "Alice's freed place is reusable");
      await expectCapped(openSession(gateway, '/mcp', { 'x-user': CAROL, 'x-mcp-api-key': KEY_2 }), backend, 'Carol, with the relay full again');
      assertCleanLog(gateway, [idAlice, idBob, idAgain]);
    } finally {
      await closeOpened();
      await gateway.close();
      await backend.close();
    }
  });
});

describe('e2e sessions: a backend without sessions (2026-07-28 style) makes bind and pin a no-op', () => {
  let gateway: Gateway;
  const backends: McpBackend[] = [];
  const store: SessionStore = memorySessionStore();
  before(async () => {
    for (const { options } of BACKENDS) backends.push(await mcpBackend({ ...options, stateless: true, name: 'stateless' }));
    // maxSessions 1: had anything been recorded (or an initialize's place not freed), the next request would get 503.
    gateway = await startGateway(
      BACKENDS.flatMap((_b, i) => [
        { path: `/bind${i}`, backend: backends[i]!, session: { mode: 'bind', store, sessionKey: randomBytes(32), maxSessions: 1 } },
        { path: `/pin${i}`, backend: backends[i]!, session: { mode: 'pin', principal, maxSessions: 1, maxSessionsPerPrincipal: 1 } },
      ]),
    );
  });
  afterEach(closeOpened);
  after(async () => {
    await gateway.close();
    for (const b of backends) await b.close();
  });

  BACKENDS.forEach(({ kind, contentType }, i) => {
    for (const mode of ['bind', 'pin'] as const) {
      it(`${mode}, ${kind} backend: every request is forwarded with its own values, no session id is minted, nothing is recorded`, async () => {
        const backend = backends[i]!;
        const s = openSession(gateway, `/${mode}${i}`, { 'x-user': ALICE, 'x-mcp-api-key': KEY_1 });
        const backendBefore = backend.requests.length;
        const logsBefore = gateway.logger.lines.length;
        const id = await connect(s);
        assert.equal(id, undefined, 'no session id');
        assert.equal(s.legs[0]!.responseHeaders?.get('mcp-session-id'), null, 'the initialize answer carries no Mcp-Session-Id');
        assert.equal(s.legs.find((l) => l.method === 'GET')?.status, 405, "the backend's own answer to GET passed through");

        assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_1);
        assert.match(s.legs.at(-1)!.responseHeaders?.get('content-type') ?? '', contentType);
        s.vars['x-mcp-api-key'] = KEY_2;
        assert.equal((await toolHeaders(s))['x-mcp-api-key'], KEY_2, 'a changed value is forwarded: there is no session to bind');
        s.vars['x-mcp-api-key'] = undefined;
        s.vars['x-tenant'] = TENANT;
        const third = await toolHeaders(s);
        assert.equal(third['x-mcp-api-key'], undefined, 'nothing is injected: nothing was pinned');
        assert.equal(third['x-tenant'], TENANT);
        s.vars['x-user'] = BOB;
        assert.equal((await toolHeaders(s))['x-tenant'], TENANT, 'another principal is fine: there is no session');
        s.vars['x-user'] = undefined;
        assert.equal((await toolHeaders(s))['x-tenant'], TENANT, 'no principal is fine too');

        assert.deepEqual(
          s.legs.map((l) => l.rpcMethod ?? l.method),
          ['initialize', 'notifications/initialized', 'GET', 'tools/call', 'tools/call', 'tools/call', 'tools/call', 'tools/call'],
          'the SDK client sent these legs',
        );
        assert.deepEqual(
          backend.requests.slice(backendBefore).map((r) => r.method),
          s.legs.map((l) => l.method),
          'every leg reached the backend',
        );
        assert.ok(
          s.legs.every((l) => l.status !== 404 && l.status !== 503),
          'the relay refused nothing',
        );
        assert.equal(store.size(), 0, 'the bind store holds nothing');
        const lines = gateway.logger.lines.slice(logsBefore);
        assert.ok(!lines.some((l) => l.message.includes('session recorded')), 'no session recorded');
        assert.deepEqual(
          lines.filter((l) => l.level === 'warn' || l.level === 'error'),
          [],
          'no warning',
        );
        assertCleanLog(gateway, []);
      });
    }
  });

  it('an id the relay never recorded: 404 on a 2025-era request, not forwarded; a 2026-era request is forwarded without it', async () => {
    const on = { 'mcp-session-id': 'a-session-id-this-relay-never-recorded', 'mcp-protocol-version': '2025-11-25', 'x-mcp-api-key': KEY_1 };
    await expectRawNotFound(gateway, backends[0]!, '/bind0', 'POST', on, 'info', 'bind, 2025-11-25, unknown id');
    await expectRawNotFound(gateway, backends[0]!, '/pin0', 'POST', { ...on, 'x-user': ALICE }, 'info', 'pin, 2025-11-25, unknown id');
    // A version header is no way around the binding: the id it carries is not forwarded, so no backend session is reached.
    const backend = backends[0]!;
    for (const path of ['/bind0', '/pin0']) {
      const before = backend.requests.length;
      await rawLeg(`${gateway.url}${path}`, 'POST', { ...on, 'mcp-protocol-version': '2026-07-28', 'x-user': ALICE });
      assert.equal(backend.requests.length, before + 1, `${path}: a 2026-era request is forwarded, per request`);
      assert.equal(backend.requests.at(-1)!.headers['mcp-session-id'], undefined, `${path}: without the stray session id`);
      assert.equal(backend.requests.at(-1)!.headers['x-mcp-api-key'], KEY_1, `${path}: with its own captured headers`);
    }
    assert.equal(store.size(), 0, 'a lookup miss records nothing');
    assertCleanLog(gateway, [on['mcp-session-id']]);
  });
});
