/**
 * The public option types of captureHeaders() and mcpProxy(), and their defaults: what a user writes.
 * The parsers (parse-options.ts) turn them into the resolved configurations of config.ts. The
 * `session` and `health` options have their own modules (session-options.ts, health-options.ts);
 * what mcpProxy returns is McpRoute (route-operations.ts).
 */
import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import type { RelayLogger } from './logger.js';
import type { CredentialCacheOptions, CredentialSource } from './credential-source.js';
import type { HealthOptions } from './health-options.js';
import type { SecretProvider } from './secrets.js';
import type { SessionOptions } from './session-options.js';
import type { RouteMetrics } from './route-observer.js';

/** Connect/Express-compatible middleware, typed against node:http so any framework fits. */
export type RelayMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Options of {@link captureHeaders}. */
export interface CaptureHeadersOptions {
  /**
   * Incoming header names to capture (any casing; stored lower-case). Nothing else is ever captured.
   * Restricted names (hop-by-hop, routing, forwarding and MCP protocol headers) are refused.
   */
  allow: readonly string[];
  /**
   * Permit `authorization` and `cookie` in `allow`. Forwarding a caller's credential is token
   * passthrough (see docs/security.md); a warning naming the header is logged at startup.
   * @default false
   */
  allowCredentials?: boolean;
  /** Longest accepted header value in bytes; a longer captured value gets 431. @default 8192 */
  maxValueLength?: number;
  /** Console- or pino-compatible logger. Names and decisions only, never values. @default console (warn, error) */
  logger?: RelayLogger;
}

/**
 * The headers a route sets itself, each map keyed by the outgoing header name. A name may appear in
 * one map only, and the client's own copy of it is never forwarded. See docs/identity.md.
 */
export interface RouteHeaders {
  /** Header name -> value, sent on every request to this backend. */
  plaintext?: Readonly<Record<string, string>>;
  /** Header name -> secret name, resolved through `secrets` on every request. */
  fromSecret?: Readonly<Record<string, string>>;
  /**
   * Header name -> captured header name: forwards a captured value under another name for this
   * backend (`{ Authorization: 'x-upstream-authorization' }`). The captured name is then not also
   * forwarded under its own name. A credential name (`authorization`, `cookie`) as the source is token
   * passthrough and needs `allowCredentials`.
   */
  fromCaptured?: Readonly<Record<string, string>>;
  /**
   * Header name -> template: literal text with `{captured:<header>}`, `{secret:<NAME>}` and
   * `{principal}` placeholders (`'Bearer {captured:x-user-token}'`). A template with an absent input
   * yields no header.
   */
  template?: Readonly<Record<string, string>>;
  /**
   * Header name -> function of the request, sync or async (`(req) => req.user?.id`): identity the host
   * app's auth established, which the client cannot forge. `undefined` sends no header.
   */
  fromRequest?: Readonly<Record<string, HeaderFunction>>;
  /**
   * Header name -> per-user credential: a {@link CredentialSource} such as `tokenExchange({...})`, or
   * `{ source, cache }` to tune its cache. Resolved per request (cached per key); a failure is 502
   * `credential_unavailable`, and the request is not forwarded without it.
   */
  fromCredential?: Readonly<Record<string, CredentialSource | CredentialHeader>>;
}

/** A credential source with its cache options (`headers.fromCredential`). */
export interface CredentialHeader {
  source: CredentialSource;
  cache?: CredentialCacheOptions;
}

/** @deprecated Renamed to {@link RouteHeaders} in 0.3.0. */
export type StaticHeaders = RouteHeaders;

/** Computes a header value from the request; `undefined` (or an empty string) sends no header. */
export type HeaderFunction = (req: IncomingMessage) => string | undefined | PromiseLike<string | undefined>;

/** One request that relayed a credential header (see `audit`): names and sources, never a value. */
export interface CredentialAuditEvent {
  /** The route's target, without its query. */
  readonly route: string;
  readonly method: string;
  /** The 2026-07-28 `Mcp-Method` header or undefined. */
  readonly mcpMethod: string | undefined;
  readonly headers: readonly { readonly name: string; readonly source: CredentialSourceKind }[];
}

/** Where a relayed credential came from. */
export type CredentialSourceKind = 'captured' | 'renamed' | 'template' | 'request' | 'credential' | 'static' | 'secret';

