/**
 * End to end for the Prometheus metrics (issue 12, docs/operations.md#metrics): a real Express gateway
 * with captureHeaders and real mcpProxy routes sharing one relayMetrics(), in front of real
 * @modelcontextprotocol/sdk backends over loopback, driven by real SDK clients; `/metrics` is scraped
 * over HTTP and read as the text exposition format. Counters are compared before and after each step,
 * against what the client sent and what the backend received.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Counter, Registry } from 'prom-client';
import { captureHeaders, HeaderConfigError, mcpProxy } from '../../lib/index.js';
import { relayMetrics, type RelayMetrics } from '../../lib/metrics/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { mcpBackend, type McpBackend } from '../helpers/mcp-backend.js';
import { parseExposition, sumOf, valueOf, type Exposition } from '../helpers/prom-text.js';
import { withTimeout } from '../helpers/wait.js';

const P = 'mcp_relay_';

interface AuthedRequest extends IncomingMessage {
  user?: { id: string };
}

/** Headers every client sends: x-tenant is passed through on `bind-route`, x-extra is captured but not listed there, x-region is listed but never captured. */
const CLIENT_HEADERS = {
  'x-tenant': 'acme',
  'x-extra': 'e',
  'x-region': 'eu',
  'x-static': 'from-client',
  authorization: 'Bearer client-token',
  'x-user': 'alice',
};

interface Gateway extends Listening {
  metrics: RelayMetrics;
}

/**
 * Routes: `bind-route` (bind; passthrough x-tenant and x-region; sets x-static itself), `pin-route` (pin;
 * every captured header but credentials), `dead-route` (a backend port nothing listens on).
 */
async function startGateway(bindBackend: McpBackend, pinBackend: McpBackend, deadUrl: string): Promise<Gateway> {
  const logger = captureLogger();
  const metrics = relayMetrics();
  const app = express();
  app.get('/metrics', metrics.handler);
  app.use((req, _res, next) => {
    const user = req.headers['x-user'];
    if (typeof user === 'string') (req as AuthedRequest).user = { id: user };
    next();
  });
  app.use(captureHeaders({ allow: ['x-tenant', 'x-extra', 'x-static', 'authorization'], allowCredentials: true, logger }));
  const common = { responseTimeout: 5000, connectTimeout: 2000, logger, metrics };
  app.use(
    '/bind',
    mcpProxy({
      ...common,
      name: 'bind-route',
      target: `${bindBackend.url}/mcp`,
      session: 'bind',
      passthrough: ['x-tenant', 'x-region'],
      headers: { plaintext: { 'x-static': 'from-route' } },
    }),
  );
  const principal = (req: IncomingMessage): string | undefined => (req as AuthedRequest).user?.id;
  app.use('/pin', mcpProxy({ ...common, name: 'pin-route', target: `${pinBackend.url}/mcp`, session: { mode: 'pin', principal } }));
  app.use('/dead', mcpProxy({ ...common, name: 'dead-route', target: `${deadUrl}/mcp` }));
  return { ...(await listen(app)), metrics };
}

