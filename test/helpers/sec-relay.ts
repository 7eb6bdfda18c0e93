/**
 * The standard gateway of the request-side security suite (test/security/a-, b-, d-, e-, h-*.test.ts):
 * a real Express app with captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'] }) and
 * `app.use('/b', mcpProxy(...))` in front of a recording backend, one static plaintext header and one
 * secret-backed header, plus the assertions those suites share (SDK-shaped error body, no sentinel
 * anywhere, Node's parser answered before any relay code ran, process still alive).
 *
 * Every request the backend records is checked on the wire as it arrives (`wireProblems`): only the
 * names this route may send, each once, values of visible ASCII/SP/HTAB only, the static and secret
 * values exactly once. `withRelay` and `assertAlive` fail on any problem found (`assertWireClean`).
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, afterEach, before } from 'node:test';
import express, { type RequestHandler } from 'express';
import { captureHeaders, envSecrets, getForwardedHeaders, mcpProxy } from '../../lib/index.js';
import type { ForwardedHeaders, McpProxyOptions, RelayMiddleware, RouteHeaders, SessionOptions } from '../../lib/index.js';
import { captureLogger, type LogLine } from './capture-logger.js';
import { listen, type Listening } from './listen.js';
import { httpText, rawRequest, type RawResponse } from './raw-http.js';
import { SENTINEL } from './sentinel.js';
import { CREDENTIAL_NAMES as SPEC_CREDENTIAL_NAMES, PROTOCOL_NAMES as SPEC_PROTOCOL_NAMES } from './spec-names.js';
import { answerOk, recordingBackend, type RecordedRequest, type RecordingBackend, type Responder, type WireRequest } from './recording-backend.js';

/** Every sentinel starts with this; no response, log line or error may ever contain it. */
export { SENTINEL };
export const SENTINEL_KEY = `${SENTINEL}-apikey-7f3a9c`;
export const SENTINEL_TENANT = `${SENTINEL}-tenant-41d2e0`;
export const SENTINEL_SECRET = `${SENTINEL}-secret-b8e6d0`;
export const SENTINEL_CLIENT_AUTH = `${SENTINEL}-client-bearer-55aa`;

export const SECRET_ENV_NAME = 'SOME_ENV_NAME';
export const STATIC_VALUE = 'gw-injected';

/** The standard route: what it captures, its static header and its secret-backed header. */
const DEFAULT_ALLOW = ['x-mcp-api-key', 'x-tenant'];
const DEFAULT_PLAINTEXT: Record<string, string> = { 'X-Static': STATIC_VALUE };
const DEFAULT_FROM_SECRET: Record<string, string> = { 'X-Backend-Auth': SECRET_ENV_NAME };

/**
 * DNS-rebinding guard settings for the security suite's gateways: raw requests call the gateway
 * `gw.test` or `gateway.test`, fetch and http.request call it by address, and the probes' Origin (sent to show it is
 * dropped) must be let through to show that.
 */
export const GATEWAY_NAMES = { allowedHosts: ['gw.test', 'gateway.test', '127.0.0.1'], allowedOrigins: ['http://web.example'] };

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
  responseTimeout?: number;
  connectTimeout?: number;
  /**
   * The route's target: a URL (another server than the recording backend, a closed port), or built
   * from the recording backend's URL (a fixed query, no path). Default `${backend}/mcp`.
   */
  target?: string | ((backendUrl: string) => string);
  /** Mounted before captureHeaders: a request-id or auth middleware that rewrites `req.headers`. */
  before?: RequestHandler[];
  /** Mounted between captureHeaders and mcpProxy: a CORS preflight handler. */
  beforeProxy?: RequestHandler[];
  /** The logger of both middlewares (default a fresh captureLogger()). */
  logger?: CapturedLogger;
  /** Mount captureHeaders before the relay (default true). */
  capture?: boolean;
  /** mcpProxy's `session` option (default: not set, i.e. 'request'). */
  session?: SessionOptions;
  /** mcpProxy's `allowedHosts` (default: `gw.test`, the name `send()` uses, and `127.0.0.1` for fetch). */
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** mcpProxy's `responseHeaders`: response names forwarded besides the defaults. */
  responseHeaders?: string[];
  /** mcpProxy's identity options: computed, renamed and templated headers, `required`, `principal`, `audit`. */
  route?: RouteIdentity;
}

