/**
 * mcp-header-relay/metrics: Prometheus metrics for mcpProxy routes, with prom-client (an optional peer
 * dependency). Only the modules of lib/metrics/ import prom-client (this one, and prometheus-route.ts,
 * a route's observer), and the main entry never imports them, so a host app without metrics loads neither.
 *
 * One `relayMetrics()` serves every route: pass it as each route's `metrics` option, and mount
 * `handler` at `/metrics`, or pass your own `registry` and serve that as you already do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HeaderConfigError } from '../config-error.js';
import type { ObservedRoute, RouteMetrics } from '../route-observer.js';
import { PrometheusRoute } from './prometheus-route.js';

/** Options of {@link relayMetrics}. */
export interface RelayMetricsOptions {
  /**
   * Register the metrics in this registry (for example prom-client's global `register`, next to
   * `collectDefaultMetrics()`) instead of a private one. A second `relayMetrics()` with the same
   * registry and prefix returns the first one's object.
   */
  registry?: Registry;
  /** Prefix of every metric name. @default 'mcp_relay_' */
  prefix?: string;
  /**
   * Upper bounds (seconds) of the upstream latency histogram's buckets. A tool call may take minutes.
   * @default DEFAULT_LATENCY_BUCKETS (5 ms to 5 min)
   */
  buckets?: readonly number[];
}

/** What {@link relayMetrics} returns: the `metrics` option of every mcpProxy, and the `/metrics` handler. */
export interface RelayMetrics extends RouteMetrics {
  /** Where the metrics are registered: the `registry` option, or the private one. */
  readonly registry: Registry;
  /** Answers with the registry's text exposition: `app.get('/metrics', metrics.handler)`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export const DEFAULT_PREFIX = 'mcp_relay_';
/** prom-client's defaults up to 10 s, then the minutes a silent tool call may take (responseTimeout defaults to 5 min). */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);

const OPTION_NAMES = ['registry', 'prefix', 'buckets'];
/** Prometheus metric name grammar (the prefix is the start of one). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** One registry's relay metrics, by prefix: a second call reuses them instead of failing on "already registered". */
const created = new WeakMap<Registry, Map<string, { metrics: RelayMetrics; buckets: string }>>();

/**
 * The relay's metrics, shared by all routes:
 * - `mcp_relay_requests_total{route,method,status_code,reason}` counter;
 * - `mcp_relay_upstream_response_seconds{route,method}` histogram (request handed to the backend until its response headers);
 * - `mcp_relay_open_streams{route}` gauge;
 * - `mcp_relay_sessions{route,mode}` gauge (read at scrape time);
 * - `mcp_relay_headers_forwarded_total{route,header}` and `mcp_relay_headers_dropped_total{route,header,reason}` counters.
 * Throws HeaderConfigError for a bad option, or when the registry already holds one of these names from elsewhere.
 */
export function relayMetrics(options: RelayMetricsOptions = {}): RelayMetrics {
  const { registry, prefix, buckets } = parseOptions(options);
  const bucketsKey = buckets.join(',');
  const byPrefix = created.get(registry) ?? new Map<string, { metrics: RelayMetrics; buckets: string }>();
  created.set(registry, byPrefix);
  const existing = byPrefix.get(prefix);
  if (existing) {
    if (existing.buckets !== bucketsKey) {
      throw new HeaderConfigError(
        'ERR_INVALID_OPTION',
        'buckets',
        `relayMetrics() was already called for this registry and prefix "${prefix}" with other buckets; call it once and pass its object to every route`,
      );
    }
    return existing.metrics;
  }
  const metrics = createMetrics(registry, prefix, buckets);
  byPrefix.set(prefix, { metrics, buckets: bucketsKey });
  return metrics;
}

function parseOptions(options: RelayMetricsOptions): { registry: Registry; prefix: string; buckets: readonly number[] } {
  // Checked as unknown: a JavaScript caller's options are whatever it passes.
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) throw new HeaderConfigError('ERR_INVALID_OPTION', '(options)', 'relayMetrics() takes an options object');
  for (const key of Object.keys(given)) {
    if (!OPTION_NAMES.includes(key))
      throw new HeaderConfigError('ERR_INVALID_OPTION', key, `unknown option of relayMetrics(); it takes ${OPTION_NAMES.join(', ')}`);
  }
  const { registry, prefix = DEFAULT_PREFIX, buckets = DEFAULT_LATENCY_BUCKETS } = given as Record<string, unknown>;
  if (registry !== undefined && !isRegistry(registry)) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'registry', "must be a prom-client Registry, e.g. import { register } from 'prom-client'");
  }
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'prefix',
      "must start a Prometheus metric name: letters, digits, '_' and ':', not a digit first, e.g. 'mcp_relay_'",
    );
  }
  if (!isIncreasing(buckets)) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'buckets', 'must be a non-empty list of increasing positive seconds, e.g. [0.1, 1, 10]');
  }
  return { registry: registry ?? new Registry(), prefix, buckets: [...buckets] };
}

