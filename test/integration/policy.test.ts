/**
 * What a real backend receives through a real Express app: exactly the protocol headers the client
 * sent, the captured headers this route takes, the route's static and secret-backed headers, the
 * body framing, and the `host`/`connection` Node sets. Every test compares the full list of header
 * names the backend got, so any extra header that leaks through fails it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { captureHeaders, envSecrets, getForwardedHeaders, mcpProxy } from '../../lib/index.js';
import type { ForwardedHeaders } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { httpText, rawRequest } from '../helpers/raw-http.js';
import { recordingBackend, type RecordedRequest, type RecordingBackend } from '../helpers/recording-backend.js';
import { waitFor } from '../helpers/wait.js';

/** Raw requests call the gateway by name, fetch and supertest by address; the Origin they send (to be dropped) is a web client's. */
const BY_NAME = { allowedHosts: ['gateway.example', '127.0.0.1'], allowedOrigins: ['http://web.example'] };
const SECRET = 'S3NT1NEL-github-api-key-7f3a';
const JSON_BODY = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"q":"héllo"}}}';

/** Header names exactly as the backend received them (lower-cased, sorted, duplicates kept). */
function headerNames(recorded: RecordedRequest): string[] {
  return recorded.rawHeaders
    .filter((_, i) => i % 2 === 0)
    .map((n) => n.toLowerCase())
    .sort();
}

/** Every raw line for `name` the backend received. */
function headerLines(recorded: RecordedRequest, name: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < recorded.rawHeaders.length; i += 2) {
    if (recorded.rawHeaders[i]!.toLowerCase() === name) lines.push(recorded.rawHeaders[i + 1]!);
  }
  return lines;
}

function sorted(names: string[]): string[] {
  return [...names].sort();
}

/** Sends a raw request and returns the status plus the single request the backend recorded for it. */
async function send(relay: Listening, backend: RecordingBackend, text: string): Promise<{ status: number; body: string; recorded: RecordedRequest }> {
  const before = backend.requests.length;
  const res = await rawRequest(relay.port, text);
  assert.equal(res.status, 200, `relay answered ${res.status}: ${res.body}`);
  assert.equal(backend.requests.length, before + 1, 'the backend received exactly one request');
  return { status: res.status, body: res.body, recorded: backend.last() };
}

/** A POST carrying every protocol header, captured headers, credentials, forged routing headers and forged static names. */
function fullPost(path: string, extra: string[] = []): string {
  return httpText(
    `POST ${path} HTTP/1.1`,
    [
      'Host: gateway.example',
      'Content-Type: application/json',
      'Accept: application/json, text/event-stream',
      'Mcp-Session-Id: 3f9c2d1e-session',
      'Mcp-Protocol-Version: 2025-06-18',
      'Last-Event-Id: ev-42',
      'Mcp-Method: tools/call',
      'Mcp-Name: search',
      'Mcp-Param-Region: =?base64?ZXUtd2VzdC0x?=',
      'X-Mcp-Api-Key: client-key-1',
      'X-Tenant: acme',
      'X-Unlisted: not-in-allow',
      'User-Agent: evil-agent/1.0',
      'Origin: http://web.example',
      'Cookie: session=victim',
      'Authorization: Bearer client-token',
      'X-Forwarded-For: 6.6.6.6',
      'Forwarded: for=6.6.6.6',
      'Via: 1.1 evil',
      'X-Real-IP: 6.6.6.6',
      'X-Api-Key: forged-by-client',
      'X-MCP-Toolsets: forged-by-client',
      'x_mcp_api_key: underscore-twin',
      ...extra,
      `Content-Length: ${Buffer.byteLength(JSON_BODY)}`,
    ],
    JSON_BODY,
  );
}

