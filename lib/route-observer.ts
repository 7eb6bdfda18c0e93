/**
 * What a route tells a metrics implementation (`mcp-header-relay/metrics`, or the host app's own), in
 * terms of the relay only: no prom-client type appears here, so the main entry never loads it.
 *
 * Every label value a route passes is bounded by its configuration: the HTTP method is one of four,
 * a reason comes from the fixed RejectReason and HeaderDropReason lists, and a header is a name the
 * route's options list, or `other`. A client cannot grow a label set by sending new names.
 *
 * mcpProxy keeps a RequestTally only when the `metrics` option is set; without it the hot path pays one
 * null check per event.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyConfig } from './config.js';
import type { DropReason } from './explain-types.js';
import { isProtocolHeader } from './header-rules.js';
import type { RejectReason } from './rejection.js';
import { requestSlot } from './request-slot.js';
import { notTakenReason, type NotTakenReason, type OutgoingHeaders } from './forwarding-policy.js';
import type { RelayLogger } from './logger.js';

/** The `metrics` option of mcpProxy: what `relayMetrics()` returns. */
export interface RouteMetrics {
  /** Called once by each mcpProxy at construction; the observer hears that route's requests. */
  observeRoute(route: ObservedRoute): RouteObserver;
}

/** A route as a metrics implementation sees it. */
export interface ObservedRoute {
  /** The route's name (the `name` option, or the target's host and path). */
  readonly name: string;
  readonly session: 'request' | 'bind' | 'pin';
  /** Sessions this route holds now (`bind` and `pin`; read at scrape time, so it costs no request anything). */
  readonly sessionsHeld: (() => number) | undefined;
}

/** An HTTP method as a label: the three MCP uses, everything else `other`. */
export type ObservedMethod = 'GET' | 'POST' | 'DELETE' | 'other';

/**
 * Why a header a client sent did not reach the backend under its own name, in explain's words (a subset
 * of its DropReason: step 4's reasons come from the same rule, notTakenReason):
 * - `not_in_passthrough`: captured, but the route's `passthrough` does not list it;
 * - `credential_not_allowed`: a captured `authorization` or `cookie` on a route without `allowCredentials`;
 * - `overridden_by_route`: captured, but the route sets that name itself (`headers.*`), and its value wins;
 * - `not_captured`: a name the route forwards or reads that the client sent, but no `captureHeaders`
 *   allowed (or none ran before the proxy).
 * A captured header read into another one (explain's `read_by_route`) was used, not dropped: not counted.
 */
export type HeaderDropReason = Exclude<NotTakenReason, 'read_by_route'> | Extract<DropReason, 'not_captured'>;

/** What one route reports. Called synchronously on the request path: implementations must be cheap and must not throw. */
export interface RouteObserver {
  /** A response is over (or the client left): `status` is the status sent, 0 if none was; `reason` when the relay answered itself. */
  requestFinished(method: ObservedMethod, status: number, reason: RejectReason | undefined): void;
  /** The backend's response headers arrived, `seconds` after the request was handed to the backend. */
  upstreamResponded(method: ObservedMethod, seconds: number): void;
  /** An event stream (`text/event-stream` response) started, or ended. */
  streamOpened(): void;
  streamClosed(): void;
  /** A header the route's policy put into the outgoing request (protocol and framing headers are not counted). `header` is a configured name or `other`. */
  headerForwarded(header: string): void;
  /** A header the client sent that the policy did not forward under its own name. `header` is a configured name or `other`. */
  headerDropped(header: string, reason: HeaderDropReason): void;
  /** The route is closed (`route.close()` finished): let go of what was kept for it, e.g. stop reading its sessions. Optional. */
  routeClosed?(): void;
}

/** The label for a header name: itself when the route's options name it, else `other`. */
export const OTHER_HEADER = 'other';

export function observedMethod(method: string | undefined): ObservedMethod {
  return method === 'GET' || method === 'POST' || method === 'DELETE' ? method : 'other';
}

/** The header names this route's options list (passthrough, headers.*, their captured inputs, required): the only names that become labels. */
export function labelledNames(config: ProxyConfig): ReadonlySet<string> {
  return new Set([...(config.passthrough ?? []), ...config.configured, ...config.capturedInputs, ...config.required]);
}

/**
 * Counts what the policy did with a forwarded request's headers. Pure apart from the observer calls;
 * step 4's decisions are its own rule's (notTakenReason), so the counts cannot drift from the policy.
 */