async function scrape(gateway: Listening): Promise<Exposition> {
  const response = await withTimeout(fetch(`${gateway.url}/metrics`), 'GET /metrics');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

/** Polls /metrics until `check` holds (counters move when a response closes, just after the client has it). */
async function scrapeUntil(gateway: Listening, check: (e: Exposition) => boolean, what: string): Promise<Exposition> {
  let last = await scrape(gateway);
  const deadline = Date.now() + 3000;
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last scrape:\n${JSON.stringify(last.samples, null, 1)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await scrape(gateway);
  }
  return last;
}

interface Leg {
  method: string;
  status?: number;
}

/** An SDK client on `path` that sends CLIENT_HEADERS on every request and records each one. */
function sdkClient(gateway: Listening, path: string): { client: Client; transport: StreamableHTTPClientTransport; legs: Leg[] } {
  const legs: Leg[] = [];
  const fetchWithHeaders: FetchLike = async (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(CLIENT_HEADERS)) headers.set(name, value);
    const leg: Leg = { method: init?.method ?? 'GET' };
    legs.push(leg);
    const response = await fetch(url, { ...init, headers });
    leg.status = response.status;
    return response;
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}${path}`), {
    fetch: fetchWithHeaders,
    reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
  });
  return { client: new Client({ name: 'e2e-metrics', version: '1.0.0' }), transport, legs };
}

const requestsOn = (e: Exposition, route: string): number => sumOf(e, `${P}requests_total`, { route });
const streamsOn = (e: Exposition, route: string): number | undefined => valueOf(e, `${P}open_streams`, { route });
const sessionsOn = (e: Exposition, route: string, mode: string): number | undefined => valueOf(e, `${P}sessions`, { route, mode });

describe('e2e metrics: routes sharing one relayMetrics(), scraped over HTTP', () => {
  let bindBackend: McpBackend;
  let pinBackend: McpBackend;
  let gateway: Gateway;

  before(async () => {
    // JSON answers to POSTs: the only event stream is the SDK client's GET stream.
    bindBackend = await mcpBackend({ jsonResponse: true });
    pinBackend = await mcpBackend({ jsonResponse: true });
    const dead = await listen(() => {});
    await dead.close();
    gateway = await startGateway(bindBackend, pinBackend, dead.url);
  });

  after(async () => {
    await gateway.close();
    await bindBackend.close();
    await pinBackend.close();
  });

  it('every metric family is exposed with its Prometheus type, and routes start at zero streams', async () => {
    const e = await scrape(gateway);
    assert.equal(e.types.get(`${P}requests_total`), 'counter');
    assert.equal(e.types.get(`${P}upstream_response_seconds`), 'histogram');
    assert.equal(e.types.get(`${P}open_streams`), 'gauge');
    assert.equal(e.types.get(`${P}sessions`), 'gauge');
    assert.equal(e.types.get(`${P}headers_forwarded_total`), 'counter');
    assert.equal(e.types.get(`${P}headers_dropped_total`), 'counter');
    for (const route of ['bind-route', 'pin-route', 'dead-route']) assert.equal(streamsOn(e, route), 0, `${route}: open_streams 0`);
    assert.equal(sessionsOn(e, 'bind-route', 'bind'), 0);
    assert.equal(sessionsOn(e, 'pin-route', 'pin'), 0);
    assert.equal(sessionsOn(e, 'dead-route', 'request'), undefined, 'a request route has no sessions series');
  });

  it('bind: the session and the GET stream go up while the client is connected, and back down after DELETE', async () => {
    const before = await scrape(gateway);
    const backendBefore = bindBackend.requests.length;
    const { client, transport, legs } = sdkClient(gateway, '/bind');
    await withTimeout(client.connect(transport), 'connect');
    await withTimeout(client.listTools(), 'tools/list');

    const open = await scrapeUntil(gateway, (e) => streamsOn(e, 'bind-route') === 1, 'the GET stream on bind-route');
    assert.equal(sessionsOn(open, 'bind-route', 'bind'), 1, 'one bind session held');
    assert.equal(streamsOn(open, 'pin-route'), 0, 'the other route has no stream');

    await withTimeout(transport.terminateSession(), 'DELETE');
    await withTimeout(client.close(), 'close');
    const closed = await scrapeUntil(
      gateway,
      (e) => streamsOn(e, 'bind-route') === 0 && requestsOn(e, 'bind-route') - requestsOn(before, 'bind-route') === legs.length,
      'the stream closed and every request counted',
    );
    assert.equal(sessionsOn(closed, 'bind-route', 'bind'), 0, 'the DELETE forgot the session');
    assert.ok(
      legs.some((l) => l.method === 'DELETE' && l.status === 200),
      'the client sent DELETE and got 200',
    );

    // Each request the client made is counted once, under its method and the status it got.
    for (const method of ['GET', 'POST', 'DELETE']) {
      for (const status of new Set(legs.filter((l) => l.method === method).map((l) => l.status))) {
        const want = legs.filter((l) => l.method === method && l.status === status).length;
        const labels = { route: 'bind-route', method, status_code: String(status), reason: '' };
        const got = (valueOf(closed, `${P}requests_total`, labels) ?? 0) - (valueOf(before, `${P}requests_total`, labels) ?? 0);
        assert.equal(got, want, `${method} ${String(status)}: counted as sent`);
      }
    }

    // One latency observation per request the backend answered, by method.
    const forwarded = bindBackend.requests.slice(backendBefore);
    assert.equal(forwarded.length, legs.length, 'every request reached the backend');
    for (const method of ['GET', 'POST', 'DELETE']) {
      const labels = { route: 'bind-route', method };
      const count =
        (valueOf(closed, `${P}upstream_response_seconds_count`, labels) ?? 0) - (valueOf(before, `${P}upstream_response_seconds_count`, labels) ?? 0);
      assert.equal(count, forwarded.filter((r) => r.method === method).length, `${method}: one latency sample per upstream response`);
      const inf = valueOf(closed, `${P}upstream_response_seconds_bucket`, { ...labels, le: '+Inf' });
      assert.equal(inf, valueOf(closed, `${P}upstream_response_seconds_count`, labels), `${method}: the +Inf bucket holds every sample`);
    }
    assert.ok((valueOf(closed, `${P}upstream_response_seconds_sum`, { route: 'bind-route', method: 'POST' }) ?? 0) > 0, 'latency is measured');
  });

  it('bind: configured headers are labelled by name, with a reason for each one dropped; a captured name the route does not list is other', async () => {
    const before = await scrape(gateway);
    const backendBefore = bindBackend.requests.length;
    const { client, transport } = sdkClient(gateway, '/bind');
    await withTimeout(client.connect(transport), 'connect');
    await withTimeout(transport.terminateSession(), 'DELETE');
    await withTimeout(client.close(), 'close');
    const after = await scrapeUntil(gateway, (e) => streamsOn(e, 'bind-route') === 0 && sessionsOn(e, 'bind-route', 'bind') === 0, 'the session over');
    const forwarded = bindBackend.requests.slice(backendBefore);
    const n = forwarded.length;
    assert.ok(n >= 3, 'initialize, initialized and DELETE at least');
    for (const r of forwarded) assert.equal(r.headers['x-static'], 'from-route', "the route's own x-static reached the backend");

    const delta = (name: string, labels: Record<string, string>): number => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    const fwd = (header: string) => delta(`${P}headers_forwarded_total`, { route: 'bind-route', header });
    const drop = (header: string, reason: string) => delta(`${P}headers_dropped_total`, { route: 'bind-route', header, reason });
    assert.equal(fwd('x-tenant'), n, 'x-tenant (passthrough) forwarded on every request');
    assert.equal(fwd('x-static'), n, 'x-static (headers.plaintext) forwarded on every request');
    assert.equal(fwd('other'), 0, 'nothing unlisted forwarded');
    assert.equal(drop('x-static', 'overridden_by_route'), n, "the client's x-static lost to the route's own");
    assert.equal(drop('x-region', 'not_captured'), n, 'x-region is in passthrough, sent, and never captured');
    assert.equal(drop('other', 'not_in_passthrough'), 2 * n, 'x-extra and authorization are captured, unlisted, and labelled other');
    // Unbounded names never become labels: nothing the client sent outside the configuration is named.
    const headerLabels = new Set(after.samples.filter((s) => s.name.startsWith(`${P}headers_`)).map((s) => s.labels.header));
    assert.ok(!headerLabels.has('x-extra') && !headerLabels.has('authorization') && !headerLabels.has('x-user'), `labels: ${[...headerLabels].join(', ')}`);
  });

  it('pin: the session gauge is labelled pin, and on a route without passthrough captured headers are counted as other', async () => {
    const before = await scrape(gateway);
    const backendBefore = pinBackend.requests.length;
    const { client, transport } = sdkClient(gateway, '/pin');
    await withTimeout(client.connect(transport), 'connect');
    const open = await scrapeUntil(
      gateway,
      (e) => sessionsOn(e, 'pin-route', 'pin') === 1 && streamsOn(e, 'pin-route') === 1,
      'the pin session and its stream',
    );
    assert.equal(sessionsOn(open, 'bind-route', 'bind'), 0, "the other route's gauge is untouched");
    await withTimeout(transport.terminateSession(), 'DELETE');
    await withTimeout(client.close(), 'close');
    const after = await scrapeUntil(gateway, (e) => sessionsOn(e, 'pin-route', 'pin') === 0 && streamsOn(e, 'pin-route') === 0, 'the pin session over');
    const n = pinBackend.requests.length - backendBefore;
    const delta = (name: string, labels: Record<string, string>): number => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    assert.equal(
      delta(`${P}headers_forwarded_total`, { route: 'pin-route', header: 'other' }),
      3 * n,
      'x-tenant, x-extra and x-static: captured, forwarded, not configured',
    );
    assert.equal(
      delta(`${P}headers_dropped_total`, { route: 'pin-route', header: 'other', reason: 'credential_not_allowed' }),
      n,
      'authorization without allowCredentials',
    );
  });

  it('rejections are counted with their reason: 405 method_not_allowed (method other), 404 session_not_found, 502 backend_unreachable', async () => {
    const before = await scrape(gateway);
    const put = await fetch(`${gateway.url}/bind`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(put.status, 405);
    const unknown = await fetch(`${gateway.url}/bind`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(unknown.status, 404);
    const dead = await fetch(`${gateway.url}/dead`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize' }),
    });
    assert.equal(dead.status, 502);
    await Promise.all([put.text(), unknown.text(), dead.text()]);
    const cases = [
      { route: 'bind-route', method: 'other', status_code: '405', reason: 'method_not_allowed' },
      { route: 'bind-route', method: 'POST', status_code: '404', reason: 'session_not_found' },
      { route: 'dead-route', method: 'POST', status_code: '502', reason: 'backend_unreachable' },
    ];
    const delta = (e: Exposition, labels: Record<string, string>): number =>
      (valueOf(e, `${P}requests_total`, labels) ?? 0) - (valueOf(before, `${P}requests_total`, labels) ?? 0);
    const after = await scrapeUntil(gateway, (e) => cases.every((c) => delta(e, c) === 1), 'the three rejections');
    for (const c of cases) assert.equal(delta(after, c), 1, `${c.reason} counted once`);
    assert.equal(
      valueOf(after, `${P}upstream_response_seconds_count`, { route: 'dead-route', method: 'POST' }),
      undefined,
      'no latency sample without an upstream response',
    );
  });
});

describe("e2e metrics: the host app's own registry", () => {
  it("relay metrics appear in the user's registry next to the user's own, served by the user's /metrics", async () => {
    const backend = await mcpBackend({ jsonResponse: true });
    const registry = new Registry();
    const own = new Counter({ name: 'app_logins_total', help: 'Logins', registers: [registry] });
    own.inc(3);
    const metrics = relayMetrics({ registry });
    assert.equal(metrics.registry, registry);
    assert.equal(relayMetrics({ registry }), metrics, 'a second call on the same registry reuses the metrics');
    const app = express();
    app.get('/metrics', (_req, res) => {
      void registry.metrics().then((text) => res.type(registry.contentType).send(text));
    });
    app.use('/mcp', mcpProxy({ target: `${backend.url}/mcp`, name: 'mine', metrics, logger: captureLogger() }));
    const gateway = await listen(app);
    try {
      const answer = await fetch(`${gateway.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
        }),
      });
      assert.equal(answer.status, 200);
      await answer.text();
      const e = await scrapeUntil(gateway, (x) => sumOf(x, `${P}requests_total`, { route: 'mine' }) === 1, 'the request counted');
      assert.equal(valueOf(e, 'app_logins_total', {}), 3, "the user's own metric is served alongside");
      assert.equal(valueOf(e, `${P}requests_total`, { route: 'mine', method: 'POST', status_code: '200', reason: '' }), 1);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  it('a registry that already holds one of the names from elsewhere gets a HeaderConfigError naming it', () => {
    const registry = new Registry();
    new Counter({ name: `${P}requests_total`, help: 'someone else', registers: [registry] });
    assert.throws(
      () => relayMetrics({ registry }),
      (err: unknown) =>
        err instanceof HeaderConfigError && err.code === 'ERR_INVALID_OPTION' && err.path === 'registry' && err.message.includes(`${P}requests_total`),
    );
  });

  it('another prefix registers a second set in the same registry; other buckets for the same prefix are refused', () => {
    const registry = new Registry();
    relayMetrics({ registry });
    relayMetrics({ registry, prefix: 'edge_' });
    assert.ok(registry.getSingleMetric('edge_requests_total'), 'the prefixed set is registered');
    assert.throws(
      () => relayMetrics({ registry, buckets: [1, 2] }),
      (err: unknown) => err instanceof HeaderConfigError && err.path === 'buckets',
    );
  });
});

