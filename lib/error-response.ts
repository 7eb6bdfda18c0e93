/**
 * Gateway errors as JSON-RPC bodies in the shape the MCP SDK uses, so SDK clients surface them:
 * `{"jsonrpc":"2.0","error":{"code":-32000,"message":…,"data":{"reason":…,"header":…}},"id":null}`.
 */
import type { ServerResponse } from 'node:http';

/** Implementation-defined JSON-RPC server error, as the SDK uses for transport problems. */
export const GATEWAY_ERROR_CODE = -32000;

export type RejectReason =
  | 'duplicate_header'
  | 'invalid_header_value'
  | 'header_too_large'
  | 'too_many_headers'
  | 'connection_nominates_forwarded_header'
  | 'duplicate_host'
  | 'absolute_form_target'
  | 'backend_unreachable'
  | 'backend_bad_response'
  | 'backend_timeout'
  | 'secret_unavailable'
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
}

export function reject(status: number, reason: RejectReason, message: string, header?: string): Rejection {
  return header === undefined ? { status, reason, message } : { status, reason, message, header };
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
  const data: Record<string, string> = { reason: rejection.reason };
  if (rejection.header !== undefined) data.header = rejection.header;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: { code: GATEWAY_ERROR_CODE, message: rejection.message, data },
    id: null,
  });
  // Headers set earlier by the host app (CORS, request ids) stay; none describing another body may.
  for (const name of ['content-encoding', 'content-range', 'etag', 'last-modified']) res.removeHeader(name);
  res.statusCode = rejection.status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
