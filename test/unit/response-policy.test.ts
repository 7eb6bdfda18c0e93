/**
 * The response side as pure functions: which backend headers reach the client (the default
 * allowlist, a route's additions, the host app's own headers, secret echoes), which status lines are
 * passed on, and the `responseHeaders` option's rules.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { HeaderConfigError, RESPONSE_HEADERS, envSecrets } from '../../lib/index.js';
import { parseProxyOptions } from '../../lib/parse-options.js';
import { filterResponseHeaders, invalidStatusLine, type ResponsePolicy } from '../../lib/response-headers.js';

const TARGET = 'http://127.0.0.1:9/mcp';

/** The response headers the host app set before the relay ran. */
function appResponse(own: Record<string, string> = {}): ServerResponse {
  const headers = new Map(Object.entries(own).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    hasHeader: (name: string) => headers.has(name.toLowerCase()),
    getHeader: (name: string) => headers.get(name.toLowerCase()),
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
  } as unknown as ServerResponse;
}

const policy = (extra: string[] = [], fromSecret: Record<string, string> = {}): ResponsePolicy =>
  parseProxyOptions({ target: TARGET, responseHeaders: extra, headers: { fromSecret }, secrets: envSecrets({ S: 'secret-value-123' }) }).response;

describe('filterResponseHeaders', () => {
  it('passes the default list and drops everything else', () => {
    const headers: IncomingHttpHeaders = { 'x-custom': 'a', 'set-cookie': ['a=b; Path=/'], server: 'x', 'strict-transport-security': 'max-age=0' };
    for (const name of RESPONSE_HEADERS) headers[name] = 'v';
    filterResponseHeaders(headers, policy(), appResponse(), [], false);
    assert.deepEqual(Object.keys(headers).sort(), [...RESPONSE_HEADERS].sort());
  });

  const table: [string, IncomingHttpHeaders, { extra?: string[]; own?: Record<string, string>; secrets?: string[] }, string[], string[]][] = [
    // [case, backend headers, route, names kept, names dropped as secret echoes]
    ['clear-site-data and CORS dropped', { 'clear-site-data': '"*"', 'access-control-allow-origin': '*', etag: '"1"' }, {}, ['etag'], []],
    ['a route addition passes', { 'x-request-cost': '3', 'x-other': '1' }, { extra: ['X-Request-Cost'] }, ['x-request-cost'], []],
    ['the host app keeps its own header', { 'cache-control': 'public', vary: 'accept' }, { own: { 'Cache-Control': 'no-store' } }, ['vary'], []],
    [
      'a secret inside a longer value is an echo',
      { 'www-authenticate': 'Bearer error="k=s3cr3t-xyz"', 'retry-after': '5' },
      { secrets: ['s3cr3t-xyz'] },
      ['retry-after'],
      ['www-authenticate'],
    ],
    ['a secret in one line of several is an echo', { 'x-echo': ['a', 'b s3cr3t-xyz'] }, { extra: ['x-echo'], secrets: ['s3cr3t-xyz'] }, [], ['x-echo']],
    ['Connection-nominated names are dropped', { connection: 'etag, vary', etag: '"1"', vary: 'a', expires: '0' }, {}, ['expires'], []],
    ['keep-alive and close nominate nothing else', { connection: 'keep-alive', etag: '"1"' }, {}, ['etag'], []],
  ];
  for (const [label, backend, route, kept, echoed] of table) {
    it(label, () => {
      const headers = { ...backend };
      const got = filterResponseHeaders(headers, policy(route.extra), appResponse(route.own), route.secrets ?? [], false);
      assert.deepEqual(Object.keys(headers).sort(), kept.sort());
      assert.deepEqual(got, echoed);
    });
  }

  it('an event stream gets no-transform and X-Accel-Buffering; the host app’s Cache-Control keeps its value plus no-transform', () => {
    const headers: IncomingHttpHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
    filterResponseHeaders(headers, policy(), appResponse(), [], true);
    assert.equal(headers['cache-control'], 'no-cache, no-transform');
    assert.equal(headers['x-accel-buffering'], 'no');
    const res = appResponse({ 'cache-control': 'private' });
    const streamed: IncomingHttpHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'public' };
    filterResponseHeaders(streamed, policy(), res, [], true);
    assert.equal(streamed['cache-control'], undefined, 'the backend value is not sent');
    assert.equal(res.getHeader('cache-control'), 'private, no-transform');
  });
});

