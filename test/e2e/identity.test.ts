/**
 * Identity and per-user credentials end to end (issue 11): real SDK clients of both eras against real
 * SDK backends of both eras, through a relay whose routes compute every kind of header, with a real
 * OAuth authorization server (oidc-provider) doing RFC 8693 token exchange.
 *
 * The host app authenticates the caller's bearer token (the subject token) itself and sets `req.user`.
 * Each route then sends the backend: `Authorization` = a token exchanged for it (never the caller's),
 * `X-User-Id` from `req.user`, `X-Figma-Token` renamed from the captured `X-Upstream-Figma`, and
 * `X-Tenant-Context` from a template of the principal and a captured header.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { captureHeaders, envSecrets, mcpProxy, tokenExchange, type CredentialAuditEvent } from '../../lib/index.js';
import { RELAY_CLIENT, startAuthorizationServer, type AuthorizationServer } from '../helpers/authorization-server.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { eraBackend, type BackendKind, type EraBackend } from '../helpers/mcp-eras.js';
import { eraClient, type ClientKind } from '../helpers/mcp-eras-clients.js';
import { sleep } from '../helpers/wait.js';

type AuthedRequest = http.IncomingMessage & { user?: string };

const env: Record<string, string> = { RELAY_SECRET: RELAY_CLIENT.secret };
const logger = captureLogger();
const audits: CredentialAuditEvent[] = [];
let as: AuthorizationServer;
let relay: Listening;
const backends = new Map<BackendKind, EraBackend>();

/** The caller's bearer token, which the host app authenticates and the relay exchanges. */
function bearer(req: http.IncomingMessage): string | undefined {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  return match?.[1];
}

async function startRelay(): Promise<Listening> {
  const app = express();
  // The host app's authentication: the caller's token must be one the authorization server issued.
  app.use((req: AuthedRequest, res, next) => {
    const token = bearer(req);
    void (token ? as.lookup(token) : Promise.resolve(undefined)).then((record) => {
      if (!record) return void res.status(401).json({ error: 'unauthenticated' });
      req.user = record.accountId;
      next();
    }, next);
  });
  app.use(captureHeaders({ allow: ['x-upstream-figma', 'x-tenant'], logger }));
  for (const [kind, backend] of backends) {
    app.use(
      `/${kind}`,
      mcpProxy({
        target: backend.endpoint,
        principal: (req) => (req as AuthedRequest).user,
        headers: {
          fromCredential: {
            Authorization: tokenExchange({
              tokenEndpoint: as.tokenEndpoint,
              clientId: RELAY_CLIENT.id,
              clientSecret: { secret: 'RELAY_SECRET', secrets: envSecrets(env) },
              subjectToken: bearer,
              audience: `https://${kind}.backend.example`,
              logger,
            }),
          },
          fromRequest: { 'X-User-Id': (req) => (req as AuthedRequest).user },
          fromCaptured: { 'X-Figma-Token': 'x-upstream-figma' },
          template: { 'X-Tenant-Context': 'user={principal};tenant={captured:x-tenant}' },
        },
        required: ['authorization', 'x-user-id'],
        audit: (event) => void audits.push(event),
        logger,
      }),
    );
  }
  return listen(app);
}

before(async () => {
  as = await startAuthorizationServer();
  for (const kind of ['v1', 'v2-stateless'] as const) backends.set(kind, await eraBackend(kind));
  relay = await startRelay();
});

after(async () => {
  await relay.close();
  for (const backend of backends.values()) await backend.close();
  await as.close();
});

/** Exchanges the server handled for `token`. */
const exchangesOf = (token: string): number => as.exchanges.filter((e) => e.params.subject_token === token).length;

/** What the backend received from one user (by the computed X-User-Id), request by request. */
const receivedBy = (backend: EraBackend, user: string): http.IncomingHttpHeaders[] =>
  backend.requests.filter((r) => r.headers['x-user-id'] === user).map((r) => r.headers);

const PAIRS: [ClientKind, BackendKind][] = [
  ['v1', 'v1'],
  ['v2-2026', 'v2-stateless'],
  ['v1', 'v2-stateless'],
  ['v2', 'v1'],
];

