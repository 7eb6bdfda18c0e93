/**
 * Asks a backend whether it serves MCP, in whichever era it speaks, the way ToolHive's per-backend
 * revision detection does (its #6013):
 *  1. POST `server/discover` with the 2026-07-28 headers. A result: healthy, era 2026-07-28.
 *  2. An answer that shows a 2025-era server (400, 404 or 405, or a JSON-RPC error such as "Server
 *     not initialized" or method not found): POST `initialize` as a 2025-11-25 client. A result:
 *     healthy, era 2025-11-25; a session id it issued is ended at once with DELETE, so probes leave
 *     no session behind.
 *  3. Any other status (401, 403, 5xx, ...): `bad_status`, without the second request, since a 2026
 *     server that refuses the probe would refuse an initialize too.
 * Every request carries the headers given (the route's static and secret ones) and the protocol
 * headers; nothing from any client request.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { STATELESS_PROTOCOL_VERSION } from './protocol-era.js';
import type { HealthEra, HealthReason } from './health-options.js';
import { exchange, type Answer, type Exchange } from './health-wire.js';

/** The revision a 2025-era probe asks for; the backend may answer with an older one it supports. */
const SESSION_PROTOCOL_VERSION = '2025-11-25';
const CLIENT_INFO = { name: 'mcp-header-relay-health', version: '1' };
const REVISION = /^\d{4}-\d{2}-\d{2}$/;
/** What a 2025-only server answers to a request it cannot place (no session, unknown method, wrong version). */
const SESSION_ERA_STATUSES: ReadonlySet<number> = new Set([400, 404, 405]);

export type ProbeOutcome =
  | { readonly ok: true; readonly era: HealthEra; readonly status: number; /** A 2025 session was opened and not ended. */ readonly sessionLeft?: boolean }
  | { readonly ok: false; readonly reason: HealthReason; readonly status?: number; readonly era?: HealthEra };

/** Probes once. Rejects with the connection's error (or AbortError at the deadline) for the caller to classify. */
export async function probeBackend(target: Exchange, headers: OutgoingHttpHeaders): Promise<ProbeOutcome> {
  const discover = await exchange(target, 'POST', { ...headers, ...jsonHeaders(), ...discoverHeaders() }, discoverBody());
  if (isSuccess(discover) && discover.message?.result !== undefined) return { ok: true, era: STATELESS_PROTOCOL_VERSION, status: discover.status };
  if (isSuccess(discover) && discover.message === undefined) return { ok: false, reason: 'bad_response', status: discover.status };
  if (!isSuccess(discover) && !SESSION_ERA_STATUSES.has(discover.status)) return { ok: false, reason: 'bad_status', status: discover.status };

  const initialize = await exchange(target, 'POST', { ...headers, ...jsonHeaders() }, initializeBody());
  const result = initialize.message?.result as { protocolVersion?: unknown } | undefined;
  if (!isSuccess(initialize)) return { ok: false, reason: 'bad_status', status: initialize.status };
  if (result === undefined) return { ok: false, reason: 'bad_response', status: initialize.status };
  const outcome = { ok: true, era: SESSION_PROTOCOL_VERSION, status: initialize.status } as const;
  if (initialize.sessionId === undefined) return outcome;
  const version = typeof result.protocolVersion === 'string' && REVISION.test(result.protocolVersion) ? result.protocolVersion : SESSION_PROTOCOL_VERSION;
  const ended = await endSession(target, headers, initialize.sessionId, version);
  return ended ? outcome : { ...outcome, sessionLeft: true };
}

/** DELETE of the probe's session; a backend that answers 405 keeps no sessions to end. */
async function endSession(target: Exchange, headers: OutgoingHttpHeaders, sessionId: string, version: string): Promise<boolean> {
  try {
    const answer = await exchange(target, 'DELETE', { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': version });
    return isSuccess(answer) || answer.status === 404 || answer.status === 405;
  } catch {
    // The initialize was answered: the backend is up. The caller logs the session left behind.
    return false;
  }
}

function isSuccess(answer: Answer): boolean {
  return answer.status >= 200 && answer.status <= 299;
}

function jsonHeaders(): OutgoingHttpHeaders {
  return { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
}

/** SEP-2243: every 2026 POST names its revision and method in headers that match the body. */
function discoverHeaders(): OutgoingHttpHeaders {
  return { 'mcp-protocol-version': STATELESS_PROTOCOL_VERSION, 'mcp-method': 'server/discover' };
}

function discoverBody(): string {
  const _meta = {
    'io.modelcontextprotocol/protocolVersion': STATELESS_PROTOCOL_VERSION,
    'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta } });
}

function initializeBody(): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: SESSION_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
  });
}
