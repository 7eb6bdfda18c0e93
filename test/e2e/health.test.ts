/**
 * Health probes end to end: `route.probe()` and `healthHandler` against real SDK backends of both eras
 * (v1 with 2025-11-25 sessions, v2 stateless 2026-07-28), each behind mcpProxy in an Express app, and
 * against raw backends that are down, slow, refusing or broken. What the backend received is read from
 * its own request log: the route's static and secret headers, no client header, and (2025) a DELETE
 * that leaves no session open. A sentinel secret must appear in no result, body or log line.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import {
  captureHeaders,
  envSecrets,
  healthHandler,
  mcpProxy,
  type HealthCheck,
  type McpProxyOptions,
  type McpRoute,
  type RouteHealth,
} from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { eraBackend, type EraBackend, type EraRequest } from '../helpers/mcp-eras.js';
import { SENTINEL as SENTINEL_PREFIX } from '../helpers/sentinel.js';
import { sleep } from '../helpers/wait.js';

const SECRET_VALUE = `${SENTINEL_PREFIX}-health-4b1e`;
const STATIC = { 'x-relay-static': 'static-by-the-relay' } as const;
const SECRET_HEADERS = { 'x-relay-secret': 'HEALTH_SECRET' } as const;
const CLIENT_KEY = 'client-key-must-not-travel';
const CLIENT_AUTHORIZATION = 'Bearer client-token-must-not-travel';
const DISCOVER_RESULT = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { supportedVersions: ['2026-07-28'], capabilities: {} } });

const logger = captureLogger();

/** A route with the suite's static and secret header; `secrets` may be swapped to make the secret vanish. */
function route(target: string, extra: Partial<McpProxyOptions> = {}): McpRoute {
  return mcpProxy({
    target,
    headers: { plaintext: { ...STATIC }, fromSecret: { ...SECRET_HEADERS } },
    secrets: envSecrets({ HEALTH_SECRET: SECRET_VALUE }),
    logger,
    ...extra,
  });
}

/** What an MCP probe asked for: `server/discover`, `initialize`, or the DELETE. */
function probeStep(r: EraRequest): string {
  if (r.method !== 'POST') return r.method;
  try {
    return String((JSON.parse(r.body) as { method?: unknown }).method);
  } catch {
    return 'unparsable';
  }
}

/** A backend answering every request with `answer`, recording each. */
async function rawBackend(answer: http.RequestListener): Promise<Listening & { requests: http.IncomingHttpHeaders[] }> {
  const requests: http.IncomingHttpHeaders[] = [];
  const listening = await listen((req, res) => {
    requests.push({ ...req.headers });
    req.resume();
    req.once('end', () => {
      answer(req, res);
    });
  });
  return { ...listening, requests };
}

/** A port nothing listens on: listened on, then closed. */
async function closedPort(): Promise<number> {
  const server = await listen(() => {});
  await server.close();
  return server.port;
}

function assertRouteHeaders(headers: http.IncomingHttpHeaders, what: string): void {
  assert.equal(headers['x-relay-static'], STATIC['x-relay-static'], `${what}: the route's static header`);
  assert.equal(headers['x-relay-secret'], SECRET_VALUE, `${what}: the route's secret header`);
  assert.equal(headers['x-mcp-api-key'], undefined, `${what}: no captured header`);
  assert.equal(headers.authorization, undefined, `${what}: no client Authorization`);
}

function assertNoSentinel(text: string, what: string): void {
  assert.ok(!text.includes(SENTINEL_PREFIX), `${what} holds a sentinel value`);
}

