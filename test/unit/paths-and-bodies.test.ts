import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import express from 'express';
import { replayBody } from '../../lib/body-replay.js';
import { GATEWAY_ERROR_CODE, reject, sendRejection } from '../../lib/rejection.js';
import { upstreamPath } from '../../lib/upstream-path.js';
import { targetProblem } from '../../lib/request-checks.js';
import { listen } from '../helpers/listen.js';
import { rawExchange } from '../helpers/raw-http.js';

/** The config fields upstreamPath uses, derived from a target URL the way mcpProxy derives them. */
function targetOf(target: string): { targetPath: string; targetSearch: string; fixedQuery: Set<string> } {
  const url = new URL(target);
  return { targetPath: url.pathname, targetSearch: url.search, fixedQuery: new Set(url.searchParams.keys()) };
}

describe('upstreamPath', () => {
  const cases: [string, string, string][] = [
    // [target, request url after the mount path is stripped, expected upstream path]
    ['http://b/mcp', '/', '/mcp'],
    ['http://b/mcp', '', '/mcp'],
    ['http://b/mcp', '/?x=1', '/mcp?x=1'],
    ['http://b/mcp', '?x=1', '/mcp?x=1'],
    ['http://b/mcp', '/sub', '/mcp/sub'],
    ['http://b/mcp', '/sub/', '/mcp/sub/'],
    ['http://b/mcp', '/sub/deeper?y=2&z=3', '/mcp/sub/deeper?y=2&z=3'],
    ['http://b/mcp/', '/', '/mcp/'],
    ['http://b/mcp/', '', '/mcp/'],
    ['http://b/mcp/', '/sub', '/mcp/sub'],
    ['http://b/mcp?tenant=a', '/', '/mcp?tenant=a'],
    ['http://b/mcp?tenant=a', '/?x=1', '/mcp?tenant=a&x=1'],
    ['http://b/mcp?tenant=a', '/sub?x=1&y=2', '/mcp/sub?tenant=a&x=1&y=2'],
    ['http://b/mcp', '/?', '/mcp'],
    ['http://b/', '/', '/'],
    ['http://b', '/', '/'],
    ['http://b', '', '/'],
    ['http://b/', '/sub', '/sub'],
    ['http://b/', '/?x=1', '/?x=1'],
    ['http://b/a/b/mcp', '/', '/a/b/mcp'],
    // A parameter the target fixes cannot be overridden or removed by the client (I5).
    ['http://b/mcp?toolsets=readonly', '/?toolsets=all', '/mcp?toolsets=readonly'],
    ['http://b/mcp?toolsets=readonly', '/?x=1&toolsets=all&y=2', '/mcp?toolsets=readonly&x=1&y=2'],
    ['http://b/mcp?toolsets=readonly', '/?%74oolsets=all', '/mcp?toolsets=readonly'],
    ['http://b/mcp?toolsets=readonly', '/?toolsets', '/mcp?toolsets=readonly'],
    ['http://b/mcp?tool+sets=a', '/?tool%20sets=b&toolsets=c', '/mcp?tool+sets=a&toolsets=c'],
    ['http://b/mcp?toolsets=readonly', '/?toolsetsx=1&xtoolsets=2', '/mcp?toolsets=readonly&toolsetsx=1&xtoolsets=2'],
  ];
  for (const [target, url, expected] of cases) {
    it(`target ${target} + ${JSON.stringify(url)} → ${expected}`, () => {
      assert.equal(upstreamPath(url, targetOf(target)), expected);
    });
  }

  for (const url of ['/', '', '/?a=b']) {
    it(`the mount root never gains a trailing slash: ${JSON.stringify(url)} under http://b/mcp`, () => {
      assert.doesNotMatch(upstreamPath(url, targetOf('http://b/mcp')), /\/mcp\//);
    });
  }

  it('names each client parameter it drops', () => {
    const dropped: string[] = [];
    upstreamPath('/?a=1&toolsets=x&%74oolsets=y', targetOf('http://b/mcp?toolsets=r'), (name) => dropped.push(name));
    assert.deepEqual(dropped, ['toolsets', 'toolsets']);
  });
});

describe('targetProblem', () => {
  const refused = [
    '/#',
    '/x#frag',
    '/?a=1#b',
    '/..',
    '/../admin',
    '/a/../../admin',
    '/./x',
    '/.',
    '/%2e%2e/admin',
    '/%2E%2e/admin',
    '/.%2e/admin',
    '/%2e./admin',
    '/%2e/x',
    '/..;/admin',
    '/..\\admin',
    '/..%5cadmin',
    '/a%2F..%2fadmin',
    '//evil.example/x',
    '/a//b',
  ];
  const accepted = ['/', '', '/x', '/x/', '/x.json', '/a..b', '/.well-known/x', '/...', '/%2e%2e%2e', '/a?path=../x', '/a?x=//y', '/%41'];
  for (const url of refused) it(`refuses ${JSON.stringify(url)}`, () => assert.ok(targetProblem(url), url));
  for (const url of accepted) it(`accepts ${JSON.stringify(url)}`, () => assert.equal(targetProblem(url), undefined));
});

interface FakeRequest {
  readableEnded: boolean;
  headers: Record<string, string | undefined>;
  body?: unknown;
}
const fake = (r: FakeRequest): IncomingMessage => r as unknown as IncomingMessage;
const asText = (b: ReturnType<typeof replayBody>): string => {
  assert.ok(Buffer.isBuffer(b), `expected a Buffer, got ${String(b)}`);
  return b.toString('utf8');
};

describe('replayBody', () => {
  it('a stream not yet read is piped as is (undefined), whatever req.body holds', () => {
    assert.equal(replayBody(fake({ readableEnded: false, headers: { 'content-length': '2' }, body: { a: 1 } })), undefined);
    assert.equal(replayBody(fake({ readableEnded: false, headers: {}, body: Buffer.from('x') })), undefined);
  });

  it('a Buffer body (express.raw) is returned unchanged', () => {
    const body = Buffer.from([0, 1, 2, 255]);
    assert.equal(replayBody(fake({ readableEnded: true, headers: { 'content-length': '4' }, body })), body);
  });

  it('a string body (express.text) becomes UTF-8 bytes', () => {
    const out = replayBody(fake({ readableEnded: true, headers: { 'content-length': '6' }, body: 'héllo' }));
    assert.ok(Buffer.isBuffer(out));
    assert.equal(out.length, 6);
    assert.equal(out.toString('utf8'), 'héllo');
  });

  for (const type of [
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/vnd.x+json',
    'application/vnd.x+json;charset=utf-8',
    'application/json-patch+json',
  ]) {
    it(`a parsed JSON object with ${type} is re-serialised`, () => {
      const body = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { é: [1, 2] } };
      const out = replayBody(fake({ readableEnded: true, headers: { 'content-type': type, 'content-length': '99' }, body }));
      assert.deepEqual(JSON.parse(asText(out)), body);
    });
  }

  it('a chunked JSON body (no content-length) is re-serialised too', () => {
    const out = replayBody(fake({ readableEnded: true, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: [1, 2] }));
    assert.equal(asText(out), '[1,2]');
  });

  it('a flat urlencoded form is re-encoded, repeated keys kept', () => {
    const out = replayBody(
      fake({
        readableEnded: true,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '20' },
        body: { a: '1', b: ['x', 'y'], c: 'a b&c=d' },
      }),
    );
    assert.equal(asText(out), 'a=1&b=x&b=y&c=a+b%26c%3Dd');
  });

  it('a nested urlencoded form (qs extended) is lost, as is an array with non-strings', () => {
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '20' };
    assert.equal(replayBody(fake({ readableEnded: true, headers, body: { a: { b: 'c' } } })), 'lost');
    assert.equal(replayBody(fake({ readableEnded: true, headers, body: { a: ['x', { y: 'z' }] } })), 'lost');
  });

  for (const type of ['text/plain', 'application/jsonp', 'application/xml', '']) {
    it(`an object under ${JSON.stringify(type)}, not JSON or a form, is lost (never guessed)`, () => {
      const out = replayBody(fake({ readableEnded: true, headers: { 'content-type': type, 'content-length': '5' }, body: { a: 1 } }));
      assert.equal(out, 'lost');
    });
  }

  it('a consumed stream with nothing parsed is lost', () => {
    assert.equal(replayBody(fake({ readableEnded: true, headers: { 'content-type': 'application/json', 'content-length': '5' } })), 'lost');
  });

  it('content-length 0 or no framing at all → undefined (nothing to replay; express.json sets {} here)', () => {
    assert.equal(replayBody(fake({ readableEnded: true, headers: { 'content-type': 'application/json', 'content-length': '0' }, body: {} })), undefined);
    assert.equal(replayBody(fake({ readableEnded: true, headers: {}, body: {} })), undefined);
    assert.equal(replayBody(fake({ readableEnded: true, headers: {}, body: undefined })), undefined);
  });

  it('with a real express.json(), the body seen after parsing replays byte-exact JSON', async () => {
    const app = express();
    app.use(express.json());
    app.post('/x', (req, res) => {
      const out = replayBody(req);
      res.json({ ended: req.readableEnded, replay: Buffer.isBuffer(out) ? out.toString('utf8') : String(out) });
    });
    app.post('/none', (req, res) => {
      res.json({ replay: String(replayBody(req)) });
    });
    const server = await listen(app);
    try {
      const payload = { jsonrpc: '2.0', id: 7, method: 'ping' };
      const res = await fetch(`${server.url}/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `  ${JSON.stringify(payload)}  ` });
      const got = (await res.json()) as { ended: boolean; replay: string };
      assert.equal(got.ended, true);
      assert.equal(got.replay, JSON.stringify(payload));
      const empty = await fetch(`${server.url}/none`, { method: 'POST', headers: { 'content-length': '0' } });
      assert.deepEqual(await empty.json(), { replay: 'undefined' });
    } finally {
      await server.close();
    }
  });
});

describe('sendRejection', () => {
  it('writes status, JSON-RPC body, content-type, exact content-length and no-store', async () => {
    const server = await listen((_req, res) => {
      res.setHeader('X-Request-Id', 'req-1');
      res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('ETag', '"abc"');
      sendRejection(res, reject(431, 'header_too_large', 'Request header field too large: x-mcp-api-key', 'x-mcp-api-key'));
    });
    try {
      const res = await fetch(`${server.url}/x`);
      assert.equal(res.status, 431);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-request-id'), 'req-1', 'headers set earlier by the host app stay');
      assert.equal(res.headers.get('content-encoding'), null, 'a header describing another body is removed');
      assert.equal(res.headers.get('etag'), null);
      const text = await res.text();
      assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text));
      assert.deepEqual(JSON.parse(text), {
        jsonrpc: '2.0',
        error: {
          code: GATEWAY_ERROR_CODE,
          message: 'Request header field too large: x-mcp-api-key',
          data: { reason: 'header_too_large', header: 'x-mcp-api-key' },
        },
        id: null,
      });
      assert.equal(GATEWAY_ERROR_CODE, -32000);
    } finally {
      await server.close();
    }
  });

  it('without a header name, data has only the reason; a non-ASCII message keeps an exact byte length', async () => {
    const server = await listen((_req, res) => {
      sendRejection(res, reject(502, 'backend_unreachable', 'Bad gateway – unreachable'));
    });
    try {
      const res = await fetch(`${server.url}/`);
      assert.equal(res.status, 502);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(Number(res.headers.get('content-length')), bytes.length);
      const body = JSON.parse(bytes.toString('utf8')) as { error: { data: Record<string, string>; message: string } };
      assert.deepEqual(body.error.data, { reason: 'backend_unreachable' });
      assert.equal(body.error.message, 'Bad gateway – unreachable');
    } finally {
      await server.close();
    }
  });

  it('once headers were sent, it destroys the connection instead of writing error text into the stream', async () => {
    let destroyed: boolean | undefined;
    const server = await listen((_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n', () => {
        sendRejection(res, reject(502, 'backend_unreachable', 'Bad gateway: the backend could not be reached'));
        destroyed = res.destroyed;
      });
    });
    try {
      const { raw, closedAt } = await rawExchange(server.port, 'GET /events HTTP/1.1\r\nHost: a\r\n\r\n', 3000);
      assert.notEqual(closedAt, undefined, `connection not closed within 3000 ms: ${raw}`);
      assert.match(raw, /^HTTP\/1\.1 200/);
      assert.match(raw, /data: first/);
      assert.ok(!raw.includes('jsonrpc'), 'no error body appended');
      assert.ok(!raw.includes('backend_unreachable'));
      assert.ok(!raw.endsWith('0\r\n\r\n'), 'no clean terminating chunk: the client can tell the stream broke');
      assert.equal(destroyed, true);
    } finally {
      await server.close();
    }
  });

  it('after the response ended it does nothing (no throw, no destroy, original response intact)', async () => {
    let destroyed: boolean | undefined;
    const server = await listen((_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end('done');
      sendRejection(res, reject(500, 'internal_error', 'Internal error'));
      destroyed = res.destroyed;
    });
    try {
      const res = await fetch(`${server.url}/`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'done');
      assert.equal(destroyed, false);
    } finally {
      await server.close();
    }
  });
});
