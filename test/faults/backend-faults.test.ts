/**
 * Backend faults through a real gateway (captureHeaders + mcpProxy on /mcp, loopback sockets): each
 * test makes a raw-socket backend misbehave one way and checks what the client receives
 * (docs/errors.md: a JSON-RPC 502/504 before response headers, a closed connection after them, a
 * backend 5xx passed through), that the upstream connection is not left open, that neither the
 * captured key nor the secret appears in any answer or log line, and that the gateway still serves.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { HOLD, rawBackend, type RawBackend, type RawResponder } from '../helpers/raw-backend.js';
import type { RawResponse } from '../helpers/raw-http.js';
import { assertNoLeak } from '../helpers/sec-relay.js';
import { sleep } from '../helpers/wait.js';
import {
  PING,
  SSE_HEAD,
  assertAlive,
  assertBrokenStream,
  assertClosedPromptly,
  assertFaultAnswer,
  assertSentinelsForwarded,
  chunk,
  closedPort,
  faultGateway,
  faultSuite,
  openStream,
  send,
  waitForText,
  watchClose,
  wireHeaders,
  type FaultGateway,
  type Watched,
} from './harness.js';

/** Short, so the timeout cases stay fast; every healthy answer here comes in well under it. */
const TIMEOUT_MS = 400;

