/**
 * route.close() and closeRoutes(): a real Express gateway with real mcpProxy routes in front of real SDK
 * backends and SDK clients. A request under way finishes; a request after close gets 503 route_closed;
 * an event stream still open at the end of the grace period is cut; the route's upstream sockets are
 * closed afterwards, so the backend sees no connection left.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, it } from 'node:test';
import express from 'express';
import { captureHeaders, closeRoutes, HeaderConfigError, healthHandler, mcpProxy, type McpRoute } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { eraBackend, type BackendKind, type EraBackend } from '../helpers/mcp-eras.js';
import { eraClient, type ClientKind } from '../helpers/mcp-eras-clients.js';
import { recordingBackend } from '../helpers/recording-backend.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

const STEP_MS = 4000;

interface Gateway {
  route: McpRoute;
  gateway: Listening;
  logger: ReturnType<typeof captureLogger>;
  close(): Promise<void>;
}

async function gatewayFor(target: string, session: 'request' | 'bind' = 'request'): Promise<Gateway> {
  const logger = captureLogger();
  const route = mcpProxy({ target, name: 'backend-a', logger, session, passthrough: ['x-mcp-api-key'] });
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
  app.use('/a', route);
  const gateway = await listen(app);
  return { route, gateway, logger, close: () => gateway.close() };
}

function connections(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** Polls an asynchronous condition every 20 ms, up to STEP_MS. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + STEP_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function rpc(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

describe('route.close(): requests under way finish, new ones get 503 route_closed', () => {
  it('a slow request started before close() completes; one sent during the grace period is refused; the summary counts it finished', async () => {
    const backend = await recordingBackend((_req, res) => {
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
      }, 300);
    });
    const g = await gatewayFor(`${backend.url}/mcp`);
    try {
      const slow = rpc(`${g.gateway.url}/a`);
      await waitFor(() => backend.requests.length === 1, 'the slow request reached the backend', STEP_MS);
      const closing = g.route.close({ grace: 5000 });
      const refused = await rpc(`${g.gateway.url}/a`);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(refused.headers.get('connection'), 'close');
      const body = (await refused.json()) as { error: { code: number; data: { reason: string } } };
      assert.equal(body.error.code, -32000);
      assert.equal(body.error.data.reason, 'route_closed');
      const answered = await slow;
      assert.equal(answered.status, 200);
      assert.deepEqual(await answered.json(), { jsonrpc: '2.0', id: 1, result: {} });
      // The response under way was asked not to keep its connection.
      assert.equal(answered.headers.get('connection'), 'close');
      assert.deepEqual(await withTimeout(closing, 'close() resolves', STEP_MS), { route: 'backend-a', finished: 1, cut: 0 });
      assert.equal(backend.requests.length, 1, 'the refused request never reached the backend');
      // Idempotent: the same summary, no second shutdown.
      assert.deepEqual(await g.route.close(), { route: 'backend-a', finished: 1, cut: 0 });
      assert.equal(g.logger.lines.filter((l) => l.message === 'mcpProxy: closed').length, 1);
      await eventually(async () => (await connections(backend.server)) === 0, "the route's upstream sockets are closed");
    } finally {
      await g.close();
      await backend.close();
    }
  });

  it('close() with nothing under way resolves at once and closes the idle keep-alive sockets', async () => {
    const backend = await recordingBackend();
    const g = await gatewayFor(`${backend.url}/mcp`);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await (await rpc(`${g.gateway.url}/a`)).arrayBuffer(), 200), 200);
      assert.ok((await connections(backend.server)) >= 1, 'a keep-alive socket stays open before close()');
      const started = performance.now();
      assert.deepEqual(await g.route.close(), { route: 'backend-a', finished: 0, cut: 0 });
      assert.ok(performance.now() - started < 1000, 'no grace period is waited out when nothing is open');
      await eventually(async () => (await connections(backend.server)) === 0, 'idle upstream sockets closed');
    } finally {
      await g.close();
      await backend.close();
    }
  });

  it('a grace that is not whole milliseconds rejects with HeaderConfigError naming grace, and the route stays open', async () => {
    const backend = await recordingBackend();
    const g = await gatewayFor(`${backend.url}/mcp`);
    try {
      for (const grace of [-1, 1.5, Number.NaN, 2 ** 31]) {
        const err = await g.route.close({ grace }).then(
          () => assert.fail('close() accepted an invalid grace'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof HeaderConfigError);
        assert.equal(err.path, 'grace');
        assert.match(err.message, /whole milliseconds/);
      }
      assert.equal((await rpc(`${g.gateway.url}/a`)).status, 200);
    } finally {
      await g.close();
      await backend.close();
    }
  });
});

describe('route.close() with SDK clients and backends', () => {
  const pairs: [ClientKind, BackendKind][] = [
    ['v1', 'v1'],
    ['v2', 'v2-hybrid'],
    ['v2-2026', 'v2-stateless'],
  ];
  for (const [clientKind, backendKind] of pairs) {
    it(`${clientKind} client, ${backendKind} backend: a call in flight past the grace period is cut, later calls get route_closed, the backend keeps no connection`, async () => {
      const backend: EraBackend = await eraBackend(backendKind);
      const g = await gatewayFor(backend.endpoint, backendKind === 'v1' ? 'bind' : 'request');
      const client = eraClient(clientKind, `${g.gateway.url}/a`, { 'x-mcp-api-key': 'key-1' });
      try {
        await withTimeout(client.connect(), 'connect', STEP_MS);
        assert.deepEqual((await client.listTools()).includes('slow'), true);
        // `slow` runs for seconds: it is still in flight when the grace period ends.
        const call = client.callTool('slow', { tag: 'cut' }).then(
          () => 'answered',
          () => 'failed',
        );
        await waitFor(() => backend.events.of('cut').includes('started'), 'the slow tool started', STEP_MS);
        const summary = await withTimeout(g.route.close({ grace: 200 }), 'close() resolves after the grace period', STEP_MS);
        assert.equal(summary.route, 'backend-a');
        assert.ok(summary.cut >= 1, `the call in flight was cut (${JSON.stringify(summary)})`);
        // A 2026 client fails the call at once; a 2025 one waits to resume the cut stream (its own
        // request timeout). Either way no answer arrives.
        assert.notEqual(await Promise.race([call, sleep(300).then(() => 'pending')]), 'answered');
        await assert.rejects(client.callTool('echo', { region: 'x' }), /503|route_closed|shutting down/);
        await eventually(async () => (await connections(backend.server)) === 0, 'no upstream connection left');
        assert.equal(g.logger.lines.filter((l) => l.level === 'warn' && l.message === 'mcpProxy: closed').length, 1, 'a close that cut something is a warning');
      } finally {
        await client.close().catch(() => undefined);
        await g.close();
        await backend.close();
      }
    });
  }

  it('a closing route reports not ready (reason closed) without calling its backend, so /readyz takes the replica out of rotation', async () => {
    const backend: EraBackend = await eraBackend('v2-stateless');
    const g = await gatewayFor(backend.endpoint);
    const app = express();
    app.get('/readyz', healthHandler([g.route]));
    const health = await listen(app);
    try {
      assert.equal((await fetch(`${health.url}/readyz`)).status, 200);
      const probes = backend.requests.length;
      await g.route.close({ grace: 0 });
      const res = await fetch(`${health.url}/readyz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { routes: { route: string; ok: boolean; reason?: string }[] };
      assert.deepEqual(
        body.routes.map((r) => [r.route, r.ok, r.reason]),
        [['backend-a', false, 'closed']],
      );
      assert.equal(backend.requests.length, probes, 'no probe reached the backend after close()');
    } finally {
      await health.close();
      await g.close();
      await backend.close();
    }
  });

  it('closeRoutes closes every route of a gateway; each route refuses afterwards', async () => {
    const backend = await recordingBackend();
    const logger = captureLogger();
    const routes = ['one', 'two', 'three'].map((name) => mcpProxy({ target: `${backend.url}/mcp/${name}`, name, logger }));
    const app = express();
    routes.forEach((route, i) => app.use(`/r${i}`, route));
    const gateway = await listen(app);
    try {
      for (let i = 0; i < routes.length; i++) assert.equal((await rpc(`${gateway.url}/r${i}`)).status, 200);
      const summaries = await closeRoutes(routes, { grace: 1000 });
      assert.deepEqual(
        summaries.map((s) => s.route),
        ['one', 'two', 'three'],
      );
      for (let i = 0; i < routes.length; i++) assert.equal((await rpc(`${gateway.url}/r${i}`)).status, 503);
      await sleep(10);
      assert.equal(backend.requests.length, 3);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});
