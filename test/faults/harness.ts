/**
 * Shared parts of the fault-injection suite (test/faults/*.test.ts): a real Express gateway
 * (captureHeaders + mcpProxy) on loopback, sentinel values that must never leak, raw-socket clients
 * that record when a connection closes, backends that record when their sockets close, and
 * process-level recorders for uncaughtException and unhandledRejection.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import { after, afterEach, before } from 'node:test';
import express from 'express';
import { captureHeaders, envSecrets, mcpProxy } from '../../lib/index.js';
import { captureLogger, type LogLine } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { httpText, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import type { WireRequest } from '../helpers/raw-backend.js';
import { assertGatewayError, assertNoLeak, SENTINEL_KEY, SENTINEL_SECRET } from '../helpers/sec-relay.js';
import { sleep, waitFor } from '../helpers/wait.js';

export { SENTINEL_KEY, SENTINEL_SECRET };

/** The secret-backed header every route adds; its value is SENTINEL_SECRET. */
export const SECRET_HEADER = 'x-backend-auth';
const SECRET_NAME = 'FAULT_SECRET';

/** The prompt-close budget of the issue: the other side must see a close within this. */
export const CLOSE_BUDGET_MS = 1000;

export interface Route {
  /** Backend URL, e.g. `${backend.url}/mcp`. */
  target: string;
  /** mcpProxy's `responseTimeout` (time from the request's end to the response's start). */
  responseTimeout?: number;
}

export interface FaultGateway extends Listening {
  /** Everything the relay logged after start-up. */
  logger: ReturnType<typeof captureLogger>;
  startupLines: LogLine[];
  /** The backend behind `/ok`, which never misbehaves. */
  healthy: HttpBackend;
  /** Closes the gateway and the healthy backend (not the test's fault backend). */
  close(): Promise<void>;
}

/**
 * A real Express app: captureHeaders({ allow: ['x-mcp-api-key'] }), then one mcpProxy per entry of
 * `routes` (mount path -> route), each with the secret-backed header, plus `/ok` in front of a
 * healthy backend so a test can show the process still serves after its fault.
 */
