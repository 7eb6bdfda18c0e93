/**
 * End to end: a real @modelcontextprotocol/sdk Client (StreamableHTTPClientTransport) talks through an
 * Express gateway (captureHeaders + two mcpProxy routes) to two real SDK McpServer backends with
 * sessions on. Every HTTP leg of a session is checked on the backend side: initialize,
 * notifications/initialized, tools/call, the standalone GET stream and DELETE.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { captureHeaders, envSecrets, mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { mcpBackend, type McpBackend, type McpBackendRequest } from '../helpers/mcp-backend.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

const A_SECRET = 'sk-e2e-a-secret-0123456789';
const A_STATIC = { 'x-mcp-toolsets': 'projects,issues', 'x-api-key': A_SECRET } as const;
const B_STATIC = { 'x-b-static': 'bee' } as const;
/** What the client sends on every request besides the MCP protocol headers. */
const CREDENTIALS_AND_ROUTING = {
  authorization: 'Bearer client-token-must-not-travel',
  cookie: 'session=client-cookie-must-not-travel',
  'x-forwarded-for': '203.0.113.66',
} as const;
/** Headers no backend may ever see, whatever the client sent. */
const NEVER_FORWARDED = ['authorization', 'cookie', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'via', 'x-real-ip', 'user-agent'];
/** Framing and connection headers Node's http client may add on the way to the backend. */
const TRANSPORT_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);
const PROTOCOL_HEADERS = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'];

interface GatewayRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

interface Stack {
  backendA: McpBackend;
  backendB: McpBackend;
  gateway: Listening;
  /** What the gateway itself received, before any relay middleware. */
  gatewaySeen: GatewayRequest[];
  logger: ReturnType<typeof captureLogger>;
}

