/**
 * Session binding for `bind` and `pin` (docs/sessions.md). A POST without `Mcp-Session-Id` is a
 * candidate initialize: if the backend answers 2xx with an id, the request's captured headers are
 * recorded under that id (a fingerprint for `bind`; the values and the principal for `pin`). A request
 * with an id must match its record, or gets the SDK's 404 without being forwarded.
 *
 * Fingerprints are HMAC-SHA256 over length-prefixed, sorted name/value pairs, compared with
 * timingSafeEqual: the store never holds a value in `bind`, and a wrong value takes as long as a right one.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { getForwardedHeaders } from './capture.js';
import { refuse, reject, sessionNotFound, type Checked, type Rejection } from './rejection.js';
import { takesCaptured, type OutgoingHeaders } from './forwarding-policy.js';
import { CREDENTIAL_HEADERS } from './header-rules.js';
import type { ProxyConfig, SessionModeConfig } from './config.js';
import { isStatelessEra, STATELESS_PROTOCOL_VERSION } from './protocol-era.js';
import { ClientShares } from './client-shares.js';
import { SessionDigests, UNKNOWN_DIGEST, sameDigest } from './session-digests.js';
import { MemorySessionStore, type SessionStore } from './session-store.js';

/** MCP: session ids are visible ASCII (0x21–0x7E); we also cap them at 256 characters. */
const SESSION_ID = /^[\x21-\x7e]{1,256}$/;

/** What `pin` keeps per session, in this process only. */
interface PinnedSession {
  readonly fingerprint: string;
  /** HMAC of the principal: counts sessions per principal without holding the identity itself. */
  readonly principal: string;
  readonly values: Readonly<Record<string, string>>;
}

/** What a request carries from admission to its response. */
export type SessionTicket =
  | { readonly kind: 'candidate'; readonly record: string | PinnedSession | undefined; readonly client: string }
  | { readonly kind: 'session'; readonly key: string; readonly id: string };

/** A store call that did not settle within `connectTimeout`. */
class StoreTimeout extends Error {
  override name = 'StoreTimeout';
}

export type Admission = Checked<{ ticket: SessionTicket | undefined }>;

export class SessionGuard {
  readonly #config: SessionModeConfig;
  readonly #proxy: ProxyConfig;
  readonly #store: SessionStore<string | PinnedSession>;
  /** Names set statically: they win over captured ones, so they are never part of a session's record. */
  readonly #static: ReadonlySet<string>;
  readonly #digests: SessionDigests;
  /** Sessions per client, so no one client takes the whole `maxSessions`. */
  readonly #shares: ClientShares;
  /** Writes to an asynchronous store still under way, by key: a lookup of that key waits for its write. */
  readonly #writes = new Map<string, Promise<void>>();
  /** Whether this route has logged that 2026-era requests bypass the session machinery. */
  #statelessNoted = false;
  /** Whether this route has logged that it forwards the 2024-11-05 HTTP+SSE transport unbound. */
  #legacyNoted = false;

