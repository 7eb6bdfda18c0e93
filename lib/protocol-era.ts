/**
 * Which MCP era a request belongs to. 2025-11-25 and earlier have sessions (`Mcp-Session-Id`, an
 * initialize handshake, a GET stream); 2026-07-28 removed them: every request stands alone and carries
 * `MCP-Protocol-Version` and `Mcp-Method` headers, and a server ignores a stray session id. Before
 * both, the 2024-11-05 HTTP+SSE transport kept its session in the query.
 */
import type { IncomingMessage } from 'node:http';

/** The first revision without sessions. */
export const STATELESS_PROTOCOL_VERSION = '2026-07-28';

/** Revisions are dates, so they order as strings. */
const REVISION = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A request of the stateless era: it names a revision from 2026-07-28 on, or it carries `Mcp-Method`
 * (which 2025-era clients never send) without a session id. Anything else, including a request with
 * neither header (a 2025 initialize), is of the session era.
 */
export function isStatelessEra(req: IncomingMessage): boolean {
  const version = req.headers['mcp-protocol-version'];
  if (typeof version === 'string' && REVISION.test(version) && version >= STATELESS_PROTOCOL_VERSION) return true;
  return req.headers['mcp-method'] !== undefined && req.headers['mcp-session-id'] === undefined;
}

/** The 2024-11-05 HTTP+SSE transport's POSTs name their session in a `sessionId` query parameter. */
export function usesLegacySse(url: string | undefined): boolean {
  const q = url?.indexOf('?') ?? -1;
  return q !== -1 && new URLSearchParams(url!.slice(q + 1)).has('sessionId');
}