export function countHeaders(
  observer: RouteObserver,
  labels: ReadonlySet<string>,
  sent: IncomingHttpHeaders,
  captured: Readonly<Record<string, string>>,
  outgoing: OutgoingHeaders,
  config: ProxyConfig,
): void {
  const label = (name: string): string => (labels.has(name) ? name : OTHER_HEADER);
  for (const name of Object.keys(outgoing)) {
    // Protocol headers are the transport's, framing is Node's: neither is a policy decision.
    if (isProtocolHeader(name) || name === 'content-length' || name === 'transfer-encoding') continue;
    observer.headerForwarded(label(name));
  }
  for (const name of Object.keys(captured)) {
    const reason = notTakenReason(name, config);
    // Read into another header (fromCaptured, template): used, not dropped, even when the route also
    // sets that name. The rule checks `configured` first, so only then is the extra lookup needed.
    if (reason === undefined || reason === 'read_by_route') continue;
    if (reason === 'overridden_by_route' && config.capturedInputs.has(name)) continue;
    observer.headerDropped(label(name), reason);
  }
  // Names the route wants from the client that arrived but were never captured: captureHeaders missing, or its allow list lacks them.
  for (const name of labels) {
    if (captured[name] === undefined && sent[name] !== undefined && wantsCaptured(name, config)) observer.headerDropped(name, 'not_captured');
  }
}

/** Whether the route would use captured `name` (own name via passthrough, or as an input). */
function wantsCaptured(name: string, config: ProxyConfig): boolean {
  return config.capturedInputs.has(name) || (config.passthrough?.has(name) ?? false);
}

/** One request's figures, from the middleware's entry to the response's `close`. */
interface Tally {
  readonly method: ObservedMethod;
  reason: RejectReason | undefined;
  /** performance.now() when the request was handed to the backend; 0 before. */
  sentAt: number;
  stream: boolean;
}

/**
 * A route's side of the metrics: per-request state on the request itself (requestSlot, not a WeakMap:
 * see request-slot.ts), reported to the observer at the key points.
 */
export class RequestTally {
  readonly #observer: RouteObserver;
  readonly #labels: ReadonlySet<string>;
  readonly #config: ProxyConfig;
  readonly #slot = requestSlot<Tally>();

  constructor(observer: RouteObserver, config: ProxyConfig) {
    this.#observer = safeObserver(observer, config.logger);
    this.#config = config;
    this.#labels = labelledNames(config);
  }

  /** The route let go of its resources (a gateway reload retires routes; their gauges must not pile up). */
  routeClosed(): void {
    this.#observer.routeClosed?.();
  }

  /** The middleware's entry: the request is counted once its response closes, whatever happened. */
  begin(req: IncomingMessage, res: ServerResponse): void {
    const tally: Tally = { method: observedMethod(req.method), reason: undefined, sentAt: 0, stream: false };
    this.#slot.set(req, tally);
    res.once('close', () => {
      if (tally.stream) this.#observer.streamClosed();
      this.#observer.requestFinished(tally.method, res.headersSent ? res.statusCode : 0, tally.reason);
    });
  }

  /** The relay answers the request itself. */
  rejected(req: IncomingMessage, reason: RejectReason): void {
    const tally = this.#slot.get(req);
    if (tally) tally.reason = reason;
  }

  /** The request goes to the backend with `outgoing`. */
  sent(req: IncomingMessage, captured: Readonly<Record<string, string>>, outgoing: OutgoingHeaders): void {
    const tally = this.#slot.get(req);
    if (tally) tally.sentAt = performance.now();
    countHeaders(this.#observer, this.#labels, req.headers, captured, outgoing, this.#config);
  }

  /** The backend's response headers arrived. */
  responded(req: IncomingMessage, stream: boolean): void {
    const tally = this.#slot.get(req);
    if (!tally) return;
    if (tally.sentAt > 0) this.#observer.upstreamResponded(tally.method, (performance.now() - tally.sentAt) / 1000);
    if (stream && !tally.stream) {
      tally.stream = true;
      this.#observer.streamOpened();
    }
  }
}

/**
 * The observer with every call unable to throw: a broken metrics implementation must not fail a request
 * or crash the process from a `close` listener. The first failure is logged (no values), later ones not.
 */
function safeObserver(observer: RouteObserver, logger: Required<RelayLogger>): RouteObserver {
  let logged = false;
  const guard =
    <A extends unknown[]>(call: (...args: A) => void) =>
    (...args: A): void => {
      try {
        call(...args);
      } catch {
        if (logged) return;
        logged = true;
        logger.error({ option: 'metrics' }, 'mcpProxy: the metrics observer threw; requests go on, this is logged once');
      }
    };
  return {
    requestFinished: guard((method, status, reason) => observer.requestFinished(method, status, reason)),
    upstreamResponded: guard((method, seconds) => observer.upstreamResponded(method, seconds)),
    streamOpened: guard(() => observer.streamOpened()),
    streamClosed: guard(() => observer.streamClosed()),
    headerForwarded: guard((header) => observer.headerForwarded(header)),
    headerDropped: guard((header, reason) => observer.headerDropped(header, reason)),
    routeClosed: guard(() => observer.routeClosed?.()),
  };
}