async function startStack(): Promise<Stack> {
  const backendA = await mcpBackend({ jsonResponse: true, name: 'backend-a' });
  const backendB = await mcpBackend({ jsonResponse: false, name: 'backend-b' });
  const logger = captureLogger();
  const gatewaySeen: GatewayRequest[] = [];
  const app = express();
  app.use((req, _res, next) => {
    gatewaySeen.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    next();
  });
  app.use(captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'], logger }));
  app.use(
    '/a',
    mcpProxy({
      target: `${backendA.url}/mcp`,
      passthrough: ['x-mcp-api-key'],
      headers: { plaintext: { 'X-MCP-Toolsets': 'projects,issues' }, fromSecret: { 'X-Api-Key': 'A_KEY' } },
      secrets: envSecrets({ A_KEY: A_SECRET }),
      responseTimeout: 5000,
      logger,
    }),
  );
  app.use('/b', mcpProxy({ target: `${backendB.url}/mcp`, headers: { plaintext: { 'X-B-Static': 'bee' } }, responseTimeout: 5000, logger }));
  const gateway = await listen(app);
  return { backendA, backendB, gateway, gatewaySeen, logger };
}

async function stopStack(stack: Stack | undefined): Promise<void> {
  if (!stack) return;
  await stack.gateway.close();
  await stack.backendA.close();
  await stack.backendB.close();
}

/** One HTTP request as the SDK client sent it, and what came back. */
interface ClientLeg {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  rpcMethod: string | undefined;
  status?: number;
  responseHeaders?: Headers;
}

/** A fetch for the SDK transport that records each request and its response headers. */
function recordingFetch(legs: ClientLeg[]): FetchLike {
  return async (url, init) => {
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const leg: ClientLeg = {
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body,
      rpcMethod: body === undefined ? undefined : (JSON.parse(body) as { method?: string }).method,
    };
    legs.push(leg);
    const response = await fetch(url, init);
    leg.status = response.status;
    leg.responseHeaders = response.headers;
    return response;
  };
}

interface Session {
  client: Client;
  transport: StreamableHTTPClientTransport;
  legs: ClientLeg[];
}

function newSession(gatewayUrl: string, path: string, headers: Record<string, string>): Session {
  const legs: ClientLeg[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl}${path}`), {
    requestInit: { headers },
    fetch: recordingFetch(legs),
    // The GET stream ends when the session is deleted; no reconnect attempt may muddy the backend's log.
    reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
  });
  const client = new Client({ name: 'e2e-client', version: '1.0.0' });
  return { client, transport, legs };
}

async function callHeadersTool(client: Client): Promise<Record<string, string>> {
  const result = await client.callTool({ name: 'headers', arguments: {} });
  const content = result.content as { type: string; text?: string }[];
  assert.equal(content[0]?.type, 'text');
  return JSON.parse(content[0]?.text ?? '') as Record<string, string>;
}

/** What one route must deliver on every request of a session. */
interface RouteRules {
  port: number;
  /** Static and secret-backed headers, lower-case name -> value. */
  statics: Readonly<Record<string, string>>;
  /** The other route's static header names. */
  foreign: readonly string[];
  /** Captured headers this route takes, with the values this client sent. */
  passthrough: Readonly<Record<string, string>>;
  /** Captured headers this route must not take. */
  withheld: readonly string[];
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The common rules, checked on one backend request (or on the headers the tool saw). */
function assertRouteRules(leg: string, headers: Readonly<Record<string, string | string[] | undefined>>, rules: RouteRules): void {
  for (const [name, value] of Object.entries(rules.statics)) {
    assert.equal(single(headers[name]), value, `${leg}: static header ${name} must arrive with its configured value`);
  }
  for (const name of rules.foreign) assert.equal(headers[name], undefined, `${leg}: the other route's static header ${name} must not arrive`);
  for (const [name, value] of Object.entries(rules.passthrough)) {
    assert.equal(single(headers[name]), value, `${leg}: captured ${name} must arrive with this client's value`);
  }
  for (const name of rules.withheld) assert.equal(headers[name], undefined, `${leg}: captured ${name} is not in this route's passthrough`);
  for (const name of NEVER_FORWARDED) assert.equal(headers[name], undefined, `${leg}: ${name} must never reach a backend`);
  assert.equal(single(headers.host), `127.0.0.1:${rules.port}`, `${leg}: host is the target's`);
  // Deny by default: nothing beyond protocol, framing, static and passthrough headers.
  const expected = new Set([...Object.keys(rules.statics), ...Object.keys(rules.passthrough), ...PROTOCOL_HEADERS, ...TRANSPORT_HEADERS]);
  const extra = Object.keys(headers).filter((name) => !expected.has(name));
  assert.deepEqual(extra, [], `${leg}: headers the backend should not have received`);
}

/**
 * Pairs each backend request with the client request it relays: POSTs in order (each one is awaited by
 * the SDK before the next), then the single GET and the single DELETE.
 */
function pairLegs(
  backendRequests: readonly McpBackendRequest[],
  gatewayRequests: readonly GatewayRequest[],
  clientLegs: readonly ClientLeg[],
): { name: string; backend: McpBackendRequest; gateway: GatewayRequest; client: ClientLeg }[] {
  const byMethod = (method: string) => ({
    backend: backendRequests.filter((r) => r.method === method),
    gateway: gatewayRequests.filter((r) => r.method === method),
    client: clientLegs.filter((l) => l.method === method),
  });
  const posts = byMethod('POST');
  assert.deepEqual(
    posts.client.map((l) => l.rpcMethod),
    ['initialize', 'notifications/initialized', 'tools/call'],
    'the SDK client sends these POSTs in this order',
  );
  assert.equal(posts.backend.length, 3, 'the backend received every POST once');
  const gets = byMethod('GET');
  const deletes = byMethod('DELETE');
  assert.equal(gets.client.length, 1, 'the client opened one GET stream');
  assert.equal(gets.backend.length, 1, 'the backend received exactly one GET');
  assert.equal(deletes.client.length, 1, 'the client sent one DELETE');
  assert.equal(deletes.backend.length, 1, 'the backend received exactly one DELETE');
  assert.equal(backendRequests.length, 5, 'no request beyond the five legs reached the backend');
  assert.deepEqual(gatewayRequests.map((r) => r.method).sort(), backendRequests.map((r) => r.method).sort(), 'the gateway received the same legs');
  const pairs = posts.backend.map((backend, i) => ({
    name: `POST ${posts.client[i]!.rpcMethod}`,
    backend,
    gateway: posts.gateway[i]!,
    client: posts.client[i]!,
  }));
  pairs.push({ name: 'GET stream', backend: gets.backend[0]!, gateway: gets.gateway[0]!, client: gets.client[0]! });
  pairs.push({ name: 'DELETE', backend: deletes.backend[0]!, gateway: deletes.gateway[0]!, client: deletes.client[0]! });
  return pairs;
}

/**
 * Runs a whole session through one route and checks every leg on the backend.
 * `expectJson`: tools/call is answered with JSON (backend A) or with an SSE stream (backend B).
 */
async function exerciseRoute(
  stack: Stack,
  path: string,
  backend: McpBackend,
  rules: RouteRules,
  clientHeaders: Record<string, string>,
  expectJson: boolean,
): Promise<void> {
  const { client, transport, legs } = newSession(stack.gateway.url, path, clientHeaders);
  try {
    const listChanged = new Promise<void>((resolve) => {
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve());
    });
    await withTimeout(client.connect(transport), 'client.connect');
    const sessionId = transport.sessionId;
    assert.ok(sessionId, 'the client holds a session id');
    assert.deepEqual(backend.sessionIds(), [sessionId], "the client's session id is the backend's session");
    const protocolVersion = transport.protocolVersion;
    assert.ok(protocolVersion, 'a protocol version was negotiated');

    const seenByTool = await withTimeout(callHeadersTool(client), 'tools/call headers');

    // The standalone GET stream: the backend got it and the client has its response headers.
    await waitFor(() => backend.requests.some((r) => r.method === 'GET'), 'the backend to record the GET stream');
    await waitFor(() => legs.some((l) => l.method === 'GET' && l.status !== undefined), 'the GET stream response headers');
    const getLeg = legs.find((l) => l.method === 'GET')!;
    assert.equal(getLeg.status, 200, 'the GET stream opened through the relay');
    backend.notifyAll();
    await withTimeout(listChanged, 'notifications/tools/list_changed on the GET stream');

    await withTimeout(transport.terminateSession(), 'DELETE');
    assert.equal(transport.sessionId, undefined, 'the client dropped its session after DELETE');
    assert.deepEqual(backend.sessionIds(), [], 'the backend has no session after DELETE');

    const atGateway = stack.gatewaySeen.filter((r) => r.url === path || r.url.startsWith(`${path}?`));
    const pairs = pairLegs(backend.requests, atGateway, legs);
    for (const { name, backend: seen, gateway: received, client: sent } of pairs) {
      assertRouteRules(`${path} ${name}`, seen.headers, rules);
      // Protocol headers arrive exactly as they reached the gateway (the SDK's, plus fetch's default accept).
      for (const header of PROTOCOL_HEADERS) {
        assert.equal(seen.headers[header], received.headers[header], `${path} ${name}: ${header} relayed unchanged`);
      }
      // The gateway did receive what the backend never saw, so the absences are the relay's doing.
      for (const [header, value] of Object.entries(CREDENTIALS_AND_ROUTING)) {
        assert.equal(received.headers[header], value, `${path} ${name}: the client really sent ${header}`);
      }
      for (const header of Object.keys(rules.passthrough).concat(rules.withheld)) {
        assert.ok(received.headers[header], `${path} ${name}: the client really sent ${header}`);
      }
      if (sent.body !== undefined) {
        assert.equal(seen.headers['content-length'], String(Buffer.byteLength(sent.body)), `${path} ${name}: body length preserved`);
      }
      if (name === 'POST initialize') {
        assert.equal(seen.headers['mcp-session-id'], undefined, `${path} ${name}: no session yet`);
        assert.equal(sent.responseHeaders?.get('mcp-session-id'), sessionId, `${path} ${name}: the session id came back through the relay`);
      } else {
        assert.equal(seen.headers['mcp-session-id'], sessionId, `${path} ${name}: carries the session id`);
        assert.equal(seen.headers['mcp-protocol-version'], protocolVersion, `${path} ${name}: carries the protocol version`);
      }
    }

    const toolCall = pairs.find((p) => p.name === 'POST tools/call')!;
    const toolContentType = toolCall.client.responseHeaders?.get('content-type') ?? '';
    if (expectJson) {
      assert.match(toolContentType, /^application\/json/, 'backend A answers tools/call with JSON');
    } else {
      assert.match(toolContentType, /^text\/event-stream/, 'backend B answers tools/call with an SSE stream');
      assert.match(toolCall.client.responseHeaders?.get('cache-control') ?? '', /no-transform/);
      assert.equal(toolCall.client.responseHeaders?.get('x-accel-buffering'), 'no');
    }
    assert.match(getLeg.responseHeaders?.get('content-type') ?? '', /^text\/event-stream/, 'the GET stream is SSE');
    assert.match(getLeg.responseHeaders?.get('cache-control') ?? '', /no-transform/, 'the relay marks the GET stream no-transform');

    // Inside the tool, the SDK server saw the same.
    assertRouteRules(`${path} tool headers`, seenByTool, rules);
    assert.equal(seenByTool['mcp-session-id'], sessionId);
  } finally {
    await client.close();
  }
}

