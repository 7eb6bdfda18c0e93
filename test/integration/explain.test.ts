/**
 * route.explain against the real thing: each case is explained, then sent byte for byte through a real
 * Express app (captureHeaders + mcpProxy) to a recording backend, and explain's prediction must match
 * what happened: the same refusal (status and reason) or exactly the header names the backend
 * received, the same values where explain shows them, and a drop reason for every header the client
 * sent whose value did not arrive. Secret and credential values never appear in a result or its text.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { captureHeaders, envSecrets, formatExplanation, getForwardedHeaders, mcpProxy } from '../../lib/index.js';
import type { CredentialSource, ExplainInput, Explanation, McpRoute } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { httpText, rawRequest } from '../helpers/raw-http.js';
import { recordingBackend, type RecordedRequest, type RecordingBackend } from '../helpers/recording-backend.js';
import { SENTINEL } from '../helpers/sentinel.js';

const SECRET = `${SENTINEL}-explain-secret`;
const CALLER_TOKEN = `Bearer ${SENTINEL}-caller-token`;
const CREDENTIAL = `Bearer ${SENTINEL}-exchanged`;
const BODY = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';
const MCP = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Content-Length': String(BODY.length) };

/** A credential source that answers locally and counts its resolve calls: explain must make none. */
function countingSource(): CredentialSource & { calls: number } {
  const source = {
    calls: 0,
    description: 'test issuer at https://as.test/token',
    key: (req: IncomingMessage) => (typeof req.headers['x-user-token'] === 'string' ? 'user' : undefined),
    resolve() {
      source.calls++;
      return CREDENTIAL;
    },
  };
  return source;
}

interface Case {
  name: string;
  route: string;
  input: Omit<ExplainInput, 'capture'>;
  body?: string;
  /** What explain must say (checked before comparing with the real request). */
  expect: { outcome: 'forwarded' } | { outcome: 'rejected'; status: number; reason: string; by: string };
  /** Drop reasons explain must give (name -> reason). */
  drops?: Record<string, string>;
  /** The route's own headers explain must list as not sent (name -> reason). */
  omitted?: Record<string, string>;
  /** A note explain must give (its start). */
  note?: string;
}

const POST = (headers: Record<string, string | string[]>): ExplainInput => ({ headers: { Host: '127.0.0.1', ...MCP, ...headers } });

