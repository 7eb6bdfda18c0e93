/**
 * Catalogue group D (security.md §5): hop-by-hop headers and `Connection` tricks, request side
 * (D1–D12) and response side (D13).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { listen } from '../helpers/listen.js';
import { httpText, rawHead } from '../helpers/raw-http.js';
import type { RecordedRequest } from '../helpers/recording-backend.js';
import {
  SENTINEL,
  SENTINEL_CLIENT_AUTH,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  SENTINEL_TENANT,
  STATIC_VALUE,
  assertAlive,
  assertParserRejected,
  assertRefusal,
  assertRejectedSince,
  sharedRelay,
  wireNames,
  wireText,
  wireValues,
  withRelay,
} from '../helpers/sec-relay.js';
import { HOP_BY_HOP_NAMES } from '../helpers/spec-names.js';

/**
 * Names the backend must never receive from a client request: every hop-by-hop name of the docs
 * (spec-names.ts) but Connection and Transfer-Encoding, which the relay's own agent writes (checked below
 * and by the wire checks).
 */
const HOP_BY_HOP = HOP_BY_HOP_NAMES.filter((name) => name !== 'connection' && name !== 'transfer-encoding');

function assertNoHopByHop(got: RecordedRequest): void {
  const names = wireNames(got);
  for (const name of HOP_BY_HOP) assert.ok(!names.includes(name), `${name} forwarded: ${wireText(got)}`);
  // The only Connection line is the relay's own (Node's agent writes "Connection: keep-alive").
  const connection = names.filter((n) => n === 'connection');
  assert.ok(connection.length <= 1, 'at most one Connection line');
}

/** The response head with lower-cased names (the shared raw helper would wait for a body after TE: chunked). */
async function responseHead(port: number, request: string): Promise<{ status: number; lines: [string, string][] }> {
  const res = await rawHead(port, request);
  return { status: res.status, lines: res.headerLines.map(([name, value]): [string, string] => [name.toLowerCase(), value]) };
}

/** The response head `respond` writes when asked directly, on a server of its own (not the relay's backend). */
async function directHead(respond: http.RequestListener): Promise<{ status: number; lines: [string, string][] }> {
  const direct = await listen(respond);
  try {
    return await responseHead(direct.port, httpText('GET /mcp HTTP/1.1', ['Host: b']));
  } finally {
    await direct.close();
  }
}