const CLIENT_HEADERS = {
  'x-mcp-api-key': 'client-one-api-key-111',
  'x-tenant': 'tenant-one',
  ...CREDENTIALS_AND_ROUTING,
};

describe('e2e: SDK client -> relay -> SDK backends, every leg of a session', () => {
  let stack: Stack | undefined;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stopStack(stack);
  });

  it("route /a (JSON backend): initialize, initialized, tools/call, GET stream and DELETE each carry x-mcp-api-key, X-MCP-Toolsets and the secret X-Api-Key only; x-tenant, /b's header, authorization, cookie and x-forwarded-for never arrive", async () => {
    const s = stack!;
    await exerciseRoute(
      s,
      '/a',
      s.backendA,
      {
        port: s.backendA.port,
        statics: A_STATIC,
        foreign: Object.keys(B_STATIC),
        passthrough: { 'x-mcp-api-key': CLIENT_HEADERS['x-mcp-api-key'] },
        withheld: ['x-tenant'],
      },
      CLIENT_HEADERS,
      true,
    );
  });

  it("route /b (SSE backend): every leg carries x-mcp-api-key, x-tenant and X-B-Static; /a's headers, the secret, authorization, cookie and x-forwarded-for never arrive", async () => {
    const s = stack!;
    await exerciseRoute(
      s,
      '/b',
      s.backendB,
      {
        port: s.backendB.port,
        statics: B_STATIC,
        foreign: Object.keys(A_STATIC),
        passthrough: { 'x-mcp-api-key': CLIENT_HEADERS['x-mcp-api-key'], 'x-tenant': CLIENT_HEADERS['x-tenant'] },
        withheld: [],
      },
      CLIENT_HEADERS,
      false,
    );
  });

  it('no secret or captured value appears in the relay log', () => {
    const text = stack!.logger.text();
    for (const value of [A_SECRET, CLIENT_HEADERS['x-mcp-api-key'], CLIENT_HEADERS['x-tenant'], ...Object.values(CREDENTIALS_AND_ROUTING)]) {
      assert.ok(!text.includes(value), 'a header value leaked into the log');
    }
  });
});