describe('forwarding policy: the exact header set a backend receives', () => {
  let backend: RecordingBackend;
  let relay: Listening;
  const logger = captureLogger();

  before(async () => {
    backend = await recordingBackend();
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'], logger }));
    app.use(
      '/github',
      mcpProxy({
        ...BY_NAME,
        target: `${backend.url}/mcp`,
        passthrough: ['x-mcp-api-key'],
        headers: { plaintext: { 'X-MCP-Toolsets': 'projects' }, fromSecret: { 'X-Api-Key': 'GITHUB_API_KEY' } },
        secrets: envSecrets({ GITHUB_API_KEY: SECRET }),
        logger,
      }),
    );
    app.use('/all', mcpProxy({ ...BY_NAME, target: `${backend.url}/mcp`, logger }));
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
    await backend.close();
  });

  it('the backend gets exactly protocol + passthrough + static + secret + framing + host/connection, nothing else', async () => {
    const { recorded } = await send(relay, backend, fullPost('/github'));
    assert.deepEqual(
      headerNames(recorded),
      sorted([
        'accept',
        'connection',
        'content-length',
        'content-type',
        'host',
        'last-event-id',
        'mcp-method',
        'mcp-name',
        'mcp-param-region',
        'mcp-protocol-version',
        'mcp-session-id',
        'x-api-key',
        'x-mcp-api-key',
        'x-mcp-toolsets',
      ]),
    );
  });

  it('MCP protocol headers (session id, protocol version, last-event-id, accept, content-type, mcp-method, mcp-name, mcp-param-*) arrive unchanged', async () => {
    const { recorded } = await send(relay, backend, fullPost('/github'));
    assert.equal(recorded.headers['mcp-session-id'], '3f9c2d1e-session');
    assert.equal(recorded.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(recorded.headers['last-event-id'], 'ev-42');
    assert.equal(recorded.headers.accept, 'application/json, text/event-stream');
    assert.equal(recorded.headers['content-type'], 'application/json');
    assert.equal(recorded.headers['mcp-method'], 'tools/call');
    assert.equal(recorded.headers['mcp-name'], 'search');
    assert.equal(recorded.headers['mcp-param-region'], '=?base64?ZXUtd2VzdC0x?=', 'B13: Mcp-Param-* forwarded untouched');
  });

  it('the captured passthrough header arrives once with the client value; an underscore twin (x_mcp_api_key) does not arrive', async () => {
    const { recorded } = await send(relay, backend, fullPost('/github'));
    assert.deepEqual(headerLines(recorded, 'x-mcp-api-key'), ['client-key-1']);
    assert.deepEqual(headerLines(recorded, 'x_mcp_api_key'), []);
  });

  it('A3: a client forging the static header X-MCP-Toolsets and the secret header X-Api-Key gets the configured values, once each', async () => {
    const { recorded } = await send(relay, backend, fullPost('/github'));
    assert.deepEqual(headerLines(recorded, 'x-mcp-toolsets'), ['projects']);
    assert.deepEqual(headerLines(recorded, 'x-api-key'), [SECRET]);
  });

  it('D11: user-agent, origin, cookie, authorization, x-forwarded-for, forwarded, via and x-real-ip sent by the client are dropped', async () => {
    const { recorded } = await send(relay, backend, fullPost('/github'));
    for (const name of ['user-agent', 'origin', 'cookie', 'authorization', 'x-forwarded-for', 'forwarded', 'via', 'x-real-ip']) {
      assert.equal(recorded.headers[name], undefined, `${name} must not reach the backend`);
    }
  });

  it('Host is the target host:port, never the client-supplied Host: gateway.example', async () => {
    const { recorded } = await send(relay, backend, fullPost('/github'));
    assert.deepEqual(headerLines(recorded, 'host'), [`127.0.0.1:${backend.port}`]);
  });

  it('a captured header outside the explicit passthrough subset (x-tenant) is not forwarded', async () => {
    const { recorded } = await send(relay, backend, fullPost('/github'));
    assert.equal(recorded.headers['x-tenant'], undefined);
    assert.equal(recorded.headers['x-unlisted'], undefined);
  });

  it('default passthrough forwards every captured header (x-mcp-api-key and x-tenant) and nothing uncaptured', async () => {
    const { recorded } = await send(relay, backend, fullPost('/all'));
    assert.deepEqual(
      headerNames(recorded),
      sorted([
        'accept',
        'connection',
        'content-length',
        'content-type',
        'host',
        'last-event-id',
        'mcp-method',
        'mcp-name',
        'mcp-param-region',
        'mcp-protocol-version',
        'mcp-session-id',
        'x-mcp-api-key',
        'x-tenant',
      ]),
    );
    assert.equal(recorded.headers['x-tenant'], 'acme');
    assert.equal(recorded.headers['x-mcp-api-key'], 'client-key-1');
  });

  for (const method of ['GET', 'DELETE']) {
    it(`a ${method} without a body${method === 'GET' ? ' (SSE stream open)' : ''} arrives with no body (${method === 'GET' ? 'no framing' : 'content-length: 0 only'})`, async () => {
      const { recorded } = await send(
        relay,
        backend,
        httpText(`${method} /github HTTP/1.1`, [
          'Host: gateway.example',
          'Accept: text/event-stream',
          'Mcp-Session-Id: 3f9c2d1e-session',
          'X-Mcp-Api-Key: client-key-1',
          'User-Agent: curl/8',
        ]),
      );
      assert.equal(recorded.method, method);
      assert.equal(recorded.body, '', 'no body');
      // http-proxy (httpxy) declares an empty DELETE/OPTIONS body as `content-length: 0`; never chunked.
      const framing = method === 'DELETE' ? ['content-length'] : [];
      assert.deepEqual(
        headerNames(recorded),
        sorted(['accept', 'connection', 'host', 'mcp-session-id', 'x-api-key', 'x-mcp-api-key', 'x-mcp-toolsets', ...framing]),
        'no transfer-encoding, no body framing beyond an empty content-length',
      );
      if (method === 'DELETE') assert.equal(recorded.headers['content-length'], '0');
    });
  }

  it('a DELETE that carries a body is refused (400 unexpected_body), so it can never become a smuggled second request', async () => {
    const smuggled = 'GET /admin HTTP/1.1\r\nHost: internal\r\n\r\n';
    const before = backend.requests.length;
    const res = await rawRequest(
      relay.port,
      httpText(
        'DELETE /github HTTP/1.1',
        ['Host: gateway.example', 'Mcp-Session-Id: 3f9c2d1e-session', `Content-Length: ${Buffer.byteLength(smuggled)}`],
        smuggled,
      ),
    );
    assert.equal(res.status, 400);
    assert.match(res.body, /"reason":"unexpected_body"/);
    const ended = await send(
      relay,
      backend,
      httpText('DELETE /github HTTP/1.1', ['Host: gateway.example', 'Mcp-Session-Id: 3f9c2d1e-session', 'Content-Length: 0']),
    );
    assert.equal(ended.recorded.method, 'DELETE', 'a DELETE with Content-Length: 0 is forwarded');
    assert.equal(backend.requests.length, before + 1);
    assert.ok(
      backend.requests.every((r) => r.url !== '/admin'),
      'no request for /admin reached the backend',
    );
  });

  it('a POST with no body parser arrives byte-identical (256 KiB, multi-byte UTF-8, CRLF, tabs) with the same content-length', async () => {
    const unit = '{"k":"é—😀\\r\\n"}\r\n\t ключ ';
    const payload = unit.repeat(Math.ceil((256 * 1024) / Buffer.byteLength(unit)));
    const res = await fetch(`${relay.url}/github`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const recorded = backend.last();
    assert.equal(recorded.headers['content-length'], String(Buffer.byteLength(payload)));
    assert.ok(recorded.body === payload, 'body differs from what the client sent');
  });

  it('a chunked POST with no body parser arrives byte-identical and is re-framed as chunked', async () => {
    const parts = ['{"jsonrpc":"2.0",', '"id":7,"method":"ping",', '"params":{"s":"ñ😀"}}'];
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${relay.url}/github`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      for (const p of parts) req.write(p);
      req.end();
    });
    assert.equal(status, 200);
    const recorded = backend.last();
    assert.equal(recorded.headers['transfer-encoding'], 'chunked');
    assert.equal(recorded.headers['content-length'], undefined);
    assert.equal(recorded.body, parts.join(''));
  });
});

describe('forwarding policy: credentials', () => {
  let backend: RecordingBackend;
  let relay: Listening;
  const capturedSeen: ForwardedHeaders[] = [];
  const logger = captureLogger();

  before(async () => {
    backend = await recordingBackend();
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key', 'authorization', 'cookie'], allowCredentials: true, logger }));
    app.use((req, _res, next) => {
      capturedSeen.push(getForwardedHeaders(req));
      next();
    });
    app.use('/default', mcpProxy({ ...BY_NAME, target: `${backend.url}/mcp`, logger }));
    app.use('/optin', mcpProxy({ ...BY_NAME, target: `${backend.url}/mcp`, allowCredentials: true, logger }));
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
    await backend.close();
  });

  const request = (path: string): string =>
    httpText(`GET ${path} HTTP/1.1`, [
      'Host: gateway.example',
      'Accept: text/event-stream',
      'Authorization: Bearer caller-token',
      'Cookie: sid=caller-cookie',
      'X-Mcp-Api-Key: k1',
    ]);

  it('authorization and cookie captured with allowCredentials on captureHeaders are still dropped by a route without allowCredentials', async () => {
    const { recorded } = await send(relay, backend, request('/default'));
    const captured = capturedSeen.at(-1)!;
    assert.equal(captured.authorization, 'Bearer caller-token', 'precondition: captureHeaders captured authorization');
    assert.equal(captured.cookie, 'sid=caller-cookie', 'precondition: captureHeaders captured cookie');
    assert.deepEqual(headerNames(recorded), sorted(['accept', 'connection', 'host', 'x-mcp-api-key']));
  });

  it('authorization and cookie are forwarded only when the route also sets allowCredentials', async () => {
    const { recorded } = await send(relay, backend, request('/optin'));
    assert.deepEqual(headerNames(recorded), sorted(['accept', 'authorization', 'connection', 'cookie', 'host', 'x-mcp-api-key']));
    assert.equal(recorded.headers.authorization, 'Bearer caller-token');
    assert.equal(recorded.headers.cookie, 'sid=caller-cookie');
  });
});

describe('forwarding policy: static and secret headers', () => {
  let backend: RecordingBackend;
  let relay: Listening;
  const logger = captureLogger();

  before(async () => {
    backend = await recordingBackend();
    const app = express();
    app.use(captureHeaders({ allow: ['x-toolsets', 'x-mcp-api-key'], logger }));
    app.use(
      '/gh',
      mcpProxy({
        ...BY_NAME,
        target: `${backend.url}/mcp`,
        headers: { plaintext: { 'X-Toolsets': 'projects' }, fromSecret: { Authorization: 'GH_TOKEN' } },
        secrets: envSecrets({ GH_TOKEN: `Bearer ${SECRET}` }),
        logger,
      }),
    );
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
    await backend.close();
  });

  it('A3: static plaintext X-Toolsets wins over the captured x-toolsets: forged (default passthrough), one line only', async () => {
    const { recorded } = await send(relay, backend, httpText('GET /gh HTTP/1.1', ['Host: gateway.example', 'X-Toolsets: forged', 'X-Mcp-Api-Key: k1']));
    assert.deepEqual(headerLines(recorded, 'x-toolsets'), ['projects']);
    assert.deepEqual(headerNames(recorded), sorted(['authorization', 'connection', 'host', 'x-mcp-api-key', 'x-toolsets']));
  });

  it('the fromSecret Authorization value is injected and replaces the client Authorization: Bearer stolen', async () => {
    const { recorded } = await send(relay, backend, httpText('GET /gh HTTP/1.1', ['Host: gateway.example', 'Authorization: Bearer stolen']));
    assert.deepEqual(headerLines(recorded, 'authorization'), [`Bearer ${SECRET}`]);
  });
});

describe('forwarding policy: without captureHeaders', () => {
  let backend: RecordingBackend;
  let relay: Listening;
  const logger = captureLogger();
  const seen: { forwarded: ForwardedHeaders }[] = [];

  before(async () => {
    backend = await recordingBackend();
    const app = express();
    app.use((req, _res, next) => {
      seen.push({ forwarded: getForwardedHeaders(req) });
      next();
    });
    app.use('/gh', mcpProxy({ ...BY_NAME, target: `${backend.url}/mcp`, headers: { plaintext: { 'X-MCP-Toolsets': 'projects' } }, logger }));
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
    await backend.close();
  });

  it('capture not mounted: only protocol headers, static headers, framing and host/connection arrive (x-mcp-api-key is dropped)', async () => {
    const { recorded } = await send(relay, backend, fullPost('/gh'));
    assert.deepEqual(
      headerNames(recorded),
      sorted([
        'accept',
        'connection',
        'content-length',
        'content-type',
        'host',
        'last-event-id',
        'mcp-method',
        'mcp-name',
        'mcp-param-region',
        'mcp-protocol-version',
        'mcp-session-id',
        'x-mcp-toolsets',
      ]),
    );
    assert.deepEqual(headerLines(recorded, 'x-mcp-toolsets'), ['projects']);
  });

  it('getForwardedHeaders(req) without capture is an empty frozen object', async () => {
    await send(relay, backend, httpText('GET /gh HTTP/1.1', ['Host: gateway.example', 'X-Mcp-Api-Key: k1']));
    const { forwarded } = seen.at(-1)!;
    assert.deepEqual(Object.keys(forwarded), []);
    assert.ok(Object.isFrozen(forwarded));
    assert.equal(Reflect.set(forwarded, 'x-mcp-api-key', 'added'), false, 'the empty object cannot be written to');
    assert.deepEqual(Object.keys(getForwardedHeaders(new http.IncomingMessage(null as never))), []);
  });
});

describe('getForwardedHeaders in a route handler', () => {
  let relay: Listening;
  const logger = captureLogger();

  before(async () => {
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'], logger }));
    app.get('/inspect', (req, res) => {
      const forwarded = getForwardedHeaders(req);
      let threw = false;
      try {
        (forwarded as Record<string, string>)['x-mcp-api-key'] = 'overwritten';
      } catch {
        threw = true;
      }
      res.json({ frozen: Object.isFrozen(forwarded), threw, forwarded });
    });
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
  });

  it('returns a frozen object of the allowlisted headers only; writing to it throws (strict mode) and changes nothing', async () => {
    const res = await fetch(`${relay.url}/inspect`, {
      headers: { 'X-Mcp-Api-Key': 'k1', 'X-Tenant': 'acme', 'X-Other': 'nope', Authorization: 'Bearer t' },
    });
    const body = (await res.json()) as { frozen: boolean; threw: boolean; forwarded: Record<string, string> };
    assert.equal(res.status, 200);
    assert.equal(body.frozen, true);
    assert.equal(body.threw, true);
    assert.deepEqual(body.forwarded, { 'x-mcp-api-key': 'k1', 'x-tenant': 'acme' });
  });
});

describe('forwarding policy: two routes with different static headers', () => {
  let backendA: RecordingBackend;
  let backendB: RecordingBackend;
  let relay: Listening;
  const logger = captureLogger();

  before(async () => {
    backendA = await recordingBackend();
    backendB = await recordingBackend();
    const secrets = envSecrets({ KEY_A: 'secret-for-a', KEY_B: 'secret-for-b' });
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use(
      '/a',
      mcpProxy({
        ...BY_NAME,
        target: `${backendA.url}/mcp`,
        headers: { plaintext: { 'X-Route-A': 'a' }, fromSecret: { 'X-Key-A': 'KEY_A' } },
        secrets,
        logger,
      }),
    );
    app.use(
      '/b',
      mcpProxy({
        ...BY_NAME,
        target: `${backendB.url}/mcp`,
        headers: { plaintext: { 'X-Route-B': 'b' }, fromSecret: { 'X-Key-B': 'KEY_B' } },
        secrets,
        logger,
      }),
    );
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
    await backendA.close();
    await backendB.close();
  });

  it("each backend sees only its own route static and secret headers, never the other route's", async () => {
    const lines = ['Host: gateway.example', 'Accept: application/json', 'X-Mcp-Api-Key: k1'];
    const a = await send(relay, backendA, httpText('GET /a HTTP/1.1', lines));
    const b = await send(relay, backendB, httpText('GET /b HTTP/1.1', lines));
    // And A again after B: nothing of B's configuration sticks to the shared request path.
    const a2 = await send(relay, backendA, httpText('GET /a HTTP/1.1', lines));
    assert.deepEqual(headerNames(a.recorded), sorted(['accept', 'connection', 'host', 'x-key-a', 'x-mcp-api-key', 'x-route-a']));
    assert.deepEqual(headerNames(b.recorded), sorted(['accept', 'connection', 'host', 'x-key-b', 'x-mcp-api-key', 'x-route-b']));
    assert.deepEqual(headerNames(a2.recorded), headerNames(a.recorded));
    assert.equal(a.recorded.headers['x-key-a'], 'secret-for-a');
    assert.equal(b.recorded.headers['x-key-b'], 'secret-for-b');
  });
});

describe('forwarding policy: the host app sees the client headers again', () => {
  let backend: RecordingBackend;
  let relay: Listening;
  const logger = captureLogger();
  const snapshots: { before: IncomingHttpHeaders; atFinish?: IncomingHttpHeaders }[] = [];

  before(async () => {
    backend = await recordingBackend();
    const app = express();
    app.use((req, res, next) => {
      const entry: (typeof snapshots)[number] = { before: { ...req.headers } };
      snapshots.push(entry);
      res.on('finish', () => {
        entry.atFinish = { ...req.headers };
      });
      next();
    });
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use(
      '/gh',
      mcpProxy({
        ...BY_NAME,
        target: `${backend.url}/mcp`,
        headers: { plaintext: { 'X-MCP-Toolsets': 'projects' }, fromSecret: { 'X-Api-Key': 'GITHUB_API_KEY' } },
        secrets: envSecrets({ GITHUB_API_KEY: SECRET }),
        logger,
      }),
    );
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
    await backend.close();
  });

  it('a res.on("finish") handler after the proxy sees the client\'s original req.headers, not the outgoing set with the secret', async () => {
    await send(relay, backend, fullPost('/gh'));
    const entry = snapshots.at(-1)!;
    await waitFor(() => entry.atFinish !== undefined, 'the finish handler to run', 1000);
    assert.ok(entry.atFinish, 'finish fired');
    assert.deepEqual(entry.atFinish, entry.before);
    assert.equal(entry.atFinish.host, 'gateway.example');
    assert.equal(entry.atFinish['user-agent'], 'evil-agent/1.0');
    assert.equal(entry.atFinish['x-api-key'], 'forged-by-client');
    assert.ok(!JSON.stringify(entry.atFinish).includes(SECRET), 'the secret is not visible to the host app');
  });
});
