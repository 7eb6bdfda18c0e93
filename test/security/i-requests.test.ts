/**
 * Catalogue group I (issue 9), request side: what mcpProxy refuses before any header work (methods
 * other than GET/POST/DELETE, unsafe request targets, bodies on GET and DELETE), the target's fixed
 * query, and duplicate and rewritten headers when the host app's middleware touched `req.headers`
 * before captureHeaders (I3, I4, I5, I6, I7, I11).
 *
 * Gateways: secRelay (`withRelay`) where its options suffice; `withIRelay` (test/helpers/i-requests.ts,
 * the same gateway built by hand) where middleware must run before captureHeaders or mcpProxy, or the
 * target is derived from the backend's URL. Every forwarded request is checked on the wire.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, it } from 'node:test';
import type { RequestHandler } from 'express';
import { bodyBlindBackend, requestId, rewriteHeader, sharedIRelay, withIRelay } from '../helpers/i-requests.js';
import { listen } from '../helpers/listen.js';
import { httpText, rawHead, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import {
  SENTINEL,
  SENTINEL_KEY,
  SENTINEL_SECRET,
  STATIC_VALUE,
  assertAlive,
  assertNoLeak,
  assertRefusal,
  jsonBody,
  sharedRelay,
  wireText,
  wireValues,
  withRelay,
  type SecRelay,
} from '../helpers/sec-relay.js';

const KEY = `X-Mcp-Api-Key: ${SENTINEL_KEY}`;
const VICTIM = `${SENTINEL}-tenant-victim`;
const ATTACKER = `${SENTINEL}-tenant-attacker`;
const PING = '{"jsonrpc":"2.0","method":"ping","id":1}';
const ALLOW = 'GET, POST, DELETE';

/** Nothing beyond the first `before` requests reached the backend; the message shows what did. */
function assertNotForwarded(r: SecRelay, before: number, what: string): void {
  const forwarded = r.backend.requests.slice(before).map((got) => JSON.stringify(wireText(got).slice(0, 400)));
  assert.deepEqual(forwarded, [], `${what} was forwarded`);
}

/** The request line the backend received for the last request. */
function lastRequestLine(r: SecRelay): string {
  return r.backend.last().wire.requestLine;
}

