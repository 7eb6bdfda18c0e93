/**
 * Explain: a dry run of one request through a route. It runs the relay's own steps in the order a
 * request meets them (Node's parser, captureHeaders, checkRequest, the session's store-free rules,
 * the secrets, the computed headers, buildOutgoingHeaders, `required`) on a request built from the
 * caller's headers, and reports what the backend would receive, why every other header the client
 * sent would not reach it, and which of the route's own headers this request would not get. It never
 * calls the backend or a credential source's `resolve` (no token exchange); secret and credential
 * values are never in its result.
 */
import type { IncomingMessage } from 'node:http';
import { dryCapture, type ForwardedHeaders } from './capture.js';
import type { ProxyConfig } from './config.js';
import { computeDynamicHeaders, settleCredential } from './dynamic-headers.js';
import { describeDropped, describeForwarded, describeOmitted, MASK } from './explain-report.js';
import { syntheticRequest, type ParserRefusal } from './explain-request.js';
import type { ExplainedRejection, ExplainInput, Explanation, OmittedHeader } from './explain-types.js';
import { buildOutgoingHeaders, checkRequired, readSecrets, type SessionHeaders } from './forwarding-policy.js';
import { isStatelessEra, usesLegacySse } from './protocol-era.js';
import type { Rejection } from './rejection.js';
import { checkRequest } from './request-checks.js';
import { unsupportedTransport } from './session-refusals.js';
import { upstreamPath } from './upstream-path.js';

/** Explains `input` against a route's configuration (mcpProxy's `route.explain`). */
export async function explainRequest(config: ProxyConfig, input: ExplainInput): Promise<Explanation> {
  checkInput(input);
  const method = input.method ?? 'POST';
  const path = input.path ?? '/';
  const notes: string[] = [];
  const head = { route: config.name, method, target: `${config.origin}${upstreamPath(path, config)}` };
  const rejected = (rejection: Rejection | ParserRefusal, by: ExplainedRejection['by']): Explanation => ({
    ...head,
    outcome: 'rejected',
    rejection: explainedRejection(rejection, by),
    forwarded: [],
    dropped: [],
    omitted: [],
    notes,
  });

  const req = syntheticRequest({ method, path, headers: input.headers, localAddress: input.localAddress ?? '127.0.0.1' });
  if (!isRequest(req)) return rejected(req, 'node:http');
  let captured: ForwardedHeaders = {};
  let allow: readonly string[] | undefined;
  if (input.capture) {
    const run = dryCapture(input.capture, req);
    if (!run) throw new TypeError('explain: capture must be a captureHeaders(...) middleware');
    if (!run.result.ok) return rejected(run.result.rejection, 'captureHeaders');
    ({ allow } = run);
    captured = run.result.headers;
  } else notes.push('No capture middleware given: no header counts as captured. Pass { capture } with the captureHeaders(...) mounted before this route.');

  const refusal = checkRequest(req, config, captured);
  if (refusal) return rejected(refusal, 'mcpProxy');
  const session = sessionHeaders(req, config, notes);
  if (session && 'status' in session) return rejected(session, 'mcpProxy');
  const secrets = readSecrets(config);
  if (!secrets.ok) return rejected(secrets.rejection, 'mcpProxy');
  const view = dryRunView(config, input, notes);
  const dynamic = await computeDynamicHeaders(req, view, captured, (name) => secrets.byName.get(name));
  if (!dynamic.ok) return rejected(dynamic.rejection, 'mcpProxy');
  const credentials = dryCredentials(req, config, notes);
  if ('status' in credentials) return rejected(credentials, 'mcpProxy');

  const outgoing = buildOutgoingHeaders(
    { sent: req.headers, captured, session, secrets: secrets.values, dynamic: { ...dynamic.values, ...credentials.values } },
    config,
  );
  const missing = checkRequired(outgoing, config);
  if (missing) return rejected(missing, 'mcpProxy');
  return {
    ...head,
    outcome: 'forwarded',
    forwarded: describeForwarded(outgoing, config, method, input.reveal ?? false),
    dropped: describeDropped(req, outgoing, { config, captured, allow, session }),
    omitted: [...describeOmitted(outgoing, config, captured), ...credentials.omitted],
    notes,
  };
}