describe('invalidStatusLine', () => {
  for (const status of [200, 204, 301, 404, 418, 599]) it(`passes ${status}`, () => assert.equal(invalidStatusLine(status, 'OK'), undefined));
  for (const status of [0, 1, 42, 99, 101, 199, 600, 999, undefined]) it(`refuses status ${String(status)}`, () => assert.ok(invalidStatusLine(status, 'OK')));
  for (const reason of ['', 'Not Found', 'Caf\xe9', 'tab\there'])
    it(`passes reason ${JSON.stringify(reason)}`, () => assert.equal(invalidStatusLine(200, reason), undefined));
  for (const reason of ['a\x00b', 'a\x01', '\x1b[31m', 'del\x7f', 'cr\rlf'])
    it(`refuses reason ${JSON.stringify(reason)}`, () => assert.ok(invalidStatusLine(200, reason)));
});

describe('the responseHeaders option', () => {
  const refused = (responseHeaders: unknown, code: string, path: string, fromSecret: Record<string, string> = {}): void => {
    assert.throws(
      () => parseProxyOptions({ target: TARGET, responseHeaders, headers: { fromSecret }, secrets: envSecrets({ S: 'secret-value-123' }) }),
      (err: unknown) => err instanceof HeaderConfigError && err.code === code && err.path === path && !err.message.includes('secret-value-123'),
    );
  };
  it('refuses hop-by-hop names, invalid names, a secret header of the route, more than 64, and non-strings', () => {
    refused(['x-ok', 'Transfer-Encoding'], 'ERR_RESTRICTED_HEADER', 'responseHeaders[1]');
    refused(['connection'], 'ERR_RESTRICTED_HEADER', 'responseHeaders[0]');
    refused(['bad name'], 'ERR_INVALID_HEADER_NAME', 'responseHeaders[0]');
    refused(['X-Api-Key'], 'ERR_HEADER_OVERLAP', 'responseHeaders[0]', { 'x-api-key': 'S' });
    refused(
      Array.from({ length: 65 }, (_, i) => `x-${i}`),
      'ERR_TOO_MANY_HEADERS',
      'responseHeaders',
    );
    refused('x-one', 'ERR_INVALID_OPTION', 'responseHeaders');
  });
  it('what the refusals say, and 64 names are fine', () => {
    const message = (responseHeaders: unknown, fromSecret: Record<string, string> = {}): string => {
      try {
        parseProxyOptions({ target: TARGET, responseHeaders, headers: { fromSecret }, secrets: envSecrets({ S: 'secret-value-123' }) });
      } catch (error) {
        return (error as HeaderConfigError).rule;
      }
      return 'accepted';
    };
    assert.equal(message(['Connection']), '"connection" is hop-by-hop: Node frames the response to the client itself');
    assert.equal(
      message(['X-Api-Key'], { 'x-api-key': 'S' }),
      '"x-api-key" is a secret header of this route (headers.fromSecret["x-api-key"]); a backend must not echo a credential to the client',
    );
    assert.equal(message(Array.from({ length: 65 }, (_, i) => `x-${i}`)), 'at most 64 header names');
    assert.equal(message(Array.from({ length: 64 }, (_, i) => `x-${i}`)), 'accepted');
  });

  it('a default name that is also a secret header of the route is not passed back', () => {
    assert.equal(policy([], { 'WWW-Authenticate': 'S' }).allowed.has('www-authenticate'), false);
    assert.equal(policy().allowed.has('www-authenticate'), true);
  });
});
