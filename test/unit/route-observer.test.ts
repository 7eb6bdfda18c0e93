/**
 * What a route reports to its metrics about headers (countHeaders), as a table over the policy's
 * outgoing set: each row a route, what the client sent and captureHeaders captured, and the exact
 * forwarded and dropped events with their bounded labels. The outgoing set comes from the real
 * buildOutgoingHeaders, so a row fails if the counting and the policy disagree.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import type { McpProxyOptions, RouteObserver } from '../../lib/index.js';
import { buildOutgoingHeaders } from '../../lib/forwarding-policy.js';
import { parseProxyOptions } from '../../lib/parse-options.js';
import { countHeaders, labelledNames, observedMethod } from '../../lib/route-observer.js';

const QUIET = { warn() {}, error() {} };
const BASE: IncomingHttpHeaders = { host: 'gw', 'content-type': 'application/json', accept: 'application/json', 'content-length': '2', 'user-agent': 'ua' };

interface Row {
  readonly name: string;
  readonly route: Omit<McpProxyOptions, 'target' | 'logger'>;
  readonly sent?: IncomingHttpHeaders;
  readonly captured: Record<string, string>;
  readonly forwarded: string[];
  readonly dropped: string[];
}

const rows: Row[] = [
  {
    name: 'default passthrough: a captured header is forwarded and labelled other (the route does not name it)',
    route: {},
    captured: { 'x-tenant': 't' },
    forwarded: ['other'],
    dropped: [],
  },
  {
    name: 'default passthrough: a captured credential without allowCredentials is dropped as credential_not_allowed',
    route: {},
    captured: { authorization: 'Bearer x' },
    forwarded: [],
    dropped: ['other credential_not_allowed'],
  },
  {
    name: 'passthrough names its header: forwarded under its name; an unlisted one dropped as other',
    route: { passthrough: ['x-tenant'] },
    captured: { 'x-tenant': 't', 'x-extra': 'e' },
    forwarded: ['x-tenant'],
    dropped: ['other not_in_passthrough'],
  },
  {
    name: 'passthrough lists a name the client sent but nothing captured: not_captured, labelled by name',
    route: { passthrough: ['x-region'] },
    sent: { 'x-region': 'eu' },
    captured: {},
    forwarded: [],
    dropped: ['x-region not_captured'],
  },
  {
    name: 'passthrough lists a name the client did not send: nothing reported (absence is not a drop)',
    route: { passthrough: ['x-region'] },
    captured: {},
    forwarded: [],
    dropped: [],
  },
  {
    name: "the route sets a name the client also sent: the route's value forwarded, the client's dropped as overridden_by_route",
    route: { headers: { plaintext: { 'X-Static': 'v' } } },
    captured: { 'x-static': 'client' },
    forwarded: ['x-static'],
    dropped: ['x-static overridden_by_route'],
  },
  {
    name: 'fromCaptured: the captured input is used (not dropped), the renamed header is forwarded by its name',
    route: { headers: { fromCaptured: { 'X-Upstream-Key': 'x-key' } } },
    captured: { 'x-key': 'k' },
    forwarded: ['x-upstream-key'],
    dropped: [],
  },
  {
    name: 'a template reads the captured copy of the name it sets: the input is used, not dropped as overridden_by_route',
    route: { headers: { template: { 'X-User': 'u-{captured:x-user}' } } },
    captured: { 'x-user': 'alice' },
    forwarded: [],
    dropped: [],
  },
  {
    name: 'fromCaptured input sent but not captured: not_captured under the input name',
    route: { headers: { fromCaptured: { 'X-Upstream-Key': 'x-key' } } },
    sent: { 'x-key': 'k' },
    captured: {},
    forwarded: [],
    dropped: ['x-key not_captured'],
  },
  {
    name: 'required names a captured header: it becomes a label',
    route: { required: ['x-tenant'] },
    captured: { 'x-tenant': 't', 'x-other': 'o' },
    forwarded: ['other', 'x-tenant'],
    dropped: [],
  },
  {
    name: 'protocol, framing and unlisted client headers are never counted',
    route: {},
    sent: { 'mcp-session-id': 's', 'mcp-protocol-version': '2025-06-18', 'x-forwarded-for': '1.2.3.4', cookie: 'c' },
    captured: {},
    forwarded: [],
    dropped: [],
  },
];

function recorder(): RouteObserver & { forwarded: string[]; dropped: string[] } {
  const forwarded: string[] = [];
  const dropped: string[] = [];
  const ignore = (): void => {};
  return {
    forwarded,
    dropped,
    requestFinished: ignore,
    upstreamResponded: ignore,
    streamOpened: ignore,
    streamClosed: ignore,
    headerForwarded: (header) => forwarded.push(header),
    headerDropped: (header, reason) => dropped.push(`${header} ${reason}`),
  };
}

describe('countHeaders: forwarded and dropped headers with bounded labels', () => {
  for (const row of rows) {
    it(row.name, () => {
      const config = parseProxyOptions({ target: 'http://127.0.0.1:9/mcp', logger: QUIET, ...row.route });
      const sent = { ...BASE, ...row.sent, ...row.captured };
      const outgoing = buildOutgoingHeaders({ sent, captured: row.captured, secrets: [] }, config);
      const observer = recorder();
      countHeaders(observer, labelledNames(config), sent, row.captured, outgoing, config);
      assert.deepEqual(observer.forwarded.sort(), [...row.forwarded].sort(), 'forwarded');
      assert.deepEqual(observer.dropped.sort(), [...row.dropped].sort(), 'dropped');
    });
  }
});

describe('observedMethod: a bounded method label', () => {
  for (const [method, label] of [
    ['GET', 'GET'],
    ['POST', 'POST'],
    ['DELETE', 'DELETE'],
    ['PUT', 'other'],
    ['get', 'other'],
    ['BREW', 'other'],
    [undefined, 'other'],
  ] as const) {
    it(`${String(method)} -> ${label}`, () => assert.equal(observedMethod(method), label));
  }
});
