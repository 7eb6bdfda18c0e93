/**
 * The outgoing header policy: which requests are refused, and which headers a backend receives. The
 * headers are applied by replacing `req.headers` before http-proxy-middleware runs, never in
 * `on.proxyReq`, which is skipped when the client sends `Expect` (http-party/node-http-proxy#1219).
 *
 * checkRequest (request-checks.ts) refuses, in this order, before any session lookup or secret read:
 *  a. Structurally unsafe requests (a method other than GET, POST and DELETE; too many header lines;
 *     duplicate Host; an absolute-form target or an unsafe path; a body on GET or DELETE), then a Host
 *     or Origin the DNS-rebinding guard does not allow (403).
 *  b. A protocol header with characters other than visible ASCII, space and tab, or a singleton sent
 *     twice (its lines counted as sent, not as Node folded them).
 *  c. A `Connection` header naming a header the relay forwards or reads (protocol, captured,
 *     credential) or routes on: an RFC-compliant hop would delete it (CVE-2021-33197, CVE-2022-31813 shape).
 * Then the session check (session-guard.ts), then the route's secrets (502 `secret_unavailable`) and
 * its computed headers (dynamic-headers.ts; 500 `computed_header_failed`).
 *
 * buildOutgoingHeaders then builds the set from nothing, top to bottom; a later step wins:
 *  1. The MCP protocol headers present (`content-type`, `accept`, `mcp-session-id`,
 *     `mcp-protocol-version`, `last-event-id`, `mcp-method`, `mcp-name`, `mcp-param-*`, and the body's
 *     `content-encoding`). The 2026-07-28 standard headers are copied even when empty.
 *  2. No `mcp-session-id` for a 2026-07-28 request on a `bind` or `pin` route: nothing checked it.
 *  3. Framing, from what Node's parser validated: `content-length`, or chunked. A body the host app
 *     had already parsed is sent re-serialized: its length, and no content coding.
 *  4. The captured headers this backend takes under their own names (`passthrough`; by default all
 *     captured headers, credentials only with `allowCredentials`), never one the route sets itself
 *     or reads into another header. With `pin`, captured means: this request's captured headers, and
 *     the initialize's values of those it omitted (withPinned).
 *  5. Renamed: captured values under the names `headers.fromCaptured` gives them.
 *  6. Templated (`headers.template`), computed (`headers.fromRequest`) and per-user credential
 *     (`headers.fromCredential`) values.
 *  7. Static plaintext headers, then secret-backed ones.
 *  8. With `forwardTraceContext`: the client's `traceparent`, and its `tracestate` with it, when valid
 *     (trace-context.ts). Both names are restricted, so no other step sets them. A tracer that
 *     instruments the upstream request replaces them after this list (dropOrphanedTraceState).
 * A name is set by one of steps 5–7 only (HeaderConfigError otherwise), so "a later step wins" only
 * ever decides against the client's copy.
 * Everything else the client sent is dropped: authorization, cookie, host (set from the target),
 * forwarding headers, hop-by-hop headers, expect, trailer, te, upgrade, and any name listed in
 * `Connection`, because no step copies them.
 * Last, `required` names missing from the set refuse the request (400 `missing_required_header`), and
 * `audit` hears which credential headers went out and where they came from.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { refuse, reject, type Checked, type Rejection } from './rejection.js';
import { CREDENTIAL_HEADERS, displayName, isProtocolHeader, isStandardHeader } from './header-rules.js';
import type { ProxyConfig, SecretHeader } from './config.js';
import type { DropReason } from './explain-types.js';
import type { CredentialSourceKind } from './options.js';
import { describeSecretProblem, readSecret } from './secrets.js';

export type OutgoingHeaders = Record<string, string>;

/** What a session route adds to the outgoing set (SessionGuard's admission). */
export interface SessionHeaders {
  /** `pin`: the values recorded at the initialize, for captured headers this request omits (withPinned). */
  readonly pinned?: Readonly<Record<string, string>>;
  /** A 2026-07-28 request on a session route: its `Mcp-Session-Id` is not forwarded. */
  readonly withoutSessionId?: boolean;
}

/** Everything the outgoing set is built from, known once the request is checked and admitted. */
export interface OutgoingSources {
  /** The client's headers as Node parsed them, passed by checkRequest. */
  readonly sent: IncomingHttpHeaders;
  /** What captureHeaders stored for this request, with a pinned session's values (withPinned). */
  readonly captured: Readonly<Record<string, string>>;
  readonly session?: SessionHeaders | undefined;
  /** The values of the route's `fromSecret` headers, in their order (readSecrets). */
  readonly secrets: readonly string[];
  /** Templated and computed values (computeDynamicHeaders). */
  readonly dynamic?: Readonly<Record<string, string>> | undefined;
  /** Bytes of a body the host app had already read, which the relay sends re-serialized. */
  readonly replayedLength?: number | undefined;
  /** The client's valid trace context, with `forwardTraceContext` (traceContextToForward). */
  readonly traceContext?: Readonly<Record<string, string>> | undefined;
}

