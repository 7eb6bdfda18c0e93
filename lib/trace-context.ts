/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): which of a caller's `traceparent` and
 * `tracestate` values `forwardTraceContext` may pass to a backend. Pure functions, so the rules are
 * tested as tables. A value that breaks a rule is dropped, never repaired: a repaired trace id would
 * join traces that are not one.
 */
import type { ClientRequest, IncomingHttpHeaders } from 'node:http';

/** Why a trace context value is not forwarded. Logged by name with this reason, never with the value. */
export type TraceContextProblem =
  | 'malformed'
  | 'invalid_version'
  | 'zero_trace_id'
  | 'zero_parent_id'
  | 'too_long'
  | 'too_many_members'
  | 'invalid_member'
  | 'duplicate_key'
  | 'without_traceparent';

/** Version 00: exactly 55 characters, lower-case hex only (§3.2.2). */
const VERSION_00 = /^(00)-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
/**
 * A later version (§4.3, "Versioning of traceparent"): parsed as version 00, and anything after the
 * 55th character must start with a dash. We bound what follows (visible ASCII, no comma or space) and
 * the whole length, since we pass the value on unread.
 */
const LATER_VERSION = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-[\x21-\x2b\x2d-\x7e]*)?$/;
/** Our bound on a later version's length: version 00 is 55; nothing in use is longer. */
export const MAX_TRACEPARENT_LENGTH = 256;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);

/** Why `value` is not a traceparent to forward, or undefined when it is. */
export function traceparentProblem(value: string): TraceContextProblem | undefined {
  if (value.length > MAX_TRACEPARENT_LENGTH) return 'too_long';
  const match = VERSION_00.exec(value) ?? LATER_VERSION.exec(value);
  if (!match) return 'malformed';
  const [, version, traceId, parentId] = match;
  // `ff` is forbidden; `00` is valid at exactly 55 characters only, which VERSION_00 alone accepts.
  if (version === 'ff' || (version === '00' && value.length !== 55)) return 'invalid_version';
  if (traceId === ZERO_TRACE_ID) return 'zero_trace_id';
  if (parentId === ZERO_PARENT_ID) return 'zero_parent_id';
  return undefined;
}

/** §3.3.1.1: at most 32 list members; we forward at most 512 characters of the combined value. */
export const MAX_TRACESTATE_MEMBERS = 32;
export const MAX_TRACESTATE_LENGTH = 512;
/** §3.3.1.3.1 keys: a simple key, or `tenant@system`. */
const SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
/** §3.3.1.3.2 values: 1-256 printable ASCII characters without `,` and `=`, not ending in a space. */
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Why `value` is not a tracestate to forward, or undefined when it is. Empty members are allowed (§3.3.1.1). */
export function tracestateProblem(value: string): TraceContextProblem | undefined {
  if (value.length > MAX_TRACESTATE_LENGTH) return 'too_long';
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq < 0) return 'invalid_member';
    const key = member.slice(0, eq);
    if (!(SIMPLE_KEY.test(key) || TENANT_KEY.test(key)) || !VALUE.test(member.slice(eq + 1))) return 'invalid_member';
    if (keys.has(key)) return 'duplicate_key';
    keys.add(key);
    if (keys.size > MAX_TRACESTATE_MEMBERS) return 'too_many_members';
  }
  return undefined;
}

/** What `forwardTraceContext` adds to the outgoing set, and what it dropped (names and reasons). */
export interface ForwardedTraceContext {
  readonly headers: { traceparent?: string; tracestate?: string };
  readonly dropped: readonly { readonly header: string; readonly reason: TraceContextProblem }[];
}

/**
 * The caller's trace context to forward. A `tracestate` belongs to its `traceparent` (§3.3): it goes
 * only with a valid one. Node joins repeated `traceparent` lines with a comma, which no valid value
 * holds, so a second line drops it; repeated `tracestate` lines are one list, as the spec combines them.
 */
export function traceContextToForward(sent: IncomingHttpHeaders): ForwardedTraceContext {
  const traceparent = field(sent.traceparent);
  const tracestate = field(sent.tracestate);
  if (traceparent === undefined) {
    return { headers: {}, dropped: tracestate === undefined ? [] : [{ header: 'tracestate', reason: 'without_traceparent' }] };
  }
  const parentProblem = traceparentProblem(traceparent);
  if (parentProblem) {
    const dropped = [{ header: 'traceparent', reason: parentProblem }];
    if (tracestate !== undefined) dropped.push({ header: 'tracestate', reason: 'without_traceparent' });
    return { headers: {}, dropped };
  }
  if (tracestate === undefined) return { headers: { traceparent }, dropped: [] };
  const stateProblem = tracestateProblem(tracestate);
  if (stateProblem) return { headers: { traceparent }, dropped: [{ header: 'tracestate', reason: stateProblem }] };
  return { headers: { traceparent, tracestate }, dropped: [] };
}

/**
 * A tracer that instruments the upstream request (OpenTelemetry's HTTP instrumentation) injects its
 * own `traceparent`, replacing the forwarded one, and a `tracestate` only when its context has one. The
 * caller's `tracestate` then belongs to another trace than the one the backend continues: removed.
 * Same trace id (the tracer continued the caller's trace): the caller's vendors' state still applies.
 */
export function dropOrphanedTraceState(proxyReq: ClientRequest, forwarded: IncomingHttpHeaders): void {
  const traceparent = field(forwarded.traceparent);
  const tracestate = field(forwarded.tracestate);
  if (tracestate === undefined || traceparent === undefined || proxyReq.headersSent) return;
  const outgoing = proxyReq.getHeader('traceparent');
  if (outgoing === traceparent || proxyReq.getHeader('tracestate') !== tracestate) return;
  if (typeof outgoing === 'string' && traceIdOf(outgoing) === traceIdOf(traceparent)) return;
  proxyReq.removeHeader('tracestate');
}

/** A list another middleware set is one combined value, as Node would have joined the lines. */
function field(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}
