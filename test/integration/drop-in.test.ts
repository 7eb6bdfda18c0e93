/**
 * The relay dropped into an ordinary host app: body parsers and compression() mounted before it,
 * Express 5 and Express 4, mounted with app.use(path), inside an express.Router() and under a
 * parameterised path. The same cases run for both Express versions. JSON bodies re-serialised after
 * express.json() (catalogue G6) are checked in test/security/g-streams.test.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import compression from 'compression';
import express from 'express';
import express4 from 'express4';
import { captureHeaders, mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { httpText, rawRequest } from '../helpers/raw-http.js';
import { recordingBackend, type RecordingBackend, type Responder } from '../helpers/recording-backend.js';
import { sleep } from '../helpers/wait.js';

/** Raw requests call the gateway by name, fetch and supertest by address; both are allowed Host names. */
const BY_NAME = { allowedHosts: ['gateway.example', '127.0.0.1'] };
const BIG_RESPONSE = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { items: Array.from({ length: 200 }, (_, i) => `item-${i}-ünïcödé`) } });

/** Backend behaviour by path; everything else answers 200 `{"ok":true}`. */
const respond: Responder = (_req, res, recorded) => {
  const path = recorded.url.split('?')[0];
  switch (path) {
    case '/mcp/redirect':
      res.writeHead(302, { Location: '/elsewhere', 'Content-Length': '0' });
      res.end();
      return;
    case '/mcp/session':
      res.writeHead(200, { 'Content-Type': 'application/json', 'Mcp-Session-Id': 'backend-issued-7c1e' });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
      return;
    case '/mcp/hop':
      res.writeHead(200, {
        'Content-Type': 'application/json',
        Connection: 'x-foo',
        'X-Foo': 'nominated-by-connection',
        'Keep-Alive': 'timeout=99, max=7',
        'Proxy-Authenticate': 'Basic realm="backend"',
        'Proxy-Connection': 'keep-alive',
        Upgrade: 'h2c',
        TE: 'trailers',
        Trailer: 'X-Checksum',
        'X-Normal': 'kept',
      });
      res.write('{"ok":');
      res.addTrailers({ 'X-Checksum': 'abc' });
      res.end('true}');
      return;
    case '/mcp/big':
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(BIG_RESPONSE) });
      res.end(BIG_RESPONSE);
      return;
    default:
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
  }
};

type CreateApp = typeof express;

const flavours: [string, CreateApp][] = [
  ['Express 5', express],
  ['Express 4', express4],
];

