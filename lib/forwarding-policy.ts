/**
 * The outgoing header policy: which headers a backend receives. It is applied by replacing
 * `req.headers` before http-proxy-middleware runs, never in `on.proxyReq`, which is skipped when
 * the client sends `Expect` (http-party/node-http-proxy#1219).
 *
 * The order, top to bottom:
 *  0. Refuse structurally unsafe requests (a method other than GET, POST and DELETE; too many header
 *     lines; duplicate Host; an absolute-form target or an unsafe path; a body on GET or DELETE), then
 *     a Host or Origin the DNS-rebinding guard does not allow (403).
 *  1. Start empty. Copy the MCP protocol headers present (`content-type`, `accept`, `mcp-session-id`,
 *     `mcp-protocol-version`, `last-event-id`, `mcp-method`, `mcp-name`, `mcp-param-*`, and the
 *     body's `content-encoding`), each validated for characters (not length: Node's header limit
 *     bounds them); a singleton sent twice is refused. The 2026-07-28 standard headers (`mcp-method`,
 *     `mcp-name`, `mcp-param-*`) are copied even when empty. Framing is re-declared from what Node's
 *     parser validated: `content-length`, or chunked.
 *  2. Add the captured headers this backend takes (`passthrough`; by default all captured headers,
 *     credentials only with `allowCredentials`).
 *  3. Add static plaintext headers, then secret-backed ones. A static header wins over a captured
 *     one of the same name.
 *  4. Everything else the client sent is dropped: authorization, cookie, host (set from the target),
 *     forwarding headers, hop-by-hop headers, expect, trailer, te, upgrade, and any name listed in
 *     `Connection`, because none of them was copied.
 *  5. If `Connection` names a header the relay forwards (protocol, captured) or a routing or
 *     credential header, refuse with 400: an RFC-compliant hop downstream would delete it
 *     (CVE-2021-33197, CVE-2022-31813 shape).
 */
import type { IncomingMessage } from 'node:http';
import { getForwardedHeaders } from './capture.js';
import { refuse, reject, type Checked, type Rejection } from './rejection.js';
import {
  CREDENTIAL_HEADERS,
  CONNECTION_OPTIONS,
  PROTOCOL_LISTS,
  connectionTokens,
  displayName,
  invalidValueReason,
  isProtocolHeader,
  isStandardHeader,
  restrictedReason,
} from './header-rules.js';
import type { ProxyConfig } from './config.js';
import { checkRebinding } from './rebinding-guard.js';
import { checkRequestShape, sentLineCount, sentLines } from './request-checks.js';
import { describeSecretProblem, readSecret } from './secrets.js';

export type OutgoingHeaders = Record<string, string>;

export type PolicyResult = Checked<{ headers: OutgoingHeaders }>;

export function buildOutgoingHeaders(req: IncomingMessage, config: ProxyConfig): PolicyResult {
  const shape = checkRequestShape(req) ?? checkRebinding(req, config.guard);
  if (shape) return refuse(shape);

  const outgoing: OutgoingHeaders = {};
  const protocol = copyProtocolHeaders(req, outgoing);
  if (protocol) return refuse(protocol);
  copyFraming(req, outgoing);

  const captured = getForwardedHeaders(req);
  for (const name of Object.keys(captured)) {
    if (takesCaptured(name, config)) outgoing[name] = captured[name]!;
  }

  const nominated = checkConnection(req, captured, config);
  if (nominated) return refuse(nominated);

  for (const [name, value] of config.plaintext) outgoing[name] = value;
  for (const header of config.fromSecret) {
    const secret = readSecret(config.secrets, header.secret, config.maxValueLength);
    if (!secret.ok) {
      return refuse({
        ...reject(502, 'secret_unavailable', 'Bad gateway: a credential for this backend is unavailable'),
        detail: `header "${header.name}": secret "${header.secret}" (${config.secrets.description}) ${describeSecretProblem(secret, config.maxValueLength)}`,
      });
    }
    outgoing[header.name] = secret.value;
  }
  return { ok: true, headers: outgoing };
}

function copyProtocolHeaders(req: IncomingMessage, outgoing: OutgoingHeaders): Rejection | undefined {
  for (const name of Object.keys(req.headers)) {
    if (!isProtocolHeader(name)) continue;
    const value = req.headers[name];
    if (typeof value !== 'string') continue;
    // Before the empty check: Node keeps only the first Content-Type line, which may be the empty one.
    if (!PROTOCOL_LISTS.has(name) && sentLineCount(req, name) > 1) {
      return reject(400, 'duplicate_header', `Bad request: header ${displayName(name)} was sent more than once`, displayName(name));
    }
    // An empty `Mcp-Param-Region:` is the tool argument "", which intermediaries MUST forward.
    if (value === '' && !isStandardHeader(name)) continue;
    // No length limit of ours: Node's header block limit has applied, and a protocol value is the
    // client's message to the backend (a long tool argument mirrored into Mcp-Param-*).
    if (invalidValueReason(value, Infinity)) {
      return reject(400, 'invalid_header_value', `Bad request: header ${displayName(name)} has characters other than visible ASCII, space and tab`, displayName(name));
    }
    outgoing[name] = value;
  }
  return undefined;
}

/**
 * Declares the body exactly as Node's parser accepted it: a validated Content-Length, or chunked.
 * Without it Node would send a GET or DELETE body unframed.
 */
function copyFraming(req: IncomingMessage, outgoing: OutgoingHeaders): void {
  if (req.headers['transfer-encoding'] !== undefined) outgoing['transfer-encoding'] = 'chunked';
  else if (req.headers['content-length'] !== undefined) outgoing['content-length'] = req.headers['content-length'];
}

/** Whether this backend receives captured header `name` (before static headers override it). */
export function takesCaptured(name: string, config: ProxyConfig): boolean {
  if (config.passthrough) return config.passthrough.has(name);
  return config.allowCredentials || !CREDENTIAL_HEADERS.has(name);
}

/** Step 5: a hop that honours `Connection` would delete what we forward or route on. */
function checkConnection(req: IncomingMessage, captured: Readonly<Record<string, string>>, config: ProxyConfig): Rejection | undefined {
  for (const token of connectionTokens(sentLines(req, 'connection'))) {
    const forwarded =
      isProtocolHeader(token) ||
      CREDENTIAL_HEADERS.has(token) ||
      (Object.hasOwn(captured, token) && takesCaptured(token, config)) ||
      (config.passthrough?.has(token) ?? false);
    const routing = restrictedReason(token) !== undefined && !CONNECTION_OPTIONS.has(token);
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
