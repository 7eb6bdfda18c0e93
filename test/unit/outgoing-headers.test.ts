/**
 * The outgoing header set as a pure function (buildOutgoingHeaders): one row per rule of the ordered
 * list in lib/forwarding-policy.ts, each naming the step that decides it. The wire suites prove the
 * same rules through real sockets; this table shows the whole policy at a glance.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { envSecrets, type CredentialSource, type McpProxyOptions } from '../../lib/index.js';
import {
  buildOutgoingHeaders,
  checkRequired,
  credentialsRelayed,
  readSecrets,
  sourceOf,
  usesCaptured,
  withPinned,
  type OutgoingSources,
} from '../../lib/forwarding-policy.js';
import { parseProxyOptions } from '../../lib/parse-options.js';

const TARGET = 'http://127.0.0.1:9/mcp';

/** A 2025-era POST as Node parses it: protocol headers, framing, and what the relay never copies. */
const POST: IncomingHttpHeaders = {
  host: 'gateway.example',
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'content-length': '42',
  authorization: 'Bearer gateway-token',
  cookie: 'sid=1',
  'x-forwarded-for': '10.0.0.1',
  connection: 'keep-alive',
  'x-unlisted': 'dropped',
};

interface Row {
  readonly name: string;
  readonly sent?: IncomingHttpHeaders;
  readonly captured?: Record<string, string>;
  readonly route?: Omit<McpProxyOptions, 'target'>;
  readonly sources?: Partial<Pick<OutgoingSources, 'session' | 'replayedLength' | 'dynamic' | 'traceContext'>>;
  /** The whole outgoing set: every name not listed here must be absent. */
  readonly expected: Record<string, string>;
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const FRAMED = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': '42' };

const rows: Row[] = [
  { name: '1, 3: protocol headers and framing only; credentials, host, forwarding and hop-by-hop dropped', expected: FRAMED },
  {
    name: '1: the 2025 session headers pass as sent',
    sent: { ...POST, 'mcp-session-id': 's-1', 'mcp-protocol-version': '2025-11-25', 'last-event-id': 'e-9' },
    expected: { ...FRAMED, 'mcp-session-id': 's-1', 'mcp-protocol-version': '2025-11-25', 'last-event-id': 'e-9' },
  },
  {
    name: '1: 2026-07-28 standard headers pass even when empty; an empty non-standard protocol header does not',
    sent: { ...POST, 'mcp-method': 'tools/call', 'mcp-name': '', 'mcp-param-region': '', 'last-event-id': '' },
    expected: { ...FRAMED, 'mcp-method': 'tools/call', 'mcp-name': '', 'mcp-param-region': '' },
  },
  {
    name: '1: a protocol header Node left undefined is not copied',
    sent: { ...POST, 'mcp-session-id': undefined, 'mcp-method': undefined },
    expected: FRAMED,
  },
  {
    name: '1: the body content coding passes with the body',
    sent: { ...POST, 'content-encoding': 'gzip' },
    expected: { ...FRAMED, 'content-encoding': 'gzip' },
  },
  {
    name: '2: a 2026 request on a session route loses its Mcp-Session-Id',
    sent: { ...POST, 'mcp-session-id': 's-1' },
    sources: { session: { withoutSessionId: true } },
    expected: FRAMED,
  },
  {
    name: '3: chunked framing is re-declared as chunked, whatever coding list the client sent',
    sent: { ...POST, 'content-length': undefined, 'transfer-encoding': 'gzip, chunked' },
    expected: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'transfer-encoding': 'chunked' },
  },
  {
    name: '3: a body the host app parsed is sent re-serialized: its length, no content coding, no chunking',
    sent: { ...POST, 'content-length': undefined, 'transfer-encoding': 'chunked', 'content-encoding': 'gzip' },
    sources: { replayedLength: 17 },
    expected: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': '17' },
  },
  {
    name: '4: every captured header by default, credentials excepted',
    captured: { 'x-mcp-api-key': 'k', 'x-tenant': 't', authorization: 'Bearer user' },
    expected: { ...FRAMED, 'x-mcp-api-key': 'k', 'x-tenant': 't' },
  },
  {
    name: '4: a captured credential with allowCredentials',
    captured: { authorization: 'Bearer user' },
    route: { allowCredentials: true },
    expected: { ...FRAMED, authorization: 'Bearer user' },
  },
  {
    name: '4: passthrough narrows the captured set',
    captured: { 'x-mcp-api-key': 'k', 'x-tenant': 't' },
    route: { passthrough: ['x-tenant'] },
    expected: { ...FRAMED, 'x-tenant': 't' },
  },
  {
    name: '4: pin fills what the request omitted, never what it sent',
    captured: { 'x-tenant': 'sent-now' },
    sources: { session: { pinned: { 'x-tenant': 'pinned', 'x-mcp-api-key': 'pinned-key' } } },
    expected: { ...FRAMED, 'x-tenant': 'sent-now', 'x-mcp-api-key': 'pinned-key' },
  },
  {
    name: '4, 5: a renamed captured header goes out under its new name only',
    captured: { 'x-upstream-authorization': 'Bearer backend-token', 'x-tenant': 't' },
    route: { headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } } },
    expected: { ...FRAMED, authorization: 'Bearer backend-token', 'x-tenant': 't' },
  },
  {
    name: '5: a rename whose captured header is absent sets nothing, and the client copy of the target never passes',
    captured: { authorization: 'Bearer client-copy' },
    route: { allowCredentials: true, headers: { fromCaptured: { Authorization: 'x-upstream-authorization' } } },
    expected: FRAMED,
  },
  {
    name: '4, 6: a templated or computed name: the computed value, never the client copy; the template input is not forwarded',
    captured: { 'x-user-token': 'tok', 'x-user-id': 'forged', 'x-tenant': 't' },
    route: { headers: { template: { 'X-Figma-Token': 'Bearer {captured:x-user-token}' }, fromRequest: { 'X-User-Id': () => 'alice' } } },
    sources: { dynamic: { 'x-figma-token': 'Bearer tok', 'x-user-id': 'alice' } },
    expected: { ...FRAMED, 'x-figma-token': 'Bearer tok', 'x-user-id': 'alice', 'x-tenant': 't' },
  },
  {
    name: '6: a computed header that yields nothing: no header, and still not the client copy',
    captured: { 'x-user-id': 'forged' },
    route: { headers: { fromRequest: { 'X-User-Id': () => undefined } } },
    sources: { dynamic: {} },
    expected: FRAMED,
  },
  {
    name: '7: static plaintext wins over a captured header of the same name',
    captured: { 'x-mcp-toolsets': 'all' },
    route: { headers: { plaintext: { 'X-MCP-Toolsets': 'projects' } } },
    expected: { ...FRAMED, 'x-mcp-toolsets': 'projects' },
  },
  {
    name: '7: a secret wins over pinned and captured values',
    captured: { 'x-api-key': 'client' },
    route: { headers: { plaintext: { 'X-Static': 's' }, fromSecret: { 'X-Api-Key': 'API_KEY' } } },
    sources: { session: { pinned: { 'x-api-key': 'pinned' } } },
    expected: { ...FRAMED, 'x-static': 's', 'x-api-key': 'secret-value' },
  },
  {
    name: '8: the client trace context is dropped without forwardTraceContext, like any unlisted header',
    sent: { ...POST, traceparent: TRACEPARENT, tracestate: 'rojo=1' },
    sources: { traceContext: { traceparent: TRACEPARENT, tracestate: 'rojo=1' } },
    expected: FRAMED,
  },
  {
    name: '8: with forwardTraceContext, the validated traceparent and tracestate',
    sent: { ...POST, traceparent: TRACEPARENT, tracestate: 'rojo=1' },
    route: { forwardTraceContext: true },
    sources: { traceContext: { traceparent: TRACEPARENT, tracestate: 'rojo=1' } },
    expected: { ...FRAMED, traceparent: TRACEPARENT, tracestate: 'rojo=1' },
  },
  {
    name: '8: with forwardTraceContext, only what validation passed (here the traceparent without its invalid tracestate)',
    sent: { ...POST, traceparent: TRACEPARENT, tracestate: 'Upper=1' },
    route: { forwardTraceContext: true },
    sources: { traceContext: { traceparent: TRACEPARENT } },
    expected: { ...FRAMED, traceparent: TRACEPARENT },
  },
];

