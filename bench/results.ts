/** The shapes the benchmark's processes exchange and the report holds. */

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  /** Run for this long, unless `amount` is set. */
  seconds?: number;
  /** Send exactly this many requests. */
  amount?: number;
  /** Requests per second across all connections; unset: as fast as possible. */
  rate?: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  latencyMs: Percentiles;
}

export interface SseSpec {
  url: string;
  headers: Record<string, string>;
  streams: number;
  /** Open the streams one after another instead of at once. */
  sequential?: boolean;
  events: number;
  intervalMs: number;
}

export interface SseResult {
  /** From sending the GET to the first event, per stream. */
  firstEventMs: Percentiles;
  /** From the backend writing an event to the client reading it. */
  eventMs: Percentiles;
  events: number;
  /** Streams that ended before all their events arrived. */
  broken: number;
}

/** What a gateway process reports about itself: memory after a full GC, and CPU time used so far. */
export interface GatewayStats {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  cpuMicros: number;
}

/** Percentiles of `values` (sorted in place). */
export function percentiles(values: number[]): Percentiles {
  values.sort((a, b) => a - b);
  const at = (p: number): number => values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;
  return { p50: at(50), p90: at(90), p99: at(99), max: values.at(-1) ?? NaN };
}
