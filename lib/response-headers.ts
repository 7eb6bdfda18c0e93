/**
 * What the client receives back from a backend: the backend's headers minus hop-by-hop fields,
 * fields the backend nominated in `Connection`, and any header named like one of this route's
 * secret headers (a backend must not echo a credential). Event streams are marked so that no
 * compression middleware or buffering proxy holds them back.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HOP_BY_HOP_HEADERS, connectionTokens } from './header-rules.js';

/** `eventStream`: the caller's `isEventStream(content-type)`, which it needs too and computes once. */
export function sanitizeResponseHeaders(headers: IncomingHttpHeaders, secretHeaders: ReadonlySet<string>, eventStream: boolean): void {
  const connection = headers.connection;
  // The usual `keep-alive` or `close` names no other header; anything else is parsed.
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') {
    for (const token of connectionTokens([connection])) delete headers[token];
  }
  for (const name of HOP_BY_HOP_HEADERS) delete headers[name];
  for (const name of secretHeaders) delete headers[name];
  if (eventStream) markUnbuffered(headers);
}

export function isEventStream(contentType: string | undefined): boolean {
  return contentType?.trimStart().toLowerCase().startsWith('text/event-stream') ?? false;
}

/** `no-transform` makes compression() skip the response; `X-Accel-Buffering: no` tells nginx the same. */
function markUnbuffered(headers: IncomingHttpHeaders): void {
  const cacheControl = headers['cache-control'];
  if (!cacheControl) headers['cache-control'] = 'no-cache, no-transform';
  else if (!/(^|,)\s*no-transform\s*(,|$)/i.test(cacheControl)) headers['cache-control'] = `${cacheControl}, no-transform`;
  headers['x-accel-buffering'] = 'no';
}
