/**
 * Helpers of test/security/i-sessions.test.ts (issue 9, items I8, I9, I12, I13, I14): a backend that
 * mints session ids like an MCP server (after e-sessions.test.ts), session stores that count or never
 * settle, a logger whose warn/error are slow, and a hand-built gateway for what `secRelay()` cannot
 * set (`connectTimeout`, a logger of the test's own). The hand-built gateway is the standard route of
 * sec-relay (captureHeaders of x-mcp-api-key and x-tenant, one static and one secret-backed header) and
 * checks every forwarded request on the wire the same way.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { captureHeaders, envSecrets, getForwardedHeaders, mcpProxy, memorySessionStore } from '../../lib/index.js';
import type { ForwardedHeaders, McpProxyOptions, SessionOptions, SessionStore } from '../../lib/index.js';
import { captureLogger } from './capture-logger.js';
import { listen } from './listen.js';
import { httpText, rawRequest, type RawResponse } from './raw-http.js';
import { answerOk, recordingBackend, type Responder } from './recording-backend.js';
import {
  GATEWAY_NAMES,
  SECRET_ENV_NAME,
  SENTINEL_SECRET,
  STATIC_VALUE,
  checkRecorded,
  type CapturedLogger,
  type SecRelay,
  type WirePolicy,
} from './sec-relay.js';

/** The SDK server transport's answer for an unknown session, byte for byte. */
export const NOT_FOUND_BODY = '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}';

/** The 2026-07-28 revision: no sessions, so a `bind`/`pin` route handles such a request per request. */
export const MODERN = ['MCP-Protocol-Version: 2026-07-28', 'Mcp-Method: tools/list'];

/**
 * `session` options this worktree's lib does not declare yet (`maxSessionsPerClient`, `principal` on
 * bind, `allowLegacySse`): passed through as they are, so the old lib's refusal shows at run time.
 */
export function sessionOptions(options: Record<string, unknown>): SessionOptions {
  return options as unknown as SessionOptions;
}

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

/* ------------------------------------------------------------------------------------------------ */
/* A hand-built standard gateway.                                                                   */
/* ------------------------------------------------------------------------------------------------ */

export interface HandRelayOptions {
  /** mcpProxy's `session` (default: not set, a `request` route). */
  session?: SessionOptions;
  /** The recording backend's answer (default 200 `{"ok":true}`). */
  respond?: Responder;
  /** Overrides the backend URL (another server than the recording backend). */
  target?: string;
  connectTimeout?: number;
  logger?: CapturedLogger;
}

export interface HandRelay extends SecRelay {
  /** As `send`, with a bound on the wait for the answer (rejects after `timeoutMs`). */
  sendWithin(timeoutMs: number, lines: string[], options?: { method?: string; path?: string; body?: string }): Promise<RawResponse>;
}

/**
 * sec-relay's standard route, built by hand so that `connectTimeout` and the logger are the test's,
 * and so that a configuration the lib refuses (options the old lib does not know) throws after the
 * backend is closed again: a backend left listening would keep the test process alive.
 */
export async function handRelay(options: HandRelayOptions): Promise<HandRelay> {
  const env = { [SECRET_ENV_NAME]: SENTINEL_SECRET };
  const wireProblems: string[] = [];
  const respond = options.respond ?? answerOk;
  const backend = await recordingBackend((req, res, recorded) => {
    const where = `request ${backend.requests.length} (${recorded.method} ${recorded.url})`;
    for (const problem of checkRecorded(recorded, policy)) wireProblems.push(`${where}: ${problem}`);
    respond(req, res, recorded);
  });
  const target = options.target ?? `${backend.url}/mcp`;
  const policy: WirePolicy = {
    captured: new Set(['x-mcp-api-key', 'x-tenant']),
    statics: new Map<string, () => string | undefined>([
      ['x-static', () => STATIC_VALUE],
      ['x-backend-auth', () => env[SECRET_ENV_NAME]],
    ]),
    host: new URL(target).host,
  };
  const logger = options.logger ?? captureLogger();
  const appHits: string[] = [];
  const captured: ForwardedHeaders[] = [];
  const app = express();
  app.use((req, _res, next) => {
    appHits.push(req.url);
    next();
  });
  app.use(captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'], logger }));
  app.use((req, _res, next) => {
    captured.push(getForwardedHeaders(req));
    next();
  });
  const proxyOptions: McpProxyOptions = {
    target,
    headers: { plaintext: { 'X-Static': STATIC_VALUE }, fromSecret: { 'X-Backend-Auth': SECRET_ENV_NAME } },
    secrets: envSecrets(env),
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout }),
    allowedHosts: GATEWAY_NAMES.allowedHosts,
    allowedOrigins: GATEWAY_NAMES.allowedOrigins,
    logger,
  };
  try {
    app.use('/b', mcpProxy(proxyOptions));
  } catch (err) {
    await backend.close();
    throw err;
  }
  const gateway = await listen(app);
  const startupLines = logger.lines.splice(0);

  const sendWithin: HandRelay['sendWithin'] = (timeoutMs, lines, { method = 'GET', path = '/b', body } = {}) => {
    const all = ['Host: gw.test', ...lines];
    if (body !== undefined) all.push(`Content-Length: ${Buffer.byteLength(body)}`);
    return rawRequest(gateway.port, httpText(`${method} ${path} HTTP/1.1`, all, body ?? ''), timeoutMs);
  };
  return {
    gateway,
    port: gateway.port,
    backend,
    logger,
    startupLines,
    appHits,
    captured,
    env,
    captureMounted: true,
    wireProblems,
    raw: (request) => rawRequest(gateway.port, request),
    send: (lines, sendOptions) => sendWithin(5000, lines, sendOptions),
    sendWithin,
    async close() {
      await gateway.close();
      await backend.close();
    },
  };
}

/** The principal of the security suite's gateways: the `X-User` header (never captured, never forwarded). */
export function principalOf(req: http.IncomingMessage): string | undefined {
  const user = req.headers['x-user'];
  return typeof user === 'string' && user !== '' ? user : undefined;
}