describe('health: route.probe() against SDK backends of both eras', () => {
  let v1: EraBackend;
  let v2: EraBackend;
  let app: Listening;
  let v1Route: McpRoute;
  let v2Route: McpRoute;

  before(async () => {
    v1 = await eraBackend('v1');
    v2 = await eraBackend('v2-stateless');
    v1Route = route(v1.endpoint, { name: 'v1', health: { cacheTtl: 0 } });
    v2Route = route(v2.endpoint, { name: 'v2', health: { cacheTtl: 0 } });
    const host = express();
    host.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    host.get('/readyz', healthHandler([v1Route, v2Route]));
    host.use('/v1', v1Route);
    host.use('/v2', v2Route);
    app = await listen(host);
  });
  after(async () => {
    await app.close();
    await v1.close();
    await v2.close();
  });

  it('a 2026 backend: ok in era 2026-07-28 after one server/discover carrying the route headers', async () => {
    const from = v2.requests.length;
    const health = await v2Route.probe();
    assert.equal(health.ok, true);
    assert.equal(health.era, '2026-07-28');
    assert.equal(health.status, 200);
    assert.equal(health.route, 'v2');
    assert.equal(health.cached, false);
    const seen = v2.requests.slice(from);
    assert.deepEqual(seen.map(probeStep), ['server/discover']);
    assert.equal(seen[0]!.headers['mcp-protocol-version'], '2026-07-28');
    assert.equal(seen[0]!.headers['mcp-method'], 'server/discover');
    assertRouteHeaders(seen[0]!.headers, 'server/discover');
  });

  it('a 2025 backend: ok in era 2025-11-25 via initialize, and its session is ended with DELETE', async () => {
    const from = v1.requests.length;
    const health = await v1Route.probe();
    assert.equal(health.ok, true);
    assert.equal(health.era, '2025-11-25');
    assert.equal(health.status, 200);
    const seen = v1.requests.slice(from);
    assert.deepEqual(seen.map(probeStep), ['server/discover', 'initialize', 'DELETE']);
    for (const r of seen) assertRouteHeaders(r.headers, probeStep(r));
    const sessionId = seen[2]!.headers['mcp-session-id'];
    assert.ok(typeof sessionId === 'string' && sessionId.length > 0, 'the DELETE names the session');
    assert.equal(seen[2]!.headers['mcp-protocol-version'], '2025-11-25');
    assert.deepEqual(v1.sessionIds(), [], 'no session left open on the backend');
  });

  it("a probe through /readyz sends none of the probing client's headers", async () => {
    const from = { v1: v1.requests.length, v2: v2.requests.length };
    const res = await request(app.server).get('/readyz').set('x-mcp-api-key', CLIENT_KEY).set('authorization', CLIENT_AUTHORIZATION);
    assert.equal(res.status, 200);
    const seen = [...v1.requests.slice(from.v1), ...v2.requests.slice(from.v2)];
    assert.ok(seen.length >= 2, 'both backends were probed');
    for (const r of seen) {
      assertRouteHeaders(r.headers, probeStep(r));
      assert.ok(!JSON.stringify(r.headers).includes('must-not-travel'), `${probeStep(r)} carried a client header`);
    }
  });

  it('healthHandler answers 200 with each route ok and its era, and no header value', async () => {
    const res = await request(app.server).get('/readyz');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.body as { status: string; routes: RouteHealth[] };
    assert.equal(body.status, 'ok');
    assert.deepEqual(
      body.routes.map((r) => [r.route, r.ok, r.era]),
      [
        ['v1', true, '2025-11-25'],
        ['v2', true, '2026-07-28'],
      ],
    );
    assertNoSentinel(res.text, 'the /readyz body');
    assert.ok(!res.text.includes(STATIC['x-relay-static']), 'the /readyz body holds the static value');
  });

  it('the relay still serves MCP on the routes it probes', async () => {
    const res = await request(app.server)
      .post('/v2')
      .set('content-type', 'application/json')
      .set('accept', 'application/json, text/event-stream')
      .set('mcp-protocol-version', '2026-07-28')
      .set('mcp-method', 'server/discover')
      .send({
        jsonrpc: '2.0',
        id: 7,
        method: 'server/discover',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      });
    assert.equal(res.status, 200);
  });
});

describe('health: era detection by the answer', () => {
  it('a 2025 server answering server/discover with a JSON-RPC error is probed with initialize, its session ended', async () => {
    const seen: string[] = [];
    const backend = await listen((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const method = req.method === 'POST' ? (JSON.parse(body) as { method: string }).method : (req.method ?? '');
        seen.push([method, req.headers['mcp-session-id'] ?? '-', req.headers['mcp-protocol-version'] ?? '-'].join(' '));
        if (method === 'server/discover') {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } }));
        } else if (method === 'initialize') {
          const result = { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'old', version: '1' } };
          res
            .writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'probe-session-1' })
            .end(JSON.stringify({ jsonrpc: '2.0', id: 1, result }));
        } else res.writeHead(204).end();
      });
    });
    try {
      const health = await route(`${backend.url}/mcp`).probe();
      assert.equal(health.ok, true);
      assert.equal(health.era, '2025-11-25');
      // The DELETE names the revision the backend chose in its initialize result.
      assert.deepEqual(seen, ['server/discover - 2026-07-28', 'initialize - -', 'DELETE probe-session-1 2025-06-18']);
    } finally {
      await backend.close();
    }
  });
});