export type RouteIdentity = Pick<McpProxyOptions, 'required' | 'principal' | 'audit'> & {
  headers?: Pick<RouteHeaders, 'fromCaptured' | 'template' | 'fromRequest' | 'fromCredential'>;
};

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
  /** Wire problems found in the requests the backend recorded so far (see `wireProblems`). */
  wireProblems: string[];
  /**
   * `METHOD path HTTP/1.1` + `Host: gw.test` + lines (+ Content-Length and body when body is given);
   * rejects when no answer came within `timeoutMs` (default 5000).
   */
  send(lines: string[], options?: { method?: string; path?: string; body?: string; timeoutMs?: number }): Promise<RawResponse>;
  raw(request: string | Buffer): Promise<RawResponse>;
  close(): Promise<void>;
}

export async function secRelay(options: SecRelayOptions = {}): Promise<SecRelay> {
  const env = options.env ?? { [SECRET_ENV_NAME]: SENTINEL_SECRET };
  const wireProblemsFound: string[] = [];
  const respond = options.respond ?? answerOk;
  // Checked as each request arrives, so a secret rotated later is compared with the value then in force.
  const backend = await recordingBackend((req, res, recorded) => {
    const where = `request ${backend.requests.length} (${recorded.method} ${recorded.url})`;
    for (const problem of checkRecorded(recorded, policy)) wireProblemsFound.push(`${where}: ${problem}`);
    respond(req, res, recorded);
  });
  const target = typeof options.target === 'function' ? options.target(backend.url) : (options.target ?? `${backend.url}/mcp`);
  const policy = wirePolicy(options, env, new URL(target).host);
  const logger = options.logger ?? captureLogger();
  const appHits: string[] = [];
  const captured: ForwardedHeaders[] = [];
  const allowCredentials = options.allowCredentials ?? false;

  const app = express();
  app.use((req, _res, next) => {
    appHits.push(req.url);
    next();
  });
  for (const middleware of options.before ?? []) app.use(middleware);
  if (options.capture ?? true) {
    app.use(captureHeaders({ allow: options.allow ?? DEFAULT_ALLOW, allowCredentials, logger }));
  }
  app.use((req, _res, next) => {
    captured.push(getForwardedHeaders(req));
    next();
  });
  for (const middleware of options.beforeProxy ?? []) app.use(middleware);
  let proxy: RelayMiddleware;
  try {
    proxy = mcpProxy({
      target,
      ...(options.passthrough ? { passthrough: options.passthrough } : {}),
      ...options.route,
      headers: {
        plaintext: options.plaintext ?? DEFAULT_PLAINTEXT,
        fromSecret: options.fromSecret ?? DEFAULT_FROM_SECRET,
        ...options.route?.headers,
      },
      secrets: envSecrets(env),
      allowCredentials,
      ...(options.responseTimeout ? { responseTimeout: options.responseTimeout } : {}),
      ...(options.connectTimeout ? { connectTimeout: options.connectTimeout } : {}),
      ...(options.session ? { session: options.session } : {}),
      ...(options.responseHeaders ? { responseHeaders: options.responseHeaders } : {}),
      allowedHosts: options.allowedHosts ?? GATEWAY_NAMES.allowedHosts,
      allowedOrigins: options.allowedOrigins ?? GATEWAY_NAMES.allowedOrigins,
      logger,
    });
  } catch (err) {
    // A configuration the lib refuses: the backend must not keep the test process alive.
    await backend.close();
    throw err;
  }
  app.use('/b', proxy);
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
    wireProblems: wireProblemsFound,
    raw,
    send(lines, { method = 'GET', path = '/b', body, timeoutMs } = {}) {
      const all = ['Host: gw.test', ...lines];
      if (body !== undefined) all.push(`Content-Length: ${Buffer.byteLength(body)}`);
      return rawRequest(gateway.port, httpText(`${method} ${path} HTTP/1.1`, all, body ?? ''), timeoutMs);
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
    assertWireClean(relay);
  } finally {
    await relay.close();
  }
}

