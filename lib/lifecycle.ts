/**
 * A route's shutdown: `close()` stops new requests (503 `route_closed`), waits for the requests and
 * event streams under way to end by themselves within a grace period, cuts what is left, then lets go
 * of what the route holds open (upstream keep-alive sockets, session sweep timers, cached credentials).
 */
import type { ServerResponse } from 'node:http';
import { HeaderConfigError } from './config-error.js';
import type { RelayLogger } from './logger.js';

/** Options of `route.close()` and {@link closeRoutes}. */
export interface CloseOptions {
  /**
   * How long requests and event streams already under way may take to end by themselves, in whole
   * milliseconds; after that they are cut (the client sees its connection close). @default 10000
   */
  grace?: number;
}

export const DEFAULT_GRACE_MS = 10_000;

/** What `close()` found: how many responses ended by themselves and how many were cut at the grace limit. */
export interface CloseSummary {
  readonly route: string;
  readonly finished: number;
  readonly cut: number;
}

export class RouteLifecycle {
  readonly #open = new Set<ServerResponse>();
  readonly #route: string;
  readonly #logger: Required<RelayLogger>;
  readonly #release: () => void;
  #closing: Promise<CloseSummary> | undefined;
  #drained: (() => void) | undefined;

  /** `release` frees what the route holds once no response is left. */
  constructor(route: string, logger: Required<RelayLogger>, release: () => void) {
    this.#route = route;
    this.#logger = logger;
    this.#release = release;
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /** Counts a response until it closes, whichever way it ends. */
  track(res: ServerResponse): void {
    this.#open.add(res);
    res.once('close', () => {
      this.#open.delete(res);
      if (this.#open.size === 0) this.#drained?.();
    });
  }

  /** Idempotent: a second call (SIGTERM twice) gets the first call's promise. */
  close(options: CloseOptions = {}): Promise<CloseSummary> {
    const grace = parseGrace(options);
    if (grace instanceof HeaderConfigError) return Promise.reject(grace);
    this.#closing ??= this.#shutDown(grace);
    return this.#closing;
  }

  async #shutDown(grace: number): Promise<CloseSummary> {
    const atStart = this.#open.size;
    this.#logger.info({ open: atStart, grace }, 'mcpProxy: closing: no new requests; waiting for those under way');
    let timer: NodeJS.Timeout | undefined;
    if (atStart > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, grace);
      });
      clearTimeout(timer);
    }
    const cut = this.#open.size;
    // Destroying the response makes httpxy abort the upstream request; the client sees its connection close.
    for (const res of this.#open) res.destroy();
    this.#release();
    const summary = { route: this.#route, finished: atStart - cut, cut };
    const level = cut > 0 ? 'warn' : 'info';
    this.#logger[level]({ finished: summary.finished, cut, grace }, 'mcpProxy: closed');
    return summary;
  }
}

/** The grace period, or the error to reject with: close() reports a bad call by its promise, never by a throw. */
function parseGrace(options: CloseOptions): number | HeaderConfigError {
  const grace = options.grace ?? DEFAULT_GRACE_MS;
  if (Number.isInteger(grace) && grace >= 0 && grace <= 2 ** 31 - 1) return grace;
  return new HeaderConfigError('ERR_INVALID_OPTION', 'grace', `must be whole milliseconds, an integer from 0 to ${2 ** 31 - 1}`);
}

/** Closes several routes at once (a gateway's SIGTERM handler); resolves when all are closed. */
export function closeRoutes(routes: readonly { close(options?: CloseOptions): Promise<CloseSummary> }[], options?: CloseOptions): Promise<CloseSummary[]> {
  return Promise.all(routes.map((route) => route.close(options)));
}
