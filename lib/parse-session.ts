/**
 * The `session` option of mcpProxy: a mode name, or an object whose `mode` picks the schema, resolved
 * to the session configuration of config.ts with every default applied.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SessionConfig, SessionModeConfig } from './config.js';
import { HeaderConfigError } from './config-error.js';
import { bindSchema, isRecord, pinSchema, requestSchema } from './option-shapes.js';
import { validateShape } from './option-shape-errors.js';
import {
  DEFAULT_ABSOLUTE_TTL_MS,
  DEFAULT_CLIENT_SHARE_DIVISOR,
  DEFAULT_IDLE_TTL_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
  MIN_SESSION_KEY_BYTES,
  type PinSessionOptions,
  type SessionLimits,
} from './session-options.js';
import type { SessionStore } from './session-store.js';

/** `session`: a mode name, or an object whose `mode` picks the schema. */
export function parseSessionOptions(option: unknown, backend: string): SessionConfig {
  if (option === undefined || option === 'request') return { mode: 'request' };
  const session = option === 'bind' ? { mode: 'bind' } : option;
  if (session === 'pin') {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'session', "pin needs a principal: { mode: 'pin', principal: (req) => req.user?.id }");
  }
  if (!isRecord(session)) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'session', "must be 'request', 'bind' or { mode: 'pin', principal }");
  }
  const mode = session.mode;
  if (mode === 'request') {
    validateShape(requestSchema, session, 'mcpProxy', 'session');
    return { mode: 'request' };
  }
  if (mode === 'pin' && Object.hasOwn(session, 'store')) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'session.store',
      'pin keeps header values in this process only, in its own store; a shared store is for bind. With several replicas, route each session to one replica (sticky sessions): see docs/deployment.md',
    );
  }
  if (mode === 'bind') {
    const bind = validateShape(bindSchema, session, 'mcpProxy', 'session');
    if (bind.store && bind.sessionKey === undefined) {
      throw new HeaderConfigError(
        'ERR_INVALID_OPTION',
        'session.sessionKey',
        'required with session.store: every replica sharing the store must use the same key, e.g. 32 random bytes from your secret store',
      );
    }
    const maxSessions = bind.maxSessions ?? DEFAULT_MAX_SESSIONS;
    // The default share, a tenth rounded up, never exceeds maxSessions.
    const maxPerClient = bind.maxSessionsPerClient ?? Math.ceil(maxSessions / DEFAULT_CLIENT_SHARE_DIVISOR);
    if (maxPerClient > maxSessions) {
      throw new HeaderConfigError(
        'ERR_INVALID_OPTION',
        'session.maxSessionsPerClient',
        `is larger than maxSessions (${maxSessions}), so one client could take every session`,
      );
    }
    return sessionMode('bind', bind, backend, { store: bind.store, key: bind.sessionKey, maxPerClient, principal: bind.principal });
  }
  if (mode === 'pin') {
    const pin = validateShape(pinSchema, session, 'mcpProxy', 'session');
    return sessionMode('pin', pin, backend, { maxPerClient: pin.maxSessionsPerPrincipal ?? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL, principal: pin.principal });
  }
  throw new HeaderConfigError('ERR_INVALID_OPTION', 'session.mode', "must be 'request', 'bind' or 'pin'");
}

function sessionMode(
  mode: 'bind' | 'pin',
  limits: SessionLimits,
  backend: string,
  extra: {
    store?: SessionStore | undefined;
    key?: string | Uint8Array | undefined;
    maxPerClient?: number | undefined;
    principal?: PinSessionOptions['principal'] | undefined;
  },
): SessionModeConfig {
  const ttl = { idleMs: limits.idleTtl ?? DEFAULT_IDLE_TTL_MS, absoluteMs: limits.absoluteTtl ?? DEFAULT_ABSOLUTE_TTL_MS };
  if (ttl.absoluteMs < ttl.idleMs) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      limits.absoluteTtl === undefined ? 'session.idleTtl' : 'session.absoluteTtl',
      `the absolute TTL (${ttl.absoluteMs} ms) is shorter than the idle TTL (${ttl.idleMs} ms), so the idle TTL would never apply`,
    );
  }
  const principal = extra.principal;
  return Object.freeze({
    mode,
    // A store passed in may be shared by several routes: keys carry the backend.
    store: extra.store,
    namespace: extra.store ? `${backend}\n` : '',
    key: extra.key === undefined ? randomBytes(MIN_SESSION_KEY_BYTES) : Buffer.from(extra.key),
    ttl: Object.freeze(ttl),
    maxSessions: limits.maxSessions ?? DEFAULT_MAX_SESSIONS,
    maxPerClient: extra.maxPerClient ?? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
    // Called as a plain function: the host app's `this` is not ours to supply.
    principal: principal && ((req: IncomingMessage) => principal(req)),
    allowLegacySse: limits.allowLegacySse ?? false,
  });
}