const CASES: Case[] = [
  {
    name: 'a captured header in passthrough is forwarded; one outside it is dropped as not_in_passthrough',
    route: '/github',
    input: POST({ 'X-Mcp-Api-Key': 'key-1', 'X-Tenant': 'acme' }),
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: { 'x-tenant': 'not_in_passthrough', host: 'set_by_relay' },
  },
  {
    name: "the client's copy of a static or secret header is dropped as overridden_by_route",
    route: '/github',
    input: POST({ 'X-Api-Key': 'forged', 'X-MCP-Toolsets': 'forged' }),
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: { 'x-api-key': 'overridden_by_route', 'x-mcp-toolsets': 'overridden_by_route' },
  },
  {
    name: 'a captured credential without allowCredentials is dropped as credential_not_allowed',
    route: '/default',
    input: POST({ Authorization: CALLER_TOKEN, 'X-Tenant': 'acme' }),
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: { authorization: 'credential_not_allowed' },
  },
  {
    name: 'a captured credential with allowCredentials is forwarded, masked even with reveal',
    route: '/passthrough',
    input: POST({ Authorization: CALLER_TOKEN }),
    body: BODY,
    expect: { outcome: 'forwarded' },
  },
  {
    name: 'hop-by-hop, forwarding and uncaptured names are dropped with their reasons',
    route: '/default',
    input: POST({
      'Keep-Alive': 'timeout=5',
      TE: 'trailers',
      'Proxy-Authorization': 'Basic eA==',
      'X-Forwarded-For': '6.6.6.6',
      Forwarded: 'for=6.6.6.6',
      Via: '1.1 evil',
      'X-Real-IP': '6.6.6.6',
      'X-Envoy-Internal': 'true',
      'User-Agent': 'agent/1.0',
      Connection: 'close',
    }),
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: {
      'keep-alive': 'hop_by_hop',
      te: 'hop_by_hop',
      'proxy-authorization': 'hop_by_hop',
      connection: 'hop_by_hop',
      'x-forwarded-for': 'restricted',
      forwarded: 'restricted',
      via: 'restricted',
      'x-real-ip': 'restricted',
      'x-envoy-internal': 'restricted',
      'user-agent': 'not_captured',
    },
  },
  {
    name: 'an empty captured value is dropped as empty_value',
    route: '/default',
    input: POST({ 'X-Tenant': '' }),
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: { 'x-tenant': 'empty_value' },
  },
  {
    name: 'renamed, templated and computed headers are forwarded; their captured inputs are read_by_route',
    route: '/identity',
    input: { ...POST({ 'X-User-Token': 'user-token-1', 'X-Tenant': 'acme', 'X-Test-User': 'alice' }), principal: 'alice' },
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: { 'x-user-token': 'read_by_route', 'x-test-user': 'not_captured' },
  },
  {
    name: 'a per-user credential is forwarded as credential, masked, without calling its source',
    route: '/credential',
    input: POST({ 'X-User-Token': 'user-token-1' }),
    body: BODY,
    expect: { outcome: 'forwarded' },
  },
  {
    name: 'a 2026-07-28 request on a bind route: its session id is dropped as session_id_not_forwarded',
    route: '/bind',
    input: POST({ 'Mcp-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/list', 'Mcp-Session-Id': 'stray-id' }),
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: { 'mcp-session-id': 'session_id_not_forwarded' },
  },
  {
    name: 'a POST without a body goes out with Content-Length: 0',
    route: '/default',
    input: { headers: { Host: '127.0.0.1', 'Content-Type': 'application/json' } },
    expect: { outcome: 'forwarded' },
  },
  {
    name: 'a GET stream request',
    route: '/default',
    input: { method: 'GET', headers: { Host: '127.0.0.1', Accept: 'text/event-stream', 'X-Tenant': 'acme' } },
    expect: { outcome: 'forwarded' },
  },
  {
    name: 'a captured value with a byte outside visible ASCII is refused by captureHeaders (400 invalid_header_value)',
    route: '/default',
    input: POST({ 'X-Tenant': 'caf\u00e9' }),
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'invalid_header_value', by: 'captureHeaders' },
  },
  {
    name: 'a captured value over maxValueLength is refused by captureHeaders (431 header_too_large)',
    route: '/default',
    input: POST({ 'X-Tenant': 'a'.repeat(9000) }),
    body: BODY,
    expect: { outcome: 'rejected', status: 431, reason: 'header_too_large', by: 'captureHeaders' },
  },
  {
    name: 'a captured header sent twice is refused (400 duplicate_header)',
    route: '/default',
    input: POST({ 'X-Tenant': ['acme', 'evil'] }),
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'duplicate_header', by: 'captureHeaders' },
  },
  {
    name: 'a control character in a value is refused by Node before any middleware (400)',
    route: '/default',
    input: POST({ 'X-Other': 'a\u0001b' }),
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'http_parse_error', by: 'node:http' },
  },
  {
    name: 'Connection nominating a forwarded captured header is refused (400 connection_nominates_forwarded_header)',
    route: '/github',
    input: POST({ 'X-Mcp-Api-Key': 'key-1', Connection: 'x-mcp-api-key' }),
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'connection_nominates_forwarded_header', by: 'mcpProxy' },
  },
  {
    name: 'a Host the DNS-rebinding guard refuses (403 host_not_allowed)',
    route: '/default',
    input: { headers: { ...POST({}).headers, Host: 'evil.example' } },
    body: BODY,
    expect: { outcome: 'rejected', status: 403, reason: 'host_not_allowed', by: 'mcpProxy' },
  },
  {
    name: 'a required header missing (400 missing_required_header)',
    route: '/required',
    input: POST({ 'X-Tenant': 'acme' }),
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'missing_required_header', by: 'mcpProxy' },
  },
  {
    name: 'a method that is not an HTTP token is refused by Node before any middleware (400)',
    route: '/default',
    input: { method: 'G(T', headers: { Host: '127.0.0.1' } },
    expect: { outcome: 'rejected', status: 400, reason: 'http_parse_error', by: 'node:http' },
  },
  {
    name: 'a request target with a space is refused by Node before any middleware (400)',
    route: '/default',
    input: { ...POST({}), path: '/a b' },
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'http_parse_error', by: 'node:http' },
  },
  {
    name: 'a header name that is not an HTTP token is refused by Node before any middleware (400)',
    route: '/default',
    input: POST({ 'X Bad': 'a' }),
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'http_parse_error', by: 'node:http' },
  },
  {
    name: 'a header block over http.maxHeaderSize is refused by Node before any middleware (431)',
    route: '/default',
    input: POST({ 'X-Big': 'a'.repeat(17_000) }),
    body: BODY,
    expect: { outcome: 'rejected', status: 431, reason: 'header_block_too_large', by: 'node:http' },
  },
  {
    name: 'a 2024-11-05 HTTP+SSE request (sessionId in the query) on a bind route is refused (400 unsupported_transport)',
    route: '/bind',
    input: { ...POST({}), path: '/?sessionId=legacy-1' },
    body: BODY,
    expect: { outcome: 'rejected', status: 400, reason: 'unsupported_transport', by: 'mcpProxy' },
  },
  {
    name: 'a 2024-11-05 HTTP+SSE request on a bind route with allowLegacySse is forwarded, and a note says it is unprotected',
    route: '/legacy',
    input: { ...POST({}), path: '/?sessionId=legacy-1' },
    body: BODY,
    expect: { outcome: 'forwarded' },
    note: 'HTTP+SSE (2024-11-05) request: forwarded without',
  },
  {
    name: 'a captured header the route sets itself, whose template input is absent, is dropped as overridden_by_route and not sent',
    route: '/tenant-template',
    input: POST({ 'X-Tenant': 'acme' }),
    body: BODY,
    expect: { outcome: 'forwarded' },
    drops: { 'x-tenant': 'overridden_by_route' },
    omitted: { 'x-tenant': 'input_absent' },
  },
  {
    name: 'a per-user credential whose key(req) gives no key is omitted (no_credential); the request goes without it',
    route: '/credential',
    input: POST({}),
    body: BODY,
    expect: { outcome: 'forwarded' },
    omitted: { 'x-backend-token': 'no_credential' },
  },
  {
    name: 'a per-user credential whose key(req) throws is the 502 credential_unavailable a request gets',
    route: '/failing-key',
    input: POST({ 'X-User-Token': 'user-token-1' }),
    body: BODY,
    expect: { outcome: 'rejected', status: 502, reason: 'credential_unavailable', by: 'mcpProxy' },
  },
  {
    name: 'a computed header whose function throws is the 500 computed_header_failed a request gets',
    route: '/failing-computed',
    input: POST({}),
    body: BODY,
    expect: { outcome: 'rejected', status: 500, reason: 'computed_header_failed', by: 'mcpProxy' },
  },
  {
    name: 'a secret that is not set (502 secret_unavailable), with no value',
    route: '/missing-secret',
    input: POST({}),
    body: BODY,
    expect: { outcome: 'rejected', status: 502, reason: 'secret_unavailable', by: 'mcpProxy' },
  },
];

