/**
 * The DNS-rebinding guard, end to end. The backend is what an MCP server on localhost should be: an
 * SDK v2 `createMcpExpressApp()` app, which refuses a non-loopback `Host` or `Origin` with 403. The
 * relay replaces `Host` and drops `Origin`, so without a guard of its own a page that rebinds its name
 * to 127.0.0.1 would reach the backend through it. Each attack is sent directly (the backend refuses)
 * and through the relay (the relay must refuse too, before forwarding anything).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { mcpProxy, type McpProxyOptions } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { eraClient } from '../helpers/mcp-eras-clients.js';

const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

interface Answer {
  status: number;
  body: string;
}

/** A 2025 ping POST to `host:port` carrying `headers` verbatim (Host included), over a fresh connection. */
function post(address: string, port: number, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: address,
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(PING);
  });
}

interface Backend extends Listening {
  /** Requests that reached the backend at all, refused ones included. */
  hits(): number;
}

/** The localhost MCP server as the SDK builds it: Host and Origin validated. */
async function guardedBackend(): Promise<Backend> {
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'local', version: '1.0.0' });
    server.registerTool('hello', { description: 'Says hello' }, () => ({ content: [{ type: 'text', text: 'hello' }] }));
    return server;
  });
  const app = createMcpExpressApp();
  const node = toNodeHandler(handler);
  app.all('/mcp', (req, res) => void node(req, res, req.body));
  let hits = 0;
  const listening = await listen((req, res) => {
    hits++;
    app(req, res);
  });
  return { ...listening, hits: () => hits, close: async () => (await handler.close(), await listening.close()) };
}

interface Relay extends Listening {
  logger: ReturnType<typeof captureLogger>;
}

async function relay(target: string, options: Partial<McpProxyOptions> = {}, host = '127.0.0.1'): Promise<Relay> {
  const logger = captureLogger();
  const app = express();
  app.use('/mcp', mcpProxy({ target, logger, ...options }));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { server, port, url: `http://127.0.0.1:${port}`, close, logger };
}

