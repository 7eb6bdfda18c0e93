/**
 * The outgoing header policy: which requests are refused, and which headers a backend receives. The
 * headers are applied by replacing `req.headers` before http-proxy-middleware runs, never in
 * `on.proxyReq`, which is skipped when the client sends `Expect` (http-party/node-http-proxy#1219).
 *
 * checkRequest refuses, in this order, before any session lookup or secret read:
 *  a. Structurally unsafe requests (a method other than GET, POST and DELETE; too many header lines;
 *     duplicate Host; an absolute-form target or an unsafe path; a body on GET or DELETE), then a Host
 *     or Origin the DNS-rebinding guard does not allow (403).
 *  b. A protocol header with characters other than visible ASCII, space and tab, or a singleton sent
 *     twice (its lines counted as sent, not as Node folded them).
 *  c. A `Connection` header naming a header the relay forwards (protocol, captured, credential) or
 *     routes on: an RFC-compliant hop downstream would delete it (CVE-2021-33197, CVE-2022-31813 shape).
 *
 * buildOutgoingHeaders then builds the set from nothing, top to bottom; a later step wins:
 *  1. The MCP protocol headers present (`content-type`, `accept`, `mcp-session-id`,
 *     `mcp-protocol-version`, `last-event-id`, `mcp-method`, `mcp-name`, `mcp-param-*`, and the body's
 *     `content-encoding`). The 2026-07-28 standard headers are copied even when empty.
 *  2. No `mcp-session-id` for a 2026-07-28 request on a `bind` or `pin` route: nothing checked it.
 *  3. Framing, from what Node's parser validated: `content-length`, or chunked. A body the host app
 *     had already parsed is sent re-serialized: its length, and no content coding.
 *  4. The captured headers this backend takes (`passthrough`; by default all captured headers,
 *     credentials only with `allowCredentials`).
 *  5. `pin`: the initialize's values of captured headers this request omitted.
 *  6. Static plaintext headers, then secret-backed ones: they win over a captured one of the same name.
 * Everything else the client sent is dropped: authorization, cookie, host (set from the target),
 * forwarding headers, hop-by-hop headers, expect, trailer, te, upgrade, and any name listed in
 * `Connection`, because no step copies them.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
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

/** What a session route adds to the outgoing set (SessionGuard's admission). */
export interface SessionHeaders {
  /** `pin`: the values recorded at the initialize, for captured headers this request omits. */
  readonly pinned?: Readonly<Record<string, string>>;
  /** A 2026-07-28 request on a session route: its `Mcp-Session-Id` is not forwarded. */
  readonly withoutSessionId?: boolean;
}

/** Everything the outgoing set is built from, known once the request is checked and admitted. */
export interface OutgoingSources {
  /** The client's headers as Node parsed them, passed by checkRequest. */
  readonly sent: IncomingHttpHeaders;
  /** What captureHeaders stored for this request. */
  readonly captured: Readonly<Record<string, string>>;
  readonly session?: SessionHeaders | undefined;
  /** The values of the route's `fromSecret` headers, in their order (readSecrets). */
  readonly secrets: readonly string[];
  /** Bytes of a body the host app had already read, which the relay sends re-serialized. */
  readonly replayedLength?: number | undefined;
}

/** Steps a–c: a refusal, or undefined when the request may go on. */
export function checkRequest(req: IncomingMessage, config: ProxyConfig): Rejection | undefined {
  return checkRequestShape(req) ?? checkRebinding(req, config.guard) ?? checkProtocolHeaders(req) ?? checkConnection(req, config);
}

/** Steps 1–6: the headers the backend receives. Pure; trusts what checkRequest passed. */
export function buildOutgoingHeaders(sources: OutgoingSources, config: ProxyConfig): OutgoingHeaders {
  const outgoing: OutgoingHeaders = {};
  for (const name of Object.keys(sources.sent)) {
    const value = sources.sent[name];
    // An empty `Mcp-Param-Region:` is the tool argument "", which intermediaries MUST forward.
    if (typeof value === 'string' && isProtocolHeader(name) && (value !== '' || isStandardHeader(name))) outgoing[name] = value;
  }
  if (sources.session?.withoutSessionId) delete outgoing['mcp-session-id'];
  frame(sources, outgoing);
  for (const name of Object.keys(sources.captured)) {
    if (takesCaptured(name, config)) outgoing[name] = sources.captured[name]!;
  }
  const pinned = sources.session?.pinned;
  if (pinned) for (const name of Object.keys(pinned)) outgoing[name] ??= pinned[name]!;
  for (const [name, value] of config.plaintext) outgoing[name] = value;
  config.fromSecret.forEach((header, i) => (outgoing[header.name] = sources.secrets[i]!));
  return outgoing;
}

/** Step 3. Without it Node would send a GET or DELETE body unframed. */
function frame(sources: OutgoingSources, outgoing: OutgoingHeaders): void {
  const { sent, replayedLength } = sources;
  if (replayedLength !== undefined) {
    delete outgoing['content-encoding'];
    outgoing['content-length'] = String(replayedLength);
  } else if (sent['transfer-encoding'] !== undefined) outgoing['transfer-encoding'] = 'chunked';
  else if (sent['content-length'] !== undefined) outgoing['content-length'] = sent['content-length'];
}

/** This route's secret values, read now (a rotated secret applies to the next request), or a 502. */
export function readSecrets(config: ProxyConfig): Checked<{ values: string[] }> {
  const values: string[] = [];
  for (const header of config.fromSecret) {
    const secret = readSecret(config.secrets, header.secret, config.maxValueLength);
    if (!secret.ok) {
      return refuse({
        ...reject(502, 'secret_unavailable', 'Bad gateway: a credential for this backend is unavailable'),
        detail: `header "${header.name}": secret "${header.secret}" (${config.secrets.description}) ${describeSecretProblem(secret, config.maxValueLength)}`,
      });
    }
    values.push(secret.value);
  }
  return { ok: true, values };
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
      return reject(400, 'invalid_header_value', `Bad request: header ${displayName(name)} has characters other than visible ASCII, space and tab`, displayName(name));
    }
  }
  return undefined;
}

/** Whether this backend receives captured header `name` (before static headers override it). */
export function takesCaptured(name: string, config: ProxyConfig): boolean {
  if (config.passthrough) return config.passthrough.has(name);
  return config.allowCredentials || !CREDENTIAL_HEADERS.has(name);
}

/** Step c: a hop that honours `Connection` would delete what we forward or route on. */
function checkConnection(req: IncomingMessage, config: ProxyConfig): Rejection | undefined {
  const captured = getForwardedHeaders(req);
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