describe('backend faults', () => {
  const { track } = faultSuite();

  /** A raw backend behind a fresh gateway's /mcp; `upstream` watches the socket of the latest request. */
  async function setUp(respond: RawResponder): Promise<{ backend: RawBackend; gw: FaultGateway; upstream: () => Watched }> {
    let watched: Watched | undefined;
    const backend = track(
      await rawBackend((request, socket) => {
        watched = watchClose(socket);
        return respond(request, socket);
      }),
    );
    const gw = track(await faultGateway({ '/mcp': { target: `${backend.url}/mcp`, responseTimeout: TIMEOUT_MS } }));
    const upstream = (): Watched => {
      assert.ok(watched, 'the backend received no request');
      return watched;
    };
    return { backend, gw, upstream };
  }

  it('a refused connection gets 502 backend_unreachable, naming neither the target nor any sent value', async () => {
    const port = await closedPort();
    const gw = track(await faultGateway({ '/mcp': { target: `http://127.0.0.1:${port}/mcp` } }));
    const res = await send(gw.port, '/mcp', { method: 'POST', body: PING });
    assertFaultAnswer(gw, res, 502, 'backend_unreachable', port);
    await assertAlive(gw);
  });

  const cuts: [string, (socket: net.Socket) => void][] = [
    ['resets (RST)', (socket) => socket.resetAndDestroy()],
    ['closes (FIN)', (socket) => socket.destroy()],
  ];
  for (const [how, cut] of cuts) {
    it(`a backend that ${how} the connection before response headers gets 502 backend_unreachable`, async () => {
      const { backend, gw } = await setUp((_request, socket) => {
        cut(socket);
        return HOLD;
      });
      const res = await send(gw.port, '/mcp', { method: 'POST', body: PING });
      assertSentinelsForwarded(wireHeaders(backend.last()));
      assertFaultAnswer(gw, res, 502, 'backend_unreachable', backend.port);
      await assertAlive(gw);
    });
  }

  it('a backend reset mid-SSE closes the client stream within 1 s, cut short and with no error text', async () => {
    let upstreamSocket: net.Socket | undefined;
    const { gw } = await setUp((_request, socket) => {
      upstreamSocket = socket;
      socket.write(SSE_HEAD + chunk('data: one\n\n'));
      return HOLD;
    });
    const client = openStream(gw.port, '/mcp');
    await waitForText(client, 'data: one', 'the first event');
    const resetAt = Date.now();
    upstreamSocket!.resetAndDestroy();
    await assertClosedPromptly(client.closedAt, resetAt, 'the client connection to close after the backend reset');
    assertBrokenStream(client.text());
    assertNoLeak(undefined, gw);
    await assertAlive(gw);
  });

  it('a backend that sends part of its response head then stalls gets 504 backend_timeout, and the upstream connection is closed', async () => {
    const { gw, backend, upstream } = await setUp((_request, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n');
      return HOLD;
    });
    const res = await send(gw.port, '/mcp');
    const answeredAt = Date.now();
    assertFaultAnswer(gw, res, 504, 'backend_timeout', backend.port);
    await assertClosedPromptly(upstream(), answeredAt, 'the backend to see its request closed after the 504');
    await assertAlive(gw);
  });

  /**
   * A POST to a backend answering with `respond` gets 504 backend_timeout no earlier than `responseTimeout`, and
   * the backend sees its request closed promptly; returns the client's response for further checks.
   */
  async function assertTimesOut(respond: RawResponder): Promise<RawResponse> {
    const { gw, backend, upstream } = await setUp(respond);
    const start = Date.now();
    const res = await send(gw.port, '/mcp', { method: 'POST', body: PING });
    const answeredAt = Date.now();
    assertFaultAnswer(gw, res, 504, 'backend_timeout', backend.port);
    // 25 ms of slack: timers may fire a little early relative to Date.now() on a loaded machine.
    assert.ok(answeredAt - start >= TIMEOUT_MS - 25, `the 504 came ${answeredAt - start} ms in, before the ${TIMEOUT_MS} ms timeout`);
    await assertClosedPromptly(upstream(), answeredAt, 'the backend to see its request closed after the 504');
    await assertAlive(gw);
    return res;
  }

  it('a backend that never answers gets 504 backend_timeout after `responseTimeout`, and the upstream request is aborted', async () => {
    await assertTimesOut(() => HOLD);
  });

  it('a backend that sends SSE headers then stalls keeps the stream open past `responseTimeout` (no 504); the client leaving closes it upstream within 1 s', async () => {
    const { gw, upstream } = await setUp(() => SSE_HEAD);
    const client = openStream(gw.port, '/mcp');
    await waitForText(client, '\r\n\r\n', 'the stream headers');
    // The timeout bounds the time to response headers only (docs/configuration.md): outlive it.
    await sleep(2 * TIMEOUT_MS);
    assert.match(client.text(), /^HTTP\/1\.1 200 /);
    assert.equal(client.closedAt(), undefined, 'the quiet stream was closed');
    assert.equal(upstream().closedAt, undefined, 'the upstream request was aborted while the stream was open');
    assert.doesNotMatch(gw.logger.text(), /backend_timeout/);
    await assertClosedPromptly(upstream(), client.abort(), 'the backend to see the close after the client left');
    await assertAlive(gw);
  });

  it('a backend that sends a whole JSON response head then stalls gets 504 backend_timeout without its headers, and the upstream request is closed', async () => {
    const head = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\nx-from-backend: 1\r\n\r\n';
    const res = await assertTimesOut(() => head);
    assert.equal(res.headers['x-from-backend'], undefined, 'the stalled response’s headers leaked into the 504');
  });

  const backend5xx: [number, string, string[]][] = [
    [500, 'Internal Server Error', []],
    [503, 'Service Unavailable', ['retry-after: 7']],
  ];
  for (const [status, text, extra] of backend5xx) {
    it(`a backend ${status} passes through with its status, body and headers, not rewritten into a relay error`, async () => {
      const body = `{"jsonrpc":"2.0","error":{"code":-32603,"message":"backend says ${status}"},"id":1}`;
      const head = [`HTTP/1.1 ${status} ${text}`, 'content-type: application/json', `content-length: ${body.length}`, ...extra];
      const { gw, backend } = await setUp(() => `${head.join('\r\n')}\r\n\r\n${body}`);
      const res = await send(gw.port, '/mcp', { method: 'POST', body: PING });
      assert.equal(res.status, status);
      assert.equal(res.body, body);
      assert.equal(res.headers['content-type'], 'application/json');
      if (status === 503) assert.equal(res.headers['retry-after'], '7');
      assertSentinelsForwarded(wireHeaders(backend.last()));
      assertNoLeak(res, gw);
      assert.doesNotMatch(gw.logger.text(), /backend_/, 'a 5xx answer is the backend’s, not a relay failure');
      await assertAlive(gw);
    });
  }

  /** A 200 whose head carries `size` bytes in one header. */
  const bigHead = (size: number): string =>
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-big: ${'b'.repeat(size)}\r\ncontent-length: 11\r\n\r\n{"ok":true}`;

  it('response headers over Node’s 16 KiB client limit get 502 backend_bad_response, and the upstream connection is closed', async () => {
    const { gw, backend, upstream } = await setUp(() => bigHead(20 * 1024));
    const res = await send(gw.port, '/mcp');
    const answeredAt = Date.now();
    assertFaultAnswer(gw, res, 502, 'backend_bad_response', backend.port);
    assert.ok(!res.raw.includes('bbbbbbbb'), 'part of the oversized header reached the client');
    assert.match(gw.logger.text(), /HPE_HEADER_OVERFLOW/, 'the log names the parser error');
    await assertClosedPromptly(upstream(), answeredAt, 'the backend to see its connection closed');
    await assertAlive(gw);
  });

  it('control: response headers of 12 KiB, under the limit, pass through whole', async () => {
    const { gw } = await setUp(() => bigHead(12 * 1024));
    const res = await send(gw.port, '/mcp');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-big']?.length, 12 * 1024);
    assert.equal(res.body, '{"ok":true}');
  });
});
