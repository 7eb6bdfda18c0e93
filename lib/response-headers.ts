/**
 * What the client receives back from a backend. Deny by default, as on the request side: only the
 * names an MCP client needs (`RESPONSE_HEADERS`, plus a route's `responseHeaders`) pass, so a
 * backend's `Set-Cookie; Path=/`, `Strict-Transport-Security: max-age=0` or `Clear-Site-Data` never
 * acts on the gateway's origin. A header the host app already set (its CORS headers, a request id)
 * is never overwritten, and a header whose value carries one of the route's secret values (echoed
 * under any name) is dropped. Event streams are marked so that no compression middleware or
 * buffering proxy holds them back.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { connectionTokens } from './header-rules.js';

/**
 * Response headers forwarded by default: the body's description and caching, the MCP session and
 * version, and what tells a client to wait, authenticate or go elsewhere. Hop-by-hop fields are not
 * here: Node frames the response itself.
 */
export const RESPONSE_HEADERS: readonly string[] = Object.freeze([
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'mcp-session-id',
  'mcp-protocol-version',
  'cache-control',
  'expires',
  'etag',
  'last-modified',
  'vary',
  'retry-after',
  'www-authenticate',
  'location',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
]);

/** What a response may carry on one route. */
export interface ResponsePolicy {
  /** Lower-case names forwarded: the defaults and the route's `responseHeaders`, minus its secret header names. */
  readonly allowed: ReadonlySet<string>;
}

/**
 * Filters `headers` (the backend's, in place) down to what the client may see. `secrets` are this
 * request's secret values; returns the names dropped because their value carried one.
 */
export function filterResponseHeaders(
  headers: IncomingHttpHeaders,
  policy: ResponsePolicy,
  res: ServerResponse,
  secrets: readonly string[],
  eventStream: boolean,
): string[] {
  const connection = headers.connection;
  // A name the backend nominated in Connection was meant for this hop only.
  const nominated = connection === undefined || connection === 'keep-alive' || connection === 'close' ? undefined : connectionTokens([connection]);
  let echoed: string[] | undefined;
  for (const name of Object.keys(headers)) {
    if (!policy.allowed.has(name) || res.hasHeader(name) || nominated?.includes(name)) {
      delete headers[name];
    } else if (secrets.length > 0 && carriesSecret(headers[name], secrets)) {
      delete headers[name];
      (echoed ??= []).push(name);
    }
  }
  if (eventStream) markUnbuffered(headers, res);
  return echoed ?? [];
}

function carriesSecret(value: string | string[] | undefined, secrets: readonly string[]): boolean {
  if (value === undefined) return false;
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => secrets.some((secret) => v.includes(secret)));
}

export function isEventStream(contentType: string | undefined): boolean {
  return contentType?.trimStart().toLowerCase().startsWith('text/event-stream') ?? false;
}

/** `no-transform` makes compression() skip the response; `X-Accel-Buffering: no` tells nginx the same. */
function markUnbuffered(headers: IncomingHttpHeaders, res: ServerResponse): void {
  // The host app's Cache-Control stays the one sent, with no-transform added.
  const own = res.getHeader('cache-control');
  const cacheControl = own === undefined ? headers['cache-control'] : String(own);
  const marked = !cacheControl ? 'no-cache, no-transform' : /(^|,)\s*no-transform\s*(,|$)/i.test(cacheControl) ? cacheControl : `${cacheControl}, no-transform`;
  if (own === undefined) headers['cache-control'] = marked;
  else res.setHeader('cache-control', marked);
  headers['x-accel-buffering'] = 'no';
}

/**
 * A status line Node's server can write and a client can trust: a final status of 200–599 and a
 * reason phrase of HTAB, SP, visible ASCII and obs-text. Node's client accepts `000`, `042` on an
 * event stream or a NUL in the reason; `writeHead` would then throw out of an event handler.
 */
export function invalidStatusLine(status: number | undefined, reason: string | undefined): string | undefined {
  if (status === undefined || !Number.isInteger(status) || status < 200 || status > 599) return `status ${String(status)} is not a final status of 200-599`;
  if (reason && /[^\t\x20-\x7e\x80-\xff]/.test(reason)) return 'the reason phrase has control characters';
  return undefined;
}
