/**
 * Explain's three lists, read off the outgoing set buildOutgoingHeaders built: each forwarded header
 * with the step that set it, each header the client sent that does not reach the backend with the
 * rule that kept it out, and each of the route's own headers this request does not get. The reasons
 * come from the rules themselves where they can say (notTakenReason is step 4's rule; restrictedReason
 * the header vocabulary's), so explain cannot drift from the policy unnoticed.
 */
import type { IncomingMessage } from 'node:http';
import type { ForwardedHeaders } from './capture.js';
import type { ProxyConfig } from './config.js';
import type { DroppedHeader, ExplainedHeader, ForwardedSource, OmittedHeader } from './explain-types.js';
import { notTakenReason, sourceOf, type OutgoingHeaders, type SessionHeaders } from './forwarding-policy.js';
import { CREDENTIAL_HEADERS, HOP_BY_HOP_HEADERS, isProtocolHeader, isStandardHeader, restrictedReason } from './header-rules.js';
import { templateInputs } from './header-templates.js';

/** What a masked value reads as. */
export const MASK = '***';

/** The forwarded headers in the policy's order, then what Node's client adds (`host`, `connection`, a POST's zero length). */
export function describeForwarded(outgoing: OutgoingHeaders, config: ProxyConfig, method: string, reveal: boolean): ExplainedHeader[] {
  const forwarded: ExplainedHeader[] = [];
  const add = (name: string, value: string, source: ForwardedSource, detail?: string): void => {
    const masked = !reveal || alwaysMasked(name, source, config);
    forwarded.push({ name, value: masked ? MASK : value, masked, source, ...(detail === undefined ? {} : { detail }) });
  };
  for (const name of Object.keys(outgoing)) {
    const source = forwardedSource(name, config);
    add(name, outgoing[name]!, source, routeDetail(name, source, config));
  }
  // Node's HTTP client: Host from the target (changeOrigin), the route's keep-alive agent, and for a
  // POST with no framing (so no body) an explicit zero length.
  add('host', new URL(config.origin).host, 'transport', 'the target');
  add('connection', 'keep-alive', 'transport', "the route's keep-alive agent");
  if (method === 'POST' && outgoing['content-length'] === undefined && outgoing['transfer-encoding'] === undefined) {
    add('content-length', '0', 'transport', 'a POST without a body');
  }
  return forwarded;
}

function forwardedSource(name: string, config: ProxyConfig): ForwardedSource {
  if (name === 'content-length' || name === 'transfer-encoding') return 'framing';
  if (isProtocolHeader(name)) return 'protocol';
  return sourceOf(name, config);
}

/** Secrets and credentials are never shown, whoever asks: a secret's value, a per-user credential, any `authorization` or `cookie`. */
function alwaysMasked(name: string, source: ForwardedSource, config: ProxyConfig): boolean {
  if (source === 'secret' || source === 'credential' || CREDENTIAL_HEADERS.has(name)) return true;
  return source === 'template' && config.templateSecrets.some((h) => h.name === name);
}

/** Where a route-set value comes from: names and descriptions only. */
function routeDetail(name: string, source: ForwardedSource, config: ProxyConfig): string | undefined {
  switch (source) {
    case 'renamed':
      return `captured ${config.renamed.find((h) => h.name === name)?.from ?? ''}`;
    case 'template': {
      const parts = config.templates.find((t) => t.name === name)?.parts ?? [];
      const inputs = templateInputs(parts);
      const read = [...inputs.captured.map((n) => `captured ${n}`), ...inputs.secrets.map((s) => `secret ${s}`), ...(inputs.principal ? ['principal'] : [])];
      return read.length > 0 ? `template reading ${read.join(', ')}` : 'template';
    }
    case 'request':
      return config.computed.find((h) => h.name === name)?.path;
    case 'credential':
      return `${config.credentials.find((h) => h.name === name)?.source.description ?? ''} (not resolved by explain)`;
    case 'secret': {
      const header = config.fromSecret.find((h) => h.name === name);
      return header && `secret ${header.secret} (${config.secrets.description})`;
    }
    case 'protocol':
    case 'framing':
    case 'captured':
    case 'static':
    case 'transport':
      return undefined;
  }
}

/** What the drop rules need besides the request and the outgoing set. */
export interface DropContext {
  readonly config: ProxyConfig;
  readonly captured: ForwardedHeaders;
  /** captureHeaders' `allow`, or undefined when explain was given no capture middleware. */
  readonly allow: readonly string[] | undefined;
  readonly session: SessionHeaders | undefined;
}