describe('health: the probe session left behind', () => {
  /** A 2025 backend (no server/discover) whose DELETE of the probe's session does `onDelete`. */
  const sessionBackend = (onDelete: http.RequestListener) =>
    rawBackend((req, res) => {
      if (req.method === 'DELETE') return onDelete(req, res);
      const discover = req.headers['mcp-method'] === 'server/discover';
      if (discover) return res.writeHead(404).end();
      const result = { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'old', version: '1' } };
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'probe-session-2' }).end(JSON.stringify({ jsonrpc: '2.0', id: 1, result }));
    });
  const deletes: [string, http.RequestListener][] = [
    ['answers 500', (_req, res) => void res.writeHead(500).end()],
    ['resets the connection', (req) => void req.socket.destroy()],
  ];
  for (const [what, onDelete] of deletes) {
    it(`a DELETE that ${what}: the backend is still ok, and a warning says its session was left to expire`, async () => {
      const backend = await sessionBackend(onDelete);
      const from = logger.lines.length;
      try {
        const health = await route(`${backend.url}/mcp`, { name: `left-${what.split(' ')[0]!}` }).probe();
        assert.equal(health.ok, true);
        assert.equal(health.era, '2025-11-25');
        assert.equal(backend.requests.length, 3, 'server/discover, initialize, DELETE');
        const warnings = logger.lines.slice(from).filter((l) => l.level === 'warn');
        assert.deepEqual(
          warnings.map((l) => l.message),
          ['mcpProxy: the health probe could not end its 2025 session (DELETE failed); the backend ends it when it expires'],
        );
      } finally {
        await backend.close();
      }
    });
  }
});

