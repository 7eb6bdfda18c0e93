/**
 * captureHeaders on its own (lib/capture.ts), behind a bare node:http server: what it stores for the
 * route and the host app, and, as a table, each request it answers itself: the status, reason and
 * header, the message docs/errors.md lists for that reason, and one `info` log line of names only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { captureHeaders, getForwardedHeaders } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { httpText, rawRequest } from '../helpers/raw-http.js';
import { SENTINEL } from '../helpers/sentinel.js';

/** docs/errors.md: data.reason -> error.message, with `<name>` where the header's name goes. */
const DOCUMENTED = new Map(
  [...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(/^\| `([a-z_]+)` \| `([^`]+)` \|$/gm)].map((m) => [m[1]!, m[2]!]),
);

const MAX_VALUE = 16;
const logger = captureLogger();
let server: Listening;
/** Whether the last request reached the next handler. */
let passed = false;

before(async () => {
  const capture = captureHeaders({ allow: ['X-Tenant', 'x-mcp-api-key'], maxValueLength: MAX_VALUE, logger });
  server = await listen((req, res) => {
    passed = false;
    capture(req, res, () => {
      passed = true;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ captured: getForwardedHeaders(req), frozen: Object.isFrozen(getForwardedHeaders(req)) }));
    });
  });
});
after(() => server.close());

async function send(lines: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await rawRequest(server.port, Buffer.from(httpText('POST /mcp HTTP/1.1', ['Host: gw.test', 'Content-Length: 0', ...lines]), 'latin1'));
  return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> };
}

describe('captureHeaders: what it captures', () => {
  const cases: [string, string[], Record<string, string>][] = [
    [
      'the allowed names only, lower-case, whatever casing the client sent',
      ['X-TENANT: acme', 'X-Mcp-Api-Key: k1', 'X-Other: o'],
      { 'x-tenant': 'acme', 'x-mcp-api-key': 'k1' },
    ],
    ['nothing when no allowed header is sent', ['X-Other: o'], {}],
    ['an empty value counts as absent', ['X-Tenant:', 'X-Mcp-Api-Key: k1'], { 'x-mcp-api-key': 'k1' }],
    [`a value of exactly maxValueLength (${MAX_VALUE})`, [`X-Tenant: ${'t'.repeat(MAX_VALUE)}`], { 'x-tenant': 't'.repeat(MAX_VALUE) }],
    ['visible ASCII, inner spaces and tabs', ['X-Tenant: a b\tc~!'], { 'x-tenant': 'a b\tc~!' }],
    ['500 header lines, the most a request may have', ['X-Tenant: acme', ...Array.from({ length: 497 }, (_, i) => `X-Filler-${i}: f`)], { 'x-tenant': 'acme' }],
  ];
  for (const [name, lines, expected] of cases) {
    it(name, async () => {
      const { status, body } = await send(lines);
      assert.equal(status, 200);
      assert.ok(passed, 'the next handler ran');
      assert.deepEqual(body, { captured: expected, frozen: true });
    });
  }
});

describe('captureHeaders: what it answers itself', () => {
  const cases: [string, string[], number, string, string | undefined][] = [
    ['a captured header sent on two lines', ['X-Tenant: acme', 'x-tenant: evil'], 400, 'duplicate_header', 'x-tenant'],
    ['a captured value with a byte outside visible ASCII', [`X-Tenant: caf\xe9-${SENTINEL}`], 400, 'invalid_header_value', 'x-tenant'],
    [
      `a captured value one byte over maxValueLength (${MAX_VALUE})`,
      [`X-Tenant: ${SENTINEL.slice(0, 1)}${'t'.repeat(MAX_VALUE)}`],
      431,
      'header_too_large',
      'x-tenant',
    ],
    ['501 header lines', Array.from({ length: 499 }, (_, i) => `X-Filler-${i}: f`), 431, 'too_many_headers', undefined],
  ];
  for (const [name, lines, status, reason, header] of cases) {
    it(`${name}: ${status} ${reason}`, async () => {
      const from = logger.lines.length;
      const res = await send(lines);
      assert.equal(res.status, status);
      assert.equal(passed, false, 'the next handler did not run');
      const documented = DOCUMENTED.get(reason);
      assert.ok(documented, `docs/errors.md lists a message for ${reason}`);
      assert.deepEqual(res.body, {
        jsonrpc: '2.0',
        error: { code: -32000, message: documented.replace('<name>', header ?? ''), data: header === undefined ? { reason } : { reason, header } },
        id: null,
      });
      assert.deepEqual(
        logger.lines.slice(from).map((l) => [l.level, l.message, l.fields]),
        [['info', `captureHeaders: ${status} ${reason}`, { reason, header, status }]],
      );
      assert.ok(!logger.text().includes(SENTINEL), 'no value in the log');
    });
  }
});