describe('D: hop-by-hop and Connection tricks', () => {
  describe('D1: Connection nominating a captured header, on one gateway', () => {
    const relay = sharedRelay();
    const nominations: [string, string[], string][] = [
      ['x-mcp-api-key', [`X-Mcp-Api-Key: ${SENTINEL_KEY}`], 'x-mcp-api-key'],
      ['keep-alive, X-MCP-API-KEY', [`X-Mcp-Api-Key: ${SENTINEL_KEY}`], 'x-mcp-api-key'],
      ['close,x-mcp-api-key', [`X-Mcp-Api-Key: ${SENTINEL_KEY}`], 'x-mcp-api-key'],
      ['X-Tenant', [`X-Tenant: ${SENTINEL_TENANT}`], 'x-tenant'],
    ];
    for (const [connection, lines, header] of nominations) {
      it(`D1: "Connection: ${connection}" with ${header} sent (a downstream hop would delete it) → 400 JSON, not forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await r.send([`Connection: ${connection}`, ...lines]);
        assertRejectedSince(forwarded, r, res, 400, 'connection_nominates_forwarded_header', header);
        await assertAlive(r);
      });
    }
  });

  it('D2: "Connection: x-static, x-backend-auth" (the static headers\' names) → static headers still injected, client Connection not forwarded', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['Connection: keep-alive, X-Static, x-backend-auth', 'X-Static: forged', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
      assert.deepEqual(wireValues(got, 'x-backend-auth'), [SENTINEL_SECRET]);
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
      const connection = wireValues(got, 'connection');
      assert.ok(
        connection.every((v) => !/x-static|x-backend-auth/i.test(v)),
        `client Connection forwarded: ${connection.join(' | ')}`,
      );
    });
  });

  it('D12: an HTTP/1.0 client\'s "Connection: keep-alive, x-foo" is never echoed into the response', async () => {
    await withRelay({}, async (r) => {
      const res = await r.raw(httpText('GET /b HTTP/1.0', ['Host: gw.test', 'Connection: keep-alive, x-foo', 'X-Foo: 1']));
      assert.equal(res.status, 200);
      const connection = res.headerLines.filter(([n]) => n.toLowerCase() === 'connection').map(([, v]) => v);
      assert.ok(
        connection.every((v) => !/x-foo/i.test(v)),
        `client Connection echoed: ${connection.join(' | ')}`,
      );
      assert.ok(!wireValues(r.backend.last(), 'x-foo').length, 'x-foo forwarded');
    });
  });

  const protectedTokens: [string, string[]][] = [
    ['mcp-session-id', ['Mcp-Session-Id: s-1']],
    ['mcp-protocol-version', ['MCP-Protocol-Version: 2025-11-25']],
    ['content-type', ['Content-Type: application/json']],
    ['mcp-param-region', []],
    ['authorization', [`Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`]],
    ['cookie', [`Cookie: sid=${SENTINEL}-cookie`]],
    ['host', []],
    ['content-length', []],
    ['transfer-encoding', []],
    ['x-forwarded-for', ['X-Forwarded-For: 6.6.6.6']],
    ['x-forwarded-host', []],
    ['forwarded', []],
    ['via', []],
    ['x-real-ip', []],
    ['x-envoy-internal', []],
  ];
  describe('D3: Connection nominating a protected name, on one gateway', () => {
    const relay = sharedRelay();
    for (const [token, extra] of protectedTokens) {
      for (const connection of [token, `keep-alive, ${token.toUpperCase()}`]) {
        it(`D3: "Connection: ${connection}" → 400 JSON connection_nominates_forwarded_header, not forwarded`, async () => {
          const r = relay();
          const forwarded = r.backend.requests.length;
          const res = await r.send([`Connection: ${connection}`, ...extra, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
          assertRejectedSince(forwarded, r, res, 400, 'connection_nominates_forwarded_header', token);
        });
      }
    }
  });

  it('D4: two Connection lines, the first empty and the second "x-foo" (CVE-2021-33197 shape): every line is parsed, x-foo stripped', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['Connection:', 'Connection: x-foo', 'X-Foo: hop-value', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.ok(!wireNames(got).includes('x-foo'));
      assert.ok(!wireText(got).includes('hop-value'));
      assertNoHopByHop(got);
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
    });
  });

  describe('D4: a nomination hidden in a later Connection line, on one gateway', () => {
    const relay = sharedRelay();
    for (const lines of [
      ['Connection:', 'Connection: x-mcp-api-key'],
      ['Connection: keep-alive', 'Connection: x-mcp-api-key'],
      ['Connection: ,', 'Connection: close', 'Connection: , X-Mcp-Api-Key'],
    ]) {
      it(`D4: Connection lines ${lines.map((l) => JSON.stringify(l.slice('Connection:'.length).trim())).join(', ')}, the last nominating x-mcp-api-key → 400 JSON (the hidden token is seen)`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await r.send([...lines, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
        assertRejectedSince(forwarded, r, res, 400, 'connection_nominates_forwarded_header', 'x-mcp-api-key');
      });
    }
  });

  it('D5: "Connection: close ,  X-Foo ,, " is parsed with trimming, empty elements skipped and case folded', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['Connection: close ,  X-Foo ,, ', 'X-Foo: hop-value', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.ok(!wireNames(got).includes('x-foo'));
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
      const refused = await r.send(['Connection: close ,  X-MCP-Api-Key ,, ', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assertRefusal(refused, r, 400, 'connection_nominates_forwarded_header', 'x-mcp-api-key');
      const tab = await r.send(['Connection: ,\tMcp-Session-Id\t,', `Mcp-Session-Id: ${SENTINEL}-session`]);
      assertRefusal(tab, r, 400, 'connection_nominates_forwarded_header', 'mcp-session-id');
      assert.equal(r.backend.requests.length, 1, 'neither refused request was forwarded');
    });
  });

  it('D6: "Trailer: x" on a GET (crashes a bare HPM with ERR_HTTP_TRAILER_INVALID) → 200, header stripped, process alive', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['Trailer: x', 'TE: trailers', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      assertNoHopByHop(r.backend.last());
      await assertAlive(r);
    });
  });

  it('D6: "Trailer: x" on a POST with Content-Length → 200, header stripped, body intact, process alive', async () => {
    await withRelay({}, async (r) => {
      const body = '{"jsonrpc":"2.0","method":"ping","id":1}';
      const res = await r.send(['Trailer: x-checksum', 'Content-Type: application/json', `X-Mcp-Api-Key: ${SENTINEL_KEY}`], { method: 'POST', body });
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assertNoHopByHop(got);
      assert.equal(got.body, body);
      assert.deepEqual(wireValues(got, 'content-length'), [String(Buffer.byteLength(body))]);
      await assertAlive(r);
    });
  });

  it('D6: a chunked POST with "Trailer" and a real trailer field → 200, body intact, no Trailer header forwarded', async () => {
    await withRelay({}, async (r) => {
      const request = httpText(
        'POST /b HTTP/1.1',
        ['Host: gw.test', 'Transfer-Encoding: chunked', 'Trailer: X-Checksum', 'Content-Type: application/json', `X-Mcp-Api-Key: ${SENTINEL_KEY}`],
        '7\r\n{"a":1}\r\n0\r\nX-Checksum: abc\r\n\r\n',
      );
      const res = await r.raw(request);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assertNoHopByHop(got);
      assert.ok(!wireNames(got).includes('x-checksum'));
      assert.equal(got.body, '{"a":1}');
      await assertAlive(r);
    });
  });

  it('D7: "Expect: 100-continue" on a POST (makes HPM skip proxyReq) → static headers injected, Authorization not forwarded, Expect stripped', async () => {
    await withRelay({}, async (r) => {
      const body = '{"jsonrpc":"2.0","method":"ping","id":1}';
      const res = await r.send(
        [
          'Expect: 100-continue',
          `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`,
          'X-Static: forged',
          'Content-Type: application/json',
          `X-Mcp-Api-Key: ${SENTINEL_KEY}`,
        ],
        { method: 'POST', body },
      );
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
      assert.deepEqual(wireValues(got, 'x-backend-auth'), [SENTINEL_SECRET]);
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
      assert.deepEqual(wireValues(got, 'authorization'), []);
      assert.ok(!wireText(got).includes(SENTINEL_CLIENT_AUTH));
      assertNoHopByHop(got);
      assert.equal(got.body, body);
    });
  });

  it('D7: "Expect: 100-continue" on a GET with no body → static headers injected, Authorization not forwarded, Expect stripped', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['Expect: 100-continue', `Authorization: Bearer ${SENTINEL_CLIENT_AUTH}`, 'x-backend-auth: forged']);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
      assert.deepEqual(wireValues(got, 'x-backend-auth'), [SENTINEL_SECRET]);
      assert.deepEqual(wireValues(got, 'authorization'), []);
      assertNoHopByHop(got);
    });
  });

  it('D8: TE, Keep-Alive, Proxy-Connection and Proxy-Authorization are all stripped', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send([
        'TE: trailers, gzip',
        'Keep-Alive: timeout=5, max=1000',
        'Proxy-Connection: keep-alive',
        `Proxy-Authorization: Basic ${Buffer.from(`user:${SENTINEL}-proxy`).toString('base64')}`,
        `Proxy-Authorization: Bearer ${SENTINEL}-proxy2`,
        `X-Mcp-Api-Key: ${SENTINEL_KEY}`,
      ]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assertNoHopByHop(got);
      for (const name of ['te', 'keep-alive', 'proxy-connection', 'proxy-authorization']) assert.ok(!wireNames(got).includes(name), name);
      assert.ok(!wireText(got).includes(Buffer.from(`user:${SENTINEL}-proxy`).toString('base64')));
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
    });
  });

  it('D9: "Connection: Upgrade, HTTP2-Settings" + "Upgrade: h2c" (h2c smuggling) → answered over HTTP/1.1, Upgrade and HTTP2-Settings stripped', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQAAP__', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assertNoHopByHop(got);
      assert.ok(!wireNames(got).includes('upgrade'));
      assert.ok(!wireNames(got).includes('http2-settings'));
      assert.ok(!/upgrade/i.test(wireValues(got, 'connection').join(',')));
    });
  });

  it('D9: "Connection: Upgrade" + "Upgrade: websocket" on the MCP route → no 101, Upgrade and Sec-WebSocket-* not used to upgrade the backend', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send([
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        `X-Mcp-Api-Key: ${SENTINEL_KEY}`,
      ]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assertNoHopByHop(got);
      assert.ok(!wireNames(got).includes('upgrade'));
      assert.ok(!wireNames(got).some((n) => n.startsWith('sec-websocket')), `forwarded: ${wireText(got)}`);
    });
  });

  it("D10 (layer P): Transfer-Encoding: chunked together with Content-Length gets Node's 400 and never reaches the relay", async () => {
    await withRelay({}, async (r) => {
      const request = httpText(
        'POST /b HTTP/1.1',
        ['Host: gw.test', 'Transfer-Encoding: chunked', 'Content-Length: 5', `X-Mcp-Api-Key: ${SENTINEL_KEY}`],
        '5\r\nhello\r\n0\r\n\r\n',
      );
      await assertParserRejected(r, await r.raw(request), 400);
    });
  });

  it("D10 (layer P): two Content-Length lines, even identical, get Node's 400 and never reach the relay", async () => {
    await withRelay({}, async (r) => {
      const request = httpText('POST /b HTTP/1.1', ['Host: gw.test', 'Content-Length: 5', 'Content-Length: 5', `X-Mcp-Api-Key: ${SENTINEL_KEY}`], 'hello');
      await assertParserRejected(r, await r.raw(request), 400);
    });
  });

  it('D11: forged X-Forwarded-*, Forwarded, Via, X-Real-IP and X-Envoy-* are stripped; Host comes from the target', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send([
        'X-Forwarded-For: 6.6.6.6',
        'X-Forwarded-Host: evil.example',
        'X-Forwarded-Proto: https',
        'X-Forwarded-Port: 443',
        'X-Forwarded-Prefix: /admin',
        'Forwarded: for=6.6.6.6;host=evil.example',
        'Via: 1.1 evil',
        'X-Real-IP: 6.6.6.6',
        'X-Envoy-Internal: true',
        'X-Envoy-Original-Path: /admin',
        `X-Mcp-Api-Key: ${SENTINEL_KEY}`,
      ]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      const names = wireNames(got);
      for (const name of names) {
        assert.ok(!/^(x-forwarded-|x-envoy-)/.test(name) && !['forwarded', 'via', 'x-real-ip'].includes(name), `${name} forwarded`);
      }
      const all = wireText(got);
      assert.ok(!all.includes('6.6.6.6') && !all.includes('evil') && !all.includes('/admin'), all);
      assert.deepEqual(wireValues(got, 'host'), [`127.0.0.1:${r.backend.port}`]);
    });
  });

  describe("D12: the client's Connection header, on one gateway", () => {
    const relay = sharedRelay();
    for (const connection of ['Keep-Alive', 'Keep-Alive, X-Foo', 'close']) {
      it(`D12: the client's "Connection: ${connection}" is never forwarded; the backend sees only the agent-owned Connection`, async () => {
        const r = relay();
        const res = await r.send([`Connection: ${connection}`, 'X-Foo: hop-value', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
        assert.equal(res.status, 200);
        const got = r.backend.last();
        const lines = wireValues(got, 'connection');
        assert.equal(lines.length, 1, `Connection lines: ${lines.join(' | ')}`);
        // Node writes its own lower-case token; the client's "Keep-Alive"/"X-Foo" never appear.
        assert.match(lines[0]!, /^(keep-alive|close)$/);
        assert.ok(!wireNames(got).includes('x-foo'));
      });
    }
  });

  it('D13: hop-by-hop response headers (Connection: x-foo, X-Foo, Keep-Alive, Upgrade, Proxy-Authenticate, Trailer, TE) do not reach the client', async () => {
    const hopHeaders = {
      'Content-Type': 'application/json',
      Connection: 'x-foo, X-Bar',
      'X-Foo': 'hop-foo',
      'X-Bar': 'hop-bar',
      'Keep-Alive': 'timeout=5',
      Upgrade: 'h2c',
      'Proxy-Authenticate': 'Basic realm="backend"',
      Trailer: 'x-t',
      TE: 'trailers',
      'X-End-To-End': 'kept',
    };
    const respond = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(200, hopHeaders);
      res.write('{"ok":true}');
      res.addTrailers({ 'x-t': '1' });
      res.end();
    };
    await withRelay({ respond, responseHeaders: ['x-end-to-end'] }, async (r) => {
      // Positive control: the same responder, asked directly, really sends them.
      const direct = await directHead(respond);
      const directNames = direct.lines.map(([n]) => n);
      for (const name of ['x-foo', 'x-bar', 'keep-alive', 'upgrade', 'proxy-authenticate', 'trailer', 'te']) {
        assert.ok(directNames.includes(name), `control: backend sends ${name}`);
      }
      const via = await responseHead(r.port, httpText('GET /b HTTP/1.1', ['Host: gw.test', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]));
      assert.equal(via.status, 200);
      const names = via.lines.map(([n]) => n);
      for (const name of ['x-foo', 'x-bar', 'keep-alive', 'upgrade', 'proxy-authenticate', 'trailer', 'te']) {
        assert.ok(!names.includes(name), `${name} reached the client: ${JSON.stringify(via.lines)}`);
      }
      assert.ok(names.includes('x-end-to-end'), 'end-to-end headers still pass');
      const connection = via.lines.filter(([n]) => n === 'connection').map(([, v]) => v);
      assert.deepEqual(connection, ['keep-alive']);
      // The gateway frames its own response: at most its own single chunked declaration.
      assert.ok(via.lines.filter(([n]) => n === 'transfer-encoding').length <= 1);
    });
  });

  it('D13: a 204 with Transfer-Encoding, Connection: x-foo, X-Foo and Keep-Alive reaches the client without any of them', async () => {
    const respond = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(204, { 'Transfer-Encoding': 'chunked', Connection: 'x-foo', 'X-Foo': 'hop-foo', 'Keep-Alive': 'timeout=5', 'X-End-To-End': 'kept' });
      res.end();
    };
    await withRelay({ respond, responseHeaders: ['x-end-to-end'] }, async (r) => {
      const direct = await directHead(respond);
      const directNames = direct.lines.map(([n]) => n);
      for (const name of ['transfer-encoding', 'x-foo', 'keep-alive']) assert.ok(directNames.includes(name), `control: backend sends ${name}`);
      const via = await responseHead(r.port, httpText('GET /b HTTP/1.1', ['Host: gw.test']));
      assert.equal(via.status, 204);
      const names = via.lines.map(([n]) => n);
      for (const name of ['transfer-encoding', 'x-foo', 'keep-alive']) {
        assert.ok(!names.includes(name), `${name} reached the client: ${JSON.stringify(via.lines)}`);
      }
      assert.ok(names.includes('x-end-to-end'));
      assert.deepEqual(
        via.lines.filter(([n]) => n === 'connection').map(([, v]) => v),
        ['keep-alive'],
      );
      // The connection is still usable afterwards (no desynchronised framing).
      const res = await new Promise<number>((resolve, reject) => {
        http
          .get(`${r.gateway.url}/b`, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          })
          .on('error', reject);
      });
      assert.equal(res, 204);
    });
  });
});
