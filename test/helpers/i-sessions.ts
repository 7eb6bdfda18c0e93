/**
 * Helpers of test/security/i-sessions.test.ts (issue 9, items I8, I9, I12, I13, I14): a backend that
 * mints session ids like an MCP server (after e-sessions.test.ts), session stores that count or never
 * settle, and a logger whose warn/error are slow.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { memorySessionStore, type SessionStore } from '../../lib/index.js';
import { captureLogger } from './capture-logger.js';
import type { Responder } from './recording-backend.js';
import type { CapturedLogger } from './sec-relay.js';

/** The SDK server transport's answer for an unknown session, byte for byte. */
export const NOT_FOUND_BODY = '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}';

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
/* Session stores.                                                                                  */
/* ------------------------------------------------------------------------------------------------ */

export interface CountingStore extends SessionStore {
  readonly calls: { get: number; set: number; delete: number; size: number };
}

/**
 * Delegates to memorySessionStore() and counts every call; the operations named in `hang` return a
 * promise that never settles instead (a shared store whose connection stalls).
 */
export function countingStore(hang: ('get' | 'size')[] = []): CountingStore {
  const inner = memorySessionStore();
  const calls = { get: 0, set: 0, delete: 0, size: 0 };
  const never = (): Promise<never> => new Promise<never>(() => {});
  return {
    calls,
    get(key) {
      calls.get++;
      return hang.includes('get') ? never() : inner.get(key);
    },
    set(key, value, ttl) {
      calls.set++;
      return inner.set(key, value, ttl);
    },
    delete(key) {
      calls.delete++;
      return inner.delete(key);
    },
    size() {
      calls.size++;
      return hang.includes('size') ? never() : inner.size();
    },
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
