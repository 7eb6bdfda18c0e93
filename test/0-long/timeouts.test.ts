/**
 * Timeouts that fit MCP, end to end. An SDK v2 server sends its response headers only when it has
 * something to send, so a tool that works silently for minutes starts its response when it is done.
 * `connectTimeout` bounds connecting and sending the request; `responseTimeout` (default 5 minutes)
 * bounds the wait for the response to start, counted from the end of the request.
 *
 * In test/0-long/, which `npm test` starts first: its 35 s silent call is waiting, not work, and
 * overlaps the rest of the suite instead of trailing it. The `0-` is what makes it first: node --test
 * sorts its files by path whatever order they are given in (test/long/ used to start after
 * test/integration/, and its wait trailed the suite).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { mcpProxy, type McpProxyOptions } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { MODERN_VERSION, modernRequest } from '../helpers/mcp-eras-clients.js';
import { sleep } from '../helpers/wait.js';

/** Longer than the 30 s the relay used to allow, as long as real tool calls take. */
const SILENT_CALL_MS = 35_000;

/** A v2 server (default handler, both eras) whose `silent` tool sends nothing until it is done. */
async function silentBackend(): Promise<Listening> {
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'silent', version: '1.0.0' });
    server.registerTool('silent', { inputSchema: z.object({ ms: z.number() }) }, async ({ ms }) => {
      await sleep(ms);
      return { content: [{ type: 'text', text: `done after ${ms} ms` }] };
    });
    return server;
  });
  const node = toNodeHandler(handler);
  const listening = await listen((req, res) => void node(req, res));
  return { ...listening, close: async () => (await handler.close(), await listening.close()) };
}

async function relayTo(target: string, options: Partial<McpProxyOptions>): Promise<Listening & { logger: ReturnType<typeof captureLogger> }> {
  const logger = captureLogger();
  const app = express();
  app.use('/mcp', mcpProxy({ target, logger, ...options }));
  return { ...(await listen(app)), logger };
}

/** A v2 client pinned to 2026-07-28 calls `silent` for `ms`; resolves with the tool's text. */
async function callSilent(url: string, ms: number): Promise<string> {
  const client = new Client({ name: 'timeouts', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN_VERSION } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name: 'silent', arguments: { ms } }, { timeout: ms + 20_000 });
    return (result.content as { text: string }[])[0]!.text;
  } finally {
    await client.close();
  }
}

/** A `silent` call made by hand, to see the relay's own answer (status and JSON-RPC body). */
function rawSilent(url: string, ms: number): Promise<{ status: number; body: string }> {
  return modernRequest(url, 'tools/call', { name: 'silent', arguments: { ms } });
}

