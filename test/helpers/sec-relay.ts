/**
 * The standard gateway of the request-side security suite (test/security/a-, b-, d-, h-*.test.ts):
 * a real Express app with captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'] }) and
 * `app.use('/b', mcpProxy(...))` in front of a recording backend, one static plaintext header and one
 * secret-backed header, plus the assertions those suites share (SDK-shaped error body, no sentinel
 * anywhere, Node's parser answered before any relay code ran, process still alive).
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import express from 'express';
import { captureHeaders, envSecrets, getForwardedHeaders, mcpProxy } from '../../lib/index.js';
import type { ForwardedHeaders, SessionOptions } from '../../lib/index.js';
import { captureLogger, type LogLine } from './capture-logger.js';
import { listen, type Listening } from './listen.js';
import { httpText, rawRequest, type RawResponse } from './raw-http.js';
import { recordingBackend, type RecordedRequest, type RecordingBackend, type Responder } from './recording-backend.js';

/** Every sentinel starts with this; no response, log line or error may ever contain it. */
export const SENTINEL = 'S3NT1NEL';
export const SENTINEL_KEY = `${SENTINEL}-apikey-7f3a9c`;
export const SENTINEL_TENANT = `${SENTINEL}-tenant-41d2e0`;
export const SENTINEL_SECRET = `${SENTINEL}-secret-b8e6d0`;
export const SENTINEL_CLIENT_AUTH = `${SENTINEL}-client-bearer-55aa`;

export const SECRET_ENV_NAME = 'SOME_ENV_NAME';
export const STATIC_VALUE = 'gw-injected';

export interface SecRelayOptions {
  allow?: string[];
  /** Passed to both captureHeaders and mcpProxy. */
  allowCredentials?: boolean;
  passthrough?: string[];
  plaintext?: Record<string, string>;
  fromSecret?: Record<string, string>;
  /** The secret store read by envSecrets(); mutable, so a test can remove a secret at run time. */
  env?: Record<string, string>;
  serverOptions?: http.ServerOptions;
  respond?: Responder;
  timeout?: number;
  /** Overrides the backend URL (for example a closed port). */
  target?: string;
  /** Mount captureHeaders before the relay (default true). */
  capture?: boolean;
  /** mcpProxy's `session` option (default: not set, i.e. 'request'). */
  session?: SessionOptions;
}

export type CapturedLogger = ReturnType<typeof captureLogger>;

export interface SecRelay {
  gateway: Listening;
  port: number;
  backend: RecordingBackend;
  /** Shared by captureHeaders and mcpProxy. Start-up lines are moved to `startupLines`. */
  logger: CapturedLogger;
  startupLines: LogLine[];
  /** URL of every request that reached the Express app (first middleware). */
  appHits: string[];
  /** getForwardedHeaders(req) as seen between captureHeaders and mcpProxy. */
  captured: ForwardedHeaders[];
  env: Record<string, string>;
  /** Whether captureHeaders is mounted. */
  captureMounted: boolean;
  /** `METHOD path HTTP/1.1` + `Host: gw.test` + lines (+ Content-Length and body when body is given). */
  send(lines: string[], options?: { method?: string; path?: string; body?: string }): Promise<RawResponse>;
  raw(request: string | Buffer): Promise<RawResponse>;
  close(): Promise<void>;
}

