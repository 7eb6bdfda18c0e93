/**
 * Catalogue group A (security.md §5): header-name attacks against captureHeaders + mcpProxy.
 * Layer P cases assert Node's parser answered and no relay code ran; layer R cases assert the exact
 * JSON-RPC rejection or exactly what the recording backend received.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { h2Request } from '../helpers/h2-client.js';
import { listen } from '../helpers/listen.js';
import { httpText, rawRequest } from '../helpers/raw-http.js';
import { recordingBackend } from '../helpers/recording-backend.js';
import {
  SENTINEL,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  SENTINEL_TENANT,
  STATIC_VALUE,
  assertAlive,
  assertNoLeak,
  assertParserRejected,
  assertRefusal,
  assertRejected,
  assertRejectedSince,
  checkRecorded,
  jsonBody,
  sharedRelay,
  wireNames,
  wireText,
  wireValues,
  withRelay,
  type WirePolicy,
} from '../helpers/sec-relay.js';

/** A11's bare routes: no captured headers, one static header, Host from the target. */
function staticOnlyPolicy(port: number): WirePolicy {
  return { captured: new Set(), statics: new Map([['x-static', () => STATIC_VALUE]]), dynamic: new Set(), host: `127.0.0.1:${port}` };
}

describe('A: header-name attacks', () => {
  describe('A1: one gateway whose allowlist entry is written "X-MCP-API-Key"', () => {
    const relay = sharedRelay({ allow: ['X-MCP-API-Key'] });
    for (const sent of ['x-mcp-api-key', 'X-MCP-API-KEY', 'X-Mcp-Api-Key']) {
      it(`A1: an allowlist entry written "X-MCP-API-Key" captures the header sent as "${sent}" and forwards it lower-case, once`, async () => {
        const r = relay();
        const res = await r.send([`${sent}: ${SENTINEL_KEY}`]);
        assert.equal(res.status, 200);
        const got = r.backend.last();
        assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY], `sent as ${sent}`);
        assert.ok(
          got.wire.lines.some(([name]) => name === 'x-mcp-api-key'),
          'forwarded under the lower-case name',
        );
        assert.deepEqual(Object.keys(r.captured.at(-1)!), ['x-mcp-api-key']);
      });
    }
  });

  it('A2: an underscore twin "x_mcp_api_key: evil" sent alone is never forwarded', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['x_mcp_api_key: evil-underscore', 'X_Mcp_Api_Key: evil-underscore-2']);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), []);
      assert.ok(!wireNames(got).some((n) => n.includes('_')), `no underscore name may reach the backend: ${wireText(got)}`);
      assert.ok(!wireText(got).includes('evil-underscore'));
      assert.deepEqual(r.captured.at(-1), {});
    });
  });

  describe('A2: underscore twins next to the real key, on one gateway', () => {
    const relay = sharedRelay();
    // Both orders: a CGI/WSGI backend maps both names to HTTP_X_MCP_API_KEY and the last could win.
    const twins: [string, string[]][] = [
      ['after the real key', [`X-Mcp-Api-Key: ${SENTINEL_KEY}`, 'x_mcp_api_key: evil-underscore']],
      ['before the real key', ['x_mcp_api_key: evil-underscore', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]],
      // Twins of the static and secret-backed headers as well.
      ['of the static and secret-backed headers', ['X_Static: evil-underscore', 'x_backend_auth: evil-underscore', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]],
    ];
    for (const [where, lines] of twins) {
      it(`A2: an underscore twin ${where}: the backend sees exactly one x-mcp-api-key, the real one, and the configured static values`, async () => {
        const r = relay();
        const res = await r.send(lines);
        assert.equal(res.status, 200);
        const got = r.backend.last();
        assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
        assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
        assert.deepEqual(wireValues(got, 'x-backend-auth'), [SENTINEL_SECRET]);
        assert.ok(!wireNames(got).some((n) => n.includes('_')), `underscore twin forwarded: ${wireText(got)}`);
        assert.ok(!wireText(got).includes('evil-underscore'));
      });
    }
  });

  it('A3: a client copy of a static or secret-backed header ("X-Static: forged", "X-Backend-Auth: forged") is replaced by the configured value, sent once', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['X-Static: forged-static', 'x-backend-auth: forged-auth', 'X-BACKEND-AUTH: forged-auth-2', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
      assert.deepEqual(wireValues(got, 'x-backend-auth'), [SENTINEL_SECRET]);
      assert.ok(!wireText(got).includes('forged'), `client copy forwarded: ${wireText(got)}`);
    });
  });

  it('A3: even when the static header name is also captured (allow lists it, default passthrough), the static value wins', async () => {
    await withRelay({ allow: ['x-mcp-api-key', 'x-static'] }, async (r) => {
      const res = await r.send(['X-STATIC: forged-static', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      assert.equal(r.captured.at(-1)?.['x-static'], 'forged-static', 'precondition: the client copy was captured');
      const got = r.backend.last();
      assert.deepEqual(wireValues(got, 'x-static'), [STATIC_VALUE]);
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
    });
  });

  it('A4: a "__proto__: polluted" header changes no prototype, is not forwarded, and the request proceeds', async () => {
    await withRelay({}, async (r) => {
      const res = await r.send(['__proto__: polluted', '__PROTO__: {"polluted":true}', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const captured = r.captured.at(-1)!;
      assert.deepEqual(Object.keys(captured), ['x-mcp-api-key']);
      assert.ok(!Object.hasOwn(captured, '__proto__'));
      const proto: unknown = Object.getPrototypeOf(captured);
      assert.ok(proto === Object.prototype || proto === null, 'the captured map keeps a plain prototype');
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype unpolluted');
      assert.equal(Object.getOwnPropertyNames(Object.prototype).includes('polluted'), false);
      const got = r.backend.last();
      assert.ok(!wireNames(got).includes('__proto__'), `forwarded: ${wireText(got)}`);
      assert.ok(!wireText(got).includes('polluted'));
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
    });
  });

  const prototypeNames = ['constructor', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'prototype'];
  for (const passthrough of [undefined, ['x-mcp-api-key']]) {
    it(`A5: "constructor", "hasOwnProperty", "toString"… headers are never treated as allowlisted (passthrough ${passthrough ? 'explicit' : 'default'})`, async () => {
      await withRelay(passthrough ? { passthrough } : {}, async (r) => {
        const res = await r.send([...prototypeNames.map((n) => `${n}: proto-${n}`), `X-Tenant: ${SENTINEL_TENANT}`]);
        assert.equal(res.status, 200, 'the request proceeds');
        const captured = r.captured.at(-1)!;
        assert.deepEqual(Object.keys(captured), ['x-tenant']);
        for (const name of prototypeNames) assert.ok(!Object.hasOwn(captured, name.toLowerCase()), `${name} captured`);
        assert.equal(typeof Object.prototype.toString, 'function', 'Object.prototype intact');
        assert.equal(typeof Object.prototype.hasOwnProperty, 'function', 'Object.prototype intact');
        const got = r.backend.last();
        for (const name of prototypeNames) assert.ok(!wireNames(got).includes(name.toLowerCase()), `${name} forwarded`);
        assert.ok(!wireText(got).includes('proto-'));
        // Only the explicit passthrough list narrows what the backend takes.
        assert.deepEqual(wireValues(got, 'x-tenant'), passthrough ? [] : [SENTINEL_TENANT]);
      });
    });
  }

  const badNames: [string, Buffer][] = [
    ['a space', Buffer.from('X Mcp: k')],
    ['"@"', Buffer.from('X-Mcp@Key: k')],
    ['"("', Buffer.from('X-Mcp(Key): k')],
    ['non-ASCII byte 0xE9', Buffer.from('X-Cl\xe9: k', 'latin1')],
    ['UTF-8 "ключ"', Buffer.concat([Buffer.from('ключ', 'utf8'), Buffer.from(': k')])],
    ['DEL 0x7F', Buffer.from('X-Mcp\x7fKey: k', 'latin1')],
  ];
  for (const [label, line] of badNames) {
    it(`A6 (layer P): a header name with ${label} gets Node's 400 and never reaches the relay`, async () => {
      await withRelay({}, async (r) => {
        const request = Buffer.concat([Buffer.from(`GET /b HTTP/1.1\r\nHost: gw.test\r\nX-Mcp-Api-Key: ${SENTINEL_KEY}\r\n`), line, Buffer.from('\r\n\r\n')]);
        await assertParserRejected(r, await r.raw(request), 400);
      });
    });
  }

  it('A7 (layer P): "X-Mcp-Api-Key : k" (space before the colon) gets Node\'s 400 and never reaches the relay', async () => {
    await withRelay({}, async (r) => {
      await assertParserRejected(r, await r.send([`X-Mcp-Api-Key : ${SENTINEL_KEY}`]), 400);
    });
  });

  // Deviation A8: on Node 22 and later Node's parser answers the over-long header list itself (bare 431, layer P) before the relay runs.
  it('A8: 999 junk headers then X-Mcp-Api-Key as field #1001 (Node would drop it from req.headers) → 431 JSON, nothing forwarded', async () => {
    await withRelay({}, async (r) => {
      const junk = Array.from({ length: 999 }, (_, i) => `h${i}: v`);
      const res = await r.send([...junk, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      // Node 22+ answers an over-long header list itself (layer P); Node 20 hands the relay a split view.
      if (res.body === '') await assertParserRejected(r, res, 431);
      else assertRejected(r, res, 431, 'too_many_headers');
      await assertAlive(r);
    });
  });

  it('A8: the header-line limit is 500: 500 lines pass, 501 get 431 JSON', async () => {
    await withRelay({}, async (r) => {
      const lines = (n: number): string[] => Array.from({ length: n - 1 }, (_, i) => `h${i}: v`); // + Host
      const ok = await r.send(lines(500));
      assert.equal(ok.status, 200);
      assert.equal(r.backend.requests.length, 1);
      // 499 junk + X-Tenant + Host = 501 lines.
      const refused = await r.send([...lines(500), `X-Tenant: ${SENTINEL_TENANT}`]);
      assertRefusal(refused, r, 431, 'too_many_headers');
      assert.equal(r.backend.requests.length, 1, 'the 501-line request was not forwarded');
    });
  });

  it('A8: mcpProxy alone (no captureHeaders mounted) also answers 431 JSON to field #1001', async () => {
    await withRelay({ capture: false }, async (r) => {
      const junk = Array.from({ length: 999 }, (_, i) => `h${i}: v`);
      const res = await r.send([...junk, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      // Node 22+ answers an over-long header list itself (layer P); Node 20 hands the relay a split view.
      if (res.body === '') await assertParserRejected(r, res, 431);
      else assertRejected(r, res, 431, 'too_many_headers');
      await assertAlive(r);
    });
  });

  it("A9 (layer P): a header block over 16 KiB gets Node's 431 and never reaches the relay", async () => {
    await withRelay({}, async (r) => {
      const res = await r.send([`X-Mcp-Api-Key: ${SENTINEL_KEY}`, `X-Junk: ${'a'.repeat(20_000)}`]);
      await assertParserRejected(r, res, 431);
    });
  });

  it('A10: an 8 KB header name that is not allowlisted is dropped and the request proceeds', async () => {
    await withRelay({}, async (r) => {
      const longName = `x-${'n'.repeat(8190)}`;
      const res = await r.send([`${longName}: ${SENTINEL}-long-name-value`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assert.equal(res.status, 200);
      const got = r.backend.last();
      assert.ok(!wireNames(got).includes(longName), 'the long name was forwarded');
      assert.ok(!wireText(got).includes('long-name-value'));
      assert.deepEqual(wireValues(got, 'x-mcp-api-key'), [SENTINEL_KEY]);
      assert.ok(!r.logger.text().includes(longName.slice(0, 100)), 'a log line carries the long name');
    });
  });

  it('A10: when a long client-supplied name must be reported (Connection nominating it), the body and log carry a truncated name', async () => {
    await withRelay({}, async (r) => {
      const longName = `mcp-param-${'n'.repeat(8180)}`;
      const res = await r.send([`Connection: ${longName}`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
      assertRejected(r, res, 400, 'connection_nominates_forwarded_header', undefined, [longName.slice(0, 100)]);
      const header = String(jsonBody(res).error.data.header);
      assert.ok(header.length <= 65, `header name in the body is ${header.length} chars`);
      assert.ok(header.startsWith('mcp-param-nnn'));
      assert.ok(r.logger.lines.length > 0, 'the rejection was logged');
    });
  });

  it('A10: a long protocol-header name sent twice is reported truncated in the duplicate_header rejection', async () => {
    await withRelay({}, async (r) => {
      const longName = `Mcp-Param-${'N'.repeat(6000)}`;
      const res = await r.send([`${longName}: ${SENTINEL}-p1`, `${longName}: ${SENTINEL}-p2`]);
      assertRejected(r, res, 400, 'duplicate_header', undefined, [longName.toLowerCase().slice(0, 100)]);
      const header = String(jsonBody(res).error.data.header);
      assert.ok(header.length <= 65, `header name in the body is ${header.length} chars`);
    });
  });

  /*
   * A11, HTTP/2. Express cannot run on node:http2 (it swaps req's prototype for its own
   * http.IncomingMessage subclass), so two tests: (1) a real h2c server (plain http2.createServer: HTTP/2 only) with
   * mcpProxy called directly as the request handler; (2) a real HTTP/1.1 gateway where the first
   * middleware presents the request the way an HTTP/2 compatibility layer does, with `:authority`,
   * `:path`, `:method` and `:scheme` in req.headers and req.rawHeaders.
   */
  it('A11: over a real HTTP/2 front end (node:http2, h2c) no pseudo-header ever reaches the backend and the relay answers', async () => {
    const backend = await recordingBackend();
    const logger = captureLogger();
    // The client names the gateway evil.example in :authority; the guard is told to accept it, so the
    // test is about what reaches the backend.
    const relay = mcpProxy({
      target: `${backend.url}/mcp`,
      headers: { plaintext: { 'X-Static': STATIC_VALUE } },
      logger,
      responseTimeout: 2000,
      allowedHosts: ['evil.example'],
    });
    const server = http2.createServer((req, res) => {
      relay(req as never, res as never, () => {
        res.statusCode = 404;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const result = await h2Request(client, { ':method': 'GET', ':path': '/x?y=1', ':authority': 'evil.example', 'x-mcp-api-key': SENTINEL_KEY });
      for (const got of backend.requests) {
        assert.ok(!wireNames(got).some((n) => n.startsWith(':')), `pseudo-header forwarded: ${wireText(got)}`);
        assert.ok(!wireText(got).includes('evil.example'), 'the client :authority became a header');
      }
      // Forwarded, with Host from the target and the captured-free static header set.
      assert.equal(result.status, 200, result.body);
      assert.equal(backend.requests.length, 1);
      assert.equal(backend.last().url, '/mcp/x?y=1');
      assert.deepEqual(checkRecorded(backend.last(), staticOnlyPolicy(backend.port)), []);
      assert.ok(!result.body.includes(SENTINEL));
      assert.ok(!logger.text().includes(SENTINEL));
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close();
    }
  });

  it('A11: pseudo-headers (":authority", ":path", ":method", ":scheme") presented in req.headers are never forwarded as regular headers', async () => {
    const backend = await recordingBackend();
    const logger = captureLogger();
    const app = express();
    app.use((req, _res, next) => {
      // What node:http2's compatibility request exposes: pseudo-headers among the regular ones.
      const pseudo: [string, string][] = [
        [':authority', 'evil.example'],
        [':path', '/admin?x=1'],
        [':method', 'DELETE'],
        [':scheme', 'https'],
      ];
      const headers: Record<string, string | string[] | undefined> = { ...req.headers };
      for (const [name, value] of pseudo) {
        headers[name] = value;
        req.rawHeaders.push(name, value);
      }
      req.headers = headers;
      next();
    });
    app.use('/b', mcpProxy({ target: `${backend.url}/mcp`, headers: { plaintext: { 'X-Static': STATIC_VALUE } }, logger, allowedHosts: ['gw.test'] }));
    const gateway = await listen(app);
    try {
      const res = await rawRequest(gateway.port, httpText('GET /b HTTP/1.1', ['Host: gw.test', 'Mcp-Session-Id: s1']));
      assert.equal(res.status, 200, res.body);
      const got = backend.last();
      assert.ok(!wireNames(got).some((n) => n.startsWith(':')), `pseudo-header forwarded: ${wireText(got)}`);
      assert.ok(!wireText(got).includes('evil.example'));
      assert.equal(got.method, 'GET');
      assert.equal(got.url, '/mcp');
      assert.deepEqual(wireValues(got, 'mcp-session-id'), ['s1']);
      assert.deepEqual(checkRecorded(got, staticOnlyPolicy(backend.port)), []);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  describe('A12, A13: request-line and Host refusals, on one gateway', () => {
    const relay = sharedRelay();
    for (const name of ['Host', 'HOST']) {
      it(`A12: a second Host line written "${name}" → 400 JSON duplicate_host, nothing forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await r.send([`${name}: ${SENTINEL}-host.example`, `X-Mcp-Api-Key: ${SENTINEL_KEY}`]);
        assertRejectedSince(forwarded, r, res, 400, 'duplicate_host', 'host');
        await assertAlive(r);
      });
    }

    for (const target of ['http://evil.example/b', `http://evil.example/b/x?token=${SENTINEL}-query`, 'https://127.0.0.1/b']) {
      it(`A13: an absolute-form target ("GET ${target.replace(SENTINEL, '<sentinel>')} HTTP/1.1") → 400 JSON absolute_form_target, backend not reached`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const hits = r.appHits.length;
        const res = await r.raw(httpText(`GET ${target} HTTP/1.1`, ['Host: gw.test', `X-Mcp-Api-Key: ${SENTINEL_KEY}`]));
        assertRejectedSince(forwarded, r, res, 400, 'absolute_form_target');
        assert.equal(r.appHits.length, hits + 1, 'the request did reach the app (layer R, not P)');
        await assertAlive(r);
        assertNoLeak(undefined, r);
      });
    }
  });
});