/** The request a case describes, as bytes: its header lines in order (latin1), then the body. */
function wireText(input: ExplainInput, path: string, body = ''): Buffer {
  const lines = Object.entries(input.headers).flatMap(([name, value]) => (typeof value === 'string' ? [value] : value).map((v) => `${name}: ${v}`));
  return Buffer.from(httpText(`${input.method ?? 'POST'} ${path}${input.path ?? ''} HTTP/1.1`, lines, body), 'latin1');
}

/** Lower-case name -> value as the backend received it (one line each; the test sends no repeats that pass). */
function received(recorded: RecordedRequest): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < recorded.rawHeaders.length; i += 2) map.set(recorded.rawHeaders[i]!.toLowerCase(), recorded.rawHeaders[i + 1]!);
  return map;
}

/** Lower-case name -> the client's first value, trimmed as Node's parser trims it. */
function sent(input: ExplainInput): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(input.headers)) {
    const first = typeof value === 'string' ? value : value[0]!;
    if (!map.has(name.toLowerCase())) map.set(name.toLowerCase(), first.trim());
  }
  return map;
}

describe('explain predicts what a real request does', () => {
  let backend: RecordingBackend;
  let relay: Listening;
  const logger = captureLogger();
  const source = countingSource();
  const capture = captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant', 'x-user-token', 'authorization'], allowCredentials: true, logger });
  const routes = new Map<string, McpRoute>();

  before(async () => {
    backend = await recordingBackend();
    const target = `${backend.url}/mcp`;
    const secrets = envSecrets({ GITHUB_API_KEY: SECRET });
    routes.set(
      '/github',
      mcpProxy({
        target,
        passthrough: ['x-mcp-api-key'],
        headers: { plaintext: { 'X-MCP-Toolsets': 'projects' }, fromSecret: { 'X-Api-Key': 'GITHUB_API_KEY' } },
        secrets,
        logger,
      }),
    );
    routes.set('/default', mcpProxy({ target, logger }));
    routes.set('/passthrough', mcpProxy({ target, allowCredentials: true, logger }));
    routes.set(
      '/identity',
      mcpProxy({
        target,
        principal: (req) => (req as { user?: { id: string } }).user?.id,
        headers: {
          fromCaptured: { 'X-Upstream-Token': 'x-user-token' },
          template: { 'X-Principal': 'user={principal}', 'X-Backend-Key': 'k={secret:GITHUB_API_KEY}' },
          fromRequest: { 'X-Has-Tenant': (req) => (req.headers['x-tenant'] === undefined ? undefined : 'yes') },
        },
        secrets,
        logger,
      }),
    );
    routes.set('/credential', mcpProxy({ target, headers: { fromCredential: { 'X-Backend-Token': source } }, logger }));
    routes.set(
      '/failing-key',
      mcpProxy({
        target,
        headers: {
          fromCredential: {
            'X-Backend-Token': {
              ...countingSource(),
              key: () => {
                throw new Error(SECRET);
              },
            },
          },
        },
        logger,
      }),
    );
    const fails = (): string => {
      throw new Error(SECRET);
    };
    routes.set('/failing-computed', mcpProxy({ target, headers: { fromRequest: { 'X-Computed': fails } }, logger }));
    routes.set('/bind', mcpProxy({ target, session: 'bind', logger }));
    routes.set('/legacy', mcpProxy({ target, session: { mode: 'bind', allowLegacySse: true }, logger }));
    routes.set(
      '/tenant-template',
      mcpProxy({ target, principal: (req) => (req as { user?: { id: string } }).user?.id, headers: { template: { 'X-Tenant': 'user={principal}' } }, logger }),
    );
    routes.set('/required', mcpProxy({ target, required: ['x-mcp-api-key'], logger }));
    // Present at start-up (it is checked then), removed later: a secret that went missing.
    const vanishing: NodeJS.ProcessEnv = { VANISHING: `${SENTINEL}-gone` };
    routes.set('/missing-secret', mcpProxy({ target, headers: { fromSecret: { 'X-Api-Key': 'VANISHING' } }, secrets: envSecrets(vanishing), logger }));
    delete vanishing.VANISHING;

    const app = express();
    // What an auth middleware does: the principal the route reads, which explain is given instead.
    app.use((req, _res, next) => {
      const user = req.headers['x-test-user'];
      if (typeof user === 'string') (req as { user?: { id: string } }).user = { id: user };
      next();
    });
    app.use(capture);
    for (const [path, route] of routes) app.use(path, route);
    relay = await listen(app);
  });
  after(async () => {
    await relay.close();
    await backend.close();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const route = routes.get(c.route)!;
      const callsBefore = source.calls;
      const explained = await route.explain({ ...c.input, capture, reveal: true });
      assert.equal(source.calls, callsBefore, 'explain called the credential source');
      const text = formatExplanation(explained);
      assert.ok(!JSON.stringify(explained).includes(SENTINEL), `a secret or credential value in the result:\n${text}`);
      assert.ok(!text.includes(SENTINEL), `a secret or credential value in the text:\n${text}`);
      assert.equal(explained.outcome, c.expect.outcome, text);
      if (c.expect.outcome === 'rejected') {
        assert.deepEqual(
          { status: explained.rejection?.status, reason: explained.rejection?.reason, by: explained.rejection?.by },
          { status: c.expect.status, reason: c.expect.reason, by: c.expect.by },
          text,
        );
      }
      for (const [name, reason] of Object.entries(c.drops ?? {})) {
        assert.equal(explained.dropped.find((d) => d.name === name)?.reason, reason, `${name}\n${text}`);
      }
      for (const [name, reason] of Object.entries(c.omitted ?? {})) {
        assert.equal(explained.omitted.find((o) => o.name === name)?.reason, reason, `${name}\n${text}`);
      }
      if (c.note)
        assert.ok(
          explained.notes.some((n) => n.startsWith(c.note!)),
          text,
        );

      const before = backend.requests.length;
      const res = await rawRequest(relay.port, wireText(c.input, c.route, c.body));
      if (explained.outcome === 'rejected') {
        assert.equal(res.status, explained.rejection!.status, `real answer: ${res.status} ${res.body}\n${text}`);
        if (explained.rejection!.by !== 'node:http') {
          const body = JSON.parse(res.body) as { error: { data: { reason: string } } };
          assert.equal(body.error.data.reason, explained.rejection!.reason);
        }
        assert.equal(backend.requests.length, before, 'a rejected request reached the backend');
        return;
      }
      assert.equal(res.status, 200, `real answer: ${res.status} ${res.body}\n${text}`);
      assert.equal(backend.requests.length, before + 1);
      assertMatches(explained, received(backend.last()), sent(c.input), text);
    });
  }

  it('explain never calls the backend', async () => {
    const before = backend.requests.length;
    for (const c of CASES) await routes.get(c.route)!.explain({ ...c.input, capture });
    assert.equal(backend.requests.length, before);
  });
});

