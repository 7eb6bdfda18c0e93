/**
 * One route's side of the relay's metrics: the RouteObserver that `relayMetrics().observeRoute` returns,
 * writing to the metric family index.ts registered, with the route's name as the `route` label.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { RejectReason } from '../rejection.js';
import type { HeaderDropReason, ObservedMethod, RouteObserver } from '../route-observer.js';

/** The relay's metrics, shared by all routes of one relayMetrics(). */
export interface Family {
  readonly requests: Counter<'route' | 'method' | 'status_code' | 'reason'>;
  readonly latency: Histogram<'route' | 'method'>;
  readonly streams: Gauge<'route'>;
  readonly forwarded: Counter<'route' | 'header'>;
  readonly dropped: Counter<'route' | 'header' | 'reason'>;
}

type CounterChild = ReturnType<Counter['labels']>;
type HistogramChild = ReturnType<Histogram['labels']>;

/** One route's observer: label children looked up once per label combination, so a request costs a Map lookup per metric. */
export class PrometheusRoute implements RouteObserver {
  readonly #route: string;
  readonly #family: Family;
  readonly #streams: ReturnType<Gauge['labels']>;
  readonly #requests = new Map<string, CounterChild>();
  readonly #latency = new Map<ObservedMethod, HistogramChild>();
  readonly #forwarded = new Map<string, CounterChild>();
  readonly #dropped = new Map<string, CounterChild>();
  readonly #closed: () => void;

  constructor(route: string, family: Family, closed: () => void) {
    this.#route = route;
    this.#family = family;
    this.#closed = closed;
    // The series exists from the start (0), so a dashboard shows the route before its first stream.
    this.#streams = family.streams.labels({ route });
    this.#streams.inc(0);
  }

  requestFinished(method: ObservedMethod, status: number, reason: RejectReason | undefined): void {
    const key = `${method} ${status} ${reason ?? ''}`;
    let child = this.#requests.get(key);
    if (!child) {
      child = this.#family.requests.labels({ route: this.#route, method, status_code: String(status), reason: reason ?? '' });
      this.#requests.set(key, child);
    }
    child.inc();
  }

  upstreamResponded(method: ObservedMethod, seconds: number): void {
    let child = this.#latency.get(method);
    if (!child) {
      child = this.#family.latency.labels({ route: this.#route, method });
      this.#latency.set(method, child);
    }
    child.observe(seconds);
  }

  streamOpened(): void {
    this.#streams.inc();
  }

  streamClosed(): void {
    this.#streams.dec();
  }

  headerForwarded(header: string): void {
    let child = this.#forwarded.get(header);
    if (!child) {
      child = this.#family.forwarded.labels({ route: this.#route, header });
      this.#forwarded.set(header, child);
    }
    child.inc();
  }

  headerDropped(header: string, reason: HeaderDropReason): void {
    const key = `${header} ${reason}`;
    let child = this.#dropped.get(key);
    if (!child) {
      child = this.#family.dropped.labels({ route: this.#route, header, reason });
      this.#dropped.set(key, child);
    }
    child.inc();
  }

  routeClosed(): void {
    this.#closed();
  }
}
