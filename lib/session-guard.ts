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
import { refuse, sessionNotFound, type Checked, type Rejection } from './rejection.js';
import { usesCaptured, type SessionHeaders } from './forwarding-policy.js';
import { CREDENTIAL_HEADERS } from './header-rules.js';
import type { ProxyConfig, SessionModeConfig } from './config.js';
import { isStatelessEra, STATELESS_PROTOCOL_VERSION, usesLegacySse } from './protocol-era.js';
import { SessionDigests, type SessionRecord } from './session-digests.js';
import { GuardedStore } from './guarded-store.js';
import { MemorySessionStore, type SessionStore } from './session-store.js';
import { SessionLimiter } from './session-limiter.js';
import { invalidSessionId, principalFailure, storeUnavailable, unsupportedTransport } from './session-refusals.js';

/** MCP: session ids are visible ASCII (0x21–0x7E); we also cap them at 256 characters. */
const SESSION_ID = /^[\x21-\x7e]{1,256}$/;

/** What a request carries from admission to its response. */
export type SessionTicket =
  | { readonly kind: 'candidate'; readonly record: SessionRecord | undefined; readonly client: string }
  | { readonly kind: 'session'; readonly key: string; readonly id: string };

/** An admitted request: what it carries to its response, and what its session adds to the outgoing headers. */
export interface Admitted {
  readonly ticket: SessionTicket | undefined;
  readonly headers?: SessionHeaders | undefined;
}

export type Admission = Checked<Admitted>;

const WITHOUT_SESSION_ID: SessionHeaders = Object.freeze({ withoutSessionId: true });

export class SessionGuard {
  readonly #config: SessionModeConfig;
  readonly #proxy: ProxyConfig;
  readonly #store: GuardedStore<SessionRecord>;
  readonly #digests: SessionDigests;
  /** `maxSessions` and each client's share. */
  readonly #limiter: SessionLimiter;
  /** The in-memory store the route made itself when none was passed. */
  readonly #ownStore: MemorySessionStore<SessionRecord> | undefined;
  /** Whether this route has logged that 2026-era requests bypass the session machinery. */
  #statelessNoted = false;
  /** Whether this route has logged that it forwards the 2024-11-05 HTTP+SSE transport unbound. */
  #legacyNoted = false;

  constructor(config: SessionModeConfig, proxy: ProxyConfig) {
    this.#config = config;
    this.#proxy = proxy;
    this.#digests = new SessionDigests(config.key, config.mode);
    this.#ownStore = config.store ? undefined : new MemorySessionStore<SessionRecord>({ onRemove: (_value, key) => this.#limiter.forget(key) });
    const store = (config.store as SessionStore<SessionRecord> | undefined) ?? this.#ownStore!;
    this.#store = new GuardedStore(store, proxy.connectTimeout, proxy.logger);
    this.#limiter = new SessionLimiter(config, this.#store, proxy.logger);
  }

  /** The route is closing: its own store's sessions and sweep timer go; a store the host app passed is the app's. */
  close(): void {
    this.#ownStore?.clear();
  }

  /** Sessions this route recorded and still holds, in this process: for the metrics' sessions gauge, read at scrape time. */
  held(): number {
    return this.#limiter.held();
  }