export async function secRelay(options: SecRelayOptions = {}): Promise<SecRelay> {
  const backend = await recordingBackend(options.respond);
  const logger = captureLogger();
  const env = options.env ?? { [SECRET_ENV_NAME]: SENTINEL_SECRET };
  const appHits: string[] = [];
  const captured: ForwardedHeaders[] = [];
  const allowCredentials = options.allowCredentials ?? false;

  const app = express();
  app.use((req, _res, next) => {
    appHits.push(req.url);
    next();
  });
  if (options.capture ?? true) {
    app.use(captureHeaders({ allow: options.allow ?? ['x-mcp-api-key', 'x-tenant'], allowCredentials, logger }));
  }
  app.use((req, _res, next) => {
    captured.push(getForwardedHeaders(req));
    next();
  });
  app.use(
    '/b',
    mcpProxy({
      target: options.target ?? `${backend.url}/mcp`,
      ...(options.passthrough ? { passthrough: options.passthrough } : {}),
      headers: {
        plaintext: options.plaintext ?? { 'X-Static': STATIC_VALUE },
        fromSecret: options.fromSecret ?? { 'X-Backend-Auth': SECRET_ENV_NAME },
      },
      secrets: envSecrets(env),
      allowCredentials,
      ...(options.timeout ? { timeout: options.timeout } : {}),
      ...(options.session ? { session: options.session } : {}),
      logger,
    }),
  );
  const gateway = await listen(app, options.serverOptions);
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
    captureMounted: options.capture ?? true,
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

/** Runs `fn` against a fresh gateway and always closes it. */
export async function withRelay(options: SecRelayOptions, fn: (relay: SecRelay) => Promise<void>): Promise<void> {
  const relay = await secRelay(options);
  try {
    await fn(relay);
  } finally {
    await relay.close();
  }
}

export interface GatewayErrorBody {
  jsonrpc: unknown;
  id: unknown;
  error: { code: unknown; message: unknown; data: Record<string, unknown> };
}

/** The JSON body of a raw response (raw-http reads bytes as latin1; the relay writes UTF-8). */
export function jsonBody(res: RawResponse): GatewayErrorBody {
  return JSON.parse(Buffer.from(res.body, 'latin1').toString('utf8')) as GatewayErrorBody;
}

/** The SDK-shaped JSON-RPC error body the relay answers with. */
export function assertGatewayError(res: RawResponse, status: number, reason: string, header?: string): void {
  assert.equal(res.status, status, `status (body: ${res.body.slice(0, 200)})`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  const body = jsonBody(res);
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, null);
  assert.equal(body.error.code, -32000);
  assert.equal(typeof body.error.message, 'string');
  assert.equal(body.error.data.reason, reason);
  if (header !== undefined) assert.equal(body.error.data.header, header);
}

/**
 * No sentinel (nor any other given value) in the response bytes (status line, headers, body) or in
 * any log line, start-up lines included.
 */
export function assertNoLeak(res: RawResponse | undefined, relay: Pick<SecRelay, 'logger' | 'startupLines'>, values: string[] = []): void {
  const logText = `${relay.logger.text()}\n${JSON.stringify(relay.startupLines)}`;
  for (const value of [SENTINEL, ...values]) {
    if (res) assert.ok(!res.raw.includes(value), `response leaks ${JSON.stringify(value.slice(0, 40))}: ${res.raw.slice(0, 300)}`);
    assert.ok(!logText.includes(value), `log leaks ${JSON.stringify(value.slice(0, 40))}: ${logText.slice(0, 300)}`);
  }
}

/** Lower-cased names of the raw header lines a backend received. */
export function rawNames(recorded: RecordedRequest): string[] {
  return recorded.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

/** Values of every raw line named `name` (any casing). */
export function rawValues(recorded: RecordedRequest, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < recorded.rawHeaders.length; i += 2) {
    if (recorded.rawHeaders[i]!.toLowerCase() === name.toLowerCase()) out.push(recorded.rawHeaders[i + 1]!);
  }
  return out;
}

/** The gateway still serves a normal request end to end (process alive, relay working). */
export async function assertAlive(relay: SecRelay): Promise<void> {
  const before = relay.backend.requests.length;
  const res = await relay.send([`X-Mcp-Api-Key: alive-key`]);
  assert.equal(res.status, 200, `gateway no longer answers normally: ${res.raw.slice(0, 200)}`);
  assert.equal(relay.backend.requests.length, before + 1);
  assert.equal(relay.backend.last().headers['x-mcp-api-key'], relay.captureMounted ? 'alive-key' : undefined);
  assert.equal(relay.backend.last().headers['x-static'], STATIC_VALUE);
}

/**
 * Layer P: Node's parser answered `status` itself. No relay code ran (the app saw nothing, the
 * backend got nothing, nothing was logged) and the server still answers afterwards.
 */
export async function assertParserRejected(relay: SecRelay, res: RawResponse, status: number): Promise<void> {
  assert.equal(res.status, status, `expected Node's own ${status}, got: ${res.raw.slice(0, 200)}`);
  assert.equal(res.body, '', 'Node parser errors carry no body');
  assert.deepEqual(relay.appHits, [], 'the Express app must not have been reached');
  assert.equal(relay.backend.requests.length, 0, 'the backend must not have been reached');
  assert.deepEqual(relay.logger.lines, [], 'the relay must not have logged anything');
  assertNoLeak(res, relay);
  await assertAlive(relay);
}

/** Layer R rejection: exact JSON error, nothing forwarded, no value leaked. */
export function assertRejected(relay: SecRelay, res: RawResponse, status: number, reason: string, header?: string, values: string[] = []): void {
  assertGatewayError(res, status, reason, header);
  assert.equal(relay.backend.requests.length, 0, 'a rejected request must not reach the backend');
  assertNoLeak(res, relay, values);
}
