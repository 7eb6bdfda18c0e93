/**
 * When the host app's own code fails inside a request, the relay answers and serves on: a `principal`
 * function that throws (for templates: no header; for a session route: 500 `internal_error`, since
 * the session cannot be checked), and a request object the relay cannot read (500 `internal_error`).
 * The log names the option or the failure, never the thrown message, which may hold a value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestHandler } from 'express';
import { mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen } from '../helpers/listen.js';
import { assertNoLeak, assertRefusal, SENTINEL, SENTINEL_KEY, wireValues, withRelay } from '../helpers/sec-relay.js';

const KEY = `X-Mcp-Api-Key: ${SENTINEL_KEY}`;
const throwsValue = (): never => {
  throw new Error(`${SENTINEL}-principal-failure`);
};

describe('a principal function that throws', () => {
  it('templates: {principal} sends no header, the request is forwarded, and the failure is logged without its message', async () => {
    const route = { principal: throwsValue, headers: { template: { 'X-Identity': 'user={principal}' } } };
    await withRelay({ route }, async (r) => {
      const res = await r.send([KEY]);
      assert.equal(res.status, 200);
      assert.deepEqual(wireValues(r.backend.last(), 'x-identity'), []);
      assertNoLeak(res, r);
      const errors = r.logger.lines.filter((l) => l.level === 'error');
      assert.deepEqual(
        errors.map((l) => [(l.fields as { option?: string }).option, l.message]),
        [['principal', 'mcpProxy: principal threw; {principal} templates send no header']],
      );
      assert.equal((await r.send([KEY])).status, 200, 'and the next request too');
    });
  });

  it('session.principal on a 2025 request naming a session: 500 internal_error, not forwarded, logged without its message', async () => {
    await withRelay({ session: { mode: 'bind', principal: throwsValue } }, async (r) => {
      const res = await r.send([KEY, 'Mcp-Session-Id: session-1'], { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' });
      assertRefusal(res, r, 500, 'internal_error');
      assert.equal(r.backend.requests.length, 0);
      assert.ok(
        r.logger.lines.some((l) => l.level === 'error' && l.message === 'mcpProxy: session.principal threw'),
        r.logger.text(),
      );
    });
  });
});

describe('a host middleware that sets a captured header to a list', () => {
  it('captureHeaders refuses the request (400 invalid_header_value naming the header); nothing is forwarded', async () => {
    const setList: RequestHandler = (req, _res, next) => {
      (req.headers as Record<string, string | string[]>)['x-tenant'] = ['acme', 'evil'];
      next();
    };
    await withRelay({ allow: ['x-mcp-api-key', 'x-tenant'], before: [setList] }, async (r) => {
      const res = await r.send([KEY, 'X-Tenant: acme']);
      assertRefusal(res, r, 400, 'invalid_header_value', 'x-tenant');
      assert.match(res.body, /header x-tenant has more than one value/);
      assert.equal(r.backend.requests.length, 0);
    });
  });
});

describe('a request the relay cannot read', () => {
  it('answers 500 internal_error and logs an unexpected relay failure; the next request is served', async () => {
    const logger = captureLogger();
    const route = mcpProxy({ target: 'http://127.0.0.1:9/mcp', logger });
    let broken = true;
    const server = await listen((req, res) => {
      if (broken) {
        // A host app's bug: a request whose headers throw when read.
        Object.defineProperty(req, 'headers', { get: throwsValue });
        broken = false;
      }
      route(req, res, () => {});
    });
    try {
      const answer = await fetch(`${server.url}/`, { method: 'POST' });
      assert.equal(answer.status, 500);
      const body = (await answer.json()) as { error: { data: { reason: string } } };
      assert.equal(body.error.data.reason, 'internal_error');
      const errors = logger.lines.filter((l) => l.level === 'error');
      assert.deepEqual(
        errors.map((l) => l.message),
        ['mcpProxy: unexpected relay failure'],
      );
      assert.ok(!logger.text().includes(SENTINEL), 'the thrown message is not logged');
      const next = await fetch(`${server.url}/`, { method: 'POST', headers: { host: '127.0.0.1' } });
      assert.equal(next.status, 502, 'the next request reaches the (closed) backend port');
    } finally {
      await server.close();
    }
  });
});