describe('buildOutgoingHeaders: the ordered list', () => {
  for (const row of rows) {
    it(row.name, () => {
      const config = parseProxyOptions({ target: TARGET, secrets: envSecrets({ API_KEY: 'secret-value' }), ...row.route });
      const secrets = readSecrets(config);
      assert.ok(secrets.ok);
      const captured = withPinned(row.captured ?? {}, row.sources?.session);
      const sources: OutgoingSources = { sent: row.sent ?? POST, captured, secrets: secrets.values, ...row.sources };
      assert.deepEqual(buildOutgoingHeaders(sources, config), row.expected);
    });
  }

  it('a secret gone since startup refuses with 502 secret_unavailable, naming the header, never a value', () => {
    const env: NodeJS.ProcessEnv = { API_KEY: 'secret-value' };
    const config = parseProxyOptions({ target: TARGET, secrets: envSecrets(env), headers: { fromSecret: { 'X-Api-Key': 'API_KEY' } } });
    delete env.API_KEY;
    const secrets = readSecrets(config);
    assert.equal(secrets.ok, false);
    if (secrets.ok) return;
    assert.equal(secrets.rejection.status, 502);
    assert.equal(secrets.rejection.reason, 'secret_unavailable');
    assert.match(secrets.rejection.detail ?? '', /x-api-key/i);
    assert.doesNotMatch(JSON.stringify(secrets.rejection), /secret-value/);
  });
});

