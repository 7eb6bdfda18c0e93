/**
 * Real MCP backends of both protocol eras on 127.0.0.1:0, all serving the feature set of
 * mcp-eras-features.ts, each recording every HTTP request it receives:
 *  - `v1`: SDK v1 McpServer over StreamableHTTPServerTransport with sessions (2025-11-25 only).
 *  - `v2-stateless`: SDK v2 `createMcpHandler(factory)` behind `toNodeHandler`: 2026-07-28 per request,
 *    2025 traffic through the SDK's stateless fallback (no session ids, GET and DELETE answered 405).
 *  - `v2-hybrid`: the SDK's documented hybrid: `isLegacyRequest` sends 2025 traffic to a sessionful
 *    NodeStreamableHTTPServerTransport wiring (ids, GET stream, DELETE) and everything else to
 *    `createMcpHandler(factory, { legacy: 'reject' })`.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type https from 'node:https';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isLegacyRequest } from '@modelcontextprotocol/server';
import { listen, listenHttps, type Listening } from './listen.js';
import { SESSION_NOT_FOUND_BODY } from './mcp-backend.js';
import { ToolEvents, featureServerV1, featureServerV2 } from './mcp-eras-features.js';

export type BackendKind = 'v1' | 'v2-stateless' | 'v2-hybrid';
export const BACKEND_KINDS: readonly BackendKind[] = ['v1', 'v2-stateless', 'v2-hybrid'];

export interface EraRequest {
  method: string;
  headers: http.IncomingHttpHeaders;
  /** The body as received ('' for none). */
  body: string;
}

export interface EraBackend extends Listening {
  kind: BackendKind;
  /** The MCP endpoint, `${url}/mcp`. */
  endpoint: string;
  /** Every HTTP request received, in arrival order. */
  requests: EraRequest[];
  /** What the `slow` tool went through, by tag. */
  events: ToolEvents;
  /** Sends tools/list_changed to every 2025 session (GET stream) and every open 2026 `subscriptions/listen`. */
  notifyToolsChanged(): void;
  /** Ids of the live 2025 sessions. */
  sessionIds(): string[];
}

/** One sessionful 2025 server (either SDK), connected to its transport. */
interface LegacySession {
  handleRequest(req: http.IncomingMessage, res: http.ServerResponse, body: unknown): Promise<void>;
  sendToolListChanged(): void;
  close(): Promise<void>;
}

/** Builds a connected session whose transport reports its id to `onId` and its end to `onClosed`. */
type NewSession = (onId: (id: string) => void, onClosed: (id: string) => void) => Promise<LegacySession>;

/**
 * The 2025 session wiring both SDKs document: an initialize gets a fresh server and transport,
 * later requests go to the transport of their `Mcp-Session-Id`, an unknown id gets the SDK's 404.
 */
function sessionfulLegacy(newSession: NewSession) {
  const sessions = new Map<string, LegacySession>();
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: unknown): Promise<void> => {
    const id = req.headers['mcp-session-id'];
    if (id !== undefined) {
      const existing = typeof id === 'string' ? sessions.get(id) : undefined;
      if (existing) return existing.handleRequest(req, res, body);
      res.writeHead(404, { 'content-type': 'application/json' }).end(SESSION_NOT_FOUND_BODY);
      return;
    }
    const session: LegacySession = await newSession(
      (sid) => sessions.set(sid, session),
      (sid) => sessions.delete(sid),
    );
    await session.handleRequest(req, res, body);
  };
  return {
    handle,
    ids: () => [...sessions.keys()],
    notify: () => {
      for (const session of sessions.values()) session.sendToolListChanged();
    },
    close: async () => {
      for (const session of sessions.values()) await session.close().catch(() => {});
      sessions.clear();
    },
  };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The body as the SDK handlers take it pre-parsed; a body that is not JSON is left for them to refuse. */
function parsedBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** What a backend kind plugs into the recording server. */
interface Served extends Pick<EraBackend, 'events' | 'notifyToolsChanged' | 'sessionIds'> {
  dispatch(req: http.IncomingMessage, res: http.ServerResponse, body: unknown): Promise<void>;
  /** Ends open sessions and streams, so the HTTP server can close. */
  close(): Promise<void>;
}

/** Serves /mcp, recording each request (with its body) before `served` handles it. */
async function recordingServer(kind: BackendKind, served: Served, tls: https.ServerOptions | undefined): Promise<EraBackend> {
  const requests: EraRequest[] = [];
  const serve = (handler: http.RequestListener) => (tls ? listenHttps(handler, tls) : listen(handler));
  const listening = await serve((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      requests.push({ method: req.method ?? '', headers: { ...req.headers }, body: raw });
      if (req.url !== '/mcp') {
        res.writeHead(404).end();
        return;
      }
      await served.dispatch(req, res, parsedBody(raw));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  return {
    ...listening,
    kind,
    endpoint: `${listening.url}/mcp`,
    requests,
    events: served.events,
    notifyToolsChanged: served.notifyToolsChanged,
    sessionIds: served.sessionIds,
    async close() {
      await served.close();
      await listening.close();
    },
  };
}

async function v1Backend(tls: https.ServerOptions | undefined): Promise<EraBackend> {
  const events = new ToolEvents();
  const legacy = sessionfulLegacy(async (onId, onClosed) => {
    const server = featureServerV1(events);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: onId, onsessionclosed: onClosed });
    await server.connect(transport);
    return {
      handleRequest: (req, res, body) => transport.handleRequest(req, res, body),
      sendToolListChanged: () => server.sendToolListChanged(),
      close: () => server.close(),
    };
  });
  return recordingServer('v1', { dispatch: legacy.handle, events, notifyToolsChanged: legacy.notify, sessionIds: legacy.ids, close: legacy.close }, tls);
}

async function v2StatelessBackend(tls: https.ServerOptions | undefined): Promise<EraBackend> {
  const events = new ToolEvents();
  const handler = createMcpHandler(() => featureServerV2(events));
  const node = toNodeHandler(handler);
  return recordingServer(
    'v2-stateless',
    {
      dispatch: (req, res, body) => node(req, res, body),
      events,
      notifyToolsChanged: () => handler.notify.toolsChanged(),
      sessionIds: () => [],
      close: () => handler.close(),
    },
    tls,
  );
}

async function v2HybridBackend(tls: https.ServerOptions | undefined): Promise<EraBackend> {
  const events = new ToolEvents();
  const modern = createMcpHandler(() => featureServerV2(events), { legacy: 'reject' });
  const modernNode = toNodeHandler(modern);
  const legacy = sessionfulLegacy(async (onId, onClosed) => {
    const server = featureServerV2(events);
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: onId, onsessionclosed: onClosed });
    await server.connect(transport);
    return {
      handleRequest: (req, res, body) => transport.handleRequest(req, res, body),
      sendToolListChanged: () => server.sendToolListChanged(),
      close: () => server.close(),
    };
  });
  return recordingServer(
    'v2-hybrid',
    {
      dispatch: async (req, res, body) => {
        // The SDK's own routing decision; the body was read already, so it is handed over parsed.
        const legacyTraffic = await isLegacyRequest(await toWebRequest(req, body), body);
        return legacyTraffic ? legacy.handle(req, res, body) : modernNode(req, res, body);
      },
      events,
      notifyToolsChanged: () => {
        legacy.notify();
        modern.notify.toolsChanged();
      },
      sessionIds: legacy.ids,
      close: async () => {
        await legacy.close();
        await modern.close();
      },
    },
    tls,
  );
}

/** One of the era backends on 127.0.0.1, over HTTPS when `tls` (a certificate and key) is given. */
export function eraBackend(kind: BackendKind, tls?: https.ServerOptions): Promise<EraBackend> {
  switch (kind) {
    case 'v1':
      return v1Backend(tls);
    case 'v2-stateless':
      return v2StatelessBackend(tls);
    case 'v2-hybrid':
      return v2HybridBackend(tls);
  }
}
