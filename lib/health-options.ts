/**
 * The public types of health probes (`route.probe()`, `healthHandler()`, the `health` option of
 * mcpProxy) and their defaults. A probe result holds names, statuses and fixed reason words only:
 * never a header value, and never anything the backend wrote in its body.
 */

/** The `health` option of mcpProxy. */
export interface HealthOptions {
  /**
   * Milliseconds one probe may take in all (connect, answer, and for a 2025 backend the initialize and
   * the DELETE); past it the result is `timeout`. @default 5000
   */
  timeout?: number;
  /**
   * Milliseconds a result is reused, so a scraper polling `/readyz` does not load the backend; `0`
   * probes on every call (concurrent calls still share one attempt). @default 5000
   */
  cacheTtl?: number;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 5000;
export const DEFAULT_HEALTH_CACHE_TTL_MS = 5000;

/** Options of one `route.probe()` call. */
export interface ProbeOptions {
  /** Skip a cached result (an attempt already under way is still joined: it is fresh). @default false */
  fresh?: boolean;
}

/** The protocol era a backend answered in: `server/discover` (2026-07-28) or `initialize` (2025-11-25 and earlier). */
export type HealthEra = '2026-07-28' | '2025-11-25';

/**
 * Why a probe failed. A fixed vocabulary, so a result can be shown to anyone:
 * - `unreachable`: no connection, or the backend closed it.
 * - `timeout`: no complete answer within `health.timeout`.
 * - `tls`: the TLS handshake failed (certificate, name, protocol).
 * - `bad_status`: an HTTP status that means not serving (401, 403, 5xx, or 4xx to both eras' requests); see `status`.
 * - `bad_response`: a status of success with a body that is no JSON-RPC answer, or invalid HTTP.
 * - `secret_unavailable`: a `headers.fromSecret` secret cannot be read now; the backend was not called.
 * - `internal_error`: a health check given to `healthHandler` threw.
 */
export type HealthReason = 'unreachable' | 'timeout' | 'tls' | 'bad_status' | 'bad_response' | 'secret_unavailable' | 'closed' | 'internal_error';

/** The result of one probe: about a route, never quoting a header value or the backend's body. */
export interface RouteHealth {
  /** The route's name (the `name` option of mcpProxy). */
  readonly route: string;
  readonly ok: boolean;
  /** The era the backend answered in, when it answered. */
  readonly era?: HealthEra;
  /** The backend's HTTP status of the deciding answer, when there was one. */
  readonly status?: number;
  /** Why it failed; absent when `ok`. */
  readonly reason?: HealthReason;
  /** How long the probe took, in whole milliseconds. */
  readonly latencyMs: number;
  /** When the probe finished (ISO 8601). */
  readonly checkedAt: string;
  /** `true` when this is an earlier probe's result, reused within `health.cacheTtl`. */
  readonly cached: boolean;
}

/** Anything `healthHandler` can aggregate: an mcpProxy route, or a check of your own (a database, a queue). */
export interface HealthCheck {
  readonly name: string;
  /** Resolves with the check's result; a rejection is reported as `internal_error`, without its message. */
  readonly probe: (options?: ProbeOptions) => Promise<RouteHealth>;
}

/** Options of `healthHandler`. */
export interface HealthHandlerOptions {
  /**
   * Put each route's result in the body. `false` answers `{ "status": "ok" | "fail" }` only, for an
   * endpoint reachable by people who should not learn route names. @default true
   */
  detail?: boolean;
}

/** The body `healthHandler` answers with (200 when every check is ok, else 503). */
export interface HealthReport {
  readonly status: 'ok' | 'fail';
  readonly routes?: readonly RouteHealth[];
}
