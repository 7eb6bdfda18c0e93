/**
 * The `session` option of mcpProxy (docs/sessions.md): its public types and defaults. The parser is
 * parse-session.ts; the resolved form is config.ts's SessionModeConfig.
 */
import type { IncomingMessage } from 'node:http';
import type { SessionStore } from './session-store.js';

/** The `session` option of {@link mcpProxy}. The string forms use every default. */
export type SessionOptions = 'request' | 'bind' | { mode: 'request' } | BindSessionOptions | PinSessionOptions;

/** Limits shared by `bind` and `pin`. */
export interface SessionLimits {
  /** A session unused this long (milliseconds) is forgotten; every request on it restarts the clock. @default 1800000 (30 min) */
  idleTtl?: number;
  /** A session is forgotten this long (milliseconds) after its initialize, however active. @default 86400000 (24 h) */
  absoluteTtl?: number;
  /** Sessions this route keeps at once; beyond it a new initialize gets 503 with Retry-After. @default 10000 */
  maxSessions?: number;
  /**
   * Forward requests of the 2024-11-05 HTTP+SSE transport (`POST /messages?sessionId=…`) without any
   * binding. By default they get 400 `unsupported_transport`: that transport's sessions are not MCP
   * session ids, so `bind` and `pin` cannot protect them. @default false
   */
  allowLegacySse?: boolean;
}

/** `bind`: every request of a session must present the same captured headers as its initialize. */
export interface BindSessionOptions extends SessionLimits {
  mode: 'bind';
  /** Where fingerprints are kept. @default an in-memory store per route */
  store?: SessionStore;
  /** HMAC key (at least 32 bytes) for fingerprints. Required with `store`: every replica must share it. @default 32 random bytes per process */
  sessionKey?: string | Uint8Array;
  /**
   * The authenticated identity behind the request, set by the host app's auth middleware. When it
   * returns one, the session is bound to it as well: another principal (or none) gets 404 on it.
   */
  principal?(req: IncomingMessage): string | undefined;
  /**
   * Sessions one client keeps at once (the principal when known, else the captured headers'
   * fingerprint); beyond it a new initialize gets 503. @default ceil(maxSessions / 10)
   */
  maxSessionsPerClient?: number;
}

/** `pin`: the initialize's captured values are kept in process memory, for that principal only. */
export interface PinSessionOptions extends SessionLimits {
  mode: 'pin';
  /**
   * The authenticated identity behind the request (for example `req.user.id`), set by the host app's
   * auth middleware. `undefined` means none: such a request never gets pinned values.
   */
  principal(req: IncomingMessage): string | undefined;
  /** Sessions one principal keeps at once; beyond it a new initialize gets 503. @default 20 */
  maxSessionsPerPrincipal?: number;
}

export const DEFAULT_IDLE_TTL_MS = 30 * 60_000;
export const DEFAULT_ABSOLUTE_TTL_MS = 24 * 60 * 60_000;
export const DEFAULT_MAX_SESSIONS = 10_000;
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 20;
/** `bind`'s default share per client: a tenth of `maxSessions`, so no one client can take them all. */
export const DEFAULT_CLIENT_SHARE_DIVISOR = 10;
/** The HMAC key's minimum length: SHA-256's block of security. */
export const MIN_SESSION_KEY_BYTES = 32;