describe('e2e: two concurrent clients with different API keys', () => {
  let stack: Stack | undefined;
  const sessions: { session: Session; key: string; tenant: string; path: '/a' | '/b' }[] = [];
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    for (const { session } of sessions) await session.client.close();
    await stopStack(stack);
  });

  it('cross-talk: each backend request carries the x-mcp-api-key (and x-tenant) of the client whose session it belongs to', async () => {
    const s = stack!;
    const clients = [
      { key: 'client-one-api-key-111', tenant: 'tenant-one' },
      { key: 'client-two-api-key-222', tenant: 'tenant-two' },
    ];
    for (const path of ['/a', '/b'] as const) {
      for (const c of clients) {
        sessions.push({
          session: newSession(s.gateway.url, path, { 'x-mcp-api-key': c.key, 'x-tenant': c.tenant, ...CREDENTIALS_AND_ROUTING }),
          ...c,
          path,
        });
      }
    }
    await withTimeout(Promise.all(sessions.map(({ session }) => session.client.connect(session.transport))), 'concurrent connects');
    // Interleave several tool calls per client.
    const results = await withTimeout(
      Promise.all(sessions.flatMap((entry) => [1, 2, 3].map(async () => ({ entry, seen: await callHeadersTool(entry.session.client) })))),
      'concurrent tool calls',
    );
    for (const { entry, seen } of results) {
      assert.equal(seen['x-mcp-api-key'], entry.key, `${entry.path}: the tool saw its own client's key`);
      assert.equal(seen['mcp-session-id'], entry.session.transport.sessionId);
      if (entry.path === '/b') assert.equal(seen['x-tenant'], entry.tenant);
      else assert.equal(seen['x-tenant'], undefined);
    }
    await waitFor(
      () => s.backendA.requests.filter((r) => r.method === 'GET').length === 2 && s.backendB.requests.filter((r) => r.method === 'GET').length === 2,
      'both GET streams on each backend',
    );
    await withTimeout(Promise.all(sessions.map(({ session }) => session.transport.terminateSession())), 'concurrent DELETEs');

    for (const [path, backend] of [
      ['/a', s.backendA],
      ['/b', s.backendB],
    ] as const) {
      const mine = sessions.filter((e) => e.path === path);
      const keyOfSession = new Map(mine.map((e) => [e.session.legs.find((l) => l.method === 'DELETE')!.headers['mcp-session-id'], e]));
      assert.equal(keyOfSession.size, 2, `${path}: two distinct sessions`);
      const initializes = backend.requests.filter((r) => r.headers['mcp-session-id'] === undefined);
      assert.deepEqual(
        initializes.map((r) => r.headers['x-mcp-api-key']).sort(),
        clients.map((c) => c.key).sort(),
        `${path}: one initialize per client, each with its own key`,
      );
      const withSession = backend.requests.filter((r) => r.headers['mcp-session-id'] !== undefined);
      // initialized + 3 tools/call + GET + DELETE per client.
      assert.equal(withSession.length, 2 * 6, `${path}: every session request reached the backend`);
      for (const r of withSession) {
        const owner = keyOfSession.get(single(r.headers['mcp-session-id']));
        assert.ok(owner, `${path}: ${r.method} belongs to a known session`);
        assert.equal(r.headers['x-mcp-api-key'], owner.key, `${path} ${r.method}: carries its own client's key, not the other's`);
        if (path === '/b') assert.equal(r.headers['x-tenant'], owner.tenant, `${path} ${r.method}: carries its own client's tenant`);
        else assert.equal(r.headers['x-tenant'], undefined);
        for (const name of NEVER_FORWARDED) assert.equal(r.headers[name], undefined, `${path} ${r.method}: ${name} never arrives`);
      }
      assert.deepEqual(backend.sessionIds(), [], `${path}: both sessions deleted`);
    }
  });
});

