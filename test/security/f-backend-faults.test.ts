/**
 * Catalogue group F (security.md §5): backend faults. Every case drives a real Express gateway with
 * mcpProxy in front of a real node:http or raw TCP backend that misbehaves on purpose, and checks
 * what the client receives, what the backend sees, and that the gateway process keeps serving.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { envSecrets, mcpProxy, type SecretProvider } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { HOLD, rawBackend } from '../helpers/raw-backend.js';
import { httpText, rawExchange, rawRequest } from '../helpers/raw-http.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { GATEWAY_NAMES, SENTINEL, SENTINEL_CLIENT_AUTH, SENTINEL_KEY, SENTINEL_SECRET, assertRefusal, jsonBody, wireValues } from '../helpers/sec-relay.js';
import { sleep, waitFor } from '../helpers/wait.js';

// ---------------------------------------------------------------------------------------------
// Helpers local to this file
// ---------------------------------------------------------------------------------------------

/** Every fault route carries a secret-backed header, so a refusal could leak a configured value too. */
const WITH_SECRET = { headers: { fromSecret: { 'X-Backend-Auth': 'F_SECRET' } }, secrets: envSecrets({ F_SECRET: SENTINEL_SECRET }) };

/** Client values on every refused request; none may come back in a response or a log line. */
const SENTINEL_LINES = [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`, `Cookie: sid=${SENTINEL}-cookie`];

/** A JSON-RPC POST carrying the sentinel headers, over a raw socket so every response byte is seen. */
function sentinelPost(path: string): string {
  const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
  return httpText(`POST ${path} HTTP/1.1`, ['Host: gateway.test', 'Content-Type: application/json', `Content-Length: ${body.length}`, ...SENTINEL_LINES], body);
}

const SSE_REQUEST = (path: string): string => httpText(`GET ${path} HTTP/1.1`, ['Host: gateway.test', 'Accept: text/event-stream']);

/** The last chunk of a chunked body: a clean end of stream, which a broken stream must not have. */
const TERMINATING_CHUNK = '\r\n0\r\n\r\n';

// ---------------------------------------------------------------------------------------------

describe('F: backend faults (catalogue group F)', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => {
    uncaught.push(err);
  };
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => {
    unhandled.push(err);
  };
  const logger = captureLogger();
  const app = express();
  let gateway: Listening;
  let healthy: RecordingBackend;
  const cleanups: (() => Promise<void>)[] = [];

  /** F11: after every fault, an ordinary request through the same gateway still succeeds. */
  async function assertGatewayStillServes(): Promise<void> {
    const before = healthy.requests.length;
    const res = await fetch(`${gateway.url}/ok`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    assert.equal(healthy.requests.length, before + 1);
  }

  before(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUnhandled);
    healthy = await recordingBackend();
    app.use('/ok', mcpProxy({ ...GATEWAY_NAMES, target: `${healthy.url}/mcp`, logger }));
    gateway = await listen(app);
  });

  after(async () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
    await gateway.close();
    await healthy.close();
    for (const c of cleanups) await c();
  });

  it('F1: a backend that refuses the connection gives 502 JSON -32000 naming neither host, port nor URL', async () => {
    const dead = await listen((_req, res) => res.end());
    const deadPort = dead.port;
    await dead.close(); // the port is now closed: connecting to it is refused
    app.use('/f1', mcpProxy({ ...GATEWAY_NAMES, target: `http://127.0.0.1:${deadPort}/secret-backend-path`, logger, ...WITH_SECRET }));

    const res = await rawRequest(gateway.port, sentinelPost('/f1'));
    assertRefusal(res, { logger, startupLines: [] }, 502, 'backend_unreachable');
    assert.doesNotMatch(res.body, /127\.0\.0\.1/);
    assert.doesNotMatch(res.raw, /secret-backend-path/);
    assert.ok(!res.body.includes(`:${deadPort}`), 'the body names the target port');
    // The port number must not appear in the human-facing parts (the -32000 code is compared apart).
    const { error } = jsonBody(res);
    assert.ok(!JSON.stringify([error.message, error.data]).includes(String(deadPort)), 'message names the port');
    assert.doesNotMatch(res.raw, /ECONNREFUSED/);
    await assertGatewayStillServes();
  });

  for (const how of ['destroy', 'resetAndDestroy'] as const) {
    it(`F2: a backend that ${how === 'destroy' ? 'closes (FIN)' : 'resets (RST)'} the socket before responding gives 502`, async () => {
      let seen = 0;
      const backend = await listen((req) => {
        seen++;
        req.socket[how]();
      });
      cleanups.push(() => backend.close());
      app.use(`/f2-${how}`, mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, ...WITH_SECRET }));

      const res = await rawRequest(gateway.port, sentinelPost(`/f2-${how}`));
      assertRefusal(res, { logger, startupLines: [] }, 502, 'backend_unreachable');
      assert.ok(seen >= 1, 'the backend received the request before dropping it');
      assert.doesNotMatch(res.raw, /127\.0\.0\.1|ECONNRESET|socket hang up/);
      await assertGatewayStillServes();
    });
  }

  it('F3: a target whose host does not resolve (.invalid never resolves) gives 502', async () => {
    app.use('/f3', mcpProxy({ ...GATEWAY_NAMES, target: 'http://does-not-exist.invalid/mcp', logger, connectTimeout: 10_000, ...WITH_SECRET }));
    const res = await rawRequest(gateway.port, sentinelPost('/f3'), 12_000);
    assertRefusal(res, { logger, startupLines: [] }, 502, 'backend_unreachable');
    assert.doesNotMatch(res.raw, /does-not-exist|\.invalid|ENOTFOUND|EAI_AGAIN/);
    await assertGatewayStillServes();
  });

  it('F4: a backend that accepts and never answers gives 504 after `responseTimeout`, and the upstream request is aborted', async () => {
    let received = 0;
    let backendClosedAt: number | undefined;
    const backend = await listen((req) => {
      received++;
      req.socket.once('close', () => {
        backendClosedAt = Date.now();
      });
      // never answers
    });
    cleanups.push(() => backend.close());
    app.use('/f4', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, responseTimeout: 300, ...WITH_SECRET }));

    const start = Date.now();
    const res = await rawRequest(gateway.port, sentinelPost('/f4'));
    const elapsed = Date.now() - start;
    assertRefusal(res, { logger, startupLines: [] }, 504, 'backend_timeout');
    assert.equal(received, 1);
    assert.ok(elapsed >= 290, `504 came after ${elapsed} ms, before the 300 ms timeout`);
    assert.ok(elapsed < 3000, `504 came after ${elapsed} ms`);
    assert.doesNotMatch(res.raw, /127\.0\.0\.1/);
    await waitFor(() => backendClosedAt !== undefined, 'the backend to see its request close', 1000);
    await assertGatewayStillServes();
  });

  it('F5: the relay sets no incoming-socket timeout: a 500 ms answer with responseTimeout 2000 arrives whole', async () => {
    const payload = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'z'.repeat(64 * 1024) } });
    // The client socket's timeout, sampled while the relayed request is in flight (after the relay ran).
    let clientSocket: net.Socket | undefined;
    const socketTimeouts: (number | undefined)[] = [];
    const backend = await listen((_req, res) => {
      socketTimeouts.push(clientSocket?.timeout);
      setTimeout(() => {
        socketTimeouts.push(clientSocket?.timeout);
        res.setHeader('content-type', 'application/json');
        res.end(payload);
      }, 500);
    });
    cleanups.push(() => backend.close());
    app.use(
      '/f5',
      (req, _res, next) => {
        clientSocket = req.socket;
        next();
      },
      mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, responseTimeout: 2000 }),
    );

    const start = Date.now();
    const res = await fetch(`${gateway.url}/f5`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), payload);
    assert.ok(Date.now() - start >= 490);
    assert.ok(clientSocket, 'the gateway saw the request');
    assert.equal(socketTimeouts.length, 2);
    for (const t of socketTimeouts) assert.ok(!t, `the client socket had a timeout of ${t} ms while the request was relayed`);
    await assertGatewayStillServes();
  });

  it('F5: `responseTimeout` bounds only the time to response headers: a body finishing 600 ms after headers with responseTimeout 300 is not cut', async () => {
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one;');
      setTimeout(() => res.end('part two'), 600);
    });
    cleanups.push(() => backend.close());
    app.use('/f5b', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, responseTimeout: 300 }));

    const res = await fetch(`${gateway.url}/f5b`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'part one;part two');
    await assertGatewayStillServes();
  });

  it('F6: a quiet SSE stream (800 ms between events) outlives responseTimeout 300: both events arrive', async () => {
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      const t = setTimeout(() => {
        res.write('data: two\n\n');
        res.end();
      }, 800);
      res.on('close', () => clearTimeout(t));
    });
    cleanups.push(() => backend.close());
    app.use('/f6', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, responseTimeout: 300 }));

    const start = Date.now();
    const res = await fetch(`${gateway.url}/f6`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.ok(res.body);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    assert.equal(text, 'data: one\n\ndata: two\n\n');
    assert.ok(Date.now() - start >= 790, 'the stream was quiet for longer than the timeout');
    await assertGatewayStillServes();
  });

  it('F7: a backend reset mid-SSE ends the client stream promptly (< 2 s) with no clean terminating chunk', async () => {
    let upstream: net.Socket | undefined;
    const backend = await listen((req, res) => {
      upstream = req.socket;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
    });
    cleanups.push(() => backend.close());
    app.use('/f7', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, responseTimeout: 2000 }));

    let resetAt: number | undefined;
    const exchange = await rawExchange(gateway.port, SSE_REQUEST('/f7'), 5000, (raw) => {
      if (resetAt === undefined && raw.includes('data: one') && upstream) {
        resetAt = Date.now();
        upstream.resetAndDestroy();
      }
    });
    assert.ok(resetAt !== undefined, `the first event never reached the client; got ${JSON.stringify(exchange.raw.slice(0, 300))}`);
    assert.match(exchange.raw, /^HTTP\/1\.1 200 /);
    assert.ok(exchange.closedAt !== undefined, 'the client connection was still open 5 s after the backend reset');
    const delay = exchange.closedAt - resetAt;
    assert.ok(delay < 2000, `the client connection closed ${delay} ms after the reset`);
    assert.ok(!exchange.raw.includes(TERMINATING_CHUNK), 'the broken stream ended with a clean terminating chunk');
    assert.doesNotMatch(exchange.raw, /jsonrpc|-32000|Bad gateway|backend_/i);
    await assertGatewayStillServes();
  });

  it('F8: a backend 500 with a body passes through (status and body) with hop-by-hop response headers stripped', async () => {
    const body = '{"jsonrpc":"2.0","error":{"code":-32603,"message":"backend exploded"},"id":7}';
    const backend = await rawBackend((_request, socket) => {
      socket.end(
        [
          'HTTP/1.1 500 Internal Server Error',
          'Content-Type: application/json',
          `Content-Length: ${Buffer.byteLength(body)}`,
          'Connection: keep-alive, X-Hop-Nominated',
          'X-Hop-Nominated: must-not-pass',
          'Keep-Alive: timeout=99, max=7',
          'Proxy-Authenticate: Basic realm="backend"',
          'Proxy-Connection: keep-alive',
          'Upgrade: h2c',
          'TE: trailers',
          'Trailer: X-Trailing',
          'X-Backend-Kept: yes',
          '',
          body,
        ].join('\r\n'),
      );
      return HOLD;
    });
    cleanups.push(() => backend.close());
    app.use('/f8', mcpProxy({ ...GATEWAY_NAMES, target: `http://127.0.0.1:${backend.port}/mcp`, responseHeaders: ['x-backend-kept'], logger }));

    const res = await rawRequest(gateway.port, httpText('GET /f8 HTTP/1.1', ['Host: gateway.test', 'Connection: close']));
    assert.equal(res.status, 500);
    assert.equal(res.body, body);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-backend-kept'], 'yes', 'positive control: an end-to-end header passes');
    const names = res.headerLines.map(([name]) => name.toLowerCase());
    for (const stripped of ['x-hop-nominated', 'proxy-authenticate', 'proxy-connection', 'upgrade', 'te', 'trailer']) {
      assert.ok(!names.includes(stripped), `response header ${stripped} reached the client`);
    }
    assert.doesNotMatch(res.headers.connection ?? '', /x-hop-nominated/i);
    assert.doesNotMatch(res.headers['keep-alive'] ?? '', /99|max=7/, 'the backend Keep-Alive parameters reached the client');
    assert.doesNotMatch(res.raw, /must-not-pass/);
    await assertGatewayStillServes();
  });

  const malformed: [string, string][] = [
    ['not an HTTP status line', 'SSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n'],
    ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nContent-Type application/json\r\nContent-Length: 2\r\n\r\n{}'],
    ['a control character in a header name', 'HTTP/1.1 200 OK\r\nX-Bad\u0001Name: 1\r\nContent-Length: 2\r\n\r\n{}'],
  ];
  for (const [label, response] of malformed) {
    it(`F9: a malformed backend response (${label}) gives 502 backend_bad_response`, async () => {
      const backend = await rawBackend((_request, socket) => {
        socket.end(Buffer.from(response, 'latin1'));
        return HOLD;
      });
      cleanups.push(() => backend.close());
      const path = `/f9-${label.replace(/\W+/g, '-')}`;
      app.use(path, mcpProxy({ ...GATEWAY_NAMES, target: `http://127.0.0.1:${backend.port}/mcp`, logger, ...WITH_SECRET }));

      const res = await rawRequest(gateway.port, sentinelPost(path));
      assertRefusal(res, { logger, startupLines: [] }, 502, 'backend_bad_response');
      assert.doesNotMatch(res.raw, /HPE_|OpenSSH|127\.0\.0\.1/);
      await assertGatewayStillServes();
    });
  }

  it('F10: an error after a chunked response started destroys the client connection and appends no JSON error text', async () => {
    let upstream: net.Socket | undefined;
    const backend = await listen((req, res) => {
      upstream = req.socket;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"jsonrpc":"2.0","id":1,"result":{"par');
    });
    cleanups.push(() => backend.close());
    app.use('/f10', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, responseTimeout: 2000 }));

    let failedAt: number | undefined;
    const exchange = await rawExchange(gateway.port, httpText('GET /f10 HTTP/1.1', ['Host: gateway.test']), 5000, (raw) => {
      if (failedAt === undefined && raw.includes('"par') && upstream) {
        failedAt = Date.now();
        upstream.destroy();
      }
    });
    assert.ok(failedAt !== undefined, `the partial body never reached the client; got ${JSON.stringify(exchange.raw.slice(0, 300))}`);
    assert.ok(exchange.closedAt !== undefined, 'the client connection stayed open after the backend failed mid-body');
    assert.ok(exchange.closedAt - failedAt < 2000, `closed ${exchange.closedAt - failedAt} ms after the failure`);
    assert.equal(exchange.raw.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, 'a second status line was written');
    assert.ok(!exchange.raw.includes(TERMINATING_CHUNK), 'the broken body ended with a clean terminating chunk');
    assert.doesNotMatch(exchange.raw, /-32000|Bad gateway|backend_unreachable|backend_bad_response|"error"/i);
    await assertGatewayStillServes();
  });

  it('F10: an error after headers with a declared Content-Length closes the connection short, with no error text', async () => {
    let upstream: net.Socket | undefined;
    const backend = await listen((req, res) => {
      upstream = req.socket;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"jsonrpc":"2.0","id":1,"result":{"par');
    });
    cleanups.push(() => backend.close());
    app.use('/f10b', mcpProxy({ ...GATEWAY_NAMES, target: `${backend.url}/mcp`, logger, responseTimeout: 2000 }));

    let failedAt: number | undefined;
    const exchange = await rawExchange(gateway.port, httpText('GET /f10b HTTP/1.1', ['Host: gateway.test']), 5000, (raw) => {
      if (failedAt === undefined && raw.includes('"par') && upstream) {
        failedAt = Date.now();
        upstream.destroy();
      }
    });
    assert.ok(failedAt !== undefined, `the partial body never reached the client; got ${JSON.stringify(exchange.raw.slice(0, 300))}`);
    assert.ok(exchange.closedAt !== undefined, 'the client connection stayed open after the backend failed mid-body');
    assert.ok(exchange.closedAt - failedAt < 2000);
    const bodyStart = exchange.raw.indexOf('\r\n\r\n') + 4;
    assert.ok(exchange.raw.length - bodyStart < 1000, 'the client got a full 1000-byte body from a backend that sent 40 bytes');
    assert.equal(exchange.raw.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, 'a second status line was written');
    assert.doesNotMatch(exchange.raw, /-32000|Bad gateway|backend_unreachable|backend_bad_response|"error"/i);
    await assertGatewayStillServes();
  });

  it('F12: a backend echoing the injected secret in a response header named like the fromSecret header does not reach the client', async () => {
    const ECHOED = `${SENTINEL}-f12-backend-echo-9c1e`;
    const secrets: SecretProvider = {
      description: 'test secrets',
      read: (name) => (name === 'F12_API_KEY' ? ECHOED : undefined),
    };
    const backend = await recordingBackend((req, res) => {
      const key = req.headers['x-api-key'];
      res.setHeader('X-API-KEY', [String(key), String(key)]);
      res.setHeader('X-Echo-Control', 'visible');
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    cleanups.push(() => backend.close());
    app.use(
      '/f12',
      mcpProxy({
        ...GATEWAY_NAMES,
        target: `${backend.url}/mcp`,
        logger,
        headers: { fromSecret: { 'X-Api-Key': 'F12_API_KEY' } },
        responseHeaders: ['x-echo-control'],
        secrets,
      }),
    );

    const res = await rawRequest(gateway.port, httpText('GET /f12 HTTP/1.1', ['Host: gateway.test', 'Connection: close']));
    assert.deepEqual(wireValues(backend.last(), 'x-api-key'), [ECHOED], 'positive control: the backend received the secret');
    assert.equal(res.status, 200);
    assert.equal(res.body, '{"ok":true}');
    assert.equal(res.headers['x-echo-control'], 'visible', 'positive control: other backend headers pass');
    assert.ok(!res.headerLines.some(([name]) => name.toLowerCase() === 'x-api-key'), 'the echoed secret header reached the client');
    assert.ok(!res.raw.includes(ECHOED), 'the secret value reached the client');
    assert.ok(!logger.text().includes(ECHOED), 'the secret value was logged');
    await assertGatewayStillServes();
  });

  it('F11: no fault above raised an uncaughtException or unhandledRejection in the gateway process', async () => {
    await assertGatewayStillServes();
    assert.deepEqual(uncaught.map(String), []);
    assert.deepEqual(unhandled.map(String), []);
  });

  it('F11: an error handler that throws (a throwing host logger on a refused backend) is caught: the client is answered and the process stays up', async () => {
    const dead = await listen((_req, res) => res.end());
    const deadPort = dead.port;
    await dead.close();
    const throwing = {
      warn: () => {
        throw new Error('logger exploded');
      },
      error: () => {
        throw new Error('logger exploded');
      },
    };
    app.use('/f11-logger', mcpProxy({ ...GATEWAY_NAMES, target: `http://127.0.0.1:${deadPort}/mcp`, logger: throwing }));
    const uncaughtBefore = uncaught.length;
    // The client must get an answer or a closed connection promptly, and the process must survive.
    const start = Date.now();
    const outcome = await fetch(`${gateway.url}/f11-logger`, { signal: AbortSignal.timeout(3000) }).then(
      async (res) => `status ${res.status} ${await res.text()}`,
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        return `fetch failed: ${error.name} ${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`;
      },
    );
    await sleep(50);
    assert.deepEqual(uncaught.slice(uncaughtBefore).map(String), [], 'a throwing logger caused an uncaughtException');
    assert.doesNotMatch(outcome, /TimeoutError|aborted/i, `the client was left hanging for ${Date.now() - start} ms`);
    await assertGatewayStillServes();
  });
});