/**
 * One gateway for every test of the enclosing describe, for cases of one or a few requests each:
 * started in before(), closed in after(). After each test the wire problems found during it are
 * taken and must be none (what `withRelay` checks at its end). Call it inside describe(); the
 * returned function gives the running relay.
 */
export function sharedRelay(options: SecRelayOptions = {}): () => SecRelay {
  let relay: SecRelay | undefined;
  before(async () => {
    relay = await secRelay(options);
  });
  afterEach(() => {
    if (relay) assert.deepEqual(relay.wireProblems.splice(0), [], 'a request left the relay with wire problems');
  });
  after(async () => {
    await relay?.close();
  });
  return () => {
    assert.ok(relay, 'the shared relay is not running (its before() hook failed?)');
    return relay;
  };
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

/** Lower-cased names of the header lines the backend received, from the wire. */
export function wireNames(recorded: RecordedRequest): string[] {
  return recorded.wire.lines.map(([name]) => name.toLowerCase());
}

/** Values of every header line named `name` (any casing) as sent: only the `: ` separator removed. */
export function wireValues(recorded: RecordedRequest, name: string): string[] {
  const lower = name.toLowerCase();
  return recorded.wire.lines.filter(([n]) => n.toLowerCase() === lower).map(([, value]) => value.replace(/^ /, ''));
}

/** The request head as received (request line and every header line), for "appears nowhere" checks. */
export function wireText(recorded: RecordedRequest): string {
  return recorded.wire.head.toString('latin1');
}

/**
 * Headers outside the standard route's names that every liveness probe carries: the wire check of
 * its forwarded request fails if any of them gets through.
 */
const PROBE_NOISE = ['User-Agent: probe/1.0', 'Origin: http://web.example', 'X-Forwarded-For: 6.6.6.6', 'Authorization: Bearer probe-token'];

/** The gateway still serves a normal request end to end (process alive, relay working, wire clean). */
export async function assertAlive(relay: SecRelay): Promise<void> {
  const before = relay.backend.requests.length;
  const res = await relay.send(['X-Mcp-Api-Key: alive-key', ...PROBE_NOISE]);
  assert.equal(res.status, 200, `gateway no longer answers normally: ${res.raw.slice(0, 200)}`);
  assert.equal(relay.backend.requests.length, before + 1);
  const got = relay.backend.last();
  assert.deepEqual(wireValues(got, 'x-mcp-api-key'), relay.captureMounted ? ['alive-key'] : []);
  assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
  assertWireClean(relay);
}

/**
 * Layer P: Node's parser answered `status` itself (empty body, `Connection: close`). No relay code ran
 * (the app saw nothing, the backend got nothing, nothing was logged) and the server still answers.
 */
export async function assertParserRejected(relay: SecRelay, res: RawResponse, status: number): Promise<void> {
  assert.equal(res.status, status, `expected Node's own ${status}, got: ${res.raw.slice(0, 200)}`);
  assert.equal(res.body, '', 'Node parser errors carry no body');
  assert.equal(res.headers.connection, 'close', 'Node closes the connection after a parser error');
  assert.deepEqual(relay.appHits, [], 'the Express app must not have been reached');
  assert.equal(relay.backend.requests.length, 0, 'the backend must not have been reached');
  assert.deepEqual(relay.logger.lines, [], 'the relay must not have logged anything');
  assertNoLeak(res, relay);
  await assertAlive(relay);
}

/**
 * A refusal by the relay: the SDK-shaped error, and no sentinel (nor any of `values`) in the status
 * line, the response headers, the body or any log line. Every refusal in test/security goes through here.
 */
export function assertRefusal(
  res: RawResponse,
  relay: Pick<SecRelay, 'logger' | 'startupLines'>,
  status: number,
  reason: string,
  header?: string,
  values: string[] = [],
): void {
  assertGatewayError(res, status, reason, header);
  assertNoLeak(res, relay, values);
}

/** Layer R rejection: exact JSON error, nothing forwarded (on a fresh relay), no value leaked. */
export function assertRejected(relay: SecRelay, res: RawResponse, status: number, reason: string, header?: string, values: string[] = []): void {
  assertRejectedSince(0, relay, res, status, reason, header, values);
}

/**
 * `assertRejected` on a relay that has served requests before (a `sharedRelay`): nothing forwarded
 * since the backend had `forwardedBefore` requests.
 */
export function assertRejectedSince(
  forwardedBefore: number,
  relay: SecRelay,
  res: RawResponse,
  status: number,
  reason: string,
  header?: string,
  values: string[] = [],
): void {
  assertRefusal(res, relay, status, reason, header, values);
  assert.equal(relay.backend.requests.length, forwardedBefore, 'a rejected request must not reach the backend');
}

/* ------------------------------------------------------------------------------------------------ */
/* Wire checks: what a route may put on the wire, checked on the bytes the backend received.        */
/* ------------------------------------------------------------------------------------------------ */

/** What one route may send upstream. */
export interface WirePolicy {
  /** Captured names the route forwards (lower-case). */
  readonly captured: ReadonlySet<string>;
  /** Static and secret-backed names (lower-case) → the value each must carry when the request arrives. */
  readonly statics: ReadonlyMap<string, () => string | undefined>;
  /** Names the route computes (renamed, templated, from the request): present at most once, values clean. */
  readonly dynamic: ReadonlySet<string>;
  /** The `Host` the target implies. */
  readonly host: string;
}

/** The MCP protocol headers docs/security.md lists (spec-names.ts: written out, not imported from lib/). */
const PROTOCOL_NAMES = new Set(SPEC_PROTOCOL_NAMES);
/** Set by the relay, the engine or Node's client; checked for their values below. */
const TRANSPORT_NAMES = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);
const CREDENTIAL_NAMES = new Set(SPEC_CREDENTIAL_NAMES);
/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** As sent after the colon: one SP, then visible ASCII with interior SP/HTAB only (no CR, LF, NUL, obs-text). */
const FIELD_VALUE = /^ [\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/;

const lower = (name: string): string => name.toLowerCase();

/** The policy of a sec-relay gateway built from `options`; secrets are read from `env` when checked. */
function wirePolicy(options: SecRelayOptions, env: Record<string, string>, host: string): WirePolicy {
  const allow = (options.capture ?? true) ? (options.allow ?? DEFAULT_ALLOW).map(lower) : [];
  const passthrough = options.passthrough?.map(lower);
  const route = options.route?.headers ?? {};
  // Names the route sets itself, and captured names it reads into them: never forwarded as captured.
  const dynamic = new Set([route.fromCaptured, route.template, route.fromRequest, route.fromCredential].flatMap((map) => Object.keys(map ?? {})).map(lower));
  const inputs = new Set([
    ...Object.values(route.fromCaptured ?? {}).map(lower),
    ...Object.values(route.template ?? {}).flatMap((t) => [...t.matchAll(/\{captured:([^}]+)\}/g)].map((m) => lower(m[1]!))),
  ]);
  const takes = (name: string): boolean =>
    !dynamic.has(name) && !inputs.has(name) && (passthrough ? passthrough.includes(name) : !!options.allowCredentials || !CREDENTIAL_NAMES.has(name));
  const statics = new Map<string, () => string | undefined>();
  for (const [name, value] of Object.entries(options.plaintext ?? DEFAULT_PLAINTEXT)) statics.set(lower(name), () => value);
  for (const [name, secret] of Object.entries(options.fromSecret ?? DEFAULT_FROM_SECRET)) statics.set(lower(name), () => env[secret]);
  return { captured: new Set(allow.filter(takes)), statics, dynamic, host };
}

