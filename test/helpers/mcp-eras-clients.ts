/**
 * The SDK clients of both eras behind one small interface, so one scenario runs unchanged with each:
 *  - `v1`: SDK v1 `@modelcontextprotocol/sdk` Client (2025-11-25).
 *  - `v2`: SDK v2 `@modelcontextprotocol/client` Client with its default negotiation (speaks 2025-11-25).
 *  - `v2-2026`: SDK v2 Client pinned to 2026-07-28 (`server/discover`, no sessions, standard headers).
 * Each records every HTTP request it sends and the status and content type it got back, and every
 * notification and server→client request it receives. All answer sampling and elicitation.
 */
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Client, LOG_LEVEL_META_KEY, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ELICITED, SAMPLED_TEXT } from './mcp-eras-features.js';

export type ClientKind = 'v1' | 'v2' | 'v2-2026';
export const CLIENT_KINDS: readonly ClientKind[] = ['v1', 'v2', 'v2-2026'];
export const MODERN_VERSION = '2026-07-28';

/** One HTTP request as the client sent it, and what came back. */
export interface ClientLeg {
  method: string;
  /** Lower-case names, as fetch sent them. */
  headers: Record<string, string>;
  body: string;
  status?: number;
  contentType?: string;
  /** Set when fetch itself failed (aborted, connection refused). */
  error?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Ask for progress notifications (recorded in `received`). */
  progress?: boolean;
}

export interface ToolResult {
  content?: { type: string; text?: string }[];
  structuredContent?: unknown;
  isError?: boolean;
}

export interface EraClient {
  readonly kind: ClientKind;
  /** Every HTTP request, in the order fetch was called. */
  readonly legs: ClientLeg[];
  /** Notifications and server→client requests, in arrival order: `progress 1/2`, `log …`, `tools/list_changed`, `sampling`, `elicitation`. */
  readonly received: string[];
  connect(): Promise<void>;
  /** `modern` after a 2026-07-28 connect, `legacy` after an initialize. */
  era(): 'legacy' | 'modern';
  protocolVersion(): string | undefined;
  sessionId(): string | undefined;
  /** The `server/discover` result of a pinned connect. */
  discovered(): { supportedVersions?: string[] } | undefined;
  listTools(): Promise<string[]>;
  callTool(name: string, args: Record<string, unknown>, options?: CallOptions): Promise<ToolResult>;
  readResource(uri: string): Promise<unknown>;
  getPrompt(name: string, args: Record<string, string>): Promise<unknown>;
  /** 2026: opens `subscriptions/listen` for tools/list_changed; 2025: nothing (the GET stream carries it). */
  listen(): Promise<{ close(): Promise<void> }>;
  /** DELETE of the session, if there is one. */
  terminate(): Promise<void>;
  close(): Promise<void>;
}

/** A fetch for the SDK transports that records each request and its response head. */
export function recordingFetch(legs: ClientLeg[]): typeof fetch {
  return async (input, init) => {
    const leg: ClientLeg = {
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: typeof init?.body === 'string' ? init.body : '',
    };
    legs.push(leg);
    try {
      const response = await fetch(input, init);
      leg.status = response.status;
      leg.contentType = response.headers.get('content-type') ?? '';
      return response;
    } catch (err) {
      leg.error = err instanceof Error ? err.name : String(err);
      throw err;
    }
  };
}

/** The GET stream ends when the session does: a reconnect attempt would only muddy the backend's log. */
const NO_RECONNECT = { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 };
const CLIENT_INFO = { name: 'era-client', version: '1.0.0' };
const CLIENT_CAPABILITIES = { sampling: {}, elicitation: {} };
const SAMPLING_ANSWER = { model: 'test-model', role: 'assistant' as const, content: { type: 'text' as const, text: SAMPLED_TEXT } };
const ELICIT_ANSWER = { action: 'accept' as const, content: { ...ELICITED } };

const progressRecorder = (received: string[], options?: CallOptions) =>
  options?.progress ? (p: { progress: number; total?: number }) => void received.push(`progress ${p.progress}/${p.total ?? '?'}`) : undefined;

