/**
 * What an upstream failure becomes: the rejection a client gets (a timeout, an invalid HTTP response,
 * a failed TLS handshake, a refused or closed connection), and the error's code for the log line.
 * Codes only, never messages: a message can quote a header value or a certificate name.
 */
import type { ServerResponse } from 'node:http';
import { reject, type Rejection } from './rejection.js';
import { BackendTimeout, type RelayRequest } from './relay-request.js';
import { describeTlsFailure } from './tls-failure.js';

export function backendFailure(err: unknown, state: RelayRequest | undefined): Rejection {
  if (state && (state.timedOut || err instanceof BackendTimeout)) return state.timeoutRejection();
  if (errorCode(err)?.startsWith('HPE_')) {
    return reject(502, 'backend_bad_response', 'Bad gateway: the backend sent an invalid HTTP response');
  }
  const tlsFailure = describeTlsFailure(err);
  if (tlsFailure) return { ...reject(502, 'backend_tls_failed', 'Bad gateway: the TLS connection to the backend failed'), detail: tlsFailure };
  return reject(502, 'backend_unreachable', 'Bad gateway: the backend refused or closed the connection');
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** http-proxy-middleware's error handler gets the socket instead for an upgrade: it has no response to answer on. */
export function isServerResponse(res: unknown): res is ServerResponse {
  return typeof (res as ServerResponse).setHeader === 'function';
}