/** Steps 1–8: the headers the backend receives. Pure; trusts what checkRequest passed. */
export function buildOutgoingHeaders(sources: OutgoingSources, config: ProxyConfig): OutgoingHeaders {
  const outgoing: OutgoingHeaders = {};
  for (const name of Object.keys(sources.sent)) {
    const value = sources.sent[name];
    // An empty `Mcp-Param-Region:` is the tool argument "", which intermediaries MUST forward.
    if (typeof value === 'string' && isProtocolHeader(name) && (value !== '' || isStandardHeader(name))) outgoing[name] = value;
  }
  if (sources.session?.withoutSessionId) delete outgoing['mcp-session-id'];
  frame(sources, outgoing);
  const { captured, dynamic } = sources;
  for (const name of Object.keys(captured)) {
    if (takesCaptured(name, config)) outgoing[name] = captured[name]!;
  }
  for (const { name, from } of config.renamed) {
    const value = captured[from];
    if (value !== undefined) outgoing[name] = value;
  }
  if (dynamic) for (const name of Object.keys(dynamic)) outgoing[name] = dynamic[name]!;
  for (const [name, value] of config.plaintext) outgoing[name] = value;
  config.fromSecret.forEach((header, i) => (outgoing[header.name] = sources.secrets[i]!));
  if (config.forwardTraceContext && sources.traceContext) Object.assign(outgoing, sources.traceContext);
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

/** A pinned session's captured view: the initialize's values, with this request's own on top (they are equal: admission checked). */
export function withPinned(captured: Readonly<Record<string, string>>, session: SessionHeaders | undefined): Readonly<Record<string, string>> {
  const pinned = session?.pinned;
  return pinned ? { ...pinned, ...captured } : captured;
}

export interface SecretValues {
  /** The `fromSecret` values, in their order. */
  readonly values: string[];
  /** Secret name -> value, for templates. */
  readonly byName: ReadonlyMap<string, string>;
  /** Every value read: a response header carrying one is not passed back. */
  readonly all: readonly string[];
}

const NO_SECRETS: SecretValues = Object.freeze({ values: [], byName: new Map<string, string>(), all: [] });

/** This route's secret values, read now (a rotated secret applies to the next request), or a 502. */
export function readSecrets(config: ProxyConfig): Checked<SecretValues> {
  const { fromSecret, templateSecrets } = config;
  if (fromSecret.length === 0 && templateSecrets.length === 0) return { ok: true, ...NO_SECRETS };
  const values: string[] = [];
  for (const header of fromSecret) {
    const secret = readOne(config, header);
    if (typeof secret !== 'string') return refuse(secret);
    values.push(secret);
  }
  if (templateSecrets.length === 0) return { ok: true, values, byName: NO_SECRETS.byName, all: values };
  const byName = new Map<string, string>();
  for (const header of templateSecrets) {
    const secret = readOne(config, header);
    if (typeof secret !== 'string') return refuse(secret);
    byName.set(header.secret, secret);
  }
  return { ok: true, values, byName, all: [...values, ...byName.values()] };
}

function readOne(config: ProxyConfig, header: SecretHeader): string | Rejection {
  const secret = readSecret(config.secrets, header.secret, config.maxValueLength);
  if (secret.ok) return secret.value;
  return {
    ...reject(502, 'secret_unavailable', 'Bad gateway: a credential for this backend is unavailable'),
    detail: `header "${header.name}": secret "${header.secret}" (${config.secrets.description}) ${describeSecretProblem(secret, config.maxValueLength)}`,
  };
}

/** `required` names the outgoing set lacks: 400 naming the first. */
export function checkRequired(outgoing: OutgoingHeaders, config: Pick<ProxyConfig, 'required'>): Rejection | undefined {
  for (const name of config.required) {
    if (outgoing[name] === undefined) {
      return reject(
        400,
        'missing_required_header',
        `Bad request: this route requires header ${displayName(name)}, and the request does not provide it`,
        displayName(name),
      );
    }
  }
  return undefined;
}

/** For `audit`: the credential headers in the set (credential names, and per-user credentials) and which step set them. */
export function credentialsRelayed(outgoing: OutgoingHeaders, config: ProxyConfig): { name: string; source: CredentialSourceKind }[] {
  const relayed: { name: string; source: CredentialSourceKind }[] = [];
  for (const name of CREDENTIAL_HEADERS) {
    if (outgoing[name] !== undefined) relayed.push({ name, source: sourceOf(name, config) });
  }
  for (const { name } of config.credentials) {
    if (outgoing[name] !== undefined && !CREDENTIAL_HEADERS.has(name)) relayed.push({ name, source: 'credential' });
  }
  return relayed;
}

/** Which step set outgoing header `name` (for audit and explain); 'captured' when the route does not set it. */
export function sourceOf(name: string, config: ProxyConfig): CredentialSourceKind {
  if (config.fromSecret.some((h) => h.name === name)) return 'secret';
  if (config.plaintext.has(name)) return 'static';
  if (config.computed.some((h) => h.name === name)) return 'request';
  if (config.credentials.some((h) => h.name === name)) return 'credential';
  if (config.templates.some((h) => h.name === name)) return 'template';
  if (config.renamed.some((h) => h.name === name)) return 'renamed';
  return 'captured';
}

/** Step 4: whether this backend receives captured header `name` under its own name. */
export function takesCaptured(name: string, config: ProxyConfig): boolean {
  return notTakenReason(name, config) === undefined;
}

/** Why step 4 does not forward a captured header under its own name: explain's words, which the metrics share. */
export type NotTakenReason = Extract<DropReason, 'overridden_by_route' | 'read_by_route' | 'not_in_passthrough' | 'credential_not_allowed'>;

/** Step 4's rule, with its reason (explain reports it): undefined when the backend takes captured header `name`. */
export function notTakenReason(name: string, config: ProxyConfig): NotTakenReason | undefined {
  if (config.configured.has(name)) return 'overridden_by_route';
  if (config.capturedInputs.has(name)) return 'read_by_route';
  if (config.passthrough) return config.passthrough.has(name) ? undefined : 'not_in_passthrough';
  return config.allowCredentials || !CREDENTIAL_HEADERS.has(name) ? undefined : 'credential_not_allowed';
}

/** Whether the route uses captured header `name` at all (own name, renamed or templated): what sessions bind. */
export function usesCaptured(name: string, config: ProxyConfig): boolean {
  return config.capturedInputs.has(name) || takesCaptured(name, config);
}
