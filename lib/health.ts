/**
 * A route's health probe: reads the route's static and secret headers at probe time, probes the
 * backend (health-probe.ts) within `health.timeout`, reuses a result for `health.cacheTtl`, lets
 * concurrent callers share one attempt, and logs when the route's state changes (up, or down for a
 * given reason): names and reasons only, never a value or the backend's words.
 */
import type http from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import type { ProxyConfig } from './config.js';
import type { HealthReason, ProbeOptions, RouteHealth } from './health-options.js';
import { probeBackend, type ProbeOutcome } from './health-probe.js';
import { ProbeBodyError } from './health-wire.js';
import { describeSecretProblem, readSecret } from './secrets.js';
import { withoutUndefined } from './without-undefined.js';

export type RouteProbe = (options?: ProbeOptions) => Promise<RouteHealth>;

/** Builds `route.probe` for one route. `agent` is the route's own upstream agent; `closing` says route.close() was called. */
export function routeProbe(config: ProxyConfig, agent: http.Agent, closing: () => boolean): RouteProbe {
  const url = new URL(`${config.origin}${config.targetPath}${config.targetSearch}`);
  const { logger } = config;
  let last: { result: RouteHealth; expires: number } | undefined;
  let inFlight: Promise<RouteHealth> | undefined;
  /** `ok` or the failure reason of the last result: a log line when it changes. */
  let state: string | undefined;

  const report = (result: RouteHealth, unreadable: UnreadableSecret | undefined): void => {
    const now = result.ok ? 'ok' : (result.reason ?? 'fail');
    if (now === state) return;
    const was = state;
    state = now;
    const fields = { health: now, previous: was, status: result.status, era: result.era, latencyMs: result.latencyMs, ...unreadable?.fields };
    if (result.ok) logger.info(withoutUndefined(fields), 'mcpProxy: health probe succeeded');
    else logger.warn(withoutUndefined(fields), `mcpProxy: health probe failed (${now})${unreadable ? `: ${unreadable.message}` : ''}`);
  };

  const attempt = async (): Promise<RouteHealth> => {
    const started = performance.now();
    const headers = routeHeaders(config);
    const outcome = headers.ok ? await probeOnce(config, url, agent, headers.headers) : ({ ok: false, reason: 'secret_unavailable' } as const);
    const result = toHealth(config.name, outcome, started);
    if (outcome.ok && outcome.sessionLeft) {
      logger.warn({ era: outcome.era }, 'mcpProxy: the health probe could not end its 2025 session (DELETE failed); the backend ends it when it expires');
    }
    report(result, headers.ok ? undefined : headers);
    last = { result, expires: performance.now() + config.health.cacheTtl };
    return result;
  };

  return (options = {}) => {
    // A closing route is not ready whatever its backend says: the load balancer takes it out of rotation.
    if (closing())
      return Promise.resolve({ route: config.name, ok: false, reason: 'closed', latencyMs: 0, checkedAt: new Date().toISOString(), cached: false });
    if (inFlight) return inFlight;
    if (!options.fresh && last && performance.now() < last.expires) return Promise.resolve({ ...last.result, cached: true });
    inFlight = attempt().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

/** One probe within the deadline. Never rejects. */
async function probeOnce(config: ProxyConfig, url: URL, agent: http.Agent, headers: OutgoingHttpHeaders): Promise<ProbeOutcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.health.timeout);
  try {
    return await probeBackend({ url, agent, signal: controller.signal }, headers);
  } catch (err) {
    return { ok: false, reason: controller.signal.aborted ? 'timeout' : connectionFailure(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** A secret the probe could not read: the option path, the secret's name and source, and the problem in words. */
interface UnreadableSecret {
  readonly ok: false;
  readonly fields: Readonly<Record<string, string>>;
  readonly message: string;
}

/**
 * The route's static and secret headers, read now (a rotated secret is probed with its new value), or
 * which secret cannot be read: then the backend is not called with a header missing, and the log
 * line of the state change names the option and the secret (as at startup), never a value.
 */
function routeHeaders(config: ProxyConfig): { readonly ok: true; readonly headers: OutgoingHttpHeaders } | UnreadableSecret {
  const headers: OutgoingHttpHeaders = Object.fromEntries(config.plaintext);
  for (const header of config.fromSecret) {
    const secret = readSecret(config.secrets, header.secret, config.maxValueLength);
    if (!secret.ok) {
      const message = `the secret behind ${header.path} ${describeSecretProblem(secret, config.maxValueLength)}`;
      return { ok: false, fields: { option: header.path, secret: header.secret, source: config.secrets.description }, message };
    }
    headers[header.name] = secret.value;
  }
  return { ok: true, headers };
}

/** TLS failures by Node's and OpenSSL's error codes; the rest of a failed connection is `unreachable`. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|EPROTO$)/;

function connectionFailure(err: unknown): HealthReason {
  if (err instanceof ProbeBodyError) return 'bad_response';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'unreachable';
  if (code.startsWith('HPE_')) return 'bad_response';
  return TLS_CODE.test(code) ? 'tls' : 'unreachable';
}

function toHealth(route: string, outcome: ProbeOutcome, started: number): RouteHealth {
  const base = { route, latencyMs: Math.round(performance.now() - started), checkedAt: new Date().toISOString(), cached: false };
  if (outcome.ok) return { ...base, ok: true, era: outcome.era, status: outcome.status };
  return withoutUndefined({ ...base, ok: false, era: outcome.era, status: outcome.status, reason: outcome.reason }) as RouteHealth;
}
