/**
 * What goes to the backend for a request that passed its checks and its session's admission: the
 * body to replay, the route's secrets, its computed headers, the outgoing header set
 * (forwarding-policy.ts), the `required` check and the `audit` event. Synchronous unless a computed
 * header is asynchronous.
 */
import type { IncomingMessage } from 'node:http';
import { replayBody } from './body-replay.js';
import type { ForwardedHeaders } from './capture.js';
import type { ProxyConfig } from './config.js';
import { computeDynamicHeaders, type DynamicValues } from './dynamic-headers.js';
import {
  buildOutgoingHeaders,
  checkRequired,
  credentialsRelayed,
  readSecrets,
  withPinned,
  type OutgoingHeaders,
  type SecretValues,
} from './forwarding-policy.js';
import { refuse, reject, type Checked } from './rejection.js';
import type { RequestParts } from './relay-request.js';
import type { Admitted } from './session-guard.js';
import { traceContextToForward } from './trace-context.js';

export type Preparation = Checked<{ outgoing: OutgoingHeaders; parts: RequestParts }>;

export function prepareOutgoing(
  req: IncomingMessage,
  config: ProxyConfig,
  captured: ForwardedHeaders,
  admission: Admitted | undefined,
): Preparation | Promise<Preparation> {
  const body = replayBody(req);
  if (body === 'lost') {
    return refuse(reject(500, 'internal_error', 'Internal error: the request body was consumed before the relay and cannot be forwarded'));
  }
  const secrets = readSecrets(config);
  if (!secrets.ok) return secrets;
  const view = withPinned(captured, admission?.headers);
  const dynamic = computeDynamicHeaders(req, config, view, (name) => secrets.byName.get(name));
  const finish = (values: DynamicValues): Preparation => {
    if (!values.ok) return values;
    const sources = {
      sent: req.headers,
      captured: view,
      session: admission?.headers,
      secrets: secrets.values,
      dynamic: values.values,
      replayedLength: body?.length,
      traceContext: config.forwardTraceContext ? traceContext(req, config) : undefined,
    };
    const outgoing = buildOutgoingHeaders(sources, config);
    const missing = checkRequired(outgoing, config);
    if (missing) return refuse(missing);
    if (config.audit) audit(req, outgoing, config);
    return { ok: true, outgoing, parts: { body, session: admission?.ticket, secrets: allSecretValues(secrets, outgoing, config) } };
  };
  return dynamic instanceof Promise ? dynamic.then(finish) : finish(dynamic);
}

/** `forwardTraceContext`: the client's valid trace headers; a dropped one is logged by name and reason, never its value. */
function traceContext(req: IncomingMessage, config: ProxyConfig): Readonly<Record<string, string>> {
  const { headers, dropped } = traceContextToForward(req.headers);
  for (const { header, reason } of dropped) {
    config.logger.debug({ header, reason }, 'mcpProxy: a trace context header of the client was not forwarded (forwardTraceContext)');
  }
  return headers;
}

/** Every value a response header must not echo: the secrets, and the templated headers built from them. */
function allSecretValues(secrets: SecretValues, outgoing: OutgoingHeaders, config: ProxyConfig): readonly string[] {
  if (config.templateSecrets.length === 0) return secrets.all;
  const templated = config.templateSecrets.map((h) => outgoing[h.name]).filter((v): v is string => v !== undefined);
  return [...secrets.all, ...templated];
}

/** The route's audit hook: names and sources only; a throw is the host app's, logged and ignored. */
function audit(req: IncomingMessage, outgoing: OutgoingHeaders, config: ProxyConfig): void {
  const headers = credentialsRelayed(outgoing, config);
  if (headers.length === 0) return;
  const mcpMethod = req.headers['mcp-method'];
  const event = {
    route: `${config.origin}${config.targetPath}`,
    method: req.method ?? '',
    mcpMethod: typeof mcpMethod === 'string' ? mcpMethod : undefined,
    headers,
  };
  try {
    config.audit?.(event);
  } catch {
    config.logger.error({ option: 'audit' }, 'mcpProxy: the audit hook threw; the request went on');
  }
}