describe('health: failures', () => {
  it('a closed port is unreachable', async () => {
    const health = await route(`http://127.0.0.1:${await closedPort()}/mcp`).probe();
    assert.equal(health.ok, false);
    assert.equal(health.reason, 'unreachable');
    assert.equal(health.status, undefined);
  });

  it('a backend that never answers is a timeout within health.timeout', async () => {
    const silent = await rawBackend(() => {});
    try {
      const started = performance.now();
      const health = await route(`${silent.url}/mcp`, { health: { timeout: 300 } }).probe();
      const elapsed = performance.now() - started;
      assert.equal(health.reason, 'timeout');
      assert.ok(elapsed >= 290 && elapsed < 1500, `answered after ${Math.round(elapsed)} ms for a 300 ms bound`);
      assert.ok(health.latencyMs >= 290 && health.latencyMs < 1500, `latencyMs ${health.latencyMs}`);
    } finally {
      await silent.close();
    }
  });

  it('a backend that answers headers but never finishes its body is a timeout too', async () => {
    const stalled = await rawBackend((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"jsonrpc":"2.0",');
    });
    try {
      const health = await route(`${stalled.url}/mcp`, { health: { timeout: 300 } }).probe();
      assert.equal(health.reason, 'timeout');
    } finally {
      await stalled.close();
    }
  });

  for (const status of [401, 500]) {
    it(`a backend answering ${status} is bad_status ${status}, its body not echoed, and no initialize follows`, async () => {
      const refusing = await rawBackend((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-echo': SECRET_VALUE });
        res.end(JSON.stringify({ error: `denied with ${SECRET_VALUE}` }));
      });
      try {
        const health = await route(`${refusing.url}/mcp`).probe();
        assert.equal(health.ok, false);
        assert.equal(health.reason, 'bad_status');
        assert.equal(health.status, status);
        assert.equal(refusing.requests.length, 1, 'only server/discover was sent');
        assertNoSentinel(JSON.stringify(health), 'the result');
      } finally {
        await refusing.close();
      }
    });
  }

  it('a backend whose certificate the route does not trust is tls', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'health-tls-'));
    try {
      // A self-signed certificate made here: the route's agent trusts only the system CAs. An EC key
      // (milliseconds to make; an RSA 2048 one took half a second of CPU).
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-keyout',
          `${dir}/key.pem`,
          '-out',
          `${dir}/cert.pem`,
        ],
        {
          stdio: 'ignore',
        },
      );
    } catch {
      t.skip('openssl is not available to make a certificate');
      return;
    }
    const server = https.createServer({ key: fs.readFileSync(`${dir}/key.pem`), cert: fs.readFileSync(`${dir}/cert.pem`) }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(DISCOVER_RESULT),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const health = await route(`https://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`).probe();
      assert.equal(health.reason, 'tls');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a 200 whose body is no JSON-RPC answer is bad_response', async () => {
    const html = await rawBackend((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${SECRET_VALUE}</html>`));
    try {
      const health = await route(`${html.url}/mcp`).probe();
      assert.equal(health.reason, 'bad_response');
      assert.equal(health.status, 200);
    } finally {
      await html.close();
    }
  });

  // How the probe reads a 200 to server/discover: the first JSON-RPC response, in a JSON body or an event stream.
  const SSE = { 'content-type': 'text/event-stream' };
  const JSON_TYPE = { 'content-type': 'application/json' };
  const RESULT = '{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2026-07-28"]}}';
  const answers: [string, Record<string, string>, string, 'ok' | 'bad_response'][] = [
    [
      'an event stream: a notification, then the response (data: without a space, CRLF line ends)',
      SSE,
      `data: {"jsonrpc":"2.0","method":"note"}\r\n\r\ndata:${RESULT}\r\n\r\n`,
      'ok',
    ],
    ['an event stream whose last event ends with the body, not a blank line', SSE, `event: message\ndata: ${RESULT}`, 'ok'],
    ['an event stream with an event without data, then the response', SSE, `event: ping\n\ndata: ${RESULT}\n\n`, 'ok'],
    ['an event stream with no response in it', SSE, 'data: {"jsonrpc":"2.0","method":"note"}\n\n', 'bad_response'],
    ['a JSON array (a batch)', JSON_TYPE, `[${RESULT}]`, 'bad_response'],
    ['JSON null', JSON_TYPE, 'null', 'bad_response'],
    ['JSON-RPC 1.0', JSON_TYPE, RESULT.replace('"2.0"', '"1.0"'), 'bad_response'],
    ['a response without an id', JSON_TYPE, '{"jsonrpc":"2.0","result":{}}', 'bad_response'],
    ['a result that is not an object', JSON_TYPE, '{"jsonrpc":"2.0","id":1,"result":5}', 'bad_response'],
    ['a body over 256 KiB', JSON_TYPE, `{"jsonrpc":"2.0","id":1,"result":{"pad":"${'x'.repeat(300 * 1024)}"}}`, 'bad_response'],
  ];
  for (const [name, headers, body, expected] of answers) {
    it(`a 200 to server/discover with ${name}: ${expected}`, async () => {
      const backend = await rawBackend((_req, res) => res.writeHead(200, headers).end(body));
      try {
        const health = await route(`${backend.url}/mcp`).probe();
        assert.equal(health.ok ? 'ok' : health.reason, expected);
        // Over the limit the body is not read to its end: a failed read, with no status to report.
        assert.equal(health.status, body.length > 256 * 1024 ? undefined : 200);
        if (health.ok) assert.equal(health.era, '2026-07-28');
      } finally {
        await backend.close();
      }
    });
  }

  it('a secret that cannot be read now is secret_unavailable, and the backend is not called', async () => {
    const backend = await rawBackend((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(DISCOVER_RESULT));
    const env: NodeJS.ProcessEnv = { HEALTH_SECRET: SECRET_VALUE };
    const log = captureLogger();
    try {
      const r = route(`${backend.url}/mcp`, { secrets: envSecrets(env), logger: log });
      delete env.HEALTH_SECRET;
      const health = await r.probe();
      assert.equal(health.reason, 'secret_unavailable');
      assert.equal(backend.requests.length, 0);
      assert.match(log.text(), /health probe failed \(secret_unavailable\): the secret behind headers\.fromSecret\["x-relay-secret"\] is missing/);
      await r.probe({ fresh: true });
      assert.equal(log.lines.filter((l) => l.message.includes('secret_unavailable')).length, 1, 'logged once while it lasts');
      assertNoSentinel(log.text(), 'the log');
    } finally {
      await backend.close();
    }
  });
});

describe('health: cache and shared attempts', () => {
  let backend: Awaited<ReturnType<typeof rawBackend>>;
  before(async () => {
    backend = await rawBackend((_req, res) => {
      // Slow enough for concurrent callers to overlap one attempt.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(DISCOVER_RESULT), 50);
    });
  });
  after(() => backend.close());

  it('two probes within cacheTtl call the backend once; the second says cached', async () => {
    const r = route(`${backend.url}/mcp`, { health: { cacheTtl: 60_000 } });
    const from = backend.requests.length;
    const first = await r.probe();
    const second = await r.probe();
    assert.equal(backend.requests.length - from, 1);
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);
    assert.equal(second.checkedAt, first.checkedAt);
  });

  it('a probe after cacheTtl, or with fresh, calls the backend again', async () => {
    const r = route(`${backend.url}/mcp`, { health: { cacheTtl: 100 } });
    const from = backend.requests.length;
    await r.probe();
    await r.probe({ fresh: true });
    await sleep(150);
    const late = await r.probe();
    assert.equal(backend.requests.length - from, 3);
    assert.equal(late.cached, false);
  });

  it('concurrent probes share one attempt, even without a cache', async () => {
    const r = route(`${backend.url}/mcp`, { health: { cacheTtl: 0 } });
    const from = backend.requests.length;
    const results = await Promise.all([r.probe(), r.probe(), r.probe({ fresh: true })]);
    assert.equal(backend.requests.length - from, 1);
    assert.ok(results.every((h) => h.ok));
  });
});

describe('health: logging state changes', () => {
  it('logs a failure once while it lasts, and the recovery once, by reason and never a value', async () => {
    let up = false;
    const flapping = await rawBackend((_req, res) => {
      if (up) res.writeHead(200, { 'content-type': 'application/json' }).end(DISCOVER_RESULT);
      else res.writeHead(503).end(SECRET_VALUE);
    });
    const log = captureLogger();
    try {
      const r = route(`${flapping.url}/mcp`, { logger: log, health: { cacheTtl: 0 } });
      const before = log.lines.length;
      await r.probe();
      await r.probe();
      up = true;
      await r.probe();
      await r.probe();
      const lines = log.lines.slice(before);
      assert.deepEqual(
        lines.map((l) => [l.level, (l.fields as { health?: string }).health]),
        [
          ['warn', 'bad_status'],
          ['info', 'ok'],
        ],
      );
      assert.equal((lines[0]!.fields as { route?: string }).route, `127.0.0.1:${flapping.port}/mcp`);
      assertNoSentinel(log.text(), 'the log');
    } finally {
      await flapping.close();
    }
  });
});

describe('health: healthHandler', () => {
  let good: Awaited<ReturnType<typeof rawBackend>>;
  let downPort: number;
  before(async () => {
    good = await rawBackend((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(DISCOVER_RESULT));
    downPort = await closedPort();
  });
  after(() => good.close());

  it('answers 503 with an entry per route when one route fails; no secret in the body or logs', async () => {
    const host = express();
    host.get('/readyz', healthHandler([route(`${good.url}/mcp`, { name: 'good' }), route(`http://127.0.0.1:${downPort}/mcp`, { name: 'down' })]));
    const res = await request(host).get('/readyz');
    assert.equal(res.status, 503);
    const body = res.body as { status: string; routes: RouteHealth[] };
    assert.equal(body.status, 'fail');
    assert.deepEqual(
      body.routes.map((r) => [r.route, r.ok, r.reason]),
      [
        ['good', true, undefined],
        ['down', false, 'unreachable'],
      ],
    );
    assertNoSentinel(res.text, 'the /readyz body');
    assertNoSentinel(logger.text(), 'the log');
  });

  it('with detail: false answers the status only', async () => {
    const host = express();
    host.get('/readyz', healthHandler([route(`http://127.0.0.1:${downPort}/mcp`, { name: 'down' })], { detail: false }));
    const res = await request(host).get('/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { status: 'fail' });
  });

  it('with no checks it is a liveness endpoint: 200 without calling a backend', async () => {
    const host = express();
    host.get('/healthz', healthHandler([]));
    const res = await request(host).get('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok', routes: [] });
  });

  it("a check of the host app's own that throws is internal_error, its message not shown", async () => {
    const broken: HealthCheck = {
      name: 'database',
      probe: () => Promise.reject(new Error(`connect failed with ${SECRET_VALUE}`)),
    };
    const host = express();
    host.get('/readyz', healthHandler([broken]));
    const res = await request(host).get('/readyz');
    assert.equal(res.status, 503);
    assert.equal((res.body as { routes: RouteHealth[] }).routes[0]!.reason, 'internal_error');
    assertNoSentinel(res.text, 'the /readyz body');
  });
});