for (const [label, createApp] of flavours) {
  describe(`drop-in under ${label} with express.json(), express.urlencoded(), express.text() and compression() mounted first`, () => {
    let backend: RecordingBackend;
    let relay: Listening;
    const logger = captureLogger();

    before(async () => {
      backend = await recordingBackend(respond);
      const target = `${backend.url}/mcp`;
      const app = createApp();
      app.use(createApp.json());
      app.use(createApp.urlencoded({ extended: false }));
      app.use(createApp.text());
      app.use(compression());
      app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
      app.use('/github', mcpProxy({ ...BY_NAME, target, responseTimeout: 2000, responseHeaders: ['x-normal'], logger }));
      app.use('/q', mcpProxy({ ...BY_NAME, target: `${target}?tenant=acme`, responseTimeout: 2000, logger }));
      const router = createApp.Router();
      router.use('/x', mcpProxy({ ...BY_NAME, target, responseTimeout: 2000, logger }));
      app.use('/r', router);
      app.use('/backends/:name', mcpProxy({ ...BY_NAME, target, responseTimeout: 2000, logger }));
      relay = await listen(app);
    });
    after(async () => {
      await relay.close();
      await backend.close();
    });

    /** POSTs `body` and returns the single request the backend recorded for it. */
    async function post(path: string, contentType: string, body: string) {
      const count = backend.requests.length;
      const res = await fetch(`${relay.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
      const text = await res.text();
      assert.equal(res.status, 200, `relay answered ${res.status}: ${text}`);
      assert.equal(backend.requests.length, count + 1, 'the backend received exactly one request');
      return backend.last();
    }

    it('a urlencoded form body parsed by express.urlencoded() is forwarded with the same fields and an exact content-length', async () => {
      const form = 'name=J%C3%BCrgen+M&tags=a&tags=b&empty=&sym=%26%3D%2B';
      const recorded = await post('/github', 'application/x-www-form-urlencoded', form);
      assert.deepEqual([...new URLSearchParams(recorded.body)], [...new URLSearchParams(form)]);
      assert.equal(recorded.headers['content-length'], String(Buffer.byteLength(recorded.body)));
      assert.equal(recorded.headers['content-type'], 'application/x-www-form-urlencoded');
    });

    it('a text/plain body parsed by express.text() is forwarded byte for byte with an exact content-length', async () => {
      const text = 'plain text with ünïcödé 😀\r\nand a second line\t\n';
      const recorded = await post('/github', 'text/plain; charset=utf-8', text);
      assert.equal(recorded.body, text);
      assert.equal(recorded.headers['content-length'], String(Buffer.byteLength(text)));
    });

    it('a body no mounted parser handles (application/octet-stream) is streamed through untouched', async () => {
      const payload = 'raw bytes ✓ '.repeat(5000);
      const recorded = await post('/github', 'application/octet-stream', payload);
      assert.ok(recorded.body === payload, 'streamed body differs');
      assert.equal(recorded.headers['content-length'], String(Buffer.byteLength(payload)));
    });

    it('compression() before the relay still compresses an ordinary JSON response, which decodes to the backend bytes', async () => {
      const result = await new Promise<{ status: number; encoding: string | undefined; body: Buffer }>((resolve, reject) => {
        const req = http.request(`${relay.url}/github/big`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(result.status, 200);
      assert.equal(result.encoding, 'gzip');
      assert.equal(gunzipSync(result.body).toString('utf8'), BIG_RESPONSE);
      assert.equal(backend.last().headers['accept-encoding'], undefined, 'the client Accept-Encoding is not forwarded');
    });

    const mounts: [string, string][] = [
      ['/github', '/mcp'],
      ['/github?x=1', '/mcp?x=1'],
      ['/github/', '/mcp'],
      ['/github/sub?y=2', '/mcp/sub?y=2'],
      ['/q', '/mcp?tenant=acme'],
      ['/q?x=1', '/mcp?tenant=acme&x=1'],
      ['/q/sub?y=2', '/mcp/sub?tenant=acme&y=2'],
      ['/r/x', '/mcp'],
      ['/r/x?x=1', '/mcp?x=1'],
      ['/r/x/sub?y=2', '/mcp/sub?y=2'],
      ['/backends/github', '/mcp'],
      ['/backends/linear?x=1', '/mcp?x=1'],
      ['/backends/github/sub?y=2', '/mcp/sub?y=2'],
    ];
    for (const [from, to] of mounts) {
      it(`a request to ${from} reaches the backend at exactly ${to}`, async () => {
        const count = backend.requests.length;
        const res = await fetch(`${relay.url}${from}`, { headers: { accept: 'application/json' } });
        await res.arrayBuffer();
        assert.equal(res.status, 200);
        assert.equal(backend.requests.length, count + 1);
        assert.equal(backend.last().url, to);
      });
    }

    it('redirects are never followed: a backend 302 Location: /elsewhere reaches the client, and the backend saw one request', async () => {
      const count = backend.requests.length;
      const res = await rawRequest(relay.port, httpText('GET /github/redirect HTTP/1.1', ['Host: gateway.example', 'Connection: close']));
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/elsewhere');
      await sleep(50);
      assert.equal(backend.requests.length, count + 1);
      assert.ok(!backend.requests.some((r) => r.url.startsWith('/elsewhere')));
    });

    it('the backend Mcp-Session-Id response header passes back to the client', async () => {
      const res = await fetch(`${relay.url}/github/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
      });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('mcp-session-id'), 'backend-issued-7c1e');
    });

    it('D13: hop-by-hop response headers (Connection-nominated X-Foo, Keep-Alive, Proxy-*, Upgrade, TE, Trailer) are stripped', async () => {
      const res = await rawRequest(relay.port, httpText('GET /github/hop HTTP/1.1', ['Host: gateway.example', 'Connection: close']));
      assert.equal(res.status, 200);
      assert.equal(res.body, '{"ok":true}');
      assert.equal(res.headers['x-normal'], 'kept', 'positive control: an ordinary header passes');
      for (const name of ['x-foo', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'upgrade', 'te', 'trailer']) {
        assert.equal(res.headers[name], undefined, `${name} must not reach the client`);
      }
      assert.equal(res.headers.connection, 'close');
      assert.ok(!res.raw.includes('timeout=99'), 'the backend Keep-Alive value does not appear anywhere');
    });
  });
}