/** The backend got exactly the forwarded names, the shown values, and the client's value of no dropped header. */
function assertMatches(explained: Explanation, got: Map<string, string>, client: Map<string, string>, text: string): void {
  assert.deepEqual(explained.forwarded.map((h) => h.name).sort(), [...got.keys()].sort(), `forwarded names differ from the received ones\n${text}`);
  for (const h of explained.forwarded) {
    if (!h.masked) assert.equal(h.value, got.get(h.name), `${h.name}\n${text}`);
  }
  const dropped = new Set(explained.dropped.map((d) => d.name));
  for (const [name, value] of client) {
    const arrived = got.get(name) === value;
    assert.equal(dropped.has(name), !arrived, `${name}: ${arrived ? 'arrived but explained as dropped' : 'did not arrive but has no drop reason'}\n${text}`);
  }
}

describe('explain: what it says without a real request', () => {
  const logger = captureLogger();
  const route = mcpProxy({
    target: 'http://127.0.0.1:9/mcp',
    principal: () => undefined,
    headers: { template: { 'X-Principal': 'user={principal}' }, fromRequest: { 'X-Nothing': () => undefined }, fromCaptured: { 'X-Upstream': 'x-user-token' } },
    session: 'bind',
    logger,
  });

  it('without capture, no header counts as captured, and a note says so', async () => {
    const result = await route.explain({ headers: { Host: 'localhost', 'X-Tenant': 'acme' } });
    assert.equal(result.dropped.find((d) => d.name === 'x-tenant')?.reason, 'not_captured');
    assert.ok(result.notes.some((n) => n.startsWith('No capture middleware given')));
  });

  it('without reveal every value is masked', async () => {
    const result = await route.explain({ headers: { Host: 'localhost', 'Content-Type': 'application/json' } });
    assert.ok(result.forwarded.length > 0);
    assert.ok(result.forwarded.every((h) => h.masked && h.value === '***'));
  });

  it("the route's headers this request does not get are listed as omitted, with the input they lack", async () => {
    const result = await route.explain({ headers: { Host: 'localhost' } });
    assert.deepEqual(
      result.omitted.map((o) => [o.name, o.source, o.reason]),
      [
        ['x-upstream', 'renamed', 'input_absent'],
        ['x-principal', 'template', 'input_absent'],
        ['x-nothing', 'request', 'no_value'],
      ],
    );
  });

  it('a given principal fills {principal}', async () => {
    const result = await route.explain({ headers: { Host: 'localhost' }, principal: 'alice', reveal: true });
    assert.equal(result.forwarded.find((h) => h.name === 'x-principal')?.value, 'user=alice');
  });

  it('a session route takes the request as the first of a session, and says so', async () => {
    const result = await route.explain({ headers: { Host: 'localhost' } });
    assert.ok(result.notes.some((n) => n.includes('first request of a session')));
  });

  it('a 2025 request naming a session: explain does not consult the store, and says what a real request needs (with principal when the route binds one)', async () => {
    const headers = { Host: 'localhost', 'Mcp-Session-Id': 'session-1' };
    const plain = await route.explain({ headers });
    assert.equal(plain.outcome, 'forwarded');
    const note = plain.notes.find((n) => n.startsWith("Session 'bind': explain does not consult the session store"));
    assert.ok(note?.includes('with the same captured headers; otherwise 404 session_not_found'), plain.notes.join('\n'));
    const withPrincipal = mcpProxy({ target: 'http://127.0.0.1:9/mcp', session: { mode: 'bind', principal: () => 'alice' }, logger });
    const bound = await withPrincipal.explain({ headers });
    assert.ok(
      bound.notes.some((n) => n.includes('with the same captured headers and principal;')),
      bound.notes.join('\n'),
    );
  });

  it('formatExplanation lists the omitted headers with their source, reason and why', async () => {
    const text = formatExplanation(await route.explain({ headers: { Host: 'localhost' } }));
    const lines = text.split('\n');
    const at = lines.indexOf('Set by the route, but not for this request:');
    assert.ok(at > 0, text);
    assert.match(lines[at + 1]!, /^ {2}header +source +reason +why$/);
    assert.match(lines[at + 3]!, /^ {2}x-upstream +renamed +input_absent +captured x-user-token is absent$/);
  });

  it('input that is not { headers } is a TypeError saying what to pass', async () => {
    for (const input of [undefined, {}, { headers: 'x-tenant: acme' }]) {
      await assert.rejects(
        route.explain(input as unknown as ExplainInput),
        (err: unknown) => err instanceof TypeError && err.message.startsWith("explain: pass { headers: { 'x-tenant': 'acme' }"),
      );
    }
  });

  it('the result is plain data: it survives a JSON round trip unchanged', async () => {
    const result = await route.explain({ headers: { Host: 'localhost', 'X-Tenant': 'acme' }, principal: 'alice' });
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
  });

  it("a fromRequest function reading getForwardedHeaders(req) sees what explain's capture captured, as in a real request", async () => {
    const capture = captureHeaders({ allow: ['x-tenant'], logger });
    const reads = mcpProxy({
      target: 'http://127.0.0.1:9/mcp',
      headers: { fromRequest: { 'X-Tenant-Seen': (req) => getForwardedHeaders(req)['x-tenant'] } },
      logger,
    });
    const result = await reads.explain({ headers: { Host: 'localhost', 'X-Tenant': 'acme' }, capture, reveal: true });
    assert.equal(result.forwarded.find((h) => h.name === 'x-tenant-seen')?.value, 'acme');
    const refused = await reads.explain({ headers: { Host: 'localhost', 'X-Tenant': ['a', 'b'] }, capture });
    assert.equal(refused.rejection?.by, 'captureHeaders');
  });

  it('capture must be a captureHeaders middleware', async () => {
    await assert.rejects(
      route.explain({ headers: {}, capture: (_req, _res, next) => next() }),
      (err: unknown) => err instanceof TypeError && err.message.includes('captureHeaders'),
    );
  });
});
