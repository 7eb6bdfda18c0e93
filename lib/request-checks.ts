/**
 * The refusals before anything else (steps a–c of forwarding-policy.ts). Structural checks on the
 * incoming request that Node's parser lets through but a proxy must not:
 * a method MCP does not use, a header block so large Node silently dropped fields from
 * `req.headers`, duplicate `Host`, a request target that is not a plain path, and a body on a
 * request that has none in MCP.
 *
 * Every "how many lines" question is answered from `req.rawHeaders`, what the client sent: other
 * middleware may add, replace or delete properties of `req.headers`, and no decision may depend on
 * what it did.
 */
import type { IncomingMessage } from 'node:http';
import type { ForwardedHeaders } from './capture.js';
import type { ProxyConfig } from './config.js';
import { usesCaptured } from './forwarding-policy.js';
import {
  CONNECTION_OPTIONS,
  CREDENTIAL_HEADERS,
  PROTOCOL_LISTS,
  TRACE_CONTEXT_HEADERS,
  connectionTokens,
  displayName,
  invalidValueReason,
  isProtocolHeader,
  restrictedReason,
} from './header-rules.js';
import { checkRebinding } from './rebinding-guard.js';
import { reject, type Rejection } from './rejection.js';

/**
 * More header lines than this is refused with 431. Node keeps only ~1000 fields in `req.headers` and
 * drops the rest silently while `rawHeaders` still has them: a split view we never want to act on.
 */
export const MAX_HEADER_LINES = 500;

/** The methods of the Streamable HTTP transport; anything else is answered 405 with this list. */
export const ALLOWED_METHODS = 'GET, POST, DELETE';

/** How many lines named `name` (lower-case) the client sent. */
export function sentLineCount(req: IncomingMessage, name: string): number {
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const sent = raw[i]!;
    if (sent.length === name.length && sent.toLowerCase() === name) count++;
  }
  return count;
}

/** Every value the client sent for header `name` (lower-case), one per line. */
export function sentLines(req: IncomingMessage, name: string): string[] {
  const raw = req.rawHeaders;
  const lines: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const sent = raw[i]!;
    if (sent.length === name.length && sent.toLowerCase() === name) lines.push(raw[i + 1]!);
  }
  return lines;
}

export function checkHeaderCount(req: IncomingMessage): Rejection | undefined {
  if (req.rawHeaders.length / 2 > MAX_HEADER_LINES) {
    return reject(431, 'too_many_headers', `Request header fields too large: more than ${MAX_HEADER_LINES} header lines`);
  }
  return undefined;
}

export function checkRequestShape(req: IncomingMessage): Rejection | undefined {
  // TRACE would reflect the route's secret headers in its body; MCP uses none of the others.
  const method = req.method;
  if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
    return { ...reject(405, 'method_not_allowed', `Method not allowed: an MCP endpoint takes ${ALLOWED_METHODS}`), allow: ALLOWED_METHODS };
  }
  const tooMany = checkHeaderCount(req);
  if (tooMany) return tooMany;
  // RFC 9112 §3.2: more than one Host line MUST get 400; Node accepts it and keeps the first.
  if (sentLineCount(req, 'host') > 1) {
    return reject(400, 'duplicate_host', 'Bad request: more than one Host header', 'host');
  }
  // A reverse proxy for MCP has no use for absolute-form (`GET http://evil/x`); Express keeps the
  // scheme and authority in req.url after stripping the mount path.
  const url = req.url ?? '';
  if (!url.startsWith('/')) {
    return reject(400, 'absolute_form_target', 'Bad request: the request target must be a path (origin-form)');
  }
  const target = targetProblem(url);
  if (target) return reject(400, 'invalid_request_target', `Bad request: the request target has ${target}`);
  // A backend that does not read a GET or DELETE body parses it as the next request on the connection.
  if (method !== 'POST' && hasBody(req)) {
    return reject(400, 'unexpected_body', `Bad request: a ${method} request to an MCP endpoint has no body`);
  }
  return undefined;
}

