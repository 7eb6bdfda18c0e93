/**
 * One request on its way through mcpProxy: the client's own headers (given back to the host app once
 * the upstream request exists), the body to replay, the session ticket, this request's secret values,
 * and the timer that bounds first getting the request to the backend (`connectTimeout`), then the
 * backend's answer (`responseTimeout`). When a timer fires before a response started, the client gets
 * a 504 whatever state the upstream request is in.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyConfig } from './config.js';
import { reject, type Rejection } from './rejection.js';
import type { SessionTicket } from './session-guard.js';

/** What the running timer bounds: getting the request to the backend, or the backend's answer. */
export type TimeoutPhase = 'connect' | 'response';

/** Marks the upstream request we abort ourselves when the backend is too slow to answer. */
export class BackendTimeout extends Error {
  override name = 'BackendTimeout';
}

/** Answers the client with a rejection, logging it; the route's own `fail`. */
export type Fail = (req: IncomingMessage, res: ServerResponse, rejection: Rejection) => void;

export interface RequestParts {
  readonly body: Buffer | undefined;
  /** Set in `bind` and `pin` modes: what the response must record, or which session it belongs to. */
  readonly session: SessionTicket | undefined;
  /** This request's secret header values: a response header carrying one is not passed back. */
  readonly secrets: readonly string[];
}

export class RelayRequest implements RequestParts {
  readonly body: Buffer | undefined;
  readonly session: SessionTicket | undefined;
  readonly secrets: readonly string[];
  readonly clientHeaders: IncomingMessage['headers'];
  /** The URL the host app routed (mount-relative); `req.url` is the upstream path while HPM builds the request. */
  readonly clientUrl: string;
  phase: TimeoutPhase = 'connect';
  proxyReq: ClientRequest | undefined;
  /** The backend's response, once its headers arrived: from then on errors close the connection. */
  proxyRes: IncomingMessage | undefined;
  timedOut = false;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #limits: Pick<ProxyConfig, 'connectTimeout' | 'responseTimeout'>;
  readonly #fail: Fail;
  #timer: NodeJS.Timeout | undefined;
  /** When the running phase's limit is reached, and when the timer fires (ms, performance.now()). */
  #deadline = 0;
  #firesAt = Infinity;
  /** `req.headers` is the client's again (restored at the first of proxyReq, error, close). */
  #restored = false;

  constructor(req: IncomingMessage, res: ServerResponse, parts: RequestParts, limits: Pick<ProxyConfig, 'connectTimeout' | 'responseTimeout'>, fail: Fail) {
    this.#req = req;
    this.#res = res;
    this.#limits = limits;
    this.#fail = fail;
    this.clientHeaders = req.headers;
    this.clientUrl = req.url ?? '/';
    this.body = parts.body;
    this.session = parts.session;
    this.secrets = parts.secrets;
    // Re-armed for the response once the request is out; stopped when an event stream's headers
    // arrive, or when the response is over (`close`).
    this.arm('connect');
    res.once('close', () => {
      this.stopTimer();
      this.restoreClientView();
    });
    // A client connection failing mid-write is not the process's problem; httpxy already aborts upstream on close.
    res.on('error', ignore);
  }

  /**
   * Starts the limit of `phase`. One timer serves both phases: a later deadline keeps the running timer
   * (when it fires early it waits out the rest), so a request that is answered in time costs one
   * setTimeout and one clearTimeout, not two of each.
   */
  arm(phase: TimeoutPhase): void {
    this.phase = phase;
    const limit = phase === 'connect' ? this.#limits.connectTimeout : this.#limits.responseTimeout;
    this.#deadline = performance.now() + limit;
    if (this.#deadline < this.#firesAt) this.#schedule(limit);
  }

  /** Also lets the Timeout go: an event stream keeps its RelayRequest for as long as it is open. */
  stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firesAt = Infinity;
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#firesAt = performance.now() + ms;
    this.#timer = setTimeout(this.#onTimer, ms);
  }

  readonly #onTimer = (): void => {
    this.#firesAt = Infinity;
    const rest = this.#deadline - performance.now();
    if (rest >= 1) this.#schedule(rest);
    else this.#expire();
  };

  /** The 504; the log says which limit expired, so an operator knows which one to look at. */
  timeoutRejection(): Rejection {
    const detail =
      this.phase === 'connect'
        ? `connectTimeout (${this.#limits.connectTimeout} ms): connecting to the backend and sending the request took longer`
        : `responseTimeout (${this.#limits.responseTimeout} ms): the backend did not start its response in time`;
    return { ...reject(504, 'backend_timeout', 'Gateway timeout: the backend did not answer in time'), detail };
  }

  /** Gives the host app the client's headers back, once. */
  restoreClientView(): void {
    if (this.#restored) return;
    this.#restored = true;
    setHeaders(this.#req, this.#clientView());
    this.#req.url = this.clientUrl;
  }

  #expire(): void {
    this.timedOut = true;
    if (this.proxyRes) {
      // Once a body byte went out the response is under way: a slow reader must not be cut off.
      if (!this.#res.headersSent) this.#abandonResponse();
    } else if (this.proxyReq && !this.proxyReq.destroyed) this.proxyReq.destroy(new BackendTimeout());
    // No socket yet, or one Node already dropped without an event: nothing else will answer.
    else this.#fail(this.#req, this.#res, this.timeoutRejection());
  }

  /**
   * The backend sent its headers but no body byte in time: nothing has reached the client yet, so it
   * still gets a 504 instead of a hung connection. httpxy ends the upstream request when the 504 is over.
   */
  #abandonResponse(): void {
    const proxyRes = this.proxyRes!;
    proxyRes.unpipe(this.#res);
    for (const name of Object.keys(proxyRes.headers)) this.#res.removeHeader(name);
    this.#fail(this.#req, this.#res, this.timeoutRejection());
  }

  /**
   * The client's own headers, for the host app once the outgoing request exists. httpxy echoes
   * `req.headers.connection` into an HTTP/1.0 response, so for 1.0 that one field is normalised.
   */
  #clientView(): IncomingMessage['headers'] {
    const headers = this.clientHeaders;
    if (this.#req.httpVersion !== '1.0' || headers.connection === undefined) return headers;
    return { ...headers, connection: /(^|,)\s*keep-alive\s*(,|$)/i.test(headers.connection) ? 'keep-alive' : 'close' };
  }
}

/**
 * Replaces the headers http-proxy-middleware copies into the outgoing request. node:http has a
 * setter; node:http2's compatibility request a getter only, so there it becomes an own data property.
 */
export function setHeaders(req: IncomingMessage, headers: IncomingMessage['headers']): void {
  try {
    req.headers = headers;
  } catch {
    // a getter without a setter throws in strict mode
  }
  if (req.headers !== headers) Object.defineProperty(req, 'headers', { value: headers, writable: true, configurable: true, enumerable: true });
}

/* c8 ignore next: called when a client connection fails in the middle of a write, a race no test provokes reliably */
function ignore(): void {}