describe('e2e metrics: a broken metrics implementation', () => {
  it('an observer that throws on every call fails no request, and is logged once', async () => {
    const backend = await mcpBackend({ jsonResponse: true });
    const logger = captureLogger();
    const boom = (): never => {
      throw new Error('metrics broke');
    };
    const metrics = {
      observeRoute: () => ({
        requestFinished: boom,
        upstreamResponded: boom,
        streamOpened: boom,
        streamClosed: boom,
        headerForwarded: boom,
        headerDropped: boom,
      }),
    };
    const app = express();
    app.use(captureHeaders({ allow: ['x-tenant'], logger }));
    app.use('/mcp', mcpProxy({ target: `${backend.url}/mcp`, metrics, logger }));
    const gateway = await listen(app);
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await fetch(`${gateway.url}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-tenant': 't' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
          }),
        });
        assert.equal(answer.status, 200, `request ${i + 1} answered by the backend`);
        await answer.text();
      }
      const lines = logger.lines.filter((l) => (l.fields as { option?: string }).option === 'metrics');
      assert.equal(lines.length, 1, 'one log line for the broken observer');
      assert.equal(lines[0]!.level, 'error');
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});

describe('e2e metrics: a closed route', () => {
  it('leaves the sessions gauge, so routes a gateway reload retires do not pile up; a live route of the same name still reports', async () => {
    const metrics = relayMetrics();
    const options = { name: 'reloaded', target: 'http://127.0.0.1:9/mcp', session: 'bind', metrics, logger: captureLogger() } as const;
    const retired = mcpProxy(options);
    const sessions = async () => sessionsOn(parseExposition(await metrics.registry.metrics()), 'reloaded', 'bind');
    assert.equal(await sessions(), 0);
    await retired.close({ grace: 0 });
    assert.equal(await sessions(), undefined, 'no series once its only route closed');
    const successor = mcpProxy(options);
    assert.equal(await sessions(), 0);
    await successor.close({ grace: 0 });
  });
});