function isIncreasing(value: unknown): value is readonly number[] {
  if (!Array.isArray(value) || value.length === 0) return false;
  const list = value as unknown[];
  return list.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (list[i - 1] as number)));
}

/** Duck-typed: a registry from another copy of prom-client is not `instanceof` ours, and works alike. */
function isRegistry(value: unknown): value is Registry {
  const r = value as Partial<Registry> | null;
  return (
    typeof r === 'object' && r !== null && typeof r.registerMetric === 'function' && typeof r.getSingleMetric === 'function' && typeof r.metrics === 'function'
  );
}

function createMetrics(registry: Registry, prefix: string, buckets: readonly number[]): RelayMetrics {
  const names = ['requests_total', 'upstream_response_seconds', 'open_streams', 'sessions', 'headers_forwarded_total', 'headers_dropped_total'].map(
    (n) => prefix + n,
  );
  const taken = names.find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'registry',
      `already holds a metric named "${taken}" that relayMetrics() did not register; pass another prefix, or remove that metric`,
    );
  }
  const registers = [registry];
  const requests = new Counter({
    name: `${prefix}requests_total`,
    help: 'Requests an MCP route handled, by HTTP method, status sent (0: none, the client left) and reason when the relay answered itself',
    labelNames: ['route', 'method', 'status_code', 'reason'] as const,
    registers,
  });
  const latency = new Histogram({
    name: `${prefix}upstream_response_seconds`,
    help: "Seconds from handing a request to the backend until the backend's response headers arrived",
    labelNames: ['route', 'method'] as const,
    buckets: [...buckets],
    registers,
  });
  const streams = new Gauge({
    name: `${prefix}open_streams`,
    help: 'Event streams (text/event-stream responses) open through the route',
    labelNames: ['route'] as const,
    registers,
  });
  const sources: ObservedRoute[] = [];
  new Gauge({
    name: `${prefix}sessions`,
    help: 'MCP sessions a bind or pin route holds in this process',
    labelNames: ['route', 'mode'] as const,
    registers,
    collect() {
      // Read now from each route (sums routes that share a name); nothing is counted on the request path.
      const held = new Map<string, { route: string; mode: string; value: number }>();
      for (const source of sources) {
        const key = `${source.name}\n${source.session}`;
        const entry = held.get(key) ?? { route: source.name, mode: source.session, value: 0 };
        entry.value += source.sessionsHeld?.() ?? 0;
        held.set(key, entry);
      }
      this.reset();
      for (const { route, mode, value } of held.values()) this.set({ route, mode }, value);
    },
  });
  const forwarded = new Counter({
    name: `${prefix}headers_forwarded_total`,
    help: "Headers the route's policy sent to the backend (not protocol or framing headers); header is a name the route configures, else other",
    labelNames: ['route', 'header'] as const,
    registers,
  });
  const dropped = new Counter({
    name: `${prefix}headers_dropped_total`,
    help: 'Headers a client sent that the route did not forward under their own name, by reason; header is a name the route configures, else other',
    labelNames: ['route', 'header', 'reason'] as const,
    registers,
  });
  const family = { requests, latency, streams, forwarded, dropped };

  return {
    registry,
    handler(_req, res) {
      registry.metrics().then(
        (text) => {
          res.statusCode = 200;
          res.setHeader('Content-Type', registry.contentType);
          res.end(text);
        },
        () => {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end('metrics collection failed\n');
        },
      );
    },
    observeRoute(route) {
      if (route.sessionsHeld) sources.push(route);
      // A closed route (a gateway reload retires routes) leaves the gauge's sources; its counters stay, as a counter must.
      const stopReading = () => {
        const at = sources.indexOf(route);
        if (at >= 0) sources.splice(at, 1);
      };
      return new PrometheusRoute(route.name, family, stopReading);
    },
  };
}