describe('timeouts that fit MCP', { concurrency: true }, () => {
  let backend: Listening;
  before(async () => {
    backend = await silentBackend();
  });
  after(() => backend.close());

  // Runs alongside the shorter tests below, so the suite pays its 35 s once.
  it(
    `a tool silent for ${SILENT_CALL_MS / 1000} s completes through a route with default options, as it does directly`,
    { timeout: SILENT_CALL_MS + 30_000 },
    async () => {
      const relay = await relayTo(`${backend.url}/mcp`, {});
      try {
        const started = Date.now();
        const [direct, relayed] = await Promise.all([callSilent(`${backend.url}/mcp`, SILENT_CALL_MS), callSilent(`${relay.url}/mcp`, SILENT_CALL_MS)]);
        assert.ok(Date.now() - started >= SILENT_CALL_MS, 'the tool really was silent that long');
        assert.equal(relayed, direct);
        assert.equal(relayed, `done after ${SILENT_CALL_MS} ms`);
        assert.deepEqual(
          relay.logger.lines.filter((l) => l.level !== 'info'),
          [],
        );
      } finally {
        await relay.close();
      }
    },
  );

  describe('connectTimeout and responseTimeout bound different waits', { concurrency: false }, () => {
    it('a tool silent for longer than connectTimeout completes: connectTimeout ends once the request is out', async () => {
      const relay = await relayTo(`${backend.url}/mcp`, { connectTimeout: 300 });
      try {
        assert.equal(await callSilent(`${relay.url}/mcp`, 1200), 'done after 1200 ms');
      } finally {
        await relay.close();
      }
    });

    it('a tool silent for longer than responseTimeout gets 504 backend_timeout once responseTimeout has passed, and the log names it', async () => {
      const relay = await relayTo(`${backend.url}/mcp`, { connectTimeout: 200, responseTimeout: 800 });
      try {
        const started = Date.now();
        const answer = await rawSilent(`${relay.url}/mcp`, 3000);
        const elapsed = Date.now() - started;
        assert.equal(answer.status, 504);
        assert.equal(JSON.parse(answer.body).error.data.reason, 'backend_timeout');
        assert.ok(elapsed >= 790 && elapsed < 2500, `504 after ${elapsed} ms; responseTimeout is 800 ms, connectTimeout 200 ms`);
        const line = relay.logger.lines.find((l) => l.message.includes('backend_timeout'));
        assert.match(String((line?.fields as { detail?: string }).detail), /^responseTimeout \(800 ms\)/);
      } finally {
        await relay.close();
      }
    });

    it('a request still waiting for a pooled socket at connectTimeout gets 504 naming connectTimeout, and is not sent once the socket frees', async () => {
      // One socket (the user's agent), held by a first request the backend answers after 1.2 s.
      const seen: string[] = [];
      const slow = await listen((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          seen.push((JSON.parse(body) as { method: string }).method);
          setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{}}'), 1200);
        });
      });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const relay = await relayTo(`${slow.url}/mcp`, { connectTimeout: 300, agent });
      const post = (method: string) =>
        fetch(`${relay.url}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method }),
        });
      try {
        const first = post('tools/list');
        while (seen.length === 0) await sleep(10);
        const started = Date.now();
        const queued = await post('prompts/list');
        const elapsed = Date.now() - started;
        assert.equal(queued.status, 504);
        assert.equal(((await queued.json()) as { error: { data: { reason: string } } }).error.data.reason, 'backend_timeout');
        assert.ok(elapsed >= 290 && elapsed < 1100, `504 after ${elapsed} ms; connectTimeout is 300 ms, the socket frees at 1200 ms`);
        const line = relay.logger.lines.find((l) => l.message.includes('backend_timeout'));
        assert.match(String((line?.fields as { detail?: string }).detail), /^connectTimeout \(300 ms\)/);
        assert.equal((await first).status, 200);
        await sleep(200);
        assert.deepEqual(seen, ['tools/list'], 'the timed-out request never reached the backend');
      } finally {
        await relay.close();
        agent.destroy();
        await slow.close();
      }
    });

    it('a backend that never reads the request gets 504 once connectTimeout has passed, naming connectTimeout in the log', async () => {
      // Accepts and never reads: a large body fills the socket buffers, so the request is never out.
      const sockets = new Set<net.Socket>();
      const deaf = net.createServer((socket) => {
        sockets.add(socket);
        socket.pause();
      });
      await new Promise<void>((resolve) => deaf.listen(0, '127.0.0.1', resolve));
      const relay = await relayTo(`http://127.0.0.1:${(deaf.address() as net.AddressInfo).port}/mcp`, { connectTimeout: 500 });
      try {
        const started = Date.now();
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.request(`${relay.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(Buffer.alloc(64 * 1024 * 1024, 0x20));
        });
        const elapsed = Date.now() - started;
        assert.equal(status, 504);
        assert.ok(elapsed >= 490 && elapsed < 5000, `504 after ${elapsed} ms; connectTimeout is 500 ms`);
        const line = relay.logger.lines.find((l) => l.message.includes('backend_timeout'));
        assert.match(String((line?.fields as { detail?: string }).detail), /^connectTimeout \(500 ms\)/);
      } finally {
        await relay.close();
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => deaf.close(() => resolve()));
      }
    });
  });
});