describe('readSecrets: the values a request reads now', () => {
  const env: NodeJS.ProcessEnv = { API_KEY: 'key-value', OTHER: 'other-value', TEMPLATE: 'template-value' };
  const route = (headers: McpProxyOptions['headers']) => parseProxyOptions({ target: TARGET, secrets: envSecrets(env), headers });
  const read = (headers: McpProxyOptions['headers']) => {
    const secrets = readSecrets(route(headers));
    assert.ok(secrets.ok);
    return { values: secrets.values, byName: Object.fromEntries(secrets.byName), all: secrets.all };
  };

  it('no secret-backed header: nothing read, and nothing allocated per request (the same empty result each time)', () => {
    assert.deepEqual(read({ plaintext: { 'X-A': 'v' } }), { values: [], byName: {}, all: [] });
    const config = route({ plaintext: { 'X-A': 'v' } });
    const [first, second] = [readSecrets(config), readSecrets(config)];
    assert.ok(first.ok && second.ok);
    assert.ok(first.values === second.values && first.byName === second.byName && first.all === second.all);
  });

  it('fromSecret headers: their values in order, each also among all the values read (the same list, not a copy)', () => {
    assert.deepEqual(read({ fromSecret: { 'X-Api-Key': 'API_KEY', 'X-Other': 'OTHER' } }), {
      values: ['key-value', 'other-value'],
      byName: {},
      all: ['key-value', 'other-value'],
    });
    const config = route({ fromSecret: { 'X-Api-Key': 'API_KEY' } });
    const [first, second] = [readSecrets(config), readSecrets(config)];
    assert.ok(first.ok && second.ok);
    assert.ok(first.all === first.values && first.byName === second.byName, 'no map or list built for templates that are not there');
  });

  it('template secrets: by secret name, for the templates, and among all the values read', () => {
    assert.deepEqual(read({ fromSecret: { 'X-Api-Key': 'API_KEY' }, template: { 'X-T': 'k={secret:TEMPLATE}' } }), {
      values: ['key-value'],
      byName: { TEMPLATE: 'template-value' },
      all: ['key-value', 'template-value'],
    });
  });

  it('a template secret gone since startup: 502 secret_unavailable with the documented message; the log detail names header and secret, no value', () => {
    const vanishing: NodeJS.ProcessEnv = { TEMPLATE: 'template-value' };
    const config = parseProxyOptions({ target: TARGET, secrets: envSecrets(vanishing), headers: { template: { 'X-T': 'k={secret:TEMPLATE}' } } });
    delete vanishing.TEMPLATE;
    const secrets = readSecrets(config);
    assert.ok(!secrets.ok);
    assert.deepEqual(
      { status: secrets.rejection.status, reason: secrets.rejection.reason, message: secrets.rejection.message },
      { status: 502, reason: 'secret_unavailable', message: 'Bad gateway: a credential for this backend is unavailable' },
    );
    assert.match(secrets.rejection.detail ?? '', /^header "x-t": secret "TEMPLATE" \(environment variable\) /);
    assert.doesNotMatch(JSON.stringify(secrets.rejection), /template-value/);
  });
});