function v1Client(url: string, headers: Record<string, string>): EraClient {
  const legs: ClientLeg[] = [];
  const received: string[] = [];
  const transport = new TransportV1(new URL(url), { requestInit: { headers }, fetch: recordingFetch(legs), reconnectionOptions: NO_RECONNECT });
  const client = new ClientV1(CLIENT_INFO, { capabilities: CLIENT_CAPABILITIES });
  client.setRequestHandler(CreateMessageRequestSchema, () => {
    received.push('sampling');
    return SAMPLING_ANSWER;
  });
  client.setRequestHandler(ElicitRequestSchema, () => {
    received.push('elicitation');
    return ELICIT_ANSWER;
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void received.push(`log ${String(n.params.data)}`));
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void received.push('tools/list_changed'));
  return {
    kind: 'v1',
    legs,
    received,
    connect: () => client.connect(transport),
    era: () => 'legacy',
    protocolVersion: () => transport.protocolVersion,
    sessionId: () => transport.sessionId,
    discovered: () => undefined,
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    callTool: async (name, args, options) =>
      (await client.callTool({ name, arguments: args }, undefined, { signal: options?.signal, onprogress: progressRecorder(received, options) })) as ToolResult,
    readResource: (uri) => client.readResource({ uri }),
    getPrompt: (name, args) => client.getPrompt({ name, arguments: args }),
    listen: () => Promise.resolve({ close: () => Promise.resolve() }),
    terminate: async () => {
      if (transport.sessionId !== undefined) await transport.terminateSession();
    },
    close: () => client.close(),
  };
}

function v2Client(kind: 'v2' | 'v2-2026', url: string, headers: Record<string, string>): EraClient {
  const legs: ClientLeg[] = [];
  const received: string[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
    fetch: recordingFetch(legs),
    reconnectionOptions: NO_RECONNECT,
  });
  const client = new Client(CLIENT_INFO, {
    capabilities: CLIENT_CAPABILITIES,
    ...(kind === 'v2-2026' && { versionNegotiation: { mode: { pin: MODERN_VERSION } } }),
  });
  client.setRequestHandler('sampling/createMessage', () => {
    received.push('sampling');
    return SAMPLING_ANSWER;
  });
  client.setRequestHandler('elicitation/create', () => {
    received.push('elicitation');
    return ELICIT_ANSWER;
  });
  client.setNotificationHandler('notifications/message', (n) => void received.push(`log ${String(n.params.data)}`));
  client.setNotificationHandler('notifications/tools/list_changed', () => void received.push('tools/list_changed'));
  const modern = () => client.getProtocolEra() === 'modern';
  return {
    kind,
    legs,
    received,
    connect: () => client.connect(transport),
    era: () => (modern() ? 'modern' : 'legacy'),
    protocolVersion: () => transport.protocolVersion,
    sessionId: () => transport.sessionId,
    discovered: () => client.getDiscoverResult(),
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    callTool: async (name, args, options) => {
      // A 2026 server logs only at the level the request's own `_meta` names; the client sets none by itself.
      const _meta = modern() ? { [LOG_LEVEL_META_KEY]: 'debug' } : undefined;
      return client.callTool({ name, arguments: args, ...(_meta && { _meta }) }, { signal: options?.signal, onprogress: progressRecorder(received, options) });
    },
    readResource: (uri) => client.readResource({ uri }),
    getPrompt: (name, args) => client.getPrompt({ name, arguments: args }),
    listen: async () => (modern() ? client.listen({ toolsListChanged: true }) : { close: () => Promise.resolve() }),
    terminate: async () => {
      if (transport.sessionId !== undefined) await transport.terminateSession();
    },
    close: () => client.close(),
  };
}

/** A client of `kind` for the MCP endpoint `url`, sending `headers` on every request. */
export function eraClient(kind: ClientKind, url: string, headers: Record<string, string>): EraClient {
  return kind === 'v1' ? v1Client(url, headers) : v2Client(kind, url, headers);
}

export interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * A 2026-07-28 request made by hand, for what the SDK client will not send: the `_meta` envelope and
 * the standard headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` for tools/call) are set as a
 * client must; `headers` adds or overrides lines (an `Mcp-Param-*` value exactly as given).
 */
export async function modernRequest(url: string, method: string, params: Record<string, unknown>, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
    'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  const name: Record<string, string> = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN_VERSION,
      'mcp-method': method,
      ...name,
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: envelope } }),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
}
