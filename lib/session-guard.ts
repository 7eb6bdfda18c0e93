/**
 * Session binding for `bind` and `pin` (docs/sessions.md). A POST without `Mcp-Session-Id` is a
 * candidate initialize: if the backend answers 2xx with an id, the request's captured headers are
 * recorded under that id (a fingerprint for `bind`; the values and the principal for `pin`). A request
 * with an id must match its record, or gets the SDK's 404 without being forwarded.
 *
 * Fingerprints are HMAC-SHA256 over length-prefixed, sorted name/value pairs, compared with
 * timingSafeEqual: the store never holds a value in `bind`, and a wrong value takes as long as a right one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { getForwardedHeaders } from './capture.js';
import { reject, sessionNotFound, type Rejection } from './error-response.js';
import { takesCaptured, type OutgoingHeaders } from './forwarding-policy.js';
import { CREDENTIAL_HEADERS } from './header-rules.js';
import type { ProxyConfig, SessionModeConfig } from './options.js';
import { isStatelessEra, STATELESS_PROTOCOL_VERSION } from './protocol-era.js';
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
  | { readonly kind: 'candidate'; readonly record: string | PinnedSession | undefined }
  | { readonly kind: 'session'; readonly key: string; readonly id: string };

export type Admission = { ok: true; ticket: SessionTicket | undefined } | { ok: false; rejection: Rejection };

export class SessionGuard {
  readonly #config: SessionModeConfig;
  readonly #proxy: ProxyConfig;
  readonly #store: SessionStore<string | PinnedSession>;
  /** Names set statically: they win over captured ones, so they are never part of a session's record. */
  readonly #static: ReadonlySet<string>;
  /** Recorded `pin` sessions per principal (HMAC), kept in step by the store's onRemove. */
  readonly #byPrincipal = new Map<string, number>();
  /** Writes to an asynchronous store still under way, by key: a lookup of that key waits for its write. */
  readonly #writes = new Map<string, Promise<void>>();
  /** Whether this route has logged that 2026-era requests bypass the session machinery. */
  #statelessNoted = false;

  constructor(config: SessionModeConfig, proxy: ProxyConfig) {
    this.#config = config;
    this.#proxy = proxy;
    this.#static = new Set([...proxy.plaintext.keys(), ...proxy.fromSecret.map((h) => h.name)]);
    this.#store =
      (config.store as SessionStore<string | PinnedSession> | undefined) ??
      new MemorySessionStore<string | PinnedSession>({ onRemove: (value) => this.#forget(value) });
  }

  /** Decides whether the request may go on; for `pin`, adds the pinned values to `outgoing`. */
  admit(req: IncomingMessage, outgoing: OutgoingHeaders): Admission | Promise<Admission> {
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
      return isThenable(found) ? Promise.resolve(found).then(verify, () => this.#storeFailure('get')) : verify(found);
    };
    // The client may follow up before an asynchronous store has taken this relay's own write.
    const writing = this.#writes.get(key);
    return writing ? writing.then(lookup) : lookup();
  }

  /**
   * After the backend's response headers: records a new session, or forgets one the backend ended
   * (any 404, or a DELETE it answered 2xx). Never throws; a store failure is logged.
   */
  onResponse(ticket: SessionTicket, method: string | undefined, status: number, headers: IncomingHttpHeaders): void {
    if (ticket.kind === 'session') {
      if (status === 404 || (method === 'DELETE' && status >= 200 && status < 300)) {
        this.#proxy.logger.debug({ session: this.#tag(ticket.id), status, method }, 'mcpProxy: session ended by the backend; record removed');
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
    const tag = this.#tag(id);
    if (ticket.record === undefined) {
      log.warn({ session: tag }, 'mcpProxy: session initialized without a principal; not recorded, so its later requests get 404');
      return;
    }
    const record = ticket.record;
    // Concurrent initializes all passed admission; only as many as fit are recorded.
    const full = this.#limitReached(record);
    if (full) {
      log.warn({ session: tag, limit: full }, 'mcpProxy: session limit reached while this session initialized; not recorded, so its later requests get 404');
      return;
    }
    const stored = this.#call(() => this.#store.set(this.#config.namespace + id, record, this.#config.ttl));
    const done = (added: boolean): void => {
      if (!added) {
        log.warn({ session: tag }, 'mcpProxy: the backend issued a session id that is already recorded; the existing record is kept');
        return;
      }
      if (typeof record !== 'string') this.#byPrincipal.set(record.principal, (this.#byPrincipal.get(record.principal) ?? 0) + 1);
      log.debug({ session: tag, mode: this.#config.mode }, 'mcpProxy: session recorded');
    };
    if (stored === FAILED) this.#logStoreFailure('set');
    else if (!isThenable(stored)) done(stored);
    else {
      const key = this.#config.namespace + id;
      const write = Promise.resolve(stored)
        .then(done, () => this.#logStoreFailure('set'))
        .finally(() => this.#writes.delete(key));
      this.#writes.set(key, write);
    }
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
    if (this.#config.mode === 'bind') record = this.#fingerprint('', headers).toString('base64url');
    else if (principal !== undefined) {
      record = Object.freeze({ fingerprint: this.#fingerprint(principal, headers).toString('base64url'), principal, values: headers });
    }
    // Only recorded sessions count: a backend without sessions never fills the store, however busy.
    const admitWith = (size: number): Admission => {
      if (size >= this.#config.maxSessions) return refuse(this.#full('sessions'));
      if (this.#principalFull(record)) return refuse(this.#full('principal'));
      return { ok: true, ticket: { kind: 'candidate', record } };
    };
    const size = this.#call(() => this.#store.size());
    if (isThenable(size)) return Promise.resolve(size).then(admitWith, () => this.#storeFailure('size'));
    return size === FAILED ? this.#storeFailure('size') : admitWith(size);
  }

  #principalFull(record: string | PinnedSession | undefined): boolean {
    if (record === undefined || typeof record === 'string') return false;
    return (this.#byPrincipal.get(record.principal) ?? 0) >= this.#config.maxPerPrincipal;
  }

  /** At record time: a store that answers size() synchronously is checked again (a shared one was checked on admission). */
  #limitReached(record: string | PinnedSession): 'sessions' | 'principal' | undefined {
    if (this.#principalFull(record)) return 'principal';
    const size = this.#call(() => this.#store.size());
    return typeof size === 'number' && size >= this.#config.maxSessions ? 'sessions' : undefined;
  }

  #verify(
    req: IncomingMessage,
    outgoing: OutgoingHeaders,
    key: string,
    id: string,
    found: string | PinnedSession | undefined | typeof FAILED,
    principal: string | undefined,
  ): Admission {
    if (found === FAILED) return this.#storeFailure('get');
    // The tag is an HMAC too: computed only for the log line of a refusal, not on every request.
    if (found === undefined) return refuse({ ...sessionNotFound(), session: this.#tag(id), detail: 'unknown session' });
    const headers = this.#sessionHeaders(req);
    let matches = false;
    if (typeof found === 'string') {
      matches = sameDigest(this.#fingerprint('', headers), found);
    } else if (principal !== undefined) {
      // The request may omit pinned headers, never change or add one: compare the pin overlaid with
      // what the request sent against the pin itself.
      matches = sameDigest(this.#fingerprint(principal, { ...found.values, ...headers }), found.fingerprint);
      if (matches) for (const [name, value] of Object.entries(found.values)) outgoing[name] ??= value;
    }
    if (!matches) {
      return refuse({ ...sessionNotFound(), session: this.#tag(id), detail: 'headers or principal differ from the initialize', suspicious: true });
    }
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

  /** HMAC-SHA256 of `scope` and the sorted pairs, each part length-prefixed so no two inputs collide. */
  #fingerprint(scope: string, headers: Readonly<Record<string, string>>): Buffer {
    const hmac = createHmac('sha256', this.#config.key);
    hmac.update(`${this.#config.mode}:${scope.length}:${scope}`);
    for (const name of Object.keys(headers).sort()) {
      const value = headers[name]!;
      hmac.update(`|${name.length}:${name}${value.length}:${value}`);
    }
    return hmac.digest();
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
    return createHmac('sha256', this.#config.key).update(`principal:${value}`).digest('base64url');
  }

  /** A session id as it may appear in logs: a keyed hash, useless to anyone reading them. */
  #tag(id: string): string {
    return createHmac('sha256', this.#config.key).update(`id:${id}`).digest('hex').slice(0, 12);
  }

  #full(which: 'sessions' | 'principal'): Rejection {
    const limit = which === 'sessions' ? `maxSessions (${this.#config.maxSessions})` : `maxSessionsPerPrincipal (${this.#config.maxPerPrincipal})`;
    this.#proxy.logger.warn({ reason: 'session_limit', limit: which }, `mcpProxy: 503, ${limit} reached; existing sessions are kept`);
    return {
      ...reject(503, 'session_limit', 'Service unavailable: too many open sessions; retry later or end an unused session'),
      retryAfter: Math.ceil(Math.min(this.#config.ttl.idleMs, 60_000) / 1000),
    };
  }

  #forget(value: string | PinnedSession): void {
    if (typeof value !== 'string') decrement(this.#byPrincipal, value.principal);
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

  #storeFailure(operation: string): Admission {
    this.#logStoreFailure(operation);
    return refuse(reject(503, 'session_store_unavailable', 'Service unavailable: the session store cannot be reached'));
  }

  #logStoreFailure(operation: string): void {
    this.#proxy.logger.error({ reason: 'session_store_unavailable', operation }, `mcpProxy: session store ${operation}() failed`);
  }
}

const FAILED: unique symbol = Symbol('store call failed');

function refuse(rejection: Rejection): Admission {
  return { ok: false, rejection };
}

function principalFailure(): Rejection {
  return reject(500, 'internal_error', 'Internal error in the MCP relay');
}

function sameDigest(digest: Buffer, stored: string): boolean {
  const expected = Buffer.from(stored, 'base64url');
  // Lengths differ only for a corrupt record, which says nothing about the caller's headers.
  return expected.length === digest.length && timingSafeEqual(digest, expected);
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
