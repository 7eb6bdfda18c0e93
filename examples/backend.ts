/**
 * Small, self-contained MCP backends for the demo, each recording the headers of every HTTP request it
 * receives: `startBackend`, an SDK v1 McpServer over Streamable HTTP with sessions (MCP 2025-11-25), and
 * `startModernBackend`, an SDK v2 `createMcpHandler` server (MCP 2026-07-28, no sessions).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import { z } from 'zod';

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

/** An Express app that parses JSON bodies and records each request as a leg. */
function recordingApp(legs: ReceivedLeg[]): express.Express {
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    const body = req.body as { method?: unknown } | undefined;
    const leg = req.method === 'POST' ? (typeof body?.method === 'string' ? body.method : 'POST') : req.method === 'GET' ? 'GET stream' : req.method;
    legs.push({ leg, headers: { ...req.headers } });
    next();
  });
  return app;
}

/** Serves `app` on 127.0.0.1; `cleanup` ends what the server keeps open before it closes. */
async function serve(name: string, app: express.Express, legs: ReceivedLeg[], cleanup: () => Promise<void>): Promise<DemoBackend> {
  const httpServer = http.createServer(app);
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    name,
    url: `http://127.0.0.1:${port}/mcp`,
    legs,
    async close() {
      await cleanup();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** Names the custom headers a request carried (never their values). */
function customHeaders(names: Iterable<string>): string {
  return [...names].filter((h) => h.startsWith('x-') || h === 'authorization').join(', ');
}

export async function startBackend(name: string): Promise<DemoBackend> {
  const legs: ReceivedLeg[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  const app = recordingApp(legs);
  app.all('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) {
      await existing.transport.handleRequest(req, res, req.body);
      return;
    }
    const server = new McpServer({ name, version: '1.0.0' });
    server.registerTool('whoami', { description: 'Names the custom headers this backend received' }, (extra) => ({
      content: [{ type: 'text', text: `${name} received: ${customHeaders(Object.keys(extra.requestInfo?.headers ?? {}))}` }],
    }));
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
  return serve(name, app, legs, async () => {
    for (const { server } of sessions.values()) await server.close().catch(() => {});
    sessions.clear();
  });
}

/**
 * An SDK v2 server as the SDK sets one up by default (`createMcpHandler`): 2026-07-28 per request. Its
 * `whoami` tool takes a `region` argument that 2026 clients mirror into the `Mcp-Param-Region` header.
 */
export async function startModernBackend(name: string): Promise<DemoBackend> {
  const legs: ReceivedLeg[] = [];
  const handler = createMcpHandler(({ requestInfo }) => {
    const server = new McpServerV2({ name, version: '1.0.0' });
    const input = z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }) });
    server.registerTool('whoami', { description: 'Names the custom headers this backend received', inputSchema: input }, ({ region }) => ({
      content: [{ type: 'text', text: `${name} received: ${customHeaders(requestInfo?.headers.keys() ?? [])} (region ${region})` }],
    }));
    return server;
  });
  const node = toNodeHandler(handler);
  const app = recordingApp(legs);
  app.all('/mcp', (req, res) => void node(req, res, req.body));
  return serve(name, app, legs, () => handler.close());
}
