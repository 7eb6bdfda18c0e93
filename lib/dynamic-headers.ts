/**
 * The per-request values of a route's templates (`headers.template`) and functions
 * (`headers.fromRequest`), computed after the request passed its checks and its session's admission,
 * before the outgoing set is built. Synchronous when every function is; a function that returns a
 * promise is bounded by `connectTimeout`.
 *
 * A function that throws, rejects, times out or returns something other than a string or undefined,
 * or a value with CR/LF or other characters a header cannot carry, is the host app's fault: 500
 * `computed_header_failed`, naming the header, never the value. A per-user credential
 * (`headers.fromCredential`) comes from its cache, synchronously on a hit; one that cannot be had
 * (the source failed, timed out or answered something unusable) is 502 `credential_unavailable`:
 * the request is never forwarded without it.
 */
import type { IncomingMessage } from 'node:http';
import type { ForwardedHeaders } from './capture.js';
import type { ComputedHeader, CredentialHeaderConfig, ProxyConfig } from './config.js';
import { describeCredentialProblem, type CredentialOutcome } from './credential-outcome.js';
import { isThenable, withDeadline } from './deadline.js';
import { invalidValueReason } from './header-rules.js';
import { renderTemplate } from './header-templates.js';
import { refuse, reject, type Checked, type Rejection } from './rejection.js';

export type DynamicValues = Checked<{ values: Readonly<Record<string, string>> }>;

const NONE: DynamicValues = Object.freeze({ ok: true, values: Object.freeze({}) });

/** Whether the route has any header computed per request (a cheap check for the hot path). */
export function hasDynamicHeaders(config: Pick<ProxyConfig, 'templates' | 'computed' | 'credentials'>): boolean {
  return config.templates.length > 0 || config.computed.length > 0 || config.credentials.length > 0;
}

export function computeDynamicHeaders(
  req: IncomingMessage,
  config: ProxyConfig,
  captured: ForwardedHeaders,
  secret: (name: string) => string | undefined,
): DynamicValues | Promise<DynamicValues> {
  if (!hasDynamicHeaders(config)) return NONE;
  const values: Record<string, string> = {};
  let principal: string | undefined | null = null;
  const inputs = {
    captured: (name: string) => captured[name],
    secret,
    principal: () => (principal === null ? (principal = readPrincipal(req, config)) : principal),
  };
  for (const template of config.templates) {
    const value = renderTemplate(template.parts, inputs);
    if (value === undefined) continue;
    // Captured values, secrets and the literal text were checked; a principal was not.
    if (invalidValueReason(value, Infinity)) return refuse(failed(template.name, 'the principal has characters a header cannot carry'));
    values[template.name] = value;
  }
  const pending: Promise<Rejection | undefined>[] = [];
  for (const header of config.computed) {
    const outcome = call(header, req);
    if (isThenable(outcome)) {
      const ms = config.connectTimeout;
      const bounded = withDeadline(outcome, ms, (): Outcome => ({ error: `did not answer within connectTimeout (${ms} ms)` }));
      pending.push(bounded.then((v) => settle(header, v, values, config)));
    } else {
      const rejection = settle(header, outcome, values, config);
      if (rejection) return refuse(rejection);
    }
  }
  for (const header of config.credentials) {
    const outcome = header.cache.get(req);
    if (outcome instanceof Promise) pending.push(outcome.then((o) => settleCredential(header, o, values)));
    else {
      const rejection = settleCredential(header, outcome, values);
      if (rejection) return refuse(rejection);
    }
  }
  if (pending.length === 0) return { ok: true, values };
  return Promise.all(pending).then((rejections) => {
    const first = rejections.find((r) => r !== undefined);
    return first ? refuse(first) : { ok: true, values };
  });
}

/** What a function answered, or why it did not. */
type Outcome = { value: unknown } | { error: string };

function call(header: ComputedHeader, req: IncomingMessage): Outcome | PromiseLike<Outcome> {
  try {
    const value = header.compute(req);
    if (!isThenable(value)) return { value };
    return Promise.resolve(value).then(
      (v) => ({ value: v }),
      () => ({ error: 'rejected' }),
    );
  } catch {
    return { error: 'threw' };
  }
}

/** Stores a good value; a rejection otherwise. */
function settle(header: ComputedHeader, outcome: Outcome, values: Record<string, string>, config: ProxyConfig): Rejection | undefined {
  if ('error' in outcome) return failed(header.name, `${header.path} ${outcome.error}`);
  const { value } = outcome;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return failed(header.name, `${header.path} returned ${value === null ? 'null' : typeof value}, not a string or undefined`);
  const invalid = invalidValueReason(value, config.maxValueLength);
  if (invalid === 'too_long') return failed(header.name, `${header.path} returned a value longer than ${config.maxValueLength} bytes (maxValueLength)`);
  if (invalid) return failed(header.name, `${header.path} returned characters a header cannot carry (CR, LF, NUL, controls or non-ASCII)`);
  values[header.name] = value;
  return undefined;
}

/** Stores a per-user credential, or the 502 a request gets without it (explain uses it too). */
export function settleCredential(header: CredentialHeaderConfig, outcome: CredentialOutcome, values: Record<string, string>): Rejection | undefined {
  if (!outcome.ok) {
    return {
      ...reject(502, 'credential_unavailable', 'Bad gateway: a credential for this backend is unavailable', header.name),
      detail: describeCredentialProblem(outcome, header.source),
    };
  }
  if (outcome.value !== undefined) values[header.name] = outcome.value;
  return undefined;
}

function readPrincipal(req: IncomingMessage, config: ProxyConfig): string | undefined {
  try {
    const value = config.principal?.(req);
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    config.logger.error({ option: 'principal' }, 'mcpProxy: principal threw; {principal} templates send no header');
    return undefined;
  }
}

function failed(name: string, detail: string): Rejection {
  return { ...reject(500, 'computed_header_failed', 'Internal error: a header this route computes could not be computed', name), detail };
}
