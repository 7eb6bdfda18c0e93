/**
 * The operations features across both MCP eras and the SDK lines: 2026-07-28 (SDK v2 client pinned to it,
 * SDK v2 stateless backend) and mixed pairs (SDK v1 and v2 clients speaking 2025-11-25 to an SDK v2
 * hybrid backend), through real Express gateways:
 * - metrics scraped over HTTP count each era's requests, and a 2026 request holds no session;
 * - TLS: an SDK v2 backend over HTTPS with a test CA, reached by both eras' clients;
 * - a real pino logger gets one JSON line per event, each naming its route, never a value.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { pino } from 'pino';
import { captureHeaders, envSecrets, mcpProxy } from '../../lib/index.js';
import { relayMetrics } from '../../lib/metrics/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { eraBackend, type BackendKind, type EraBackend } from '../helpers/mcp-eras.js';
import { MODERN_VERSION, eraClient, type ClientKind } from '../helpers/mcp-eras-clients.js';
import { parseExposition, sumOf, valueOf } from '../helpers/prom-text.js';
import { testPki, type TestPki } from '../helpers/test-ca.js';
import { withTimeout } from '../helpers/wait.js';

const STEP_MS = 5000;
const API_KEY = 'era-ops-key-3f9c1a';
const SECRET = 'era-ops-secret-77d0e2';
const P = 'mcp_relay_';

/** Connects, lists tools, calls echo once and closes: the same work for every client kind. */
async function oneCall(kind: ClientKind, url: string): Promise<{ era: 'legacy' | 'modern'; text: string }> {
  const client = eraClient(kind, url, { 'x-mcp-api-key': API_KEY, authorization: 'Bearer not-forwarded' });
  try {
    await withTimeout(client.connect(), `${kind} connect`, STEP_MS);
    assert.ok((await client.listTools()).includes('echo'));
    const result = await withTimeout(client.callTool('echo', { region: 'eu', text: 'hi' }), `${kind} echo`, STEP_MS);
    await client.terminate();
    return { era: client.era(), text: result.content?.[0]?.text ?? '' };
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function gateway(routes: Record<string, ReturnType<typeof mcpProxy>>, extra?: (app: express.Express) => void): Promise<Listening> {
  const app = express();
  extra?.(app);
  app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger: captureLogger() }));
  for (const [path, route] of Object.entries(routes)) app.use(path, route);
  return listen(app);
}

describe('metrics across eras', () => {
  const pairs: [ClientKind, BackendKind, 'legacy' | 'modern'][] = [
    ['v2-2026', 'v2-stateless', 'modern'],
    ['v1', 'v2-hybrid', 'legacy'],
    ['v2', 'v2-hybrid', 'legacy'],
  ];
  for (const [clientKind, backendKind, era] of pairs) {
    it(`${clientKind} client, ${backendKind} backend (${era}): requests and forwarded headers counted; sessions held only by a 2025 session, and none after DELETE`, async () => {
      const backend: EraBackend = await eraBackend(backendKind);
      const metrics = relayMetrics();
      const route = mcpProxy({ name: 'era', target: backend.endpoint, passthrough: ['x-mcp-api-key'], session: 'bind', metrics, logger: captureLogger() });
      const gw = await gateway({ '/era': route }, (app) => app.get('/metrics', metrics.handler));
      try {
        const result = await oneCall(clientKind, `${gw.url}/era`);
        assert.equal(result.era, era);
        const text = await (await fetch(`${gw.url}/metrics`)).text();
        const exposition = parseExposition(text);
        const forwardedRequests = backend.requests.filter((r) => r.headers['x-mcp-api-key'] === API_KEY).length;
        assert.ok(forwardedRequests >= 3, `the backend saw the calls (${forwardedRequests})`);
        // Every request the backend received went through the route and was counted once.
        assert.equal(sumOf(exposition, `${P}requests_total`, { route: 'era' }), backend.requests.length);
        assert.equal(sumOf(exposition, `${P}headers_forwarded_total`, { route: 'era', header: 'x-mcp-api-key' }), forwardedRequests);
        assert.equal(sumOf(exposition, `${P}upstream_response_seconds_count`, { route: 'era' }), backend.requests.length);
        assert.equal(sumOf(exposition, `${P}requests_total`, { route: 'era', reason: '' }), backend.requests.length, 'nothing refused');
        // A 2026 request is stateless; a 2025 session was recorded and ended by the client's DELETE.
        assert.equal(valueOf(exposition, `${P}sessions`, { route: 'era', mode: 'bind' }), 0);
        if (era === 'modern') {
          assert.ok(backend.requests.every((r) => r.headers['mcp-protocol-version'] === MODERN_VERSION));
          assert.ok(backend.requests.every((r) => r.headers['mcp-session-id'] === undefined));
        } else {
          assert.ok(backend.requests.some((r) => r.method === 'DELETE'));
        }
        assert.doesNotMatch(text, new RegExp(API_KEY));
      } finally {
        await gw.close();
        await backend.close();
      }
    });
  }
});