  constructor(config: SessionModeConfig, proxy: ProxyConfig) {
    this.#config = config;
    this.#proxy = proxy;
    this.#static = new Set([...proxy.plaintext.keys(), ...proxy.fromSecret.map((h) => h.name)]);
    this.#digests = new SessionDigests(config.key, config.mode);
    this.#shares = new ClientShares(config.ttl);
    this.#store =
      (config.store as SessionStore<string | PinnedSession> | undefined) ??
      new MemorySessionStore<string | PinnedSession>({ onRemove: (_value, key) => this.#shares.remove(key) });
  }

  /** Decides whether the request may go on; for `pin`, adds the pinned values to `outgoing`. */
  admit(req: IncomingMessage, outgoing: OutgoingHeaders): Admission | Promise<Admission> {
    if (usesLegacySse(req.url)) return this.#admitLegacy();
    if (isStatelessEra(req)) return this.#admitStateless(outgoing);
    const id = req.headers['mcp-session-id'];
    // Only a POST can be an initialize; a GET, DELETE or CORS preflight without an id is no session's business.
    if (id === undefined) return req.method === 'POST' ? this.#admitCandidate(req) : { ok: true, ticket: undefined };
    if (typeof id !== 'string' || !SESSION_ID.test(id)) {
      return refuse(reject(400, 'invalid_session_id', 'Bad request: Mcp-Session-Id must be 1-256 visible ASCII characters', 'mcp-session-id'));
    }
    const principal = this.#principal(req);
    if (principal === false) return refuse(principalFailure());
    const key = this.#config.namespace + id;
    const verify = (found: string | PinnedSession | undefined | typeof FAILED): Admission => this.#verify(req, outgoing, key, id, found, principal);
    const lookup = (): Admission | Promise<Admission> => {
      const found = this.#call(() => this.#store.get(key));
      return isThenable(found) ? this.#bounded(found, 'get').then(verify, (err: unknown) => this.#storeFailure('get', err)) : verify(found);
    };
    // The client may follow up before an asynchronous store has taken this relay's own write.
    const writing = this.#writes.get(key);
    return writing ? this.#bounded(writing, 'set').then(lookup, (err: unknown) => this.#storeFailure('set', err)) : lookup();
  }

  /**
   * After the backend's response headers: records a new session, or forgets one the backend ended
   * (any 404, or a DELETE it answered 2xx). Never throws; a store failure is logged.
   */
  onResponse(ticket: SessionTicket, method: string | undefined, status: number, headers: IncomingHttpHeaders): void {
    if (ticket.kind === 'session') {
      if (status === 404 || (method === 'DELETE' && status >= 200 && status < 300)) {
        this.#proxy.logger.debug({ session: this.#digests.tag(ticket.id), status, method }, 'mcpProxy: session ended by the backend; record removed');
        this.#shares.remove(ticket.key);
        this.#settle(this.#call(() => this.#store.delete(ticket.key)), 'delete');
      }
      return;
    }
    const id = headers['mcp-session-id'];
    if (status < 200 || status >= 300 || id === undefined) return;
    const log = this.#proxy.logger;
    if (typeof id !== 'string' || !SESSION_ID.test(id)) {
      log.warn({ reason: 'invalid_session_id' }, 'mcpProxy: the backend issued a session id that is not 1-256 visible ASCII characters; session not recorded');
      return;
    }
    const tag = this.#digests.tag(id);
    if (ticket.record === undefined) {
      log.warn({ session: tag }, 'mcpProxy: session initialized without a principal; not recorded, so its later requests get 404');
      return;
    }
    const { record, client } = ticket;
    // Concurrent initializes all passed admission; only as many as fit are recorded.
    const full = this.#limitReached(client);
    if (full) {
      log.warn({ session: tag, limit: full }, 'mcpProxy: session limit reached while this session initialized; not recorded, so its later requests get 404');
      return;
    }
    const key = this.#config.namespace + id;
    const stored = this.#call(() => this.#store.set(key, record, this.#config.ttl));
    const done = (added: boolean): void => {
      if (!added) {
        log.warn({ session: tag }, 'mcpProxy: the backend issued a session id that is already recorded; the existing record is kept');
        return;
      }
      this.#shares.add(client, key);
      log.debug({ session: tag, mode: this.#config.mode }, 'mcpProxy: session recorded');
    };
    if (stored === FAILED) this.#logStoreFailure('set');
    else if (!isThenable(stored)) done(stored);
    else {
      const write = this.#bounded(stored, 'set')
        .then(done, (err: unknown) => this.#logStoreFailure('set', err))
        .finally(() => this.#writes.delete(key));
      this.#writes.set(key, write);
    }
  }

  /**
   * The 2024-11-05 HTTP+SSE transport names its session in the query (`?sessionId=`), which no
   * binding here looks at: refused unless the operator forwards it knowingly, unbound.
   */
  #admitLegacy(): Admission {
    if (!this.#config.allowLegacySse) {
      return refuse(
        reject(400, 'unsupported_transport', 'Bad request: the HTTP+SSE transport of 2024-11-05 (sessionId in the query) is not served on this route; use Streamable HTTP'),
      );
    }
    if (!this.#legacyNoted) {
      this.#legacyNoted = true;
      this.#proxy.logger.warn(
        { mode: this.#config.mode, option: 'session.allowLegacySse' },
        `mcpProxy: HTTP+SSE (2024-11-05) requests on this route are forwarded without '${this.#config.mode}' protection (allowLegacySse)`,
      );
    }
    return { ok: true, ticket: undefined };
  }

  /**
   * MCP 2026-07-28 has no sessions, so there is nothing to bind or pin: the request is forwarded as on
   * a `request` route, is no candidate initialize, counts against no limit and costs no store call.
   */
  #admitStateless(outgoing: OutgoingHeaders): Admission {
    // A 2026 server ignores a stray id, but a hybrid backend would serve it from the 2025 session it
    // names, which nothing here has checked: it is not forwarded.
    delete outgoing['mcp-session-id'];
    if (!this.#statelessNoted) {
      this.#statelessNoted = true;
      this.#proxy.logger.warn(
        { mode: this.#config.mode, protocol: STATELESS_PROTOCOL_VERSION },
        `mcpProxy: 2026-07-28 requests on this route are handled per request; '${this.#config.mode}' applies to 2025-era sessions only (see docs/sessions.md)`,
      );
    }
    return { ok: true, ticket: undefined };
  }

  #admitCandidate(req: IncomingMessage): Admission | Promise<Admission> {
    const principal = this.#principal(req);
    if (principal === false) return refuse(principalFailure());
    const headers = this.#sessionHeaders(req);
    let record: string | PinnedSession | undefined;
    if (this.#config.mode === 'bind') record = this.#digests.fingerprint(principal ?? '', headers).toString('base64url');
    else if (principal !== undefined) {
      record = Object.freeze({ fingerprint: this.#digests.fingerprint(principal, headers).toString('base64url'), principal, values: headers });
    }
    // A client is its principal; on a bind route without one, the headers that identify it.
    const client = principal ?? (typeof record === 'string' ? record : '');
    // Only recorded sessions count: a backend without sessions never fills the store, however busy.
    const admitWith = (size: number): Admission => {
      if (size >= this.#config.maxSessions) return refuse(this.#full('sessions'));
      if (record !== undefined && this.#shares.atLimit(client, this.#config.maxPerClient)) return refuse(this.#full('client'));
      return { ok: true, ticket: { kind: 'candidate', record, client } };
    };
    const size = this.#call(() => this.#store.size());
    if (isThenable(size)) return this.#bounded(size, 'size').then(admitWith, (err: unknown) => this.#storeFailure('size', err));
    return size === FAILED ? this.#storeFailure('size') : admitWith(size);
  }

  /** At record time: a store that answers size() synchronously is checked again (a shared one was checked on admission). */
  #limitReached(client: string): 'sessions' | 'client' | undefined {
    if (this.#shares.atLimit(client, this.#config.maxPerClient)) return 'client';
    const size = this.#call(() => this.#store.size());
    return typeof size === 'number' && size >= this.#config.maxSessions ? 'sessions' : undefined;
  }

  /**
   * A store answer, or StoreTimeout once `connectTimeout` has passed: a store that never answers
   * (a client queueing commands while offline) must not hold a request, or the relay's own write.
   */
  #bounded<T>(pending: PromiseLike<T>, operation: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = this.#proxy.connectTimeout;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new StoreTimeout(`${operation}() did not answer within connectTimeout (${limit} ms)`)), limit);
    });
    return Promise.race([Promise.resolve(pending), expired]).finally(() => clearTimeout(timer));
  }

  /**
   * An unknown id and a known id with other headers get the same 404 after the same work: one
   * fingerprint, one constant-time comparison, one keyed tag and one log line at one level, so
   * neither the answer nor its timing tells an attacker which ids exist.
   */
  #verify(
    req: IncomingMessage,
    outgoing: OutgoingHeaders,
    key: string,
    id: string,
    found: string | PinnedSession | undefined | typeof FAILED,
    principal: string | undefined,
  ): Admission {
    if (found === FAILED) return this.#storeFailure('get');
    if (found === undefined) this.#shares.remove(key); // expired in the store
    const headers = this.#sessionHeaders(req);
    let matches: boolean;
    if (typeof found === 'string') {
      matches = sameDigest(this.#digests.fingerprint(principal ?? '', headers), found);
    } else {
      // The request may omit pinned headers, never change or add one: compare the pin overlaid with
      // what the request sent against the pin itself.
      const pinned = found?.values;
      const digest = this.#digests.fingerprint(principal ?? '', pinned ? { ...pinned, ...headers } : headers);
      matches = sameDigest(digest, found?.fingerprint ?? UNKNOWN_DIGEST) && found !== undefined && principal !== undefined;
      if (matches && pinned) for (const [name, value] of Object.entries(pinned)) outgoing[name] ??= value;
    }
    if (!matches) {
      const detail = found === undefined ? 'unknown session' : 'headers or principal differ from the initialize';
      return refuse({ ...sessionNotFound(), session: this.#digests.tag(id), detail });
    }
    this.#shares.touch(key);
    return { ok: true, ticket: { kind: 'session', key, id } };
  }

  /** The captured headers that make up a session's identity on this backend, in the request as sent. */
  #sessionHeaders(req: IncomingMessage): Readonly<Record<string, string>> {
    const captured = getForwardedHeaders(req);
    const out: Record<string, string> = {};
    for (const name of Object.keys(captured)) {
      if (!takesCaptured(name, this.#proxy) || this.#static.has(name)) continue;
      // A credential is the caller's to send on every request: pin never keeps one.
      if (this.#config.mode === 'pin' && CREDENTIAL_HEADERS.has(name)) continue;
      out[name] = captured[name]!;
    }
    return Object.freeze(out);
  }

  /**
   * `undefined`: no principal; `false`: the host app's function threw. A principal is kept only as
   * an HMAC, so the store holds no identity either.
   */
  #principal(req: IncomingMessage): string | undefined | false {
    const principal = this.#config.principal;
    if (!principal) return undefined;
    let value: unknown;
    try {
      value = principal(req);
    } catch {
      this.#proxy.logger.error({ option: 'session.principal' }, 'mcpProxy: session.principal threw');
      return false;
    }
    if (typeof value !== 'string' || value === '') return undefined;
    return this.#digests.principal(value);
  }

  #full(which: 'sessions' | 'client'): Rejection {
    const share = this.#config.mode === 'pin' ? 'maxSessionsPerPrincipal' : 'maxSessionsPerClient';
    const limit = which === 'sessions' ? `maxSessions (${this.#config.maxSessions})` : `${share} (${this.#config.maxPerClient})`;
    this.#proxy.logger.warn({ reason: 'session_limit', limit: which }, `mcpProxy: 503, ${limit} reached; existing sessions are kept`);
    return {
      ...reject(503, 'session_limit', 'Service unavailable: too many open sessions; retry later or end an unused session'),
      retryAfter: Math.ceil(Math.min(this.#config.ttl.idleMs, 60_000) / 1000),
    };
  }

  /** Runs a store call; a synchronous throw becomes FAILED, so a broken store cannot crash a request. */
  #call<T>(fn: () => T): T | typeof FAILED {
    try {
      return fn();
    } catch {
      return FAILED;
    }
  }

  #settle(result: unknown, operation: string): void {
    if (result === FAILED) this.#logStoreFailure(operation);
    else if (isThenable(result)) Promise.resolve(result).catch(() => this.#logStoreFailure(operation));
  }

  #storeFailure(operation: string, err?: unknown): Admission {
    this.#logStoreFailure(operation, err);
    return refuse(reject(503, 'session_store_unavailable', 'Service unavailable: the session store cannot be reached'));
  }

  /** Names the operation, and the limit when it timed out; a store's own error text may hold anything. */
  #logStoreFailure(operation: string, err?: unknown): void {
    const message = err instanceof StoreTimeout ? `mcpProxy: session store ${err.message}` : `mcpProxy: session store ${operation}() failed`;
    this.#proxy.logger.error({ reason: 'session_store_unavailable', operation }, message);
  }
}

const FAILED: unique symbol = Symbol('store call failed');

function principalFailure(): Rejection {
  return reject(500, 'internal_error', 'Internal error in the MCP relay');
}


/** The 2024-11-05 HTTP+SSE transport's POSTs name their session in a `sessionId` query parameter. */
export function usesLegacySse(url: string | undefined): boolean {
  const q = url?.indexOf('?') ?? -1;
  return q !== -1 && new URLSearchParams(url!.slice(q + 1)).has('sessionId');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
