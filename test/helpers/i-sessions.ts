/**
 * Helpers of test/security/i-sessions.test.ts (issue 9, items I8, I9, I12, I13, I14): a backend that
 * mints session ids like an MCP server (after e-sessions.test.ts) and a logger whose warn/error are
 * slow. Requests, assertions and the counting store are session-requests.ts's.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { captureLogger } from './capture-logger.js';
import type { Responder } from './recording-backend.js';
import type { CapturedLogger } from './sec-relay.js';
import { NOT_FOUND_BODY } from './session-requests.js';

/** The 2026-07-28 revision: no sessions, so a `bind`/`pin` route handles such a request per request. */
export const MODERN = ['MCP-Protocol-Version: 2026-07-28', 'Mcp-Method: tools/list'];

/* ------------------------------------------------------------------------------------------------ */
/* A backend that behaves like an MCP server with sessions (after e-sessions.test.ts).              */
/* ------------------------------------------------------------------------------------------------ */

export class McpLike {
  /** Ids this backend treats as live sessions. */
  readonly live = new Set<string>();
  readonly minted: string[] = [];

  readonly respond: Responder = (req, res) => {
    const id = req.headers['mcp-session-id'];
    res.setHeader('Content-Type', 'application/json');
    if (req.headers['mcp-protocol-version'] === '2026-07-28') {
      // A 2026-07-28 server: no sessions, every request stands alone.
      res.end('{"jsonrpc":"2.0","result":{"tools":[]},"id":3}');
      return;
    }
    if (id === undefined) {
      const minted = randomUUID();
      this.minted.push(minted);
      this.live.add(minted);
      res.setHeader('Mcp-Session-Id', minted);
      res.end('{"jsonrpc":"2.0","result":{"protocolVersion":"2025-11-25"},"id":1}');
      return;
    }
    if (typeof id !== 'string' || !this.live.has(id)) {
      res.statusCode = 404;
      res.end(NOT_FOUND_BODY);
      return;
    }
    if (req.method === 'DELETE') this.live.delete(id);
    res.end('{"jsonrpc":"2.0","result":{},"id":2}');
  };
}

/* ------------------------------------------------------------------------------------------------ */
/* Loggers.                                                                                         */
/* ------------------------------------------------------------------------------------------------ */

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: a synchronous log write to a slow destination
  }
}

/**
 * Records every line like captureLogger(); `warn` and `error` also busy-wait `ms` (a synchronous write
 * to a slow stderr), `info` and `debug` cost nothing (console's default output drops them).
 */
export function slowWarnLogger(ms = 5): CapturedLogger {
  const base = captureLogger();
  return {
    ...base,
    warn(fields, message) {
      busyWait(ms);
      base.warn(fields, message);
    },
    error(fields, message) {
      busyWait(ms);
      base.error(fields, message);
    },
  };
}

/** The principal of the security suite's gateways: the `X-User` header (never captured, never forwarded). */
export function principalOf(req: http.IncomingMessage): string | undefined {
  const user = req.headers['x-user'];
  return typeof user === 'string' && user !== '' ? user : undefined;
}