export async function faultGateway(routes: Record<string, Route>): Promise<FaultGateway> {
  const logger = captureLogger();
  const healthy = await httpBackend((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
  const proxy = (route: Route) =>
    mcpProxy({
      target: route.target,
      headers: { fromSecret: { [SECRET_HEADER]: SECRET_NAME } },
      secrets: envSecrets({ [SECRET_NAME]: SENTINEL_SECRET }),
      logger,
      // Raw requests call the gateway by name, fetch by address.
      allowedHosts: ['gateway.test', '127.0.0.1'],
      // The header-size control's own header, which the default response allowlist drops.
      responseHeaders: ['x-big'],
      ...(route.responseTimeout === undefined ? {} : { responseTimeout: route.responseTimeout }),
    });
  for (const [path, route] of Object.entries(routes)) app.use(path, proxy(route));
  app.use('/ok', proxy({ target: `${healthy.url}/mcp` }));
  const gateway = await listen(app);
  const startupLines = logger.lines.splice(0);
  return {
    ...gateway,
    logger,
    startupLines,
    healthy,
    async close() {
      await gateway.close();
      await healthy.close();
    },
  };
}

interface Closable {
  close(): Promise<void>;
}

/**
 * Installs the per-test checks of a fault file: uncaughtException/unhandledRejection recorders (a
 * test fails in afterEach if either fired while it ran; a listener also keeps an uncaught error from
 * ending the run, so it is reported against the test that caused it), and `track()`, which closes a
 * server after the test whatever happened, before the recorders are read.
 */
export function faultSuite(): { track: <T extends Closable>(resource: T) => T } {
  const seen: string[] = [];
  const open: Closable[] = [];
  const record = (kind: string) => (err: unknown) => seen.push(`${kind}: ${String(err)}`);
  const onUncaught = record('uncaughtException');
  const onUnhandled = record('unhandledRejection');
  before(() => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    for (const resource of open.splice(0).reverse()) await resource.close();
    // A rejection is reported a macrotask after the promise settles without a handler.
    await sleep(20);
    assert.deepEqual(seen.splice(0), [], 'the gateway process raised an uncaught error');
  });
  after(() => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
  });
  const track = <T extends Closable>(resource: T): T => {
    open.push(resource);
    return resource;
  };
  return { track };
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/** Request lines every client sends: a Host and the sentinel API key captureHeaders forwards. */
function clientLines(extra: string[]): string[] {
  return ['Host: gateway.test', `X-Mcp-Api-Key: ${SENTINEL_KEY}`, ...extra];
}

/** A JSON-RPC call, the usual body of an MCP POST. */
export const PING = '{"jsonrpc":"2.0","id":1,"method":"ping"}';

/** One complete request over a fresh connection; resolves with the first whole response. */
export function send(port: number, path: string, options: { method?: string; body?: string } = {}): Promise<RawResponse> {
  const { method = 'GET', body } = options;
  const framing = body === undefined ? [] : ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`];
  return rawRequest(port, httpText(`${method} ${path} HTTP/1.1`, clientLines(framing), body ?? ''));
}

export interface RawClient {
  socket: net.Socket;
  /** Every byte received so far, latin1. */
  text: () => string;
  /** When the connection closed (either side), or undefined while open. */
  closedAt: () => number | undefined;
  /** Destroys the client side now and returns when. */
  abort: () => number;
}

/**
 * Sends a request head (the client lines plus `extra`) and `body` on a fresh connection, records the
 * answer, and leaves the connection open for the test to abort or the gateway to close.
 */
export function rawClient(port: number, requestLine: string, extra: string[] = [], body = ''): RawClient {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let closedAt: number | undefined;
  socket.on('data', (data: Buffer) => {
    received += data.toString('latin1');
  });
  socket.on('error', () => {}); // a reset from the gateway is an outcome the test inspects, not a failure
  socket.on('close', () => {
    closedAt ??= Date.now();
  });
  socket.write(httpText(`${requestLine} HTTP/1.1`, clientLines(extra), body));
  return {
    socket,
    text: () => received,
    closedAt: () => closedAt,
    abort() {
      const at = Date.now();
      socket.destroy();
      return at;
    },
  };
}

/** An SSE GET (Accept: text/event-stream) that stays open until either side closes it. */
export function openStream(port: number, path: string): RawClient {
  return rawClient(port, `GET ${path}`, ['Accept: text/event-stream']);
}

/** A POST that declares `length` body bytes and sends only `part` of them. */
export function startUpload(port: number, path: string, length: number, part: string): RawClient {
  return rawClient(port, `POST ${path}`, ['Content-Type: application/json', `Content-Length: ${length}`], part);
}

/** Waits (bounded) until the client has received `needle`. */
export async function waitForText(client: RawClient, needle: string, what: string): Promise<void> {
  await waitFor(() => client.text().includes(needle), `${what}; received ${JSON.stringify(client.text().slice(0, 200))}`);
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

export interface Watched {
  /** When the socket closed, or undefined while open. */
  closedAt: number | undefined;
}

/** Records when `socket` closes, as the backend sees it. */
export function watchClose(socket: net.Socket): Watched {
  const watched: Watched = { closedAt: socket.destroyed ? Date.now() : undefined };
  socket.once('close', () => {
    watched.closedAt ??= Date.now();
  });
  return watched;
}

export interface HttpBackend extends Listening {
  /** Each request's headers and when its socket closed, in arrival order. */
  seen: { headers: http.IncomingHttpHeaders; socket: Watched; res: http.ServerResponse }[];
  last(): HttpBackend['seen'][number];
}

/** A node:http backend that hands each request to `handler` at its headers (before any body). */
export async function httpBackend(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<HttpBackend> {
  const seen: HttpBackend['seen'] = [];
  const listening = await listen((req, res) => {
    req.on('error', () => {}); // the relay aborting an upload is what some tests provoke
    seen.push({ headers: req.headers, socket: watchClose(req.socket), res });
    handler(req, res);
  });
  return {
    ...listening,
    seen,
    last() {
      const entry = seen.at(-1);
      if (!entry) throw new Error('the backend received no request');
      return entry;
    },
  };
}

/** The header lines a raw backend received, as node:http would present them (lower-case names, trimmed values). */
export function wireHeaders(request: WireRequest): http.IncomingHttpHeaders {
  return Object.fromEntries(request.lines.map(([name, value]) => [name.toLowerCase(), value.trim()]));
}

/** A chunk of a chunked body, as a backend writes an event onto the wire. */
export function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

/** A port on 127.0.0.1 that was just closed, so connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = await listen((_req, res) => res.end());
  await server.close();
  return server.port;
}

/**
 * The event-stream response head a raw backend writes before its events. Chunked, so that a closed
 * connection without the last chunk is a broken stream to the relay, not a complete one.
 */
export const SSE_HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n';

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------

/**
 * The relay answered with its JSON-RPC error (docs/errors.md): status, reason, and neither the
 * captured key nor the secret in the answer or any log line; the target's address is not named.
 */
export function assertFaultAnswer(gw: FaultGateway, res: RawResponse, status: number, reason: string, backendPort: number): void {
  assertGatewayError(res, status, reason);
  assertNoLeak(res, gw);
  assert.ok(!res.raw.includes('127.0.0.1') && !res.raw.includes(`:${backendPort}`), 'the answer names the backend address');
}

/** Positive control for the leak checks: the values really were in play on this request. */
export function assertSentinelsForwarded(headers: http.IncomingHttpHeaders): void {
  assert.equal(headers['x-mcp-api-key'], SENTINEL_KEY, 'the backend did not receive the captured key');
  assert.equal(headers[SECRET_HEADER], SENTINEL_SECRET, 'the backend did not receive the secret header');
}

/** `watched` (a socket on the other side) closed within CLOSE_BUDGET_MS of `since`. */
export async function assertClosedPromptly(watched: Pick<Watched, 'closedAt'> | (() => number | undefined), since: number, what: string): Promise<void> {
  const closedAt = typeof watched === 'function' ? watched : () => watched.closedAt;
  // Wait longer than the budget so a late close is reported with its delay, not as a bare timeout.
  await waitFor(() => closedAt() !== undefined, what, 3 * CLOSE_BUDGET_MS);
  const delay = closedAt()! - since;
  assert.ok(delay < CLOSE_BUDGET_MS, `${what} took ${delay} ms`);
}

/**
 * A stream cut after its headers: one 200 status line, no terminating chunk (the client can tell it
 * is incomplete), and no error text written into it.
 */
export function assertBrokenStream(raw: string): void {
  assert.match(raw, /^HTTP\/1\.1 200 /);
  assert.equal(raw.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, 'a second status line was written');
  assert.ok(!raw.includes('\r\n0\r\n\r\n'), 'the broken stream ended with a clean terminating chunk');
  assert.doesNotMatch(raw, /jsonrpc"|-32000|Bad gateway|Gateway timeout|backend_/i);
}

/** The same gateway still relays an ordinary request end to end, with the captured key and the secret. */
export async function assertAlive(gw: FaultGateway): Promise<void> {
  const before = gw.healthy.seen.length;
  const res = await send(gw.port, '/ok');
  assert.equal(res.status, 200, `the gateway no longer answers normally: ${res.raw.slice(0, 200)}`);
  assert.equal(gw.healthy.seen.length, before + 1);
  assertSentinelsForwarded(gw.healthy.last().headers);
  assertNoLeak(undefined, gw);
}