describe('I: request methods, targets, bodies and middleware-rewritten headers', () => {
  it('I3: with a request-id middleware before captureHeaders, two X-Tenant, two Host and two Content-Type lines are still refused', async () => {
    await withIRelay({ before: [requestId] }, async (r) => {
      const tenant = await r.send([`X-Tenant: ${VICTIM}`, `X-Tenant: ${ATTACKER}`, KEY]);
      assertNotForwarded(r, 0, 'two X-Tenant lines');
      assertRefusal(tenant, r, 400, 'duplicate_header', 'x-tenant');

      const host = await r.send(['Host: evil.example', KEY]);
      assertNotForwarded(r, 0, 'two Host lines');
      assertRefusal(host, r, 400, 'duplicate_host');

      // Node keeps the first (empty) Content-Type line in req.headers.
      const type = await r.send(['Content-Type:', 'Content-Type: application/json', KEY], { method: 'POST', body: PING });
      assertNotForwarded(r, 0, 'an empty Content-Type line and a second Content-Type line');
      assertRefusal(type, r, 400, 'duplicate_header');
      assert.equal(String(jsonBody(type).error.data.header).toLowerCase(), 'content-type');

      await assertAlive(r);
    });
  });

  const rewrites: [string, RequestHandler[]][] = [
    ['auth middleware alone', [rewriteHeader('x-user-id', 'alice')]],
    ['request-id then auth middleware', [requestId, rewriteHeader('x-user-id', 'alice')]],
    ['auth then request-id middleware', [rewriteHeader('x-user-id', 'alice'), requestId]],
  ];
  for (const [label, before] of rewrites) {
    it(`I4: a value an earlier middleware wrote into req.headers is forwarded once (${label})`, async () => {
      await withIRelay({ before }, async (r) => {
        const res = await r.send(['X-User-Id: mallory', KEY]);
        assert.equal(res.status, 200, res.body.slice(0, 200));
        assert.deepEqual(wireValues(r.backend.last(), 'x-user-id'), ['alice'], "the backend must get the app's value, on one line");
        assert.ok(!wireText(r.backend.last()).includes('mallory'), "the client's value reached the backend");
      });
    });
  }

  const deletions: [string, RequestHandler[]][] = [
    ['deleting middleware alone', [rewriteHeader('x-user-id', undefined)]],
    ['request-id then deleting middleware', [requestId, rewriteHeader('x-user-id', undefined)]],
  ];
  for (const [label, before] of deletions) {
    it(`I4: a header an earlier middleware deleted from req.headers is not forwarded (${label})`, async () => {
      await withIRelay({ before }, async (r) => {
        const res = await r.send(['X-User-Id: mallory', KEY]);
        assert.equal(res.status, 200, res.body.slice(0, 200));
        assert.deepEqual(wireValues(r.backend.last(), 'x-user-id'), [], 'a header the app deleted was forwarded');
        assert.ok(!wireText(r.backend.last()).includes('mallory'), "the client's value reached the backend");
      });
    });
  }

  const injections: [string, RequestHandler[]][] = [
    ['CR/LF-writing middleware alone', [rewriteHeader('x-user-id', 'alice\r\nx-evil: 1')]],
    ['request-id then CR/LF-writing middleware', [requestId, rewriteHeader('x-user-id', 'alice\r\nx-evil: 1')]],
  ];
  for (const [label, before] of injections) {
    it(`I4: a value with CR/LF an earlier middleware wrote into req.headers is validated and refused (${label})`, async () => {
      await withIRelay({ before }, async (r) => {
        const res = await r.send(['X-User-Id: mallory', KEY]);
        assertNotForwarded(r, 0, 'an app-set value with CR/LF');
        assertRefusal(res, r, 400, 'invalid_header_value', 'x-user-id', ['x-evil']);
        await assertAlive(r);
      });
    });
  }

  describe('I5: a target with a fixed query parameter (toolsets=readonly), on one gateway', () => {
    const relay = sharedIRelay({ target: (url) => `${url}/mcp?toolsets=readonly` });
    for (const path of ['/b#', '/b/x#frag', '/b?x=1#f']) {
      it(`I5: "#" in the request target (GET ${path}) is refused, nothing forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await r.send([KEY], { path });
        assertNotForwarded(r, forwarded, `GET ${path}`);
        assertRefusal(res, r, 400, 'invalid_request_target');
      });
    }

    const cases: [path: string, upstream: string][] = [
      ['/b?toolsets=all&x=1', '/mcp?toolsets=readonly&x=1'],
      ['/b?%74oolsets=all&x=1', '/mcp?toolsets=readonly&x=1'],
      ['/b?x=1&toolsets=', '/mcp?toolsets=readonly&x=1'],
      ['/b?toolsets', '/mcp?toolsets=readonly'],
      ['/b?x=1', '/mcp?toolsets=readonly&x=1'],
      ['/b', '/mcp?toolsets=readonly'],
    ];
    for (const [path, upstream] of cases) {
      const drops = /toolsets/.test(decodeURIComponent(path));
      it(`I5: GET ${path} goes upstream as ${upstream}${drops ? '; the dropped parameter is logged at info with its name' : ''}`, async () => {
        const r = relay();
        r.logger.lines.length = 0;
        const res = await r.send([KEY], { path });
        assert.equal(res.status, 200, res.body.slice(0, 200));
        assert.equal(lastRequestLine(r), `GET ${upstream} HTTP/1.1`);
        if (drops) {
          const logged = r.logger.lines.some((l) => l.level === 'info' && `${l.message} ${JSON.stringify(l.fields)}`.includes('toolsets'));
          assert.ok(logged, `the dropped parameter is not logged at info with its name: ${r.logger.text()}`);
        }
        await assertAlive(r);
      });
    }
  });

  describe('I6: unsafe and ordinary request paths, on one gateway', () => {
    const relay = sharedIRelay();
    const refused = [
      '/b/../admin/users',
      '/b/%2e%2e/admin',
      '/b/%2E%2e/admin',
      '/b/.%2e/admin',
      '/b/./../admin',
      '/b/..\\admin', // a literal backslash: Node's parser accepts it
      '/b/..%5cadmin',
      '/b/a%2f..%2fadmin',
      '/b//evil.example/x',
    ];
    for (const path of refused) {
      it(`I6: GET ${path} (a dot-segment, backslash, encoded slash or empty segment) is refused, nothing forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await r.send([KEY], { path });
        assertNotForwarded(r, forwarded, `GET ${path}`);
        assertRefusal(res, r, 400, 'invalid_request_target');
        await assertAlive(r);
      });
    }

    const ordinary: [path: string, upstream: string][] = [
      ['/b', '/mcp'],
      ['/b/', '/mcp'],
      ['/b/x.json', '/mcp/x.json'],
      ['/b/a..b', '/mcp/a..b'],
      ['/b/.well-known/x', '/mcp/.well-known/x'],
      // Only the path part is checked: the query may hold anything Node's parser accepts.
      ['/b?next=a/../b', '/mcp?next=a/../b'],
    ];
    for (const [path, upstream] of ordinary) {
      it(`I6: the ordinary GET ${path} passes, upstream as ${upstream}`, async () => {
        const r = relay();
        const res = await r.send([KEY], { path });
        assert.equal(res.status, 200, res.body.slice(0, 200));
        assert.equal(lastRequestLine(r), `GET ${upstream} HTTP/1.1`);
        assert.deepEqual(wireValues(r.backend.last(), 'x-static'), [STATIC_VALUE]);
      });
    }
  });

  it('I6: with a target without a path, GET /b//evil.example/x (a protocol-relative reference upstream) is refused', async () => {
    await withIRelay({ target: (url) => url }, async (r) => {
      const res = await r.send([KEY], { path: '/b//evil.example/x' });
      assertNotForwarded(r, 0, 'GET /b//evil.example/x (target without a path)');
      assertRefusal(res, r, 400, 'invalid_request_target');
      await assertAlive(r);
    });
  });

  describe('I7: bodies on GET and DELETE, on one gateway', () => {
    const relay = sharedRelay();
    const withBody: [string, (r: SecRelay) => Promise<RawResponse>][] = [
      ['GET with Content-Length: 5', (r) => r.send([KEY], { method: 'GET', body: 'hello' })],
      ['DELETE with a JSON body', (r) => r.send([KEY, 'Mcp-Session-Id: s-1', 'Content-Type: application/json'], { method: 'DELETE', body: PING })],
      [
        'GET with Transfer-Encoding: chunked',
        (r) => r.raw(httpText('GET /b HTTP/1.1', ['Host: gw.test', 'Transfer-Encoding: chunked', KEY], '5\r\nhello\r\n0\r\n\r\n')),
      ],
      ['GET with an empty chunked body', (r) => r.raw(httpText('GET /b HTTP/1.1', ['Host: gw.test', 'Transfer-Encoding: chunked', KEY], '0\r\n\r\n'))],
      [
        'DELETE with Transfer-Encoding: chunked',
        (r) => r.raw(httpText('DELETE /b HTTP/1.1', ['Host: gw.test', 'Transfer-Encoding: chunked', KEY], '2\r\n{}\r\n0\r\n\r\n')),
      ],
    ];
    for (const [label, send] of withBody) {
      it(`I7: ${label} → 400 unexpected_body, nothing forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const res = await send(r);
        assertNotForwarded(r, forwarded, label);
        assertRefusal(res, r, 400, 'unexpected_body');
        await assertAlive(r);
      });
    }

    it('I7: DELETE with Content-Length: 0 passes', async () => {
      const r = relay();
      const empty = await r.send([KEY, 'Mcp-Session-Id: s-1'], { method: 'DELETE', body: '' });
      assert.equal(empty.status, 200, empty.body.slice(0, 200));
      assert.equal(r.backend.last().method, 'DELETE');
      assert.equal(r.backend.last().body, '');
    });
  });

  it('I7 (smuggling): a GET/DELETE body holding a request is never sent to a backend that does not read bodies on GET/DELETE', async () => {
    const smuggled = 'DELETE /mcp HTTP/1.1\r\nHost: x\r\nMcp-Session-Id: other\r\n\r\n';
    const blind = await bodyBlindBackend();
    try {
      // Control: sent directly, the body is a second request to this backend.
      await rawRequest(blind.port, httpText('GET /mcp HTTP/1.1', ['Host: x', `Content-Length: ${smuggled.length}`], smuggled));
      await blind.headsOrTimeout(2, 2000);
      assert.deepEqual(
        blind.heads.map((h) => h.split('\r\n')[0]),
        ['GET /mcp HTTP/1.1', 'DELETE /mcp HTTP/1.1'],
        'control: the backend parses the body as a request',
      );
      blind.heads.length = 0;

      await withRelay({ target: `${blind.url}/mcp` }, async (r) => {
        for (const method of ['GET', 'DELETE']) {
          const res = await r.send([KEY, 'Mcp-Session-Id: mine'], { method, body: smuggled });
          // Only when something was forwarded (old behaviour): let the smuggled head arrive too.
          if (blind.heads.length > 0) await blind.headsOrTimeout(2, 1000);
          assert.deepEqual(
            blind.heads.map((h) =>
              h
                .split('\r\n')
                .filter((l) => !/^x-backend-auth:/i.test(l))
                .join(' | '),
            ),
            [],
            `${method} with a request as its body: the backend saw these requests`,
          );
          assertRefusal(res, r, 400, 'unexpected_body');
        }

        const ok = await r.send([KEY]);
        assert.equal(ok.status, 200);
        assert.deepEqual(
          blind.heads.map((h) => h.split('\r\n')[0]),
          ['GET /mcp HTTP/1.1'],
        );
      });
    } finally {
      await blind.close();
    }
  });

  describe('I11: methods other than GET, POST and DELETE, on one gateway', () => {
    const relay = sharedRelay();
    for (const method of ['TRACE', 'PUT', 'PATCH', 'OPTIONS']) {
      it(`I11: ${method} → 405 method_not_allowed with "Allow: GET, POST, DELETE", nothing forwarded`, async () => {
        const r = relay();
        const forwarded = r.backend.requests.length;
        const withBody = method === 'PUT' || method === 'PATCH';
        const res = await r.send(withBody ? [KEY, 'Content-Type: application/json'] : [KEY], { method, ...(withBody ? { body: PING } : {}) });
        assertNotForwarded(r, forwarded, method);
        assertRefusal(res, r, 405, 'method_not_allowed');
        assert.equal(res.headers.allow, ALLOW, 'Allow header');
        await assertAlive(r);
      });
    }

    it('I11: HEAD → 405 method_not_allowed with "Allow: GET, POST, DELETE", nothing forwarded', async () => {
      const r = relay();
      const forwarded = r.backend.requests.length;
      // The answer to HEAD has no body: status, Allow and no leak only.
      const head = await rawHead(r.port, httpText('HEAD /b HTTP/1.1', ['Host: gw.test', KEY]));
      assertNotForwarded(r, forwarded, 'HEAD');
      assert.equal(head.status, 405, head.raw.slice(0, 200));
      assert.equal(head.headers.allow, ALLOW, 'Allow header');
      assertNoLeak(head, r);
      await assertAlive(r);
    });
  });

  it('I11 (trace echo): a backend that reflects TRACE would hand the client the route secret; TRACE is refused before forwarding', async () => {
    /** Like a server with TRACE enabled: the request as received comes back as message/http. */
    const reflectTrace = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      if (req.method !== 'TRACE') {
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
        return;
      }
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      res.setHeader('content-type', 'message/http');
      res.end(`${lines.join('\r\n')}\r\n\r\n`);
    };
    // Control: asked directly, the backend reflects the request's headers.
    const direct = await listen(reflectTrace);
    try {
      const res = await rawRequest(direct.port, httpText('TRACE /mcp HTTP/1.1', ['Host: b', 'X-Probe: reflected']));
      assert.match(res.body, /X-Probe: reflected/, 'control: the backend reflects TRACE');
    } finally {
      await direct.close();
    }

    await withRelay({ respond: reflectTrace }, async (r) => {
      const res = await r.send([KEY], { method: 'TRACE' });
      assert.ok(!res.raw.includes(SENTINEL_SECRET), `the route's secret came back to the client: ${JSON.stringify(res.body.slice(0, 300))}`);
      assertNotForwarded(r, 0, 'TRACE');
      assertRefusal(res, r, 405, 'method_not_allowed');
      assert.equal(res.headers.allow, ALLOW);
      await assertAlive(r);
    });
  });

  it("I11 (CORS): OPTIONS is the host app's: a preflight middleware before mcpProxy answers 204; without one mcpProxy answers 405", async () => {
    // `cors` is not a dev dependency: a minimal preflight handler in its place.
    const preflight: RequestHandler = (req, res, next) => {
      if (req.method !== 'OPTIONS') return next();
      res.setHeader('Access-Control-Allow-Origin', 'http://web.example');
      res.setHeader('Access-Control-Allow-Methods', ALLOW);
      res.setHeader('Access-Control-Allow-Headers', 'content-type, mcp-session-id, mcp-protocol-version, x-mcp-api-key');
      res.status(204).end();
    };
    const preflightRequest = [
      'Origin: http://web.example',
      'Access-Control-Request-Method: POST',
      'Access-Control-Request-Headers: content-type, x-mcp-api-key',
    ];

    await withIRelay({}, async (r) => {
      const res = await r.send(preflightRequest, { method: 'OPTIONS' });
      assertNotForwarded(r, 0, 'OPTIONS without a CORS middleware');
      assertRefusal(res, r, 405, 'method_not_allowed');
      assert.equal(res.headers.allow, ALLOW);
    });

    await withIRelay({ beforeProxy: [preflight] }, async (r) => {
      const res = await r.send(preflightRequest, { method: 'OPTIONS' });
      assert.equal(res.status, 204, `preflight: ${res.raw.slice(0, 200)}`);
      assert.equal(res.headers['access-control-allow-origin'], 'http://web.example');
      assertNotForwarded(r, 0, 'a preflight the CORS middleware answered');
      const post = await r.send([KEY, 'Origin: http://web.example', 'Content-Type: application/json'], { method: 'POST', body: PING });
      assert.equal(post.status, 200);
      assert.equal(r.backend.last().body, PING);
      await assertAlive(r);
    });
  });
});
