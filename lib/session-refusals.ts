/**
 * The answers a `bind` or `pin` route gives instead of forwarding (session-guard.ts decides when), each
 * shaped like the MCP SDK's. The one for an unknown or mismatched session is rejection.ts's
 * sessionNotFound, shared with the relay's other 404s.
 */
import type { SessionModeConfig } from './config.js';
import type { RelayLogger } from './logger.js';
import { reject, type Rejection } from './rejection.js';

/** A 2024-11-05 HTTP+SSE request on a `bind` or `pin` route without `allowLegacySse`. */
export function unsupportedTransport(): Rejection {
  return reject(
    400,
    'unsupported_transport',
    'Bad request: the HTTP+SSE transport of 2024-11-05 (sessionId in the query) is not served on this route; use Streamable HTTP',
  );
}

export function invalidSessionId(): Rejection {
  return reject(400, 'invalid_session_id', 'Bad request: Mcp-Session-Id must be 1-256 visible ASCII characters', 'mcp-session-id');
}

/** The host app's `principal` function threw (logged where it was called). */
export function principalFailure(): Rejection {
  return reject(500, 'internal_error', 'Internal error in the MCP relay');
}

/** The route's or one client's session limit is reached: logged, and a Retry-After of the idle TTL (at most a minute). */
export function sessionLimit(which: 'sessions' | 'client', config: SessionModeConfig, logger: Required<RelayLogger>): Rejection {
  const share = config.mode === 'pin' ? 'maxSessionsPerPrincipal' : 'maxSessionsPerClient';
  const limit = which === 'sessions' ? `maxSessions (${config.maxSessions})` : `${share} (${config.maxPerClient})`;
  logger.warn({ reason: 'session_limit', limit: which }, `mcpProxy: 503, ${limit} reached; existing sessions are kept`);
  return {
    ...reject(503, 'session_limit', 'Service unavailable: too many open sessions; retry later or end an unused session'),
    retryAfter: Math.ceil(Math.min(config.ttl.idleMs, 60_000) / 1000),
  };
}

/** The store failed (GuardedStore has logged which operation). */
export function storeUnavailable(): Rejection {
  return reject(503, 'session_store_unavailable', 'Service unavailable: the session store cannot be reached');
}