function mayForward(name: string, policy: WirePolicy): boolean {
  return (
    PROTOCOL_NAMES.has(name) ||
    name.startsWith('mcp-param-') ||
    TRANSPORT_NAMES.has(name) ||
    policy.captured.has(name) ||
    policy.statics.has(name) ||
    policy.dynamic.has(name)
  );
}

/** The offending bytes of a value, as hex, for a failure message that does not print the value. */
function badBytes(value: string): string {
  const bad = [...value.slice(1)].filter((c) => !/[\x20-\x7e\t]/.test(c)).map((c) => `0x${c.charCodeAt(0).toString(16)}`);
  return bad.length ? `bytes ${bad.join(' ')}` : 'missing separator or leading/trailing whitespace';
}

/** Host, Connection and the body framing: each from the relay's side only, with the values it may have. */
function transportProblems(lines: ReadonlyMap<string, string[]>, host: string, bodyLength: number): string[] {
  const problems: string[] = [];
  const one = (name: string): string | undefined => lines.get(name)?.[0];
  if (!lines.has('host') || one('host') !== host) problems.push(`host must be the target's (${host}), got ${one('host')}`);
  const connection = one('connection');
  if (connection !== undefined && !['keep-alive', 'close'].includes(connection)) problems.push(`connection "${connection}" is not the agent's own`);
  const te = one('transfer-encoding');
  if (te !== undefined && te !== 'chunked') problems.push(`transfer-encoding "${te}"`);
  if (te !== undefined && lines.has('content-length')) problems.push('both transfer-encoding and content-length');
  const length = one('content-length');
  if (length !== undefined && length !== String(bodyLength)) problems.push(`content-length ${length} for a body of ${bodyLength} bytes`);
  return problems;
}

