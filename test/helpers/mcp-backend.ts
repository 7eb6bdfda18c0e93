import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { listen, type Listening } from './listen.js';

export interface McpBackendRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface McpBackend extends Listening {
  /** Every HTTP request the backend received, in order. */
  requests: McpBackendRequest[];
  /** Sends notifications/tools/list_changed to every open session (delivered on the GET stream). */
  notifyAll(): void;
  /** Ids of the live sessions. */
  sessionIds(): string[];
}

export interface McpBackendOptions {
  /** `true`: tools/call answers with one JSON body; `false`: with an SSE stream. Default false. */
  jsonResponse?: boolean;
  /** The MCP endpoint path. Default `/mcp`. */
  path?: string;
  name?: string;
}

/**
 * A real @modelcontextprotocol/sdk McpServer over Streamable HTTP with sessions on, on 127.0.0.1:0.
 * Tools:
 *  - `headers`: returns the request headers the backend saw on that tools/call, as JSON text.
 *  - `echo`: returns its `text` argument.
 */
export async function mcpBackend(options: McpBackendOptions = {}): Promise<McpBackend> {
  const path = options.path ?? '/mcp';
  const requests: McpBackendRequest[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();

  const app = express();
  app.use((req, _res, next) => {
    requests.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    next();
  });
  app.use(express.json());
  app.all(path, async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) {
      await existing.transport.handleRequest(req, res, req.body);
      return;
    }
    const server = new McpServer({ name: options.name ?? 'test-backend', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.registerTool('headers', { description: 'Returns the request headers seen by the backend' }, (extra) => ({
      content: [{ type: 'text', text: JSON.stringify(extra.requestInfo?.headers ?? {}) }],
    }));
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: options.jsonResponse ?? false,
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

  const listening = await listen(app);
  return {
    ...listening,
    requests,
    notifyAll() {
      for (const { server } of sessions.values()) server.sendToolListChanged();
    },
    sessionIds: () => [...sessions.keys()],
    async close() {
      for (const { server } of sessions.values()) await server.close().catch(() => {});
      sessions.clear();
      await listening.close();
    },
  };
}