describe('checkRequired', () => {
  const config = parseProxyOptions({ target: TARGET, passthrough: ['x-tenant', 'x-user'], required: ['X-Tenant', 'x-user'] });

  it('every required name present: no refusal', () => {
    assert.equal(checkRequired({ 'x-tenant': 't', 'x-user': 'u' }, config), undefined);
  });

  it('one missing: 400 missing_required_header naming the first missing one, with the documented message', () => {
    const refusal = checkRequired({ 'x-user': 'u' }, config);
    assert.deepEqual(
      { status: refusal?.status, reason: refusal?.reason, header: refusal?.header, message: refusal?.message },
      {
        status: 400,
        reason: 'missing_required_header',
        header: 'x-tenant',
        message: 'Bad request: this route requires header x-tenant, and the request does not provide it',
      },
    );
  });
});

describe('sourceOf, credentialsRelayed, usesCaptured', () => {
  const source: CredentialSource = { description: 'test issuer', key: () => 'k', resolve: () => 'Bearer t' };
  const config = parseProxyOptions({
    target: TARGET,
    secrets: envSecrets({ API_KEY: 'key-value' }),
    passthrough: ['x-tenant'],
    principal: () => 'alice',
    headers: {
      fromSecret: { 'X-Api-Key': 'API_KEY' },
      plaintext: { 'X-Static': 'v' },
      fromRequest: { 'X-Computed': () => 'c' },
      fromCredential: { 'X-Backend-Token': source },
      template: { 'X-Identity': 'u={principal}' },
      fromCaptured: { Authorization: 'x-upstream-authorization' },
    },
  });

  it('names the step that sets each outgoing header; any other name was captured', () => {
    const names = ['x-api-key', 'x-static', 'x-computed', 'x-backend-token', 'x-identity', 'authorization', 'x-tenant'];
    assert.deepEqual(
      names.map((name) => sourceOf(name, config)),
      ['secret', 'static', 'request', 'credential', 'template', 'renamed', 'captured'],
    );
  });

  it('credentialsRelayed: the credential names and per-user credentials in the set, with their step; absent ones are not listed', () => {
    assert.deepEqual(credentialsRelayed({ authorization: 'Bearer r', cookie: 'c', 'x-backend-token': 'Bearer t', 'x-static': 'v' }, config), [
      { name: 'authorization', source: 'renamed' },
      { name: 'cookie', source: 'captured' },
      { name: 'x-backend-token', source: 'credential' },
    ]);
    assert.deepEqual(credentialsRelayed({ 'x-static': 'v' }, config), []);
  });

  it('credentialsRelayed: a per-user credential sent as Authorization is listed once', () => {
    const asAuthorization = parseProxyOptions({ target: TARGET, headers: { fromCredential: { Authorization: source } } });
    assert.deepEqual(credentialsRelayed({ authorization: 'Bearer t' }, asAuthorization), [{ name: 'authorization', source: 'credential' }]);
  });

  it('usesCaptured: a captured name the route forwards or reads into another header, and no other', () => {
    assert.deepEqual(
      ['x-tenant', 'x-upstream-authorization', 'x-other'].map((name) => usesCaptured(name, config)),
      [true, true, false],
    );
  });
});