  /** Decides whether the request may go on, and what its session adds to the outgoing headers. */
  admit(req: IncomingMessage): Admission | Promise<Admission> {
    if (usesLegacySse(req.url)) return this.#admitLegacy();
    if (isStatelessEra(req)) return this.#admitStateless();
    const id = req.headers['mcp-session-id'];
    // Only a POST can be an initialize; a GET, DELETE or CORS preflight without an id is no session's business.
    if (id === undefined) return req.method === 'POST' ? this.#admitCandidate(req) : { ok: true, ticket: undefined };
    if (typeof id !== 'string' || !SESSION_ID.test(id)) {
      return refuse(invalidSessionId());
    }
    const principal = this.#principal(req);
    if (principal === false) return refuse(principalFailure());
    const key = this.#config.namespace + id;
    return this.#store.get(
      key,
      (found) => this.#verify(req, key, id, found, principal),
      () => refuse(storeUnavailable()),
    );
  }

  /**
   * After the backend's response headers: records a new session, or forgets one the backend ended
   * (any 404, or a DELETE it answered 2xx). Never throws; a store failure is logged.
   */
  onResponse(ticket: SessionTicket, method: string | undefined, status: number, headers: IncomingHttpHeaders): void {
    if (ticket.kind === 'session') {
      if (status === 404 || (method === 'DELETE' && status >= 200 && status < 300)) {
        this.#proxy.logger.debug({ session: this.#digests.tag(ticket.id), status, method }, 'mcpProxy: session ended by the backend; record removed');
        this.#limiter.forget(ticket.key);
        this.#store.delete(ticket.key);
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
    const key = this.#config.namespace + id;
    this.#limiter.record(
      key,
      ticket.record,
      ticket.client,
      () => log.debug({ session: tag, mode: this.#config.mode }, 'mcpProxy: session recorded'),
      (why) => {
        if (why === 'exists') log.warn({ session: tag }, 'mcpProxy: the backend issued a session id that is already recorded; the existing record is kept');
        else
          log.warn({ session: tag, limit: why }, 'mcpProxy: session limit reached while this session initialized; not recorded, so its later requests get 404');
      },
    );
  }

  /**
   * The 2024-11-05 HTTP+SSE transport names its session in the query (`?sessionId=`), which no
   * binding here looks at: refused unless the operator forwards it knowingly, unbound.
   */
  #admitLegacy(): Admission {
    if (!this.#config.allowLegacySse) return refuse(unsupportedTransport());
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
  #admitStateless(): Admission {
    if (!this.#statelessNoted) {
      this.#statelessNoted = true;
      this.#proxy.logger.warn(
        { mode: this.#config.mode, protocol: STATELESS_PROTOCOL_VERSION },
        `mcpProxy: 2026-07-28 requests on this route are handled per request; '${this.#config.mode}' applies to 2025-era sessions only (see docs/sessions.md)`,
      );
    }
    // A 2026 server ignores a stray id, but a hybrid backend would serve it from the 2025 session it
    // names, which nothing here has checked: it is not forwarded.
    return { ok: true, ticket: undefined, headers: WITHOUT_SESSION_ID };
  }

  #admitCandidate(req: IncomingMessage): Admission | Promise<Admission> {
    const principal = this.#principal(req);
    if (principal === false) return refuse(principalFailure());
    const headers = this.#sessionHeaders(req);
    const record = this.#digests.record(principal, headers);
    // A client is its principal; on a bind route without one, the headers that identify it.
    const client = principal ?? (typeof record === 'string' ? record : '');
    // Only recorded sessions count: a backend without sessions never fills the store, however busy.
    const admitUnless = (refusal: Rejection | undefined): Admission =>
      refusal ? refuse(refusal) : { ok: true, ticket: { kind: 'candidate', record, client } };
    const refusal = this.#limiter.check(client, record !== undefined);
    return refusal instanceof Promise ? refusal.then(admitUnless) : admitUnless(refusal);
  }

  /**
   * An unknown id and a known id with other headers get the same 404 after the same work: one
   * fingerprint, one constant-time comparison, one keyed tag and one log line at one level, so
   * neither the answer nor its timing tells an attacker which ids exist.
   */
  #verify(req: IncomingMessage, key: string, id: string, found: SessionRecord | undefined, principal: string | undefined): Admission {
    if (found === undefined) this.#limiter.forget(key); // expired in the store
    const { matches, pinned } = this.#digests.match(found, principal, this.#sessionHeaders(req));
    if (!matches) {
      const detail = found === undefined ? 'unknown session' : 'headers or principal differ from the initialize';
      return refuse({ ...sessionNotFound(), session: this.#digests.tag(id), detail });
    }
    this.#limiter.touch(key);
    return { ok: true, ticket: { kind: 'session', key, id }, headers: pinned && { pinned } };
  }

  /** The captured headers that make up a session's identity on this backend, in the request as sent. */
  #sessionHeaders(req: IncomingMessage): Readonly<Record<string, string>> {
    const captured = getForwardedHeaders(req);
    const out: Record<string, string> = {};
    for (const name of Object.keys(captured)) {
      if (!usesCaptured(name, this.#proxy)) continue;
      // A credential is the caller's to send on every request: pin never keeps one, nor what becomes one.
      if (this.#config.mode === 'pin' && (CREDENTIAL_HEADERS.has(name) || this.#proxy.credentialInputs.has(name))) continue;
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
}
