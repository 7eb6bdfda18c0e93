/**
 * Issue 9, group I (response side): I1 bad status lines, I2 `101 Switching Protocols` to an ordinary
 * request, I10 deny-by-default response headers. See docs/security.md, "The attack review (group I)" and
 * "Response side".
 *
 * I1 runs the gateway in a child process (test/security/fixtures/i-status-relay.ts): the old lib
 * throws ERR_HTTP_INVALID_STATUS_CODE / ERR_INVALID_CHAR out of a proxy event and the process dies.
 * Backends that must write exact bytes are raw TCP servers; every response is read as raw bytes.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import express from 'express';
import { captureHeaders, envSecrets, mcpProxy, type McpProxyOptions } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { h2Request } from '../helpers/h2-client.js';
import { childGateway, type ChildGateway, type ChildOutcome } from '../helpers/i-responses.js';
import { listen, type Listening } from '../helpers/listen.js';
import { rawBackend, HOLD, OK_JSON } from '../helpers/raw-backend.js';
import { httpText, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { recordingBackend } from '../helpers/recording-backend.js';
import {
  GATEWAY_NAMES,
  SENTINEL,
  SENTINEL_CLIENT_AUTH,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  assertAlive,
  assertNoLeak,
  assertRefusal,
  jsonBody,
  secRelay,
  sharedRelay,
  wireValues,
  type CapturedLogger,
  type SecRelay,
} from '../helpers/sec-relay.js';
import { waitFor } from '../helpers/wait.js';

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

const PING = '{"jsonrpc":"2.0","id":1,"method":"ping"}';

/** Client values no response or log line may ever carry. */
const SENTINEL_LINES = [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`];

/** An ordinary JSON-RPC POST (as an MCP client sends it) carrying the sentinel headers. */
function sentinelPost(path: string, host = 'gw.test'): string {
  return httpText(
    `POST ${path} HTTP/1.1`,
    [`Host: ${host}`, 'Content-Type: application/json', 'Accept: application/json, text/event-stream', ...SENTINEL_LINES, `Content-Length: ${PING.length}`],
    PING,
  );
}

/** An ordinary GET (the MCP standalone event stream) carrying the sentinel headers. */
function sentinelGet(path: string, host = 'gw.test'): string {
  return httpText(`GET ${path} HTTP/1.1`, [`Host: ${host}`, 'Accept: text/event-stream', ...SENTINEL_LINES]);
}

/** `502 backend_bad_response`, or what the response was instead (status and the start of its body). */
function summary(res: RawResponse): string {
  try {
    const reason = jsonBody(res).error.data.reason;
    if (typeof reason === 'string') return `${res.status} ${reason}`;
  } catch {
    // not the relay's JSON error
  }
  return `${res.status} ${JSON.stringify(res.body.slice(0, 60))}`;
}

/** The default list of forwarded response headers (docs/security.md, "Response side"), written out rather than imported from lib/. */
const DEFAULT_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'mcp-session-id',
  'mcp-protocol-version',
  'cache-control',
  'expires',
  'etag',
  'last-modified',
  'vary',
  'retry-after',
  'www-authenticate',
  'location',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];
/** Written by Node itself on every response. */
const NODE_OWN = ['date', 'connection', 'keep-alive', 'transfer-encoding'];

/** Lower-cased names of the response's header lines. */
const names = (res: RawResponse): string[] => res.headerLines.map(([name]) => name.toLowerCase());
/** Every value of the header lines named `name`, in order. */
const values = (res: RawResponse, name: string): string[] => res.headerLines.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

/** The warn lines with `reason: 'secret_echo'` that name `header`. */
function secretEchoLines(logger: CapturedLogger, header: string): unknown[] {
  const named = new RegExp(`(^|[^a-z0-9-])${header}([^a-z0-9-]|$)`, 'i');
  return logger.lines
    .filter((l) => l.level === 'warn' && (l.fields as { reason?: unknown } | undefined)?.reason === 'secret_echo')
    .filter((l) => named.test(`${l.message} ${JSON.stringify(l.fields)}`))
    .map((l) => l.fields);
}

/** mcpProxy's options plus the new `responseHeaders` (not in the old lib's types; the old lib refuses it at construction). */
type ProxyOptionsWithResponseHeaders = McpProxyOptions & { responseHeaders?: string[] };
const proxyWith = (options: ProxyOptionsWithResponseHeaders) => mcpProxy(options);

// ---------------------------------------------------------------------------------------------
// I1 fixtures: the status lines a backend may write, byte for byte
// ---------------------------------------------------------------------------------------------

interface StatusCase {
  label: string;
  response: string;
  /** An event stream: written without closing, as a live stream would be. */
  stream?: boolean;
}

const JSON_TAIL = 'Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
/**
 * Ordered so that the old lib shows as much as it can before it dies: 600 and 999 are forwarded as
 * they are, the first 0xx status kills the process.
 */
const STATUS_CASES: StatusCase[] = [
  { label: '600', response: `HTTP/1.1 600 Beyond\r\n${JSON_TAIL}` },
  { label: '999', response: `HTTP/1.1 999 Way Beyond\r\n${JSON_TAIL}` },
  { label: '000', response: `HTTP/1.1 000 Zero\r\n${JSON_TAIL}` },
  { label: '001 (empty body)', response: 'HTTP/1.1 001 Early\r\nContent-Length: 0\r\n\r\n' },
  {
    label: '042 (event stream)',
    response:
      'HTTP/1.1 042 Stream\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\nevent: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n',
    stream: true,
  },
  { label: '050', response: `HTTP/1.1 050 Fifty\r\n${JSON_TAIL}` },
  { label: '099', response: `HTTP/1.1 099 Almost\r\n${JSON_TAIL}` },
  { label: 'NUL in the reason phrase', response: `HTTP/1.1 200 O\x00K\r\n${JSON_TAIL}` },
  { label: '\\x01 in the reason phrase', response: `HTTP/1.1 200 O\x01K\r\n${JSON_TAIL}` },
  { label: 'ESC in the reason phrase', response: `HTTP/1.1 200 O\x1b[2JK\r\n${JSON_TAIL}` },
  { label: 'DEL in the reason phrase', response: `HTTP/1.1 200 O\x7fK\r\n${JSON_TAIL}` },
];

const BAD_RESPONSE = '502 backend_bad_response';

// ---------------------------------------------------------------------------------------------

describe('I: response-side hardening (issue 9: I1, I2, I10)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it(
    'I1: a backend status outside 200-599 or a reason phrase with NUL/C0/DEL gets 502 backend_bad_response, and the gateway process keeps serving',
    { timeout: 40_000 },
    async () => {
      // The raw backend answers /mcp/c<i> with STATUS_CASES[i] and /mcp/ok with an ordinary 200.
      const backend = await rawBackend((request, socket) => {
        const path = request.requestLine.split(' ')[1] ?? '';
        if (path === '/mcp/ok') return OK_JSON;
        const c = STATUS_CASES[Number(/^\/mcp\/c(\d+)$/.exec(path)?.[1] ?? -1)];
        if (!c) return 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
        if (c.stream) socket.write(Buffer.from(c.response, 'latin1'));
        else socket.end(Buffer.from(c.response, 'latin1'));
        return HOLD;
      });
      cleanups.push(() => backend.close());
      const child: ChildGateway = await childGateway('test/security/fixtures/i-status-relay.ts', {
        I1_BACKEND_PORT: String(backend.port),
        I1_SECRET: SENTINEL_SECRET,
      });
      cleanups.push(() => child.stop());
      const relayView = { logger: child.logger, startupLines: [] };

      const describeOutcome = (o: ChildOutcome): string => {
        if (o.kind === 'response') return summary(o.res);
        if (o.kind === 'exited') return `the gateway process exited (${o.exit.code ?? o.exit.signal}): ${child.crash()}`;
        return `no answer: ${o.message.slice(0, 160)}`;
      };

      // One child for every case: in the fixed lib it must survive them all; in the old lib the
      // first crash ends the run, and the cases after it are reported as not sent.
      const outcomes: Record<string, string> = {};
      const responses: [StatusCase, RawResponse][] = [];
      for (const [i, c] of STATUS_CASES.entries()) {
        if (child.exit()) {
          outcomes[c.label] = 'not sent: the gateway process is gone';
          continue;
        }
        const outcome = await child.request(sentinelPost(`/i1/c${i}`), 3000);
        outcomes[c.label] = describeOutcome(outcome);
        if (outcome.kind === 'response') responses.push([c, outcome.res]);
      }
      assert.deepEqual(
        outcomes,
        Object.fromEntries(STATUS_CASES.map((c) => [c.label, BAD_RESPONSE])),
        'each bad status line must be answered 502 backend_bad_response',
      );
      assert.equal(backend.requests.length, STATUS_CASES.length, 'positive control: every case reached the backend');
      assert.deepEqual(
        backend.values(backend.requests[0]!, 'x-backend-auth').map((v) => v.trim()),
        [SENTINEL_SECRET],
        'positive control: the secret went upstream',
      );

      for (const [c, res] of responses) {
        assertRefusal(res, relayView, 502, 'backend_bad_response');
        const statusLine = c.response.slice(0, c.response.indexOf('\r\n'));
        const reasonPhrase = statusLine.split(' ').slice(2).join(' ');
        assert.ok(!res.raw.includes(reasonPhrase), `${c.label}: the backend's reason phrase reached the client`);
      }

      // Still alive and serving: an ordinary request through the same route and process.
      const alive = await child.request(sentinelPost('/i1/ok'), 3000);
      assert.equal(describeOutcome(alive), '200 "{\\"ok\\":true}"', 'the gateway no longer serves an ordinary request');
      assert.equal(child.exit(), undefined, 'the gateway process exited');

      // Each refusal was logged (the log lines travel on the child's stdout, apart from the responses).
      const logged = (): number => child.logger.lines.filter((l) => (l.fields as { reason?: unknown }).reason === 'backend_bad_response').length;
      await waitFor(() => logged() >= STATUS_CASES.length, `${STATUS_CASES.length} backend_bad_response log lines (got ${logged()})`, 2000);
      assertNoLeak(undefined, relayView);
      const { stdout, stderr } = child.output();
      assert.ok(!`${stdout}\n${stderr}`.includes(SENTINEL), 'a sentinel appears in the gateway process output');
      assert.doesNotMatch(stderr, /ERR_\w+|\bError\b/, 'the gateway process reported an error on stderr');
    },
  );

  it('I1 (HTTP/2 front end): statuses 600 and 999, which node:http2 cannot write (ERR_HTTP2_STATUS_INVALID), get 502 backend_bad_response', async () => {
    const statuses = [600, 999];
    let next = 0;
    const backend = await rawBackend(
      () => `HTTP/1.1 ${statuses[next++ % statuses.length]} Odd\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
    );
    cleanups.push(() => backend.close());
    const logger = captureLogger();
    const relay = mcpProxy({
      target: `${backend.url}/mcp`,
      headers: { fromSecret: { 'X-Backend-Auth': 'I1_SECRET' } },
      secrets: envSecrets({ I1_SECRET: SENTINEL_SECRET }),
      logger,
      allowedHosts: ['gw.test'],
    });
    // Express cannot run on node:http2: the relay is the h2c server's handler, as in A11.
    const server = http2.createServer((req, res) => relay(req as never, res as never, () => res.end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    cleanups.push(() => new Promise<void>((resolve) => client.close(resolve)));
    const get = (): Promise<{ status: number; body: string }> =>
      h2Request(client, { ':method': 'GET', ':path': '/', ':authority': 'gw.test', 'x-mcp-api-key': SENTINEL_KEY });
    for (const status of statuses) {
      const res = await get();
      assert.equal(res.status, 502, `backend status ${status}: ${res.body}`);
      assert.equal((JSON.parse(res.body) as { error: { data: { reason: string } } }).error.data.reason, 'backend_bad_response');
      assert.ok(!res.body.includes(SENTINEL));
    }
    assert.equal(backend.requests.length, statuses.length, 'positive control: each request reached the backend');
    assert.ok(!logger.text().includes(SENTINEL));
    assert.equal(logger.lines.filter((l) => (l.fields as { reason?: string }).reason === 'backend_bad_response').length, statuses.length);
  });

  it('I2: 101 Switching Protocols answered to an ordinary POST and GET gets 502 backend_bad_response within 1500 ms (connectTimeout 2000, responseTimeout 3000)', async () => {
    const SWITCHING = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n';
    // Written, then the connection is left open: the backend now "speaks foo".
    const upgrading = await rawBackend(() => SWITCHING);
    cleanups.push(() => upgrading.close());
    const healthy = await recordingBackend();
    cleanups.push(() => healthy.close());
    const logger = captureLogger();
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use(
      '/i2',
      mcpProxy({
        ...GATEWAY_NAMES,
        target: `${upgrading.url}/mcp`,
        connectTimeout: 2000,
        responseTimeout: 3000,
        headers: { fromSecret: { 'X-Backend-Auth': 'I2_SECRET' } },
        secrets: envSecrets({ I2_SECRET: SENTINEL_SECRET }),
        logger,
      }),
    );
    app.use('/ok', mcpProxy({ ...GATEWAY_NAMES, target: `${healthy.url}/mcp`, logger }));
    const gateway = await listen(app);
    cleanups.push(() => gateway.close());
    const startupLines = logger.lines.splice(0);

    const timed = async (request: string): Promise<{ res?: RawResponse; error?: string; ms: number }> => {
      const start = performance.now();
      try {
        const res = await rawRequest(gateway.port, request, 1500);
        return { res, ms: performance.now() - start };
      } catch (err) {
        return { error: err instanceof Error ? err.message : String(err), ms: performance.now() - start };
      }
    };
    // Both at once: the old lib leaves both hanging, and the report shows both.
    const [post, get] = await Promise.all([timed(sentinelPost('/i2', 'gateway.test')), timed(sentinelGet('/i2', 'gateway.test'))]);
    const describeTimed = (t: { res?: RawResponse; error?: string }): string => (t.res ? summary(t.res) : `no answer: ${t.error}`);
    assert.deepEqual({ POST: describeTimed(post), GET: describeTimed(get) }, { POST: BAD_RESPONSE, GET: BAD_RESPONSE });
    assert.equal(upgrading.requests.length, 2, 'positive control: the backend received both requests and answered 101');
    for (const t of [post, get]) {
      assertRefusal(t.res!, { logger, startupLines }, 502, 'backend_bad_response');
      assert.ok(t.ms < 1500, `answered after ${Math.round(t.ms)} ms`);
      assert.doesNotMatch(t.res!.raw, /^HTTP\/1\.1 101|upgrade: foo|Switching/im, 'the 101 (or its Upgrade) reached the client');
    }

    const ok = await rawRequest(gateway.port, httpText('GET /ok HTTP/1.1', ['Host: gateway.test', 'Connection: close']), 3000);
    assert.equal(ok.status, 200, `the gateway no longer serves: ${ok.raw.slice(0, 200)}`);
    assert.equal(healthy.requests.length, 1);
  });

  describe('I10: backend response headers are deny-by-default, on one gateway', () => {
    const ALLOWED: [string, string][] = [
      ['Content-Type', 'application/json'],
      ['Content-Language', 'en'],
      ['Mcp-Session-Id', 'i10-session-1'],
      ['Mcp-Protocol-Version', '2025-11-25'],
      ['Cache-Control', 'no-cache'],
      ['Expires', 'Thu, 01 Jan 1970 00:00:00 GMT'],
      ['ETag', '"i10-v1"'],
      ['Last-Modified', 'Wed, 21 Oct 2015 07:28:00 GMT'],
      ['Vary', 'Accept'],
      ['Retry-After', '7'],
      ['WWW-Authenticate', 'Bearer realm="mcp", resource_metadata="https://gw.example/.well-known/oauth-protected-resource"'],
      ['Location', '/b/next'],
      ['RateLimit', '"default";r=41;t=30'],
      ['RateLimit-Policy', '"default";q=100;w=60'],
      ['RateLimit-Limit', '100'],
      ['RateLimit-Remaining', '41'],
      ['RateLimit-Reset', '30'],
      ['X-RateLimit-Limit', '100'],
      ['X-RateLimit-Remaining', '41'],
      ['X-RateLimit-Reset', '30'],
    ];
    const DENIED: [string, string | string[]][] = [
      ['Set-Cookie', ['i10sid=i10-cookie-one; Path=/; HttpOnly', 'i10pref=i10-cookie-two; Path=/']],
      ['Strict-Transport-Security', 'max-age=0'],
      ['Clear-Site-Data', '"cookies", "storage", "i10-clear"'],
      ['Access-Control-Allow-Origin', '*'],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Access-Control-Expose-Headers', 'i10-expose'],
      ['Server', 'i10-backend-httpd/9.9'],
      ['X-Powered-By', 'i10-backend-php/8.3'],
      ['X-Custom', 'i10-custom-value'],
      ['Refresh', '0; url=https://i10-evil.example/'],
      ['Alt-Svc', 'h2="i10-alt.example:443"'],
    ];
    const respond = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      for (const [name, value] of [...ALLOWED, ...DENIED]) res.setHeader(name, value);
      if (req.url?.endsWith('/sse')) {
        res.setHeader('Content-Type', 'text/event-stream');
        res.end('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
      } else res.end('{"ok":true}');
    };
    const relay = sharedRelay({ respond });
    const answers: [label: string, request: (r: SecRelay) => Promise<RawResponse>, extra: string[]][] = [
      ['JSON', (r) => r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, 'Connection: close']), []],
      [
        'event-stream',
        (r) => r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, 'Accept: text/event-stream', 'Connection: close'], { path: '/b/sse' }),
        ['x-accel-buffering'],
      ],
    ];
    for (const [label, request, extra] of answers) {
      it(`I10: only the default list (plus Node's own) of backend response headers reaches the client, on a ${label} answer`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await request(r);
        assert.equal(r.backend.requests.length, forwarded + 1);
        assert.equal(res.status, 200, res.raw.slice(0, 200));
        // Express's own `X-Powered-By: Express`, set by the host app before mcpProxy, is the app's, not the backend's.
        const foreign = names(res).filter(
          (n) =>
            !DEFAULT_RESPONSE_HEADERS.includes(n) &&
            !NODE_OWN.includes(n) &&
            !extra.includes(n) &&
            !(n === 'x-powered-by' && values(res, n).join() === 'Express'),
        );
        assert.deepEqual(foreign, [], 'response headers outside the default list reached the client');
        const denied = DENIED.filter(([name]) =>
          values(res, name.toLowerCase()).some((v) => v.includes('i10') || v === '*' || v === 'true' || v === 'max-age=0'),
        );
        assert.deepEqual(
          denied.map(([name]) => name),
          [],
          "the backend's denied headers reached the client",
        );
        assert.doesNotMatch(res.raw, /i10-cookie|i10-clear|i10-expose|i10-backend|i10-custom|i10-evil|i10-alt/, "a denied header's value reached the client");
        // Positive control: the default list passes, values intact (an event stream sets its own Content-Type and Cache-Control).
        const expected = ALLOWED.filter(([name]) => label === 'JSON' || !['content-type', 'cache-control'].includes(name.toLowerCase()));
        const lost = expected.filter(([name, value]) => !isDeepStrictEqual(values(res, name.toLowerCase()), [value]));
        assert.deepEqual(
          lost.map(([name]) => name),
          [],
          'headers from the default list must reach the client with their values',
        );
        if (label === 'event-stream') {
          assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
          assert.match(res.body, /"result"/);
        }
        assertNoLeak(res, r);
        await assertAlive(r);
      });
    }
  });

  it("I10 (responseHeaders): the route option `responseHeaders: ['x-custom']` adds that one name for that route only", async () => {
    const backend = await recordingBackend((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Custom', 'i10-custom-value');
      res.setHeader('X-Other-Custom', 'i10-other-value');
      res.setHeader('Set-Cookie', 'i10sid=i10-cookie; Path=/');
      res.setHeader('Server', 'i10-backend-httpd/9.9');
      res.end('{"ok":true}');
    });
    cleanups.push(() => backend.close());
    const logger = captureLogger();
    const app = express();
    app.disable('x-powered-by');
    app.use('/plain', proxyWith({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger }));
    app.use('/extra', proxyWith({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, responseHeaders: ['x-custom'], logger }));
    const gateway: Listening = await listen(app);
    cleanups.push(() => gateway.close());

    const get = (path: string): Promise<RawResponse> =>
      rawRequest(gateway.port, httpText(`GET ${path} HTTP/1.1`, ['Host: gateway.test', 'Connection: close']), 3000);
    const extra = await get('/extra');
    const plain = await get('/plain');
    assert.equal(extra.status, 200);
    assert.equal(plain.status, 200);
    assert.deepEqual(values(extra, 'x-custom'), ['i10-custom-value'], 'the listed name must reach the client on its route');
    assert.deepEqual(values(plain, 'x-custom'), [], 'x-custom reached the client on a route that does not list it');
    for (const res of [extra, plain]) {
      assert.deepEqual(values(res, 'x-other-custom'), [], 'an unlisted custom header reached the client');
      assert.deepEqual(values(res, 'set-cookie'), [], 'Set-Cookie reached the client');
      assert.deepEqual(values(res, 'server'), [], 'Server reached the client');
      assert.deepEqual(values(res, 'content-type'), ['application/json']);
      assert.equal(res.body, '{"ok":true}');
    }
    assert.equal(backend.requests.length, 2);
  });

  it("I10 (host app): Access-Control-Allow-Origin and Cache-Control set by a middleware before mcpProxy keep the app's values", async () => {
    const backend = await recordingBackend((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Cache-Control', 'public, max-age=600');
      res.setHeader('X-App-Trace', 'i10-from-backend');
      res.setHeader('Vary', 'Accept');
      res.end('{"ok":true}');
    });
    cleanups.push(() => backend.close());
    const logger = captureLogger();
    const app = express();
    app.disable('x-powered-by');
    // The host app's CORS and caching policy, as a cors()-style middleware would set it.
    app.use((_req, res, next) => {
      res.setHeader('Access-Control-Allow-Origin', 'https://app.example');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-App-Trace', 'app-trace-1');
      next();
    });
    app.use('/i10', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger }));
    const gateway = await listen(app);
    cleanups.push(() => gateway.close());

    const res = await rawRequest(gateway.port, httpText('GET /i10 HTTP/1.1', ['Host: gateway.test', 'Origin: http://web.example', 'Connection: close']), 3000);
    assert.equal(res.status, 200, res.raw.slice(0, 200));
    assert.equal(backend.requests.length, 1);
    assert.deepEqual(values(res, 'access-control-allow-origin'), ['https://app.example'], "the backend's Access-Control-Allow-Origin replaced the app's");
    assert.deepEqual(values(res, 'cache-control'), ['no-store'], "the backend's Cache-Control replaced the app's");
    assert.deepEqual(values(res, 'x-app-trace'), ['app-trace-1'], "the backend's X-App-Trace replaced the app's");
    assert.deepEqual(values(res, 'vary'), ['Accept'], 'positive control: a default-list header the app did not set still passes');
    assert.equal(res.body, '{"ok":true}');
  });

  it("I10 (secret echo): a WWW-Authenticate containing the route's secret value is dropped, with a warn line naming the header and not the value", async () => {
    const relay = await secRelay({
      respond: (req, res) => {
        res.setHeader('Content-Type', 'application/json');
        if (req.url?.endsWith('/echo')) {
          // A backend that rejects the injected key and quotes it back inside a longer value.
          const key = String(req.headers['x-backend-auth']);
          res.statusCode = 401;
          res.setHeader('WWW-Authenticate', `Bearer realm="mcp", error="invalid_token", error_description="key ${key} was rejected"`);
          res.setHeader('Mcp-Session-Id', 'i10-echo-session');
          res.end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized"},"id":null}');
          return;
        }
        res.end('{"ok":true}');
      },
    });
    cleanups.push(() => relay.close());

    const res = await relay.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, 'Connection: close'], { path: '/b/echo' });
    assert.deepEqual(wireValues(relay.backend.last(), 'x-backend-auth'), [SENTINEL_SECRET], 'precondition: the backend received the secret');
    assert.equal(res.status, 401, res.raw.slice(0, 200));
    assert.deepEqual(values(res, 'www-authenticate'), [], 'the WWW-Authenticate echoing the secret reached the client');
    assert.ok(!res.raw.includes(SENTINEL_SECRET), 'the secret value reached the client');
    assert.deepEqual(values(res, 'mcp-session-id'), ['i10-echo-session'], 'positive control: the other headers of that response pass');
    assert.equal(
      secretEchoLines(relay.logger, 'www-authenticate').length,
      1,
      `no single warn line with reason secret_echo naming www-authenticate; log: ${relay.logger.text()}`,
    );
    assertNoLeak(res, relay);
    await assertAlive(relay);
  });

  it('I10 (secret echo, responseHeaders): X-Api-Key-Received echoing the secret is dropped although the route lists it, with a warn line naming it', async () => {
    const backend = await recordingBackend((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Api-Key-Received', String(req.headers['x-api-key']));
      res.setHeader('X-Request-Cost', '3');
      res.end('{"ok":true}');
    });
    cleanups.push(() => backend.close());
    const logger = captureLogger();
    const app = express();
    app.disable('x-powered-by');
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use(
      '/i10',
      proxyWith({
        ...GATEWAY_NAMES,
        target: `${backend.url}/mcp`,
        headers: { fromSecret: { 'X-Api-Key': 'I10_KEY' } },
        secrets: envSecrets({ I10_KEY: SENTINEL_SECRET }),
        responseHeaders: ['x-api-key-received', 'x-request-cost'],
        logger,
      }),
    );
    const gateway = await listen(app);
    cleanups.push(() => gateway.close());
    const startupLines = logger.lines.splice(0);

    const res = await rawRequest(
      gateway.port,
      httpText('GET /i10 HTTP/1.1', ['Host: gateway.test', `X-Mcp-Api-Key: ${SENTINEL_KEY}`, 'Connection: close']),
      3000,
    );
    assert.deepEqual(wireValues(backend.last(), 'x-api-key'), [SENTINEL_SECRET], 'precondition: the backend received the secret');
    assert.equal(res.status, 200, res.raw.slice(0, 200));
    assert.deepEqual(values(res, 'x-api-key-received'), [], 'the listed header echoing the secret reached the client');
    assert.deepEqual(values(res, 'x-request-cost'), ['3'], 'positive control: the other listed header passes');
    assert.equal(
      secretEchoLines(logger, 'x-api-key-received').length,
      1,
      `no single warn line with reason secret_echo naming x-api-key-received; log: ${logger.text()}`,
    );
    assertNoLeak(res, { logger, startupLines });
  });
});