/**
 * What makes a path unsafe to join to the target's: a fragment (`#` would turn the target's fixed
 * query into a fragment), a dot-segment in any spelling (`..`, `%2e%2e`, `.%2E`, Tomcat's `..;`), a
 * backslash or encoded slash (routers that decode or normalise them see other segments than we do),
 * or an empty segment (`//host/x` is a protocol-relative reference once the target has no path).
 */
export function targetProblem(url: string): string | undefined {
  if (url.includes('#')) return 'a fragment (#)';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!/[.%\\]|\/\//.test(path)) return undefined;
  if (path.includes('//')) return 'an empty path segment (//)';
  if (/\\|%5c|%2f/i.test(path)) return 'a backslash or an encoded slash';
  for (const segment of path.split('/')) {
    const plain = segment.replace(/%2e/gi, '.').split(';', 1)[0];
    if (plain === '.' || plain === '..') return 'a dot-segment (. or ..)';
  }
  return undefined;
}

/** `Content-Length: 0` is no body; chunked always may be one. */
function hasBody(req: IncomingMessage): boolean {
  if (sentLineCount(req, 'transfer-encoding') > 0) return true;
  const [length] = sentLines(req, 'content-length');
  return length !== undefined && Number(length) !== 0;
}

/** Steps a–c of the policy (forwarding-policy.ts): a refusal, or undefined when the request may go on. */
export function checkRequest(req: IncomingMessage, config: ProxyConfig, captured: ForwardedHeaders): Rejection | undefined {
  return checkRequestShape(req) ?? checkRebinding(req, config.guard) ?? checkProtocolHeaders(req) ?? checkConnection(req, config, captured);
}

/** Step b. */
function checkProtocolHeaders(req: IncomingMessage): Rejection | undefined {
  for (const name of Object.keys(req.headers)) {
    if (!isProtocolHeader(name)) continue;
    const value = req.headers[name];
    if (typeof value !== 'string') continue;
    // Before the empty check: Node keeps only the first Content-Type line, which may be the empty one.
    if (!PROTOCOL_LISTS.has(name) && sentLineCount(req, name) > 1) {
      return reject(400, 'duplicate_header', `Bad request: header ${displayName(name)} was sent more than once`, displayName(name));
    }
    // No length limit of ours: Node's header block limit has applied, and a protocol value is the
    // client's message to the backend (a long tool argument mirrored into Mcp-Param-*).
    if (invalidValueReason(value, Infinity)) {
      return reject(
        400,
        'invalid_header_value',
        `Bad request: header ${displayName(name)} has characters other than visible ASCII, space and tab`,
        displayName(name),
      );
    }
  }
  return undefined;
}

/** Step c: a hop that honours `Connection` would delete what we forward or route on. */
function checkConnection(req: IncomingMessage, config: ProxyConfig, captured: ForwardedHeaders): Rejection | undefined {
  for (const token of connectionTokens(sentLines(req, 'connection'))) {
    const forwarded =
      isProtocolHeader(token) ||
      CREDENTIAL_HEADERS.has(token) ||
      (Object.hasOwn(captured, token) && usesCaptured(token, config)) ||
      (config.passthrough?.has(token) ?? false) ||
      (config.forwardTraceContext && TRACE_CONTEXT_HEADERS.has(token));
    // Trace context is restricted in configuration, yet not routing: nominated, it matters only when forwarded.
    const routing = restrictedReason(token) !== undefined && !CONNECTION_OPTIONS.has(token) && !TRACE_CONTEXT_HEADERS.has(token);
    if (forwarded || routing) {
      return reject(
        400,
        'connection_nominates_forwarded_header',
        `Bad request: the Connection header nominates ${displayName(token)}, which must reach the backend`,
        displayName(token),
      );
    }
  }
  return undefined;
}
