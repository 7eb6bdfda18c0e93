/** The shapes the benchmark's processes exchange and the report holds. */
import type { IntervalHistogram } from 'node:perf_hooks';

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
  /** The backend keeps each stream open after its last event; the client prints its result and holds them until SIGTERM. */
  keepOpen?: boolean;
}

export interface SseResult {
  /** From sending the GET to the first event, per stream. */
  firstEventMs: Percentiles;
  /** From the backend writing an event to the client reading it. */
  eventMs: Percentiles;
  events: number;
  /** Streams that ended before all their events arrived. */
  broken: number;
  /** This client's own event-loop delay while it ran: a busy client would add it to `eventMs`. */
  loopDelayMs: Percentiles;
}

/** What an idle-stream client (bench/idle-client.ts) holds open: `spec.streams` GET streams that carry no events. */
export interface IdleSpec {
  url: string;
  headers: Record<string, string>;
  streams: number;
  /** Streams being opened at once; more would only queue in the gateway's accept backlog. */
  concurrency: number;
  /** A stream without its first event by then counts as failed. */
  openTimeoutMs: number;
}

/** Printed once every stream of an IdleSpec is open or has failed. */
export interface IdleOpened {
  opened: number;
  failed: number;
  seconds: number;
}

/** What a gateway process reports about itself: memory after a full GC, and CPU time used so far. */
export interface GatewayStats {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  cpuMicros: number;
}

/** How often an event-loop delay histogram (monitorEventLoopDelay) samples, in ms. */
export const LOOP_RESOLUTION_MS = 10;

/**
 * Percentiles in milliseconds of a monitorEventLoopDelay histogram sampling every LOOP_RESOLUTION_MS.
 * It records the whole time between two samples (nanoseconds), so the resolution itself is taken off.
 */
export function loopDelay(histogram: IntervalHistogram): Percentiles {
  const ms = (ns: number): number => (histogram.count ? Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) : NaN);
  return { p50: ms(histogram.percentile(50)), p90: ms(histogram.percentile(90)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
}

/** Percentiles of `values` (sorted in place). */
export function percentiles(values: number[]): Percentiles {
  values.sort((a, b) => a - b);
  const at = (p: number): number => values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;
  return { p50: at(50), p90: at(90), p99: at(99), max: values.at(-1) ?? NaN };
}
