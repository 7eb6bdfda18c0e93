import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type https from 'node:https';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { listen, listenHttps, type Listening } from './listen.js';

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
  /**
   * Forgets every session as a restart would: each session's server and transport are closed (open
   * streams end) and the ids are dropped. The HTTP server keeps listening on the same port.
   */
  restart(): Promise<void>;
}

export interface McpBackendOptions {
  /** `true`: tools/call answers with one JSON body; `false`: with an SSE stream. Default false. */
  jsonResponse?: boolean;
  /** The MCP endpoint path. Default `/mcp`. */
  path?: string;
  name?: string;
  /**
   * How a request carrying an Mcp-Session-Id the backend does not know is answered. Default: handed to
   * a fresh SDK transport (which answers 400 "Server not initialized"). `'not-found'`: 404 with the
   * SDK's body, as a real server answers for a session it lost in a restart.
   */
  unknownSession?: 'not-found';
  /**
   * No sessions at all (`sessionIdGenerator: undefined`), like a 2026-07-28 server: a fresh server and
   * transport per POST, no Mcp-Session-Id in any response; GET and DELETE are answered 405. Default false.
   */
  stateless?: boolean;
  /** Serve over HTTPS with these server options (certificate, key, and for mTLS `ca` and `requestCert`). Default: plain HTTP. */
  https?: https.ServerOptions;
}

/** The SDK server transport's answer for an unknown session, byte for byte. */
export const SESSION_NOT_FOUND_BODY = '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}';

/**
 * A real @modelcontextprotocol/sdk McpServer over Streamable HTTP with sessions on (unless `stateless`), on 127.0.0.1:0.
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
  const newServer = (): McpServer => {
    const server = new McpServer({ name: options.name ?? 'test-backend', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.registerTool('headers', { description: 'Returns the request headers seen by the backend' }, (extra) => ({
      content: [{ type: 'text', text: JSON.stringify(extra.requestInfo?.headers ?? {}) }],
    }));
    return server;
  };
  app.all(path, async (req, res) => {
    if (options.stateless) {
      if (req.method !== 'POST') {
        // As the SDK's stateless example: no standalone stream and no session to delete.
        res
          .status(405)
          .set('Allow', 'POST')
          .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
        return;
      }
      const server = newServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: options.jsonResponse ?? false });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) {
      await existing.transport.handleRequest(req, res, req.body);
      return;
    }
    if (sessionId !== undefined && options.unknownSession === 'not-found') {
      res.status(404).type('application/json').send(SESSION_NOT_FOUND_BODY);
      return;
    }
    const server = newServer();
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

  const listening = options.https ? await listenHttps(app, options.https) : await listen(app);
  return {
    ...listening,
    requests,
    notifyAll() {
      for (const { server } of sessions.values()) server.sendToolListChanged();
    },
    sessionIds: () => [...sessions.keys()],
    async restart() {
      const open = [...sessions.values()];
      sessions.clear();
      for (const { server } of open) await server.close().catch(() => {});
    },
    async close() {
      for (const { server } of sessions.values()) await server.close().catch(() => {});
      sessions.clear();
      await listening.close();
    },
  };
}
