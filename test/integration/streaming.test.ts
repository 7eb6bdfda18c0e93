/**
 * Streaming through the relay: SSE first-byte latency (also behind compression()), stream markings,
 * client aborts (catalogue G1, G2), backpressure (G3) and body parsers / Expect (G6). Streams are
 * read with node:http, raw sockets or fetch readers: supertest buffers whole bodies.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import compression from 'compression';
import express from 'express';
import { mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface StreamedResponse {
  res: http.IncomingMessage;
  /** Text received so far, updated as chunks arrive. */
  text: () => string;
  /** Resolves with the whole body when the response ends. */
  ended: Promise<string>;
  destroy(): void;
}

/** A node:http GET that exposes the response as it streams (no decompression, no buffering). */
function streamGet(url: string, headers: http.OutgoingHttpHeaders, onChunk?: (text: string) => void): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let text = '';
      const ended = new Promise<string>((resolveEnd, rejectEnd) => {
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          onChunk?.(text);
        });
        res.on('end', () => resolveEnd(text));
        res.on('error', rejectEnd);
      });
      ended.catch(() => {});
      resolve({ res, text: () => text, ended, destroy: () => req.destroy() });
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('no response within 5 s')));
  });
}

describe('streaming through the relay', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => {
    uncaught.push(err);
  };
  const logger = captureLogger();
  /** compression() (threshold 0, so it would compress anything) and express.json() before the relay. */
  const compressed = express();
  compressed.use(compression({ threshold: 0 }));
  compressed.use(express.json());
  /** Nothing before the relay. */
  const plain = express();
  let gwCompressed: Listening;
  let gwPlain: Listening;
  let healthy: RecordingBackend;
  const cleanups: (() => Promise<void>)[] = [];

  async function assertGatewayStillServes(gateway: Listening): Promise<void> {
    const res = await fetch(`${gateway.url}/ok`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  }

  before(async () => {
    process.on('uncaughtException', onUncaught);
    healthy = await recordingBackend();
    compressed.use('/ok', mcpProxy({ target: `${healthy.url}/mcp`, logger }));
    plain.use('/ok', mcpProxy({ target: `${healthy.url}/mcp`, logger }));
    gwCompressed = await listen(compressed);
    gwPlain = await listen(plain);
  });

  after(async () => {
    process.off('uncaughtException', onUncaught);
    await gwCompressed.close();
    await gwPlain.close();
    await healthy.close();
    for (const c of cleanups) await c();
  });

  it('positive control: compression() in this gateway does gzip an ordinary streamed response', async () => {
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('hello ');
      res.end('world');
    });
    cleanups.push(() => backend.close());
    compressed.use('/plain-text', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    const streamed = await streamGet(`${gwCompressed.url}/plain-text`, { 'accept-encoding': 'gzip' });
    await streamed.ended;
    assert.equal(streamed.res.headers['content-encoding'], 'gzip');
  });

  it('SSE: the first event arrives before the backend writes again, even with compression() mounted before the relay', async () => {
    let secondWriteAt: number | undefined;
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: {"n":1}\n\n');
      const t = setTimeout(() => {
        secondWriteAt = Date.now();
        res.end('event: message\ndata: {"n":2}\n\n');
      }, 1000);
      res.on('close', () => clearTimeout(t));
    });
    cleanups.push(() => backend.close());
    compressed.use('/sse-first-byte', mcpProxy({ target: `${backend.url}/mcp`, logger }));

    const start = Date.now();
    let firstEventAt: number | undefined;
    let secondWriteWhenFirstSeen: number | undefined;
    const streamed = await streamGet(
      `${gwCompressed.url}/sse-first-byte`,
      { accept: 'text/event-stream', 'accept-encoding': 'gzip, deflate, br' },
      (text) => {
        if (firstEventAt === undefined && text.includes('data: {"n":1}\n\n')) {
          firstEventAt = Date.now();
          secondWriteWhenFirstSeen = secondWriteAt;
        }
      },
    );
    const body = await streamed.ended;
    assert.ok(firstEventAt !== undefined, `the first event never arrived as plain text; got ${JSON.stringify(body.slice(0, 200))}`);
    assert.equal(secondWriteWhenFirstSeen, undefined, 'the first event only arrived after the backend wrote the second one');
    assert.ok(firstEventAt - start < 900, `the first event took ${firstEventAt - start} ms`);
    assert.equal(body, 'event: message\ndata: {"n":1}\n\nevent: message\ndata: {"n":2}\n\n');
    assert.equal(streamed.res.headers['content-encoding'], undefined, 'the event stream was content-encoded');
    assert.equal(streamed.res.headers['x-accel-buffering'], 'no');
    assert.match(streamed.res.headers['cache-control'] ?? '', /(^|,)\s*no-transform\s*(,|$)/);
  });

  for (const which of ['compressed', 'plain'] as const) {
    it(`SSE: a quiet stream (headers only, no event) opens promptly (< 1 s) ${which === 'compressed' ? 'behind compression()' : 'with nothing before the relay'}`, async () => {
      let backendClosed = false;
      const backend = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        res.on('close', () => {
          backendClosed = true;
        });
      });
      cleanups.push(() => backend.close());
      const gateway = which === 'compressed' ? gwCompressed : gwPlain;
      (which === 'compressed' ? compressed : plain).use('/sse-quiet', mcpProxy({ target: `${backend.url}/mcp`, logger }));

      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 3000);
      const start = Date.now();
      try {
        const res = await fetch(`${gateway.url}/sse-quiet`, {
          headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' },
          signal: controller.signal,
        });
        const elapsed = Date.now() - start;
        assert.ok(elapsed < 1000, `the response headers took ${elapsed} ms`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
        assert.equal(res.headers.get('content-encoding'), null);
        assert.equal(res.headers.get('x-accel-buffering'), 'no');
        assert.match(res.headers.get('cache-control') ?? '', /(^|,)\s*no-transform\s*(,|$)/);
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
      await waitFor(() => backendClosed, 2000, 'the backend stream to close after the client left');
    });
  }

  it('SSE: a backend cache-control without no-transform keeps its directives and gains no-transform', async () => {
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, private' });
      res.end('data: x\n\n');
    });
    cleanups.push(() => backend.close());
    compressed.use('/sse-cache-control', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    const streamed = await streamGet(`${gwCompressed.url}/sse-cache-control`, { accept: 'text/event-stream', 'accept-encoding': 'gzip' });
    assert.equal(await streamed.ended, 'data: x\n\n');
    const cacheControl = streamed.res.headers['cache-control'] ?? '';
    assert.match(cacheControl, /no-cache/);
    assert.match(cacheControl, /private/);
    assert.match(cacheControl, /no-transform/);
    assert.equal(streamed.res.headers['content-encoding'], undefined);
  });

  it('G1: a client closing mid-SSE closes the backend request within 1 s', async () => {
    let backendClosedAt: number | undefined;
    let backendFinished = false;
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: hello\n\n');
      res.on('close', () => {
        backendClosedAt = Date.now();
        backendFinished = res.writableFinished;
      });
    });
    cleanups.push(() => backend.close());
    plain.use('/g1', mcpProxy({ target: `${backend.url}/mcp`, logger }));

    const streamed = await streamGet(`${gwPlain.url}/g1`, { accept: 'text/event-stream' });
    await waitFor(() => streamed.text().includes('data: hello'), 2000, 'the first event');
    assert.equal(backendClosedAt, undefined, 'the backend stream closed before the client left');
    const abortedAt = Date.now();
    streamed.destroy();
    await waitFor(() => backendClosedAt !== undefined, 1000, 'the backend to see the request close');
    assert.ok(backendClosedAt !== undefined && backendClosedAt - abortedAt < 1000);
    assert.equal(backendFinished, false, 'the backend response was not cut: it finished normally');
    await assertGatewayStillServes(gwPlain);
    assert.deepEqual(uncaught.map(String), []);
  });

  it('G2: a client aborting during a slow body upload aborts the backend request, raises nothing, and the gateway keeps serving', async () => {
    let backendBytes = 0;
    let backendReq: http.IncomingMessage | undefined;
    let backendClosedAt: number | undefined;
    const backend = await listen((req, res) => {
      backendReq = req;
      req.on('data', (c: Buffer) => {
        backendBytes += c.length;
      });
      req.on('error', () => {});
      res.on('close', () => {
        backendClosedAt = Date.now();
      });
      req.on('end', () => res.end('{"unexpected":"complete"}'));
    });
    cleanups.push(() => backend.close());
    let gatewayRes: http.ServerResponse | undefined;
    plain.use(
      '/g2',
      (_req, res, next) => {
        gatewayRes = res;
        next();
      },
      mcpProxy({ target: `${backend.url}/mcp`, logger }),
    );

    const client = http.request(`${gwPlain.url}/g2`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) },
    });
    let clientResponse: number | undefined;
    client.on('response', (res) => {
      clientResponse = res.statusCode;
    });
    client.on('error', () => {});
    client.write(Buffer.alloc(16 * 1024, 'a'));
    await waitFor(() => backendBytes >= 16 * 1024, 2000, 'the backend to receive the first part of the body');
    const abortedAt = Date.now();
    client.destroy();

    await waitFor(() => backendClosedAt !== undefined, 1000, 'the backend request to be aborted');
    assert.ok(backendReq);
    assert.equal(backendReq.complete, false, 'the backend received a complete body from an aborted upload');
    assert.ok(backendClosedAt !== undefined && backendClosedAt - abortedAt < 1000);
    assert.equal(clientResponse, undefined);
    await sleep(100);
    assert.ok(gatewayRes);
    assert.equal(gatewayRes.headersSent, false, `a ${gatewayRes.statusCode} answer was written to the dead client socket`);
    await assertGatewayStillServes(gwPlain);
    assert.deepEqual(uncaught.map(String), []);
  });

  it('G3: a client that stops reading a fast SSE stream for 1 s keeps the gateway buffer bounded by backpressure', async () => {
    const chunk = Buffer.from(`data: ${'x'.repeat(16 * 1024)}\n\n`);
    let backendWritten = 0;
    let backendBlocked = 0;
    let stopped = false;
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const pump = (): void => {
        while (!stopped && !res.destroyed) {
          backendWritten += chunk.length;
          if (!res.write(chunk)) {
            backendBlocked++;
            res.once('drain', pump);
            return;
          }
        }
      };
      res.on('close', () => {
        stopped = true;
      });
      pump();
    });
    cleanups.push(async () => {
      stopped = true;
      await backend.close();
    });
    let gatewayRes: http.ServerResponse | undefined;
    plain.use(
      '/g3',
      (_req, res, next) => {
        gatewayRes = res;
        next();
      },
      mcpProxy({ target: `${backend.url}/mcp`, logger }),
    );

    const socket = net.connect(gwPlain.port, '127.0.0.1');
    socket.on('error', () => {});
    let received = 0;
    socket.on('data', (c: Buffer) => {
      received += c.length;
    });
    try {
      socket.write('GET /g3 HTTP/1.1\r\nHost: gateway.test\r\nAccept: text/event-stream\r\n\r\n');
      await waitFor(() => received > 0, 2000, 'the first bytes of the stream');
      socket.pause(); // stop reading: the kernel buffers fill, then backpressure must reach the backend

      let maxWritableLength = 0;
      let writtenAt700 = 0;
      for (let t = 0; t < 1000; t += 50) {
        await sleep(50);
        maxWritableLength = Math.max(maxWritableLength, gatewayRes?.writableLength ?? 0);
        if (t === 650) writtenAt700 = backendWritten;
      }
      const writtenAtEnd = backendWritten;

      assert.ok(gatewayRes, 'the gateway route ran');
      assert.ok(maxWritableLength < 1024 * 1024, `the gateway buffered ${maxWritableLength} bytes for a client that stopped reading`);
      assert.ok(backendBlocked > 0, 'the backend never met backpressure');
      // Once the socket buffers on both hops are full the backend is held back: it writes (almost) nothing more.
      assert.ok(writtenAtEnd - writtenAt700 < 1024 * 1024, `the backend wrote ${writtenAtEnd - writtenAt700} bytes in the last 300 ms of the pause`);
      // Loopback socket buffers on two hops hold at most a few MiB each; without backpressure this would grow without bound.
      assert.ok(writtenAtEnd < 64 * 1024 * 1024, `the backend wrote ${writtenAtEnd} bytes while the client was not reading`);

      const receivedBeforeResume = received;
      socket.resume();
      await waitFor(() => received > receivedBeforeResume + 1024 * 1024, 3000, 'the stream to flow again after the client resumed');
    } finally {
      socket.destroy();
      stopped = true;
    }
    assert.deepEqual(uncaught.map(String), []);
  });

  it('G6: with compression() and express.json() before the relay, a JSON POST reaches the backend as the same JSON with an exact content-length', async () => {
    const backend = await recordingBackend();
    cleanups.push(() => backend.close());
    compressed.use('/g6', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    const message = {
      jsonrpc: '2.0',
      id: 42,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'héllo ✓ ünïcode 😀', list: [1, 2, 3], nested: { ok: true } } },
    };
    // Pretty-printed on the way in, so the parsed-and-reserialised body differs in length from the original.
    const sent = JSON.stringify(message, null, 2);

    const res = await fetch(`${gwCompressed.url}/g6`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: sent,
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    const recorded = backend.last();
    assert.deepEqual(JSON.parse(recorded.body), message);
    assert.equal(recorded.headers['content-length'], String(Buffer.byteLength(recorded.body)));
    assert.equal(recorded.headers['transfer-encoding'], undefined);
    assert.equal(recorded.headers['content-type'], 'application/json');
  });

  it('G6: a POST with Expect: 100-continue after express.json() does not hang and forwards the body without Expect', async () => {
    const backend = await recordingBackend();
    cleanups.push(() => backend.close());
    compressed.use('/g6-expect', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { note: 'ünïcode' } });

    const result = await new Promise<{ status: number | undefined; body: string; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request(`${gwCompressed.url}/g6-expect`, {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          expect: '100-continue',
        },
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`no response within 3 s (100 Continue received: ${continued})`));
      }, 3000);
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode, body: text, continued });
        });
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.flushHeaders();
    });

    assert.equal(result.continued, true, 'the gateway never sent 100 Continue');
    assert.equal(result.status, 200);
    assert.equal(result.body, '{"ok":true}');
    const recorded = backend.last();
    assert.deepEqual(JSON.parse(recorded.body), JSON.parse(body));
    assert.equal(recorded.headers['content-length'], String(Buffer.byteLength(recorded.body)));
    assert.equal(recorded.headers.expect, undefined);
  });

  it('no step above raised an uncaughtException', async () => {
    await assertGatewayStillServes(gwCompressed);
    await assertGatewayStillServes(gwPlain);
    assert.deepEqual(uncaught.map(String), []);
  });
});
