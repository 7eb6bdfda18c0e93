/**
 * End to end: TLS to backends. Real SDK McpServers served over HTTPS with certificates from a CA made
 * at test time (test/helpers/test-ca.ts), behind an Express gateway with one mcpProxy route per TLS
 * configuration, driven by a real SDK client where the call must work and by a plain POST where the
 * relay must answer 502 `backend_tls_failed` itself.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { captureHeaders, mcpProxy, type McpProxyOptions } from '../../lib/index.js';
import { captureLogger, type LogLine } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { mcpBackend, type McpBackend } from '../helpers/mcp-backend.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { NAMED_SERVER_NAME, testPki, type TestPki } from '../helpers/test-ca.js';

const TENANT = 'tenant-tls-7';
const TOOLSET = 'tls-static';

interface Stack {
  pki: TestPki;
  trusted: McpBackend;
  named: McpBackend;
  mutual: McpBackend;
  expired: McpBackend;
  plain: RecordingBackend;
  gateway: Listening;
  logger: ReturnType<typeof captureLogger>;
  /** Agents the test created, closed at the end. */
  agents: https.Agent[];
}

let stack: Stack;

async function startStack(): Promise<Stack> {
  const pki = testPki();
  const trusted = await mcpBackend({ https: pki.server, jsonResponse: true, name: 'trusted' });
  const named = await mcpBackend({ https: pki.namedServer, jsonResponse: true, name: 'named' });
  const mutual = await mcpBackend({ https: { ...pki.server, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, jsonResponse: true, name: 'mutual' });
  const expired = await mcpBackend({ https: pki.expiredServer, jsonResponse: true, name: 'expired' });
  const plain = await recordingBackend();
  const logger = captureLogger();
  const agents = [new https.Agent({ keepAlive: true, ca: pki.ca })];

  const routes: Record<string, Omit<McpProxyOptions, 'logger' | 'name'>> = {
    trusted: { target: `${trusted.url}/mcp`, tls: { ca: pki.ca } },
    'trusted-by-localhost': { target: `https://localhost:${trusted.port}/mcp`, tls: { ca: [pki.otherCa, pki.ca] } },
    'no-ca': { target: `${trusted.url}/mcp` },
    'wrong-ca': { target: `${trusted.url}/mcp`, tls: { ca: pki.otherCa } },
    'named-by-ip': { target: `${named.url}/mcp`, tls: { ca: pki.ca } },
    'named-servername': { target: `${named.url}/mcp`, tls: { ca: pki.ca, servername: NAMED_SERVER_NAME } },
    'named-wrong-servername': { target: `${named.url}/mcp`, tls: { ca: pki.ca, servername: 'other.internal.test' } },
    'servername-only': { target: `${named.url}/mcp`, tls: { servername: NAMED_SERVER_NAME } },
    'mtls-without-cert': { target: `${mutual.url}/mcp`, tls: { ca: pki.ca } },
    mtls: { target: `${mutual.url}/mcp`, tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key } },
    'mtls-encrypted-key': {
      target: `${mutual.url}/mcp`,
      tls: { ca: pki.ca, cert: Buffer.from(pki.client.cert), key: Buffer.from(pki.encryptedClientKey), passphrase: pki.passphrase },
    },
    expired: { target: `${expired.url}/mcp`, tls: { ca: pki.ca } },
    insecure: { target: `${trusted.url}/mcp`, tls: { rejectUnauthorized: false } },
    agent: { target: `${trusted.url}/mcp`, agent: agents[0] },
    'plain-http-backend': { target: `https://127.0.0.1:${plain.port}/mcp`, tls: { ca: pki.ca } },
  };

  const app = express();
  app.use(captureHeaders({ allow: ['x-tenant'], logger }));
  for (const [name, options] of Object.entries(routes)) {
    app.use(`/${name}`, mcpProxy({ ...options, name, headers: { plaintext: { 'X-Toolset': TOOLSET } }, connectTimeout: 5000, responseTimeout: 5000, logger }));
  }
  const gateway = await listen(app);
  return { pki, trusted, named, mutual, expired, plain, gateway, logger, agents };
}

/** The SDK client's whole round trip through `route`: initialize, then the `headers` tool. Returns what the backend saw. */
async function callThrough(route: string): Promise<Record<string, string>> {
  const transport = new StreamableHTTPClientTransport(new URL(`${stack.gateway.url}/${route}`), { requestInit: { headers: { 'x-tenant': TENANT } } });
  const client = new Client({ name: 'tls-e2e', version: '1.0.0' });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'headers', arguments: {} });
    const content = result.content as { type: string; text?: string }[];
    return JSON.parse(content[0]?.text ?? '') as Record<string, string>;
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