/** Options of {@link mcpProxy}. */
export interface McpProxyOptions {
  /** Backend MCP endpoint, e.g. `http://127.0.0.1:9001/mcp`. A request to the mount root reaches this path exactly. */
  target: string | URL;
  /**
   * The route's name in log lines, metrics labels and health reports: 1 to 64 visible ASCII characters.
   * @default the target's host and path, e.g. `127.0.0.1:9001/mcp`
   */
  name?: string;
  /**
   * Captured headers this backend receives. Default: every captured header, except `authorization`
   * and `cookie` unless `allowCredentials` is set.
   */
  passthrough?: readonly string[];
  /** Headers this route sets itself (static, secret, renamed, templated, computed); they win over a captured header of the same name. */
  headers?: RouteHeaders;
  /**
   * The authenticated identity behind a request, set by the host app's auth middleware (for example
   * `(req) => req.user?.id`), for `{principal}` in `headers.template`. Default: `session.principal`.
   */
  principal?(req: IncomingMessage): string | undefined;
  /**
   * Outgoing header names every request must carry (captured, renamed, templated, computed or static);
   * a request without one gets 400 `missing_required_header` instead of going out without it.
   */
  required?: readonly string[];
  /**
   * Called for each request that relays a credential header (`authorization` or `cookie`, whatever
   * its source, or one from `headers.fromCredential`), with the route, the names and their sources,
   * never a value. A throw is logged.
   */
  audit?(event: CredentialAuditEvent): void;
  /** Where `headers.fromSecret` values come from. @default envSecrets() */
  secrets?: SecretProvider;
  /**
   * Session handling, see docs/sessions.md. `'request'`: stateless, headers read per request.
   * `'bind'`: a session must keep presenting the captured headers it was initialized with.
   * `{ mode: 'pin', principal }`: the initialize's captured values are kept for the session and its principal.
   * @default 'request'
   */
  session?: SessionOptions;
  /** Permit forwarding captured `authorization` and `cookie` (token passthrough). @default false */
  allowCredentials?: boolean;
  /**
   * Milliseconds for connecting to the backend and sending it the whole request; past it the client
   * gets 504, so a dead or unreachable backend is answered within seconds. @default 10000
   */
  connectTimeout?: number;
  /**
   * Milliseconds the backend may take, once it has the request, to start its response: its headers
   * for an event stream, the first body byte otherwise. A silent tool call answers only when it is
   * done, so this is long. A response under way is never cut. @default 300000 (5 minutes)
   */
  responseTimeout?: number;
  /**
   * `Host` names this route accepts (DNS-rebinding guard, see docs/security.md): `'name'` (any port),
   * `'name:port'`, or `['*']` for any. Default: on a loopback listener only `localhost`, `127.0.0.1`
   * and `[::1]`; on any other listener, any.
   */
  allowedHosts?: readonly string[];
  /**
   * `Origin`s this route accepts when a request carries one (browsers do): `'https://app.example'`,
   * or `['*']` for any. Default: on a loopback listener only loopback origins (`http(s)://localhost`,
   * `127.0.0.1`, `[::1]`, any port); on any other listener, any.
   */
  allowedOrigins?: readonly string[];
  /**
   * Response headers this route forwards to the client besides the defaults (`RESPONSE_HEADERS`:
   * content description, caching, `Mcp-Session-Id`, `WWW-Authenticate`, `Retry-After`, rate limits).
   * Every other header the backend sends is dropped. Hop-by-hop names and this route's secret header
   * names are refused.
   */
  responseHeaders?: readonly string[];
  /**
   * Forward the caller's W3C trace context (`traceparent`, and `tracestate` with it) to the backend
   * when valid per W3C Trace Context; an invalid one is dropped (not refused) and logged at debug
   * by name and reason. Without it the caller's trace headers never reach the backend. A tracer that
   * instruments the upstream request (OpenTelemetry's HTTP instrumentation) sets its own `traceparent`,
   * which wins. See docs/operations.md#tracing.
   * @default false
   */
  forwardTraceContext?: boolean;
  /** Longest accepted static or secret header value in bytes. Protocol headers are bounded by Node's header limit only. @default 8192 */
  maxValueLength?: number;
  /** Health probe settings (`route.probe()`, `healthHandler`): `{ timeout, cacheTtl }` in milliseconds. @default { timeout: 5000, cacheTtl: 5000 } */
  health?: HealthOptions;
  /** Console- or pino-compatible logger. Names and decisions only, never values. @default console (warn, error) */
  logger?: RelayLogger;
  /**
   * Prometheus metrics for this route: pass the object `relayMetrics()` from `mcp-header-relay/metrics`
   * returns (one for all routes). See docs/operations.md, "Metrics". @default none
   */
  metrics?: RouteMetrics;
  /**
   * TLS to an `https:` target: a private CA, a client certificate (mTLS), the name to verify. Applied
   * to the route's own connection pool. Not with an `http:` target, not together with `agent`.
   * See docs/operations.md#tls-to-backends.
   */
  tls?: BackendTlsOptions;
  /**
   * Your own agent for the upstream connections instead of the route's keep-alive pool: an
   * `https.Agent` for an `https:` target (carrying its own TLS options), an `http.Agent` for `http:`.
   * The route then neither creates nor configures one. Not together with `tls`.
   */
  agent?: Agent;
}

/** The `tls` option of {@link mcpProxy}: PEM contents, e.g. `fs.readFileSync('ca.pem')`. Checked at construction. */
export interface BackendTlsOptions {
  /** CA certificates the backend's certificate must chain to, instead of Node's built-in list. @default Node's CAs */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate chain (PEM) for backends that require mTLS. Needs `key`. */
  cert?: string | Buffer;
  /** The client certificate's private key (PEM). Needs `cert`. */
  key?: string | Buffer;
  /** Decrypts an encrypted `key`. */
  passphrase?: string;
  /**
   * The DNS name sent as SNI and checked against the backend's certificate, when it differs from the
   * target's host (a target by IP address, a name the certificate does not carry). @default the target's host
   */
  servername?: string;
  /**
   * `false` accepts any certificate, unverified: anyone on the path can pose as the backend and read
   * what the route sends, secrets included. Logs a warning at construction. @default true
   */
  rejectUnauthorized?: boolean;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 5 * 60_000;
/** More entries than this in one list or map is a configuration smell, and a per-request cost. */
export const MAX_CONFIGURED_HEADERS = 64;