describe('identity headers and token exchange, SDK client to SDK backend through the relay', () => {
  for (const [clientKind, backendKind] of PAIRS) {
    it(`${clientKind} client -> ${backendKind} backend: every request carries the exchanged token and the computed, renamed and templated headers, never the caller's token`, async () => {
      const user = `user-${clientKind}-${backendKind}`;
      const subject = await as.issueSubjectToken(user);
      const backend = backends.get(backendKind)!;
      const client = eraClient(clientKind, `${relay.url}/${backendKind}`, {
        Authorization: `Bearer ${subject}`,
        'X-Upstream-Figma': `figma-${user}`,
        'X-Tenant': 'acme',
      });
      await client.connect();
      try {
        const result = await client.callTool('echo', { region: 'eu', text: 'hi' });
        assert.equal(result.isError ?? false, false);
        await client.listTools();
      } finally {
        await client.close();
      }
      const received = receivedBy(backend, user);
      assert.ok(received.length >= 2, `the backend saw ${received.length} requests of ${user}`);
      const tokens = new Set(received.map((h) => h.authorization));
      assert.equal(tokens.size, 1, 'one exchanged token for the whole conversation');
      const token = /^Bearer (\S+)$/.exec([...tokens][0] ?? '')?.[1];
      assert.ok(token && token !== subject, "the backend gets a token of its own, not the caller's");
      const record = await as.lookup(token);
      assert.equal(record?.accountId, user, 'issued by the authorization server for this user');
      assert.equal(record?.clientId, RELAY_CLIENT.id);
      assert.deepEqual(record?.aud, `https://${backendKind}.backend.example`);
      for (const headers of received) {
        assert.equal(headers['x-figma-token'], `figma-${user}`);
        assert.equal(headers['x-tenant-context'], `user=${user};tenant=acme`);
        assert.equal(headers['x-upstream-figma'], undefined, 'a renamed header is not forwarded under its own name');
        assert.equal(headers['x-tenant'], undefined, 'a template input is not forwarded under its own name');
      }
      assert.equal(exchangesOf(subject), 1, "one exchange for all of this user's requests");
      assert.ok(!JSON.stringify(backend.requests).includes(subject), "the caller's token never reaches the backend");
      assert.ok(audits.some((e) => e.headers.some((h) => h.name === 'authorization' && h.source === 'credential')));
    });
  }

  it('concurrent requests of one user make one exchange', async () => {
    const subject = await as.issueSubjectToken('user-concurrent');
    const clients = Array.from({ length: 6 }, () => eraClient('v2-2026', `${relay.url}/v2-stateless`, { Authorization: `Bearer ${subject}` }));
    await Promise.all(clients.map(async (c) => (await c.connect(), await c.callTool('echo', { region: 'eu', text: 'x' }), await c.close())));
    assert.equal(exchangesOf(subject), 1);
  });

  it('a token that expires is exchanged again on the next request', async () => {
    const subject = await as.issueSubjectToken('user-expiry');
    as.expiresIn = 1; // kept for half its life: 500 ms
    try {
      const call = async (): Promise<void> => {
        const c = eraClient('v2-2026', `${relay.url}/v2-stateless`, { Authorization: `Bearer ${subject}` });
        await c.connect();
        await c.callTool('echo', { region: 'eu', text: 'x' });
        await c.close();
      };
      await call();
      const first = exchangesOf(subject);
      await sleep(700);
      await call();
      assert.equal(exchangesOf(subject), first + 1);
    } finally {
      as.expiresIn = 3600;
    }
  });

  it('an exchange the server refuses: the call fails with 502 credential_unavailable, nothing reaches the backend, no token in the log', async () => {
    const user = 'user-refused';
    const subject = await as.issueSubjectToken(user);
    as.refuse = true;
    try {
      const res = await fetch(`${relay.url}/v1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${subject}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
        }),
      });
      assert.equal(res.status, 502);
      const body = (await res.json()) as { error: { data: { reason: string; header: string } } };
      assert.deepEqual([body.error.data.reason, body.error.data.header], ['credential_unavailable', 'authorization']);
      assert.equal(receivedBy(backends.get('v1')!, user).length, 0);
    } finally {
      as.refuse = false;
    }
    assert.ok(!logger.text().includes(subject) && !logger.text().includes(RELAY_CLIENT.secret), 'no token or client secret in the log');
  });
});
