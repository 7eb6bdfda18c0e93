/**
 * Event streams through the relay: a quiet stream's headers arrive at once, and a stream is marked so
 * nothing buffers or compresses it (also behind compression()). Streams are read with node:http or
 * fetch readers: supertest buffers whole bodies. The catalogue's stream cases (client aborts,
 * backpressure, memory, body parsers and Expect, many streams: G1–G7) are in
 * test/security/g-streams.test.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import compression from 'compression';
import express from 'express';
import { mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { waitFor } from '../helpers/wait.js';

/** A node:http GET read to its end, undecoded: the response and its body as latin1 text. */
function getWhole(url: string, headers: http.OutgoingHttpHeaders): Promise<{ res: http.IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('latin1')));
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
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
  /** compression() (threshold 0, so it would compress anything) before the relay. */
  const compressed = express();
  compressed.use(compression({ threshold: 0 }));
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

  it('positive control: compression() in this gateway does gzip an ordinary response', async () => {
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('hello ');
      res.end('world');
    });
    cleanups.push(() => backend.close());
    compressed.use('/plain-text', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    const { res } = await getWhole(`${gwCompressed.url}/plain-text`, { 'accept-encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], 'gzip');
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
      await waitFor(() => backendClosed, 'the backend stream to close after the client left', 2000);
    });
  }

  it('SSE: a backend cache-control without no-transform keeps its directives and gains no-transform', async () => {
    const backend = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, private' });
      res.end('data: x\n\n');
    });
    cleanups.push(() => backend.close());
    compressed.use('/sse-cache-control', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    const { res, body } = await getWhole(`${gwCompressed.url}/sse-cache-control`, { accept: 'text/event-stream', 'accept-encoding': 'gzip' });
    assert.equal(body, 'data: x\n\n');
    const cacheControl = res.headers['cache-control'] ?? '';
    assert.match(cacheControl, /no-cache/);
    assert.match(cacheControl, /private/);
    assert.match(cacheControl, /no-transform/);
    assert.equal(res.headers['content-encoding'], undefined);
  });

  it('no step above raised an uncaughtException', async () => {
    await assertGatewayStillServes(gwCompressed);
    await assertGatewayStillServes(gwPlain);
    assert.deepEqual(uncaught.map(String), []);
  });
});