/**
 * Everything wrong with one request as it went over the wire: a request line that is not origin-form
 * HTTP/1.1; a name that is not a token or not one this route forwards; a value with a byte outside
 * visible ASCII/SP/HTAB; any name on more than one line; Host, Connection or framing not the relay's
 * (or a content-length that is not the body's); a static or secret-backed header missing, repeated
 * or with another value.
 */
export function wireProblems(wire: WireRequest, policy: WirePolicy): string[] {
  const problems: string[] = [];
  if (!/^[A-Z]+ \/[\x21-\x7e]* HTTP\/1\.1$/.test(wire.requestLine)) problems.push(`request line ${JSON.stringify(wire.requestLine.slice(0, 120))}`);
  const byName = new Map<string, string[]>();
  for (const [name, value] of wire.lines) {
    const key = lower(name);
    if (!TOKEN.test(name)) problems.push(`name ${JSON.stringify(name.slice(0, 80))} is not a token`);
    else if (!mayForward(key, policy)) problems.push(`${key} is not a name this route forwards`);
    if (!FIELD_VALUE.test(value)) problems.push(`${key}: ${badBytes(value)}`);
    byName.set(key, [...(byName.get(key) ?? []), value.slice(1)]);
  }
  for (const [name, values] of byName) if (values.length > 1) problems.push(`${name} sent on ${values.length} lines`);
  problems.push(...transportProblems(byName, policy.host, wire.body.length));
  for (const [name, expected] of policy.statics) {
    const values = byName.get(name) ?? [];
    if (values.length !== 1 || values[0] !== expected()) problems.push(`${name} must be sent once, with its configured value`);
  }
  return problems;
}

/** `wireProblems` of a recorded request; a request the tap could not split is a problem too. */
export function checkRecorded(recorded: RecordedRequest, policy: WirePolicy): string[] {
  try {
    return wireProblems(recorded.wire, policy);
  } catch (err) {
    return [String(err)];
  }
}

/** Every request this relay's backend received so far was clean on the wire. */
export function assertWireClean(relay: Pick<SecRelay, 'wireProblems'>): void {
  assert.deepEqual(relay.wireProblems, [], 'a request left the relay with wire problems');
}
