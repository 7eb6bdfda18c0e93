/**
 * What a route holds besides its request path, and what mcpProxy returns: the McpRoute type, the
 * route's upstream connection pool, its lifecycle (what `close()` lets go of), its metrics tally, and
 * the middleware dressed with `name`, `close`, `probe` and `explain`.
 */
import http from 'node:http';
import https from 'node:https';
import type { ProxyConfig } from './config.js';
import { explainRequest } from './explain.js';
import type { ExplainInput, Explanation } from './explain-types.js';
import { routeProbe } from './health.js';
import type { ProbeOptions, RouteHealth } from './health-options.js';
import { RouteLifecycle, type CloseOptions, type CloseSummary } from './lifecycle.js';
import type { RelayMiddleware } from './options.js';
import { RequestTally, type ObservedRoute } from './route-observer.js';
import type { SessionGuard } from './session-guard.js';

/** What {@link mcpProxy} returns: the middleware for `app.use`, with the route's operations. */
export interface McpRoute extends RelayMiddleware {
  /** The route's name (the `name` option, or the target's host and path): in logs, metrics and health reports. */
  readonly name: string;
  /**
   * Stops the route: new requests get 503 `route_closed`; requests and event streams under way get
   * `grace` ms to end by themselves, then are cut; then the route's upstream sockets, its own session
   * store and its cached credentials are let go. Idempotent. See docs/operations.md#shutdown.
   */
  readonly close: (options?: CloseOptions) => Promise<CloseSummary>;
  /**
   * Checks the backend with the route's static and secret headers (2026: `server/discover`; 2025:
   * `initialize`, then DELETE of its session), within `health.timeout`, reusing a result for
   * `health.cacheTtl`. Never rejects; see docs/operations.md#health. Needs no `this`: pass it around freely.
   */
  readonly probe: (options?: ProbeOptions) => Promise<RouteHealth>;
  /**
   * A dry run: what the backend would receive for this request (values masked unless `reveal`), why
   * each other header would be dropped, or the refusal the client would get. Calls no backend and no
   * token endpoint. See docs/operations.md (Explain).
   */
  readonly explain: (input: ExplainInput) => Promise<Explanation>;
}

/** A route's long-lived parts, made once at construction. */
export interface RouteOperations {
  /** The upstream pool, shared with the health probe, which then connects the way requests do. */
  readonly agent: http.Agent;
  readonly lifecycle: RouteLifecycle;
  /** Only with the `metrics` option: without it the request path pays one null check per event. */
  readonly tally: RequestTally | undefined;
}

export function routeOperations(config: ProxyConfig, sessions: SessionGuard | undefined): RouteOperations {
  const agent = upstreamAgent(config);
  const lifecycle = new RouteLifecycle(config.name, config.logger, () => {
    // An agent the host app passed may serve others: it is the app's to destroy.
    if (!config.agent) agent.destroy();
    sessions?.close();
    for (const header of config.credentials) header.cache.clear();
    tally?.routeClosed();
  });
  const tally = config.metrics && new RequestTally(config.metrics.observeRoute(observedRoute(config, sessions)), config);
  return { agent, lifecycle, tally };
}

/** The middleware as mcpProxy returns it: the route's name and operations are properties, so none needs `this`. */
export function asRoute(middleware: RelayMiddleware, config: ProxyConfig, { agent, lifecycle }: RouteOperations): McpRoute {
  // Function.name is configurable, not writable: defined, not assigned.
  return Object.defineProperties(middleware, {
    name: { value: config.name },
    close: { value: (closeOptions?: CloseOptions) => lifecycle.close(closeOptions) },
    probe: { value: routeProbe(config, agent, () => lifecycle.closing) },
    explain: { value: (input: ExplainInput) => explainRequest(config, input) },
  }) as McpRoute;
}

/** The route as its metrics see it: name, session mode, and the sessions gauge's source. */
function observedRoute(config: ProxyConfig, sessions: SessionGuard | undefined): ObservedRoute {
  return { name: config.name, session: config.session.mode, sessionsHeld: sessions && (() => sessions.held()) };
}

/**
 * This route's own keep-alive pool. httpxy's shared default allows 256 sockets per backend, and every
 * open event stream holds one, so request 257 (a short POST too) would queue behind the streams until
 * `connectTimeout`. Without a socket cap a request waits for no other; the inbound connections bound the count.
 * The `tls` option configures this pool (Node lets an agent's options win over httpxy's per request);
 * a user's `agent` replaces it.
 */
function upstreamAgent(config: Pick<ProxyConfig, 'origin' | 'tls' | 'agent'>): http.Agent {
  if (config.agent) return config.agent;
  const options = { keepAlive: true, maxFreeSockets: 64 };
  return config.origin.startsWith('https:') ? new https.Agent({ ...options, ...config.tls }) : new http.Agent(options);
}
