/**
 * The two MCP backends of `serve --demo`, made with the MCP TypeScript SDK (v1, loaded only here, so the
 * command needs it only for the demo) on 127.0.0.1: `projects` keeps 2025-11-25 sessions, `search` is
 * stateless. Each has a `whoami` tool answering with the names of the headers that reached it (names
 * only: the demo shows what the relay forwards without printing a value).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { loadOptional } from './optional-peer.js';

export interface DemoBackend {
  /** The MCP endpoint, `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  close(): Promise<void>;
}

interface Sdk {
  readonly McpServer: typeof McpServer;
  readonly Transport: typeof StreamableHTTPServerTransport;
}

function loadSdk(): Promise<Sdk> {
  return loadOptional(async () => {
    const [server, transport] = await Promise.all([
      import('@modelcontextprotocol/sdk/server/mcp.js'),
      import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    ]);
    return { McpServer: server.McpServer, Transport: transport.StreamableHTTPServerTransport };
  }, 'serve --demo runs its backends on the MCP TypeScript SDK: npm install @modelcontextprotocol/sdk');
}

/** Header names a backend shows: those a gateway adds or forwards, and the client's own credentials, to show they did not arrive. */
const SHOWN = /^(x-|authorization$|cookie$)/;

function mcpServer(sdk: Sdk, name: string): McpServer {
  const server = new sdk.McpServer({ name, version: '1.0.0' });
  server.registerTool('whoami', { description: 'Names the headers this backend received from the gateway (never their values)' }, (extra) => {
    const names = Object.keys(extra.requestInfo?.headers ?? {})
      .filter((h) => SHOWN.test(h))
      .sort();
    return { content: [{ type: 'text', text: `${name} received: ${names.join(', ') || '(no custom headers)'}` }] };
  });
  return server;
}

/** Starts both demo backends; throws MissingDependencyError without the SDK. */
export async function startDemoBackends(): Promise<{ projects: DemoBackend; search: DemoBackend }> {
  const sdk = await loadSdk();
  return { projects: await sessionBackend(sdk), search: await statelessBackend(sdk) };
}

/** 2025-11-25 with sessions: initialize creates one, later requests name it in Mcp-Session-Id. */
function sessionBackend(sdk: Sdk): Promise<DemoBackend> {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  return listen(
    async (req, res) => {
      const id = req.headers['mcp-session-id'];
      const session = typeof id === 'string' ? sessions.get(id) : undefined;
      if (session) return session.transport.handleRequest(req, res);
      const server = mcpServer(sdk, 'projects');
      const transport: StreamableHTTPServerTransport = new sdk.Transport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => void sessions.set(sessionId, { transport, server }),
        onsessionclosed: (sessionId) => void sessions.delete(sessionId),
      });
      await server.connect(transport);
      return transport.handleRequest(req, res);
    },
    async () => {
      await Promise.all([...sessions.values()].map(({ server }) => server.close().catch(() => undefined)));
      sessions.clear();
    },
  );
}

/** Stateless: a server and transport per request, as the SDK's stateless example does. */
function statelessBackend(sdk: Sdk): Promise<DemoBackend> {
  return listen(async (req, res) => {
    const server = mcpServer(sdk, 'search');
    const transport = new sdk.Transport({ sessionIdGenerator: undefined });
    res.once('close', () => void Promise.allSettled([transport.close(), server.close()]));
    await server.connect(transport);
    return transport.handleRequest(req, res);
  });
}

async function listen(handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>, cleanup?: () => Promise<void>): Promise<DemoBackend> {
  const server = http.createServer((req, res) => {
    if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
    /* c8 ignore next 4: the SDK transport answers a bad request itself; this catches a fault of the SDK, which no test can cause */
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'demo backend failed' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async close() {
      await cleanup?.();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