function checkInput(input: ExplainInput): void {
  // A REPL caller gets a message, not a TypeError from deep inside.
  if (typeof input !== 'object' || typeof input.headers !== 'object') {
    throw new TypeError("explain: pass { headers: { 'x-tenant': 'acme' }, method?, path?, principal?, capture?, reveal? }");
  }
}

function isRequest(value: IncomingMessage | ParserRefusal): value is IncomingMessage {
  return !('status' in value && 'reason' in value);
}

function explainedRejection(rejection: Rejection | ParserRefusal, by: ExplainedRejection['by']): ExplainedRejection {
  const { status, reason, message, header, detail } = rejection;
  return { status, reason, message, ...(header === undefined ? {} : { header }), ...(detail === undefined ? {} : { detail }), by };
}

/**
 * The session rules that need no store (session-guard.ts): a 2024-11-05 SSE request, and a 2026-07-28
 * request whose stray session id is not forwarded. Any other request is taken as the first of a session.
 */
function sessionHeaders(req: IncomingMessage, config: ProxyConfig, notes: string[]): SessionHeaders | Rejection | undefined {
  const session = config.session;
  if (session.mode === 'request') return undefined;
  if (usesLegacySse(req.url)) {
    if (!session.allowLegacySse) return unsupportedTransport();
    notes.push(`HTTP+SSE (2024-11-05) request: forwarded without '${session.mode}' protection (allowLegacySse).`);
    return undefined;
  }
  if (isStatelessEra(req)) {
    notes.push(`MCP 2026-07-28 request: handled per request; '${session.mode}' applies to 2025-era sessions only.`);
    return { withoutSessionId: true };
  }
  if (req.headers['mcp-session-id'] !== undefined) {
    notes.push(
      `Session '${session.mode}': explain does not consult the session store. A real request naming a session is forwarded only if this route recorded it with the same captured headers${session.principal ? ' and principal' : ''}; otherwise 404 session_not_found.`,
    );
  } else {
    notes.push(`Session '${session.mode}': taken as the first request of a session; nothing is recorded.`);
  }
  return undefined;
}

/** The configuration the computed headers run on: credentials left to dryCredentials, the given principal if any. */
function dryRunView(config: ProxyConfig, input: ExplainInput, notes: string[]): ProxyConfig {
  if (config.computed.length > 0) {
    notes.push("headers.fromRequest functions were called with explain's request: it carries the given headers only, nothing your app adds (req.user).");
  }
  const principal = input.principal;
  const usesPrincipal = config.templates.some((t) => t.parts.some((p) => p.kind === 'principal'));
  if (usesPrincipal && principal === undefined) notes.push("No principal given: {principal} comes from the route's principal function on explain's request.");
  return { ...config, credentials: [], principal: principal === undefined ? config.principal : () => principal };
}

interface DryCredentials {
  readonly values: Record<string, string>;
  readonly omitted: OmittedHeader[];
}

/**
 * `headers.fromCredential` without its source's `resolve` (for tokenExchange, the token endpoint):
 * the key decides whether the header is sent, and a failing key is the 502 a request would get.
 */
function dryCredentials(req: IncomingMessage, config: ProxyConfig, notes: string[]): DryCredentials | Rejection {
  const values: Record<string, string> = {};
  const omitted: OmittedHeader[] = [];
  for (const header of config.credentials) {
    const key = header.cache.keyOf(req);
    if (typeof key === 'string') {
      values[header.name] = MASK;
      notes.push(
        `${header.name}: a per-user credential from ${header.source.description}; not resolved by explain, so a failing source would still make the request 502 credential_unavailable.`,
      );
      continue;
    }
    const rejection = settleCredential(header, key, values);
    if (rejection) return rejection;
    omitted.push({
      name: header.name,
      source: 'credential',
      reason: 'no_credential',
      detail: `${header.source.description}: key(req) gives no key for this request`,
    });
  }
  return { values, omitted };
}
