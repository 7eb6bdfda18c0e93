/**
 * Gateways and backends for test/security/i-requests.test.ts (issue 9, request side: I3–I7, I11).
 *
 * `iRelay` is secRelay's gateway built by hand so a test can mount its own middleware where secRelay
 * cannot: before captureHeaders (a request-id or auth middleware rewriting `req.headers`), between
 * captureHeaders and mcpProxy (a CORS preflight handler), and derive the route's `target` from the
 * recording backend's URL (a fixed query, a target without a path). It returns a `SecRelay`, so the
 * suite's assertions (`assertRefusal`, `assertAlive`, `assertWireClean`) apply unchanged, and every
 * forwarded request is checked on the wire with sec-relay's `checkRecorded`.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { captureHeaders, envSecrets, getForwardedHeaders, mcpProxy } from '../../lib/index.js';
import type { ForwardedHeaders } from '../../lib/index.js';
import { captureLogger } from './capture-logger.js';
import { listen } from './listen.js';
import { httpText, rawRequest, type RawResponse } from './raw-http.js';
import { answerOk, recordingBackend, type Responder } from './recording-backend.js';
import {
  GATEWAY_NAMES,
  SECRET_ENV_NAME,
  SENTINEL_SECRET,
  STATIC_VALUE,
  assertWireClean,
  checkRecorded,
  type SecRelay,
  type WirePolicy,
} from './sec-relay.js';

/** The names the I-gateways capture: sec-relay's two and an identity header an auth middleware owns. */
export const I_ALLOW = ['x-mcp-api-key', 'x-tenant', 'x-user-id'];

export interface IRelayOptions {
  /** Mounted first, before captureHeaders (after the app-hit recorder). */
  before?: RequestHandler[];
  /** Mounted after captureHeaders, before mcpProxy. */
  beforeProxy?: RequestHandler[];
  /** The route's target from the recording backend's URL (default `${url}/mcp`). */
  target?: (backendUrl: string) => string;
  respond?: Responder;
}

/** A gateway shaped like secRelay(): X-Static (plaintext) and X-Backend-Auth (secret, a sentinel). */
export async function iRelay(options: IRelayOptions = {}): Promise<SecRelay> {
  const env: Record<string, string> = { [SECRET_ENV_NAME]: SENTINEL_SECRET };
  const wireProblems: string[] = [];
  const respond = options.respond ?? answerOk;
  const backend = await recordingBackend((req, res, recorded) => {
    const where = `request ${backend.requests.length} (${recorded.method} ${recorded.url})`;
    for (const problem of checkRecorded(recorded, policy)) wireProblems.push(`${where}: ${problem}`);
    respond(req, res, recorded);
  });
  const target = options.target?.(backend.url) ?? `${backend.url}/mcp`;
  const policy: WirePolicy = {
    captured: new Set(I_ALLOW),
    statics: new Map([
      ['x-static', () => STATIC_VALUE],
      ['x-backend-auth', () => env[SECRET_ENV_NAME]],
    ]),
    host: new URL(target).host,
  };
  const logger = captureLogger();
  const appHits: string[] = [];
  const captured: ForwardedHeaders[] = [];

  const app = express();
  app.use((req, _res, next) => {
    appHits.push(req.url);
    next();
  });
  for (const middleware of options.before ?? []) app.use(middleware);
  app.use(captureHeaders({ allow: I_ALLOW, logger }));
  app.use((req, _res, next) => {
    captured.push(getForwardedHeaders(req));
    next();
  });
  for (const middleware of options.beforeProxy ?? []) app.use(middleware);
  app.use(
    '/b',
    mcpProxy({
      target,
      headers: { plaintext: { 'X-Static': STATIC_VALUE }, fromSecret: { 'X-Backend-Auth': SECRET_ENV_NAME } },
      secrets: envSecrets(env),
      allowedHosts: GATEWAY_NAMES.allowedHosts,
      allowedOrigins: GATEWAY_NAMES.allowedOrigins,
      logger,
    }),
  );
  const gateway = await listen(app);
  const startupLines = logger.lines.splice(0);
  const raw = (request: string | Buffer): Promise<RawResponse> => rawRequest(gateway.port, request);
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
    raw,
    send(lines, { method = 'GET', path = '/b', body } = {}) {
      const all = ['Host: gw.test', ...lines];
      if (body !== undefined) all.push(`Content-Length: ${Buffer.byteLength(body)}`);
      return raw(httpText(`${method} ${path} HTTP/1.1`, all, body ?? ''));
    },
    async close() {
      await gateway.close();
      await backend.close();
    },
  };
}

/** Runs `fn` against a fresh iRelay gateway, checks the wire and always closes it. */
export async function withIRelay(options: IRelayOptions, fn: (relay: SecRelay) => Promise<void>): Promise<void> {
  const relay = await iRelay(options);
  try {
    await fn(relay);
    assertWireClean(relay);
  } finally {
    await relay.close();
  }
}

/** The common request-id middleware: adds a header the client did not send. */
export const requestId: RequestHandler = (req, _res, next) => {
  req.headers['x-request-id'] = crypto.randomUUID();
  next();
};

/** Sets (or, with `undefined`, deletes) `req.headers[name]` whenever the client sent that header. */
export function rewriteHeader(name: string, value: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (req.headers[name] !== undefined) {
      if (value === undefined) delete req.headers[name];
      else req.headers[name] = value;
    }
    next();
  };
}

/**
 * The response head only (the answer to HEAD has no body, which `rawRequest` would wait for), as a
 * RawResponse with an empty body, so the suite's leak checks apply.
 */
export function rawHead(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response head within 3000 ms: ${JSON.stringify(text.slice(0, 200))}`));
    }, 3000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      const [statusLine = '', ...rest] = text.slice(0, end).split('\r\n');
      const headerLines = rest.map((l): [string, string] => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]);
      const headers: Record<string, string> = {};
      for (const [name, value] of headerLines) {
        const key = name.toLowerCase();
        headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, headerLines, body: '', raw: text });
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write(request);
  });
}

export interface BodyBlindBackend {
  url: string;
  port: number;
  /** The request line and header lines of every request head seen, in arrival order. */
  heads: string[];
  /** Resolves once `count` heads were seen, or after `ms` (whichever comes first). */
  headsOrTimeout(count: number, ms: number): Promise<void>;
  close(): Promise<void>;
}

const BLIND_OK = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}';

/**
 * A raw TCP backend that never reads a request body: it answers every request head at once and reads
 * the next bytes as the next request head (a server that ignores Content-Length and Transfer-Encoding
 * on GET and DELETE). Bytes sent as the body of a GET are a second request to it.
 */
export async function bodyBlindBackend(): Promise<BodyBlindBackend> {
  const heads: string[] = [];
  const waiters: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        heads.push(pending.slice(0, end));
        pending = pending.slice(end + 4);
        socket.write(BLIND_OK);
        for (const wake of waiters.splice(0)) wake();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    heads,
    async headsOrTimeout(count, ms) {
      const deadline = Date.now() + ms;
      while (heads.length < count && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
