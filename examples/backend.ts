/**
 * A small, self-contained MCP backend for the demo: a real @modelcontextprotocol/sdk McpServer over
 * Streamable HTTP (sessions on) that records the headers of every HTTP request it receives.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** One HTTP request the backend received: `leg` is the JSON-RPC method for POSTs, else the HTTP method. */
export interface ReceivedLeg {
  leg: string;
  headers: http.IncomingHttpHeaders;
}

export interface DemoBackend {
  name: string;
  /** The MCP endpoint, e.g. `http://127.0.0.1:PORT/mcp`. */
  url: string;
  legs: ReceivedLeg[];
  close(): Promise<void>;
}

export async function startBackend(name: string): Promise<DemoBackend> {
  const legs: ReceivedLeg[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();

  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    const body = req.body as { method?: unknown } | undefined;
    const leg = req.method === 'POST' ? (typeof body?.method === 'string' ? body.method : 'POST') : req.method === 'GET' ? 'GET stream' : req.method;
    legs.push({ leg, headers: { ...req.headers } });
    next();
  });
  app.all('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) {
      await existing.transport.handleRequest(req, res, req.body);
      return;
    }
    const server = new McpServer({ name, version: '1.0.0' });
    server.registerTool('whoami', { description: 'Names the custom headers this backend received' }, (extra) => {
      const seen = Object.keys(extra.requestInfo?.headers ?? {}).filter((h) => h.startsWith('x-') || h === 'authorization');
      return { content: [{ type: 'text', text: `${name} received: ${seen.join(', ')}` }] };
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  const httpServer = http.createServer(app);
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    name,
    url: `http://127.0.0.1:${port}/mcp`,
    legs,
    async close() {
      for (const { server } of sessions.values()) await server.close().catch(() => {});
      sessions.clear();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