/** An initialize POST through `route`, as any client would send it. */
async function initialize(route: string): Promise<Response> {
  return fetch(`${stack.gateway.url}/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-tenant': TENANT },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'tls-e2e', version: '1.0.0' } },
    }),
  });
}

const routeLines = (route: string): LogLine[] => stack.logger.lines.filter((line) => (line.fields as { route?: string }).route === route);

/** The route answered 502 backend_tls_failed itself and logged one of `codes` (never the error's message). */
async function assertTlsFailure(route: string, codes: readonly string[]): Promise<void> {
  const res = await initialize(route);
  assert.equal(res.status, 502);
  const body = (await res.json()) as { error: { code: number; message: string; data: { reason: string } } };
  assert.equal(body.error.data.reason, 'backend_tls_failed');
  assert.equal(body.error.message, 'Bad gateway: the TLS connection to the backend failed');
  const line = routeLines(route).find((l) => (l.fields as { reason?: string }).reason === 'backend_tls_failed');
  assert.ok(line, `the route logged the failure: ${stack.logger.text()}`);
  assert.equal(line.level, 'warn');
  const fields = line.fields as { code?: string; detail?: string };
  assert.ok(codes.includes(fields.code ?? ''), `logged code ${fields.code} is one of ${codes.join(', ')}`);
  assert.ok(fields.detail && fields.detail.length > 0, 'the log says what the code means');
}

/** The relayed request carried the captured and static headers. */
function assertRelayed(seen: Record<string, string>): void {
  assert.equal(seen['x-tenant'], TENANT, 'the captured header reached the backend');
  assert.equal(seen['x-toolset'], TOOLSET, 'the static header reached the backend');
}

describe('TLS to backends', () => {
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.gateway.close();
    for (const backend of [stack.trusted, stack.named, stack.mutual, stack.expired, stack.plain]) await backend.close();
    for (const agent of stack.agents) agent.destroy();
  });

  it('a backend whose certificate chains to tls.ca: the SDK tool call works and the backend sees the relayed headers', async () => {
    assertRelayed(await callThrough('trusted'));
  });

  it('tls.ca as a list (an unrelated CA and the right one), target by DNS name: works', async () => {
    assertRelayed(await callThrough('trusted-by-localhost'));
  });

  it("without tls.ca the test CA is not trusted (Node's built-in CAs only): 502 backend_tls_failed", async () => {
    await assertTlsFailure('no-ca', ['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  });

  it('an unrelated CA in tls.ca: 502 backend_tls_failed', async () => {
    await assertTlsFailure('wrong-ca', ['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  });

  it('a target by IP whose certificate names only a DNS name: 502 backend_tls_failed (the name check is on)', async () => {
    await assertTlsFailure('named-by-ip', ['ERR_TLS_CERT_ALTNAME_INVALID']);
  });

  it('the same target with tls.servername set to the name the certificate carries: works', async () => {
    assertRelayed(await callThrough('named-servername'));
  });

  it('tls.servername set to a name the certificate does not carry: 502 backend_tls_failed', async () => {
    await assertTlsFailure('named-wrong-servername', ['ERR_TLS_CERT_ALTNAME_INVALID']);
  });

  it('tls with servername only still verifies the chain (no unset option turns verification off): 502', async () => {
    await assertTlsFailure('servername-only', ['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  });

  it('an mTLS backend without a client certificate: 502 backend_tls_failed', async () => {
    await assertTlsFailure('mtls-without-cert', ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ECONNRESET']);
    assert.equal(stack.mutual.requests.length, 0, 'no request reached the mTLS backend without a certificate');
  });

  it('an mTLS backend with tls.cert and tls.key: works', async () => {
    assertRelayed(await callThrough('mtls'));
  });

  it('an mTLS backend with an encrypted key and its passphrase (Buffers): works', async () => {
    assertRelayed(await callThrough('mtls-encrypted-key'));
  });

  it('an expired backend certificate: 502 backend_tls_failed', async () => {
    await assertTlsFailure('expired', ['CERT_HAS_EXPIRED']);
  });

  it('an https: target that speaks plain HTTP: 502 backend_tls_failed', async () => {
    await assertTlsFailure('plain-http-backend', ['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER']);
  });

  it('rejectUnauthorized: false reaches the untrusted backend, and the route warned at construction', async () => {
    assertRelayed(await callThrough('insecure'));
    const warning = routeLines('insecure').find((l) => l.level === 'warn' && (l.fields as { option?: string }).option === 'tls.rejectUnauthorized');
    assert.ok(warning, 'a warning names the route and the option');
    assert.match(warning.message, /verification is off/);
    assert.match(warning.message, /pose as the backend/);
  });

  it('a user agent (https.Agent with the CA) replaces the route pool: works', async () => {
    const before = Object.values(stack.agents[0]!.freeSockets).flat().length + Object.values(stack.agents[0]!.sockets).flat().length;
    assertRelayed(await callThrough('agent'));
    const after = Object.values(stack.agents[0]!.freeSockets).flat().length + Object.values(stack.agents[0]!.sockets).flat().length;
    assert.ok(after > before, 'the upstream connections were made through the user agent');
  });

  it('no log line holds key, certificate or passphrase text', () => {
    const text = stack.logger.text();
    const secrets = [stack.pki.client.key, stack.pki.encryptedClientKey, stack.pki.server.key, stack.pki.client.cert, stack.pki.ca];
    for (const pem of secrets) {
      for (const line of pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) assert.ok(!text.includes(line), 'a PEM line reached the log');
    }
    assert.ok(!text.includes(stack.pki.passphrase), 'the passphrase reached the log');
    assert.ok(!text.includes('BEGIN'), 'PEM armour reached the log');
  });
});