/** The relay's 403: a JSON-RPC error with its reason and the header's name, never its value. */
function assertRefused(answer: Answer, reason: string, header: string, value: string): void {
  assert.equal(answer.status, 403, answer.body);
  const body = JSON.parse(answer.body) as { error: { code: number; data: { reason: string; header: string } }; id: null };
  assert.deepEqual([body.error.code, body.error.data, body.id], [-32000, { reason, header }, null]);
  // `null` is in every JSON-RPC error body (`"id":null`), so only the other values can be looked for.
  if (value !== 'null') assert.ok(!answer.body.includes(value), 'the refused value is echoed');
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe('DNS-rebinding guard: the relay keeps the protection a localhost backend has', () => {
  let backend: Backend;
  let target: string;
  before(async () => {
    backend = await guardedBackend();
    target = `${backend.url}/mcp`;
  });
  after(() => backend.close());

  it('a rebound Host (evil.example) is refused by the backend directly, and by the relay before anything is forwarded', async () => {
    const direct = await post('127.0.0.1', backend.port, '/mcp', { host: `evil.example:${backend.port}` });
    assert.equal(direct.status, 403, 'control: the backend checks Host');
    const r = await relay(target);
    try {
      const before = r.logger.lines.length;
      const hits = backend.hits();
      const answer = await post('127.0.0.1', r.port, '/mcp', { host: `evil.example:${r.port}` });
      assertRefused(answer, 'host_not_allowed', 'host', 'evil.example');
      assert.equal(backend.hits(), hits, 'nothing was forwarded');
      const line = r.logger.lines.slice(before).find((l) => l.level === 'warn');
      assert.match(String((line?.fields as { detail?: string }).detail), /loopback/, 'the log says why');
      assert.ok(!r.logger.text().includes('evil.example'));
    } finally {
      await r.close();
    }
  });

  describe('on one guarded route with the loopback defaults', () => {
    let r: Relay;
    before(async () => {
      r = await relay(target);
    });
    after(() => r.close());

    /** No warning or error line was logged since the log had `since` lines. */
    const assertQuietSince = (since: number): void =>
      assert.deepEqual(
        r.logger.lines.slice(since).filter((l) => l.level !== 'info'),
        [],
      );

    it("control: a rebound page's Origin (http://evil.example) is refused by the backend directly", async () => {
      const direct = await post('127.0.0.1', backend.port, '/mcp', { origin: 'http://evil.example' });
      assert.equal(direct.status, 403, 'control: the backend checks Origin');
    });

    for (const origin of ['http://evil.example', 'null', 'http://localhost.evil.example', 'http://127.0.0.1.evil.example:8080']) {
      it(`a rebound page's Origin ${origin} is refused by the relay`, async () => {
        assertRefused(await post('127.0.0.1', r.port, '/mcp', { origin }), 'origin_not_allowed', 'origin', origin);
      });
    }

    const loopbackHosts: [string, (port: number) => string][] = [
      ['localhost:<port>', (port) => `localhost:${port}`],
      ['127.0.0.1:<port>', (port) => `127.0.0.1:${port}`],
      ['LOCALHOST', () => 'LOCALHOST'],
      ['[::1]:1', () => '[::1]:1'],
    ];
    for (const [label, host] of loopbackHosts) {
      it(`the loopback Host ${label} passes, on any port`, async () => {
        const since = r.logger.lines.length;
        assert.equal((await post('127.0.0.1', r.port, '/mcp', { host: host(r.port) })).status, 200);
        assertQuietSince(since);
      });
    }

    for (const origin of ['http://localhost:5173', 'https://127.0.0.1', 'http://[::1]:3000']) {
      it(`the loopback Origin ${origin} passes, as it does directly`, async () => {
        const since = r.logger.lines.length;
        assert.equal((await post('127.0.0.1', r.port, '/mcp', { origin })).status, 200);
        assert.equal((await post('127.0.0.1', backend.port, '/mcp', { origin })).status, 200, 'control: directly');
        assertQuietSince(since);
      });
    }

    for (const kind of ['v1', 'v2', 'v2-2026'] as const) {
      it(`an SDK ${kind} client on http://127.0.0.1 works through the guarded route`, async () => {
        const client = eraClient(kind, `${r.url}/mcp`, {});
        await client.connect();
        try {
          assert.deepEqual(await client.listTools(), ['hello']);
        } finally {
          await client.close();
        }
      });
    }
  });

  it("allowedHosts and allowedOrigins replace the loopback defaults: the gateway's public name passes, anything else does not", async () => {
    const r = await relay(target, { allowedHosts: ['gateway.example'], allowedOrigins: ['https://app.example'] });
    try {
      assert.equal((await post('127.0.0.1', r.port, '/mcp', { host: 'gateway.example:443', origin: 'https://app.example' })).status, 200);
      assert.equal((await post('127.0.0.1', r.port, '/mcp', { host: 'Gateway.Example' })).status, 200);
      assertRefused(await post('127.0.0.1', r.port, '/mcp', { host: `127.0.0.1:${r.port}` }), 'host_not_allowed', 'host', '127.0.0.1');
      const foreign = await post('127.0.0.1', r.port, '/mcp', { host: 'gateway.example', origin: 'http://localhost:5173' });
      assertRefused(foreign, 'origin_not_allowed', 'origin', 'localhost:5173');
    } finally {
      await r.close();
    }
  });

  it('a request that arrived on a non-loopback address is not checked unless the route lists names', async (t) => {
    const external = externalAddress();
    if (!external) return t.skip('this machine has no non-loopback IPv4 address');
    const open = await relay(target, {}, '0.0.0.0');
    const listed = await relay(target, { allowedHosts: [external] }, '0.0.0.0');
    try {
      const rebound = { host: 'evil.example', origin: 'http://evil.example' };
      assert.equal((await post(external, open.port, '/mcp', rebound)).status, 200, 'a network listener keeps its behaviour');
      assertRefused(await post('127.0.0.1', open.port, '/mcp', rebound), 'host_not_allowed', 'host', 'evil.example');
      assertRefused(await post(external, listed.port, '/mcp', rebound), 'host_not_allowed', 'host', 'evil.example');
      assert.equal((await post(external, listed.port, '/mcp', { host: external })).status, 200);
    } finally {
      await open.close();
      await listed.close();
    }
  });

  it("allowedHosts: ['*'] and allowedOrigins: ['*'] switch the guard off for a route that needs it", async () => {
    const r = await relay(target, { allowedHosts: ['*'], allowedOrigins: ['*'] });
    try {
      assert.equal((await post('127.0.0.1', r.port, '/mcp', { host: 'evil.example', origin: 'http://evil.example' })).status, 200);
    } finally {
      await r.close();
    }
  });
});