/** Each name the client sent (first line's order) whose own copy does not reach the backend, with why. */
export function describeDropped(req: IncomingMessage, outgoing: OutgoingHeaders, context: DropContext): DroppedHeader[] {
  const seen = new Set<string>();
  const dropped: DroppedHeader[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (seen.has(name)) continue;
    seen.add(name);
    const why = dropReason(name, outgoing, context);
    if (why) dropped.push({ name, ...why });
  }
  return dropped;
}

type Why = Pick<DroppedHeader, 'reason' | 'detail'>;

/** Undefined when the client's own value is forwarded. The order follows forwarding-policy.ts. */
function dropReason(name: string, outgoing: OutgoingHeaders, { config, captured, allow, session }: DropContext): Why | undefined {
  if (outgoing[name] !== undefined) {
    const source = forwardedSource(name, config);
    if (source === 'protocol' || source === 'framing' || source === 'captured') return undefined;
    return { reason: 'overridden_by_route', detail: `the route sets ${name} itself (${source}); the client's copy is never forwarded` };
  }
  if (HOP_BY_HOP_HEADERS.has(name)) return { reason: 'hop_by_hop', detail: restrictedReason(name)! };
  if (name === 'host') return { reason: 'set_by_relay', detail: "the upstream request's Host is the target's" };
  if (name === 'content-length') return { reason: 'set_by_relay', detail: 'the relay frames the upstream request itself' };
  if (isProtocolHeader(name)) {
    if (name === 'mcp-session-id' && session?.withoutSessionId) {
      return { reason: 'session_id_not_forwarded', detail: `a 2026-07-28 request on a '${config.session.mode}' route: nothing checked its session id` };
    }
    const rule = isStandardHeader(name) ? '' : '; only the 2026-07-28 standard headers are forwarded empty';
    return { reason: 'empty_value', detail: `sent empty${rule}` };
  }
  const restricted = restrictedReason(name);
  if (restricted) return { reason: 'restricted', detail: restricted };
  if (Object.hasOwn(captured, name)) {
    const reason = notTakenReason(name, config) ?? 'overridden_by_route';
    return { reason, detail: notTakenDetail(name, reason, config) };
  }
  if (allow?.includes(name)) return { reason: 'empty_value', detail: 'captured headers sent empty count as absent' };
  const credential = CREDENTIAL_HEADERS.has(name) ? '; a credential is captured only with allowCredentials' : '';
  return {
    reason: 'not_captured',
    detail: allow ? `not in captureHeaders' allow list${credential}` : 'explain was given no capture middleware',
  };
}

function notTakenDetail(name: string, reason: NonNullable<ReturnType<typeof notTakenReason>>, config: ProxyConfig): string {
  switch (reason) {
    case 'overridden_by_route':
      return `the route sets ${name} itself`;
    case 'read_by_route': {
      const into = [...config.renamed.filter((h) => h.from === name), ...config.templates.filter((t) => templateInputs(t.parts).captured.includes(name))];
      return `read into ${into.map((h) => h.name).join(', ')}; not also forwarded under its own name`;
    }
    case 'not_in_passthrough':
      return `captured, but this route's passthrough is [${[...(config.passthrough ?? [])].join(', ')}]`;
    case 'credential_not_allowed':
      return 'captured, but forwarding a caller credential needs allowCredentials on this route';
  }
}

/** The route's renamed, templated and computed headers absent from the outgoing set, with the input they lacked. */
export function describeOmitted(outgoing: OutgoingHeaders, config: ProxyConfig, captured: ForwardedHeaders): OmittedHeader[] {
  const omitted: OmittedHeader[] = [];
  for (const { name, from } of config.renamed) {
    if (outgoing[name] === undefined) omitted.push({ name, source: 'renamed', reason: 'input_absent', detail: `captured ${from} is absent` });
  }
  for (const { name, parts } of config.templates) {
    if (outgoing[name] !== undefined) continue;
    const inputs = templateInputs(parts);
    // Captured inputs are known here; when none is absent, the principal was.
    const capturedAbsent = inputs.captured.filter((n) => captured[n] === undefined).map((n) => `{captured:${n}}`);
    const absent = capturedAbsent.length > 0 ? capturedAbsent : ['{principal}'];
    omitted.push({
      name,
      source: 'template',
      reason: 'input_absent',
      detail: `${absent.join(' or ')} is absent; a template with an absent input sends no header`,
    });
  }
  for (const { name, path } of config.computed) {
    if (outgoing[name] === undefined) omitted.push({ name, source: 'request', reason: 'no_value', detail: `${path} returned undefined or an empty string` });
  }
  return omitted;
}