describe('e2e: backend down', () => {
  let gateway: Listening | undefined;
  let live: McpBackend | undefined;
  const logger = captureLogger();
  let deadPort = 0;
  before(async () => {
    const dead = await listen((_req, res) => res.end());
    deadPort = dead.port;
    await dead.close();
    live = await mcpBackend({ jsonResponse: true, name: 'live' });
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use('/down', mcpProxy({ target: `http://127.0.0.1:${deadPort}/mcp`, responseTimeout: 2000, logger }));
    app.use('/up', mcpProxy({ target: `${live.url}/mcp`, responseTimeout: 2000, logger }));
    gateway = await listen(app);
  });
  after(async () => {
    await gateway?.close();
    await live?.close();
  });

  it("connect() through a route whose backend refuses connections rejects with the relay's 502 JSON-RPC error, and the gateway keeps serving", async () => {
    const { client, transport } = newSession(gateway!.url, '/down', { 'x-mcp-api-key': 'client-one-api-key-111' });
    const started = Date.now();
    try {
      await assert.rejects(withTimeout(client.connect(transport), 'connect to a dead backend'), (err: unknown) => {
        assert.ok(err instanceof StreamableHTTPError, `expected a StreamableHTTPError, got ${String(err)}`);
        assert.equal(err.code, 502);
        assert.match(err.message, /backend_unreachable/);
        return true;
      });
    } finally {
      await client.close();
    }
    assert.ok(Date.now() - started < 3000, 'the failure is reported promptly');
    assert.ok(
      logger.lines.some((l) => l.level === 'warn' && l.message.includes('backend_unreachable')),
      'the relay logged the failure',
    );

    // The gateway process is still up: the same route answers again, and a healthy route works end to end.
    assert.ok(gateway!.server.listening);
    const again = await fetch(`${gateway!.url}/down`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(again.status, 502);
    const body = (await again.json()) as { jsonrpc: string; error: { code: number; data: { reason: string } }; id: null };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.error.code, -32000);
    assert.equal(body.error.data.reason, 'backend_unreachable');

    const healthy = newSession(gateway!.url, '/up', { 'x-mcp-api-key': 'client-one-api-key-111' });
    try {
      await withTimeout(healthy.client.connect(healthy.transport), 'connect through the healthy route');
      const seen = await withTimeout(callHeadersTool(healthy.client), 'tools/call through the healthy route');
      assert.equal(seen['x-mcp-api-key'], 'client-one-api-key-111');
      await withTimeout(healthy.transport.terminateSession(), 'DELETE through the healthy route');
    } finally {
      await healthy.client.close();
    }
  });
});