describe('TLS across eras: an SDK v2 backend over HTTPS with a test CA', () => {
  let pki: TestPki;
  let backend: EraBackend;
  before(async () => {
    pki = testPki();
    backend = await eraBackend('v2-hybrid', { cert: pki.server.cert, key: pki.server.key });
  });
  after(() => backend.close());

  for (const clientKind of ['v2-2026', 'v1', 'v2'] as const) {
    it(`${clientKind} client through an https: route trusting the CA: the call works and the backend sees the route's secret`, async () => {
      const route = mcpProxy({
        name: 'tls-era',
        target: backend.endpoint,
        tls: { ca: pki.ca },
        passthrough: ['x-mcp-api-key'],
        headers: { fromSecret: { 'x-api-key': 'ERA_SECRET' } },
        secrets: envSecrets({ ERA_SECRET: SECRET }),
        logger: captureLogger(),
      });
      assert.match(backend.endpoint, /^https:/);
      const gw = await gateway({ '/tls': route });
      try {
        const seen = backend.requests.length;
        const result = await oneCall(clientKind, `${gw.url}/tls`);
        assert.equal(result.era, clientKind === 'v2-2026' ? 'modern' : 'legacy');
        assert.match(result.text, /hi/);
        const mine = backend.requests.slice(seen);
        assert.ok(mine.length >= 3);
        for (const request of mine) {
          assert.equal(request.headers['x-api-key'], SECRET);
          assert.equal(request.headers['x-mcp-api-key'], API_KEY);
          assert.equal(request.headers.authorization, undefined);
        }
      } finally {
        await gw.close();
      }
    });
  }

  it('the same route without the CA: 502 backend_tls_failed for a 2026 request, and the backend receives nothing', async () => {
    const logger = captureLogger();
    const route = mcpProxy({ name: 'untrusted', target: backend.endpoint, logger });
    const gw = await gateway({ '/tls': route });
    try {
      const seen = backend.requests.length;
      const res = await fetch(`${gw.url}/tls`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': MODERN_VERSION,
          'mcp-method': 'server/discover',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: {} }),
      });
      assert.equal(res.status, 502);
      assert.equal(((await res.json()) as { error: { data: { reason: string } } }).error.data.reason, 'backend_tls_failed');
      assert.equal(backend.requests.length, seen);
      assert.ok(
        logger.lines.some(
          (l) => (l.fields as { route?: string; reason?: string }).route === 'untrusted' && (l.fields as { reason?: string }).reason === 'backend_tls_failed',
        ),
      );
    } finally {
      await gw.close();
    }
  });
});

describe('pino as the logger', () => {
  it('one JSON line per event from a real pino logger, each naming its route, with no header or secret value', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const backend = await eraBackend('v2-stateless');
    const good = mcpProxy({
      name: 'docs',
      target: backend.endpoint,
      passthrough: ['x-mcp-api-key'],
      headers: { fromSecret: { 'x-api-key': 'PINO_SECRET' } },
      secrets: envSecrets({ PINO_SECRET: SECRET }),
      logger,
    });
    const dead = mcpProxy({ name: 'dead', target: 'http://127.0.0.1:9/mcp', logger });
    const gw = await gateway({ '/docs': good, '/dead': dead });
    try {
      await oneCall('v2-2026', `${gw.url}/docs`);
      const res = await fetch(`${gw.url}/dead`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mcp-api-key': API_KEY }, body: '{}' });
      assert.equal(res.status, 502);
      await res.arrayBuffer();
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(parsed.length >= 3, lines.join('\n'));
      for (const line of parsed) {
        assert.ok(line.route === 'docs' || line.route === 'dead', `a line without its route: ${JSON.stringify(line)}`);
        assert.equal(typeof line.msg, 'string');
      }
      const failure = parsed.find((l) => l.reason === 'backend_unreachable');
      assert.ok(failure, 'the 502 was logged');
      assert.deepEqual([failure.route, failure.level, failure.status, failure.mount], ['dead', 40, 502, '/dead']);
      const text = lines.join('\n');
      assert.doesNotMatch(text, new RegExp(`${API_KEY}|${SECRET}|not-forwarded`));
    } finally {
      await gw.close();
      await backend.close();
    }
  });
});
