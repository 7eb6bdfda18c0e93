/**
 * Structural checks on the incoming request that Node's parser lets through but a proxy must not:
 * a header block so large Node silently dropped fields from `req.headers`, duplicate `Host`, and an
 * absolute-form request target.
 */
import type { IncomingMessage } from 'node:http';
import { reject, type Rejection } from './error-response.js';

/**
 * More header lines than this is refused with 431. Node keeps only ~1000 fields in `req.headers` and
 * drops the rest silently while `rawHeaders` still has them: a split view we never want to act on.
 */
export const MAX_HEADER_LINES = 500;

/**
 * Every line of header `name` (lower-case) as received. `req.headers` has already joined repeated
 * lines or kept only the first; `headersDistinct` keeps them all. Requests from the node:http2
 * compatibility API have no `headersDistinct`, so the raw list is read instead.
 */
export function headerLines(req: IncomingMessage, name: string): string[] {
  if (singleLines(req)) {
    const value = req.headers[name];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  }
  const distinct = (req as Partial<Pick<IncomingMessage, 'headersDistinct'>>).headersDistinct;
  if (distinct) return distinct[name] ?? [];
  const lines: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) lines.push(req.rawHeaders[i + 1]!);
  }
  return lines;
}

/**
 * True when no name came on more than one line: as many raw lines as distinct names. Then
 * `req.headers` holds each line as sent, and the relay need not build `headersDistinct`, which
 * allocates an array per header on every request.
 */
function singleLines(req: IncomingMessage): boolean {
  const headers = req.headers;
  // The checks of one request ask several times in a row; remember the last answer.
  if (headers === lastHeaders) return lastSingle;
  let names = 0;
  for (const name in headers) if (Object.hasOwn(headers, name)) names++;
  lastHeaders = headers;
  lastSingle = names * 2 === req.rawHeaders.length;
  return lastSingle;
}

let lastHeaders: IncomingMessage['headers'] | undefined;
let lastSingle = false;

export function checkHeaderCount(req: IncomingMessage): Rejection | undefined {
  if (req.rawHeaders.length / 2 > MAX_HEADER_LINES) {
    return reject(431, 'too_many_headers', `Request header fields too large: more than ${MAX_HEADER_LINES} header lines`);
  }
  return undefined;
}

export function checkRequestShape(req: IncomingMessage): Rejection | undefined {
  const tooMany = checkHeaderCount(req);
  if (tooMany) return tooMany;
  // RFC 9112 §3.2: more than one Host line MUST get 400; Node accepts it and keeps the first.
  if (headerLines(req, 'host').length > 1) {
    return reject(400, 'duplicate_host', 'Bad request: more than one Host header', 'host');
  }
  // A reverse proxy for MCP has no use for absolute-form (`GET http://evil/x`); Express keeps the
  // scheme and authority in req.url after stripping the mount path.
  if (!req.url?.startsWith('/')) {
    return reject(400, 'absolute_form_target', 'Bad request: the request target must be a path (origin-form)');
  }
  return undefined;
}
