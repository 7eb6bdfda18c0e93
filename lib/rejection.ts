/**
 * Gateway errors as JSON-RPC bodies in the shape the MCP SDK uses, so SDK clients surface them:
 * `{"jsonrpc":"2.0","error":{"code":-32000,"message":…,"data":{"reason":…,"header":…}},"id":null}`.
 */
import type { ServerResponse } from 'node:http';

/** Implementation-defined JSON-RPC server error, as the SDK uses for transport problems. */
export const GATEWAY_ERROR_CODE = -32000;
/** The SDK's code for an unknown session; its 404 body is reproduced byte for byte. */
export const SESSION_NOT_FOUND_CODE = -32001;

export type RejectReason =
  | 'duplicate_header'
  | 'invalid_header_value'
  | 'header_too_large'
  | 'too_many_headers'
  | 'connection_nominates_forwarded_header'
  | 'duplicate_host'
  | 'absolute_form_target'
  | 'invalid_request_target'
  | 'method_not_allowed'
  | 'unexpected_body'
  | 'host_not_allowed'
  | 'origin_not_allowed'
  | 'backend_unreachable'
  | 'backend_bad_response'
  | 'backend_tls_failed'
  | 'backend_timeout'
  | 'secret_unavailable'
  | 'computed_header_failed'
  | 'credential_unavailable'
  | 'missing_required_header'
  | 'invalid_session_id'
  | 'session_not_found'
  | 'session_limit'
  | 'session_store_unavailable'
  | 'unsupported_transport'
  | 'route_closed'
  | 'internal_error';

/**
 * A request the relay answers itself. `header` is a name, never a value. `detail` goes to the log
 * only (for example which secret is unavailable), never to the client.
 */
export interface Rejection {
  readonly status: number;
  readonly reason: RejectReason;
  readonly message: string;
  readonly header?: string;
  readonly detail?: string;
  /** Seconds, sent as `Retry-After`. */
  readonly retryAfter?: number;
  /** The methods a 405 names in `Allow`. */
  readonly allow?: string;
  /** A session id's keyed hash (never the id), for the log. */
  readonly session?: string;
  /** Logged as a warning: what a DNS-rebinding page sends. */
  readonly suspicious?: boolean;
}

/** What a check answers: go on with `T`'s fields, or the rejection to send. */
export type Checked<T extends object> = ({ readonly ok: true } & T) | Refused;
export interface Refused {
  readonly ok: false;
  readonly rejection: Rejection;
}

export function refuse(rejection: Rejection): Refused {
  return { ok: false, rejection };
}

export function reject(status: number, reason: RejectReason, message: string, header?: string): Rejection {
  return header === undefined ? { status, reason, message } : { status, reason, message, header };
}

/**
 * The answer to an unknown session and to a session whose headers do not match alike: the SDK's own
 * 404 body, so neither the client nor an attacker can tell the two apart, or the relay from the backend.
 */
export function sessionNotFound(): Rejection {
  return reject(404, 'session_not_found', 'Session not found');
}

/**
 * Writes the error unless a response is already under way; then the only honest signal left is to
 * cut the connection, never to append error text to a stream the client is parsing.
 */
export function sendRejection(res: ServerResponse, rejection: Rejection): void {
  if (res.headersSent || res.writableEnded) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', error: rpcError(rejection), id: null });
  // Headers set earlier by the host app (CORS, request ids) stay; none describing another body may.
  for (const name of ['content-encoding', 'content-range', 'etag', 'last-modified']) res.removeHeader(name);
  res.statusCode = rejection.status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  if (rejection.retryAfter !== undefined) res.setHeader('Retry-After', String(rejection.retryAfter));
  if (rejection.allow !== undefined) res.setHeader('Allow', rejection.allow);
  res.end(body);
}

function rpcError(rejection: Rejection): { code: number; message: string; data?: Record<string, string> } {
  if (rejection.reason === 'session_not_found') return { code: SESSION_NOT_FOUND_CODE, message: rejection.message };
  const data: Record<string, string> = { reason: rejection.reason };
  if (rejection.header !== undefined) data.header = rejection.header;
  return { code: GATEWAY_ERROR_CODE, message: rejection.message, data };
}
