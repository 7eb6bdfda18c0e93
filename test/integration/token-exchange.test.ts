/**
 * tokenExchange() and the credential cache against a real authorization server (oidc-provider with
 * the RFC 8693 grant, test/helpers/authorization-server.ts): the header value is the token that
 * server issued for the backend, one exchange serves many requests of a user until the token nears
 * expiry, users never share a token, and every failure (server down, invalid_grant, slow server,
 * wrong client secret) is a value-free outcome: no token and no secret in any text.
 */
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { envSecrets, tokenExchange, type CredentialCacheOptions, type CredentialSource, type TokenExchangeOptions } from '../../lib/index.js';
import { CredentialCache, parseCredentialCacheOptions } from '../../lib/credential-cache.js';
import { describeCredentialProblem, type CredentialOutcome } from '../../lib/credential-outcome.js';
import { ACCESS_TOKEN_TYPE, RELAY_CLIENT, RELAY_POST_CLIENT, startAuthorizationServer, type AuthorizationServer } from '../helpers/authorization-server.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen } from '../helpers/listen.js';
import { waitFor } from '../helpers/wait.js';

const BACKEND = 'https://backend.example/mcp';

let as: AuthorizationServer;
/** The relay's secrets, as the environment would hold them; tests rotate them. */
const env: Record<string, string> = {};
/** Every token and secret seen in this file, and every text the relay produced: checked for leaks at the end. */
const sensitive = new Set<string>();
const texts: string[] = [];

before(async () => {
  as = await startAuthorizationServer();
  env.RELAY_SECRET = RELAY_CLIENT.secret;
  env.RELAY_POST_SECRET = RELAY_POST_CLIENT.secret;
  sensitive.add(RELAY_CLIENT.secret).add(RELAY_POST_CLIENT.secret);
});

after(async () => {
  await as.close();
});

/** A request from a caller presenting `token` as a bearer token (or no Authorization at all). */
function request(token: string | undefined): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  if (token !== undefined) req.headers.authorization = `Bearer ${token}`;
  return req;
}

/** The caller's bearer token, without the scheme. */
function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

function exchangeSource(options: Partial<TokenExchangeOptions> = {}): CredentialSource {
  const logger = captureLogger();
  const source = tokenExchange({
    tokenEndpoint: as.tokenEndpoint,
    clientId: RELAY_CLIENT.id,
    clientSecret: { secret: 'RELAY_SECRET', secrets: envSecrets(env) },
    subjectToken: bearer,
    audience: BACKEND,
    logger,
    ...options,
  });
  texts.push(inspect(source, { showHidden: true, depth: 10 }), JSON.stringify(source), (source as { toString(): string }).toString());
  texts.push(logger.text());
  return source;
}

interface Relay {
  readonly cache: CredentialCache;
  readonly source: CredentialSource;
  /** Moves the cache's clock. */
  advance(ms: number): void;
  get(req: IncomingMessage): Promise<CredentialOutcome>;
}

function relay(source: CredentialSource, options: CredentialCacheOptions = {}): Relay {
  let now = 1_000_000;
  const cache = new CredentialCache(source, parseCredentialCacheOptions({ failureTtl: 0, ...options }, 'test', 'cache'), 8192, () => now);
  return {
    cache,
    source,
    advance: (ms) => void (now += ms),
    async get(req) {
      const result = await cache.get(req);
      if (!result.ok) texts.push(describeCredentialProblem(result, source));
      texts.push(inspect(result), JSON.stringify(result), inspect(cache), JSON.stringify(cache));
      return result;
    },
  };
}

async function subjectToken(user: string): Promise<string> {
  const token = await as.issueSubjectToken(user);
  sensitive.add(token);
  return token;
}

/** The issued token behind a `Bearer ...` value. */
function issuedToken(result: CredentialOutcome): string {
  assert.ok(result.ok, result.ok ? '' : describeFailure(result));
  const value = result.value;
  assert.ok(value !== undefined, 'expected a credential');
  const match = /^Bearer (\S+)$/.exec(value);
  assert.ok(match, 'the value is "Bearer <token>"');
  sensitive.add(match[1]!);
  return match[1]!;
}

function describeFailure(result: Extract<CredentialOutcome, { ok: false }>): string {
  return `${result.problem}: ${result.detail ?? ''}`;
}

function failure(result: CredentialOutcome, problem: 'failed' | 'timeout' | 'invalid'): string {
  assert.equal(result.ok, false, 'expected a failure');
  if (result.ok) return '';
  assert.equal(result.problem, problem, result.detail);
  return result.detail ?? '';
}

describe('tokenExchange: round trips', () => {
  it('the value is "Bearer <token>" where the token is one the authorization server issued to the relay, for the backend, for that user', async () => {
    const subject = await subjectToken('alice');
    const r = relay(exchangeSource({ scope: 'tools:read' }));
    const token = issuedToken(await r.get(request(subject)));
    assert.notEqual(token, subject, "never the caller's own token");
    const record = await as.lookup(token);
    assert.deepEqual(record, { accountId: 'alice', clientId: RELAY_CLIENT.id, aud: BACKEND, gty: 'token-exchange', scope: 'tools:read' });
    const exchange = as.exchanges.at(-1)!;
    assert.equal(exchange.issued, token);
    assert.equal(exchange.params.subject_token, subject);
    assert.equal(exchange.params.subject_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(exchange.params.audience, BACKEND);
  });

  it('many requests of one user make one exchange; the later ones are answered synchronously', async () => {
    const subject = await subjectToken('bob');
    const r = relay(exchangeSource());
    const before = as.exchanges.length;
    const token = issuedToken(await r.get(request(subject)));
    for (let i = 0; i < 50; i++) {
      const hit = r.cache.get(request(subject));
      assert.ok(!(hit instanceof Promise));
      assert.equal(issuedToken(hit), token);
    }
    assert.equal(as.exchanges.length - before, 1);
  });

  it('concurrent requests of one user make one exchange and all get its token', async () => {
    const subject = await subjectToken('carol');
    const r = relay(exchangeSource());
    const before = as.exchanges.length;
    const results = await Promise.all(Array.from({ length: 25 }, () => r.get(request(subject))));
    const tokens = new Set(results.map(issuedToken));
    assert.equal(tokens.size, 1);
    assert.equal(as.exchanges.length - before, 1);
  });

  it('a new exchange once the token nears expiry (expires_in 20 s: reused for 10 s)', async () => {
    as.expiresIn = 20;
    try {
      const subject = await subjectToken('dave');
      const r = relay(exchangeSource());
      const first = issuedToken(await r.get(request(subject)));
      r.advance(9_999);
      assert.equal(issuedToken(await r.get(request(subject))), first);
      const before = as.exchanges.length;
      r.advance(1);
      const second = issuedToken(await r.get(request(subject)));
      assert.notEqual(second, first);
      assert.equal(as.exchanges.length - before, 1);
      assert.equal((await as.lookup(second))?.accountId, 'dave');
    } finally {
      as.expiresIn = 3600;
    }
  });

  it('two users get different tokens, each issued for its own user', async () => {
    const [erin, frank] = [await subjectToken('erin'), await subjectToken('frank')];
    const r = relay(exchangeSource());
    const [erinToken, frankToken] = [issuedToken(await r.get(request(erin))), issuedToken(await r.get(request(frank)))];
    assert.notEqual(erinToken, frankToken);
    assert.equal((await as.lookup(erinToken))?.accountId, 'erin');
    assert.equal((await as.lookup(frankToken))?.accountId, 'frank');
    assert.equal(r.cache.size, 2);
  });

  it('no subject token: no credential, and no exchange', async () => {
    const r = relay(exchangeSource());
    const before = as.exchanges.length;
    const result = await r.get(request(undefined));
    assert.deepEqual(result, { ok: true, value: undefined });
    assert.equal(as.exchanges.length, before);
  });

  it('client_secret_post, resource indicators, scope and requested_token_type reach the server', async () => {
    const subject = await subjectToken('grace');
    const r = relay(
      exchangeSource({
        clientId: RELAY_POST_CLIENT.id,
        clientSecret: { secret: 'RELAY_POST_SECRET', secrets: envSecrets(env) },
        clientAuthentication: 'client_secret_post',
        audience: undefined,
        resource: [BACKEND, 'https://backend.example/other'],
        scope: 'tools:read tools:call',
        requestedTokenType: ACCESS_TOKEN_TYPE,
      }),
    );
    const token = issuedToken(await r.get(request(subject)));
    const exchange = as.exchanges.at(-1)!;
    assert.equal(exchange.clientId, RELAY_POST_CLIENT.id);
    assert.deepEqual(exchange.params.resource, [BACKEND, 'https://backend.example/other']);
    assert.equal(exchange.params.scope, 'tools:read tools:call');
    assert.equal(exchange.params.requested_token_type, ACCESS_TOKEN_TYPE);
    assert.equal((await as.lookup(token))?.aud, BACKEND);
  });

  it('format() shapes the header value', async () => {
    const subject = await subjectToken('heidi');
    const r = relay(exchangeSource({ format: (token) => `Token ${token}` }));
    const result = await r.get(request(subject));
    const value = result.ok ? (result.value ?? '') : '';
    assert.match(value, /^Token \S+$/);
    sensitive.add(value.slice('Token '.length));
  });

  it('the client secret is read on every exchange: a rotated secret is used by the next exchange', async () => {
    const r = relay(exchangeSource());
    env.RELAY_SECRET = 'not-the-secret-anymore';
    sensitive.add(env.RELAY_SECRET);
    try {
      failure(await r.get(request(await subjectToken('ivan'))), 'failed');
    } finally {
      env.RELAY_SECRET = RELAY_CLIENT.secret;
    }
    issuedToken(await r.get(request(await subjectToken('ivan'))));
  });
});

describe('tokenExchange: failures', () => {
  it('authorization server down: failed, "cannot be reached (ECONNREFUSED)"', async () => {
    const closed = await listen(() => {});
    await closed.close();
    const r = relay(exchangeSource({ tokenEndpoint: `${closed.url}/token` }));
    const detail = failure(await r.get(request(await subjectToken('judy'))), 'failed');
    assert.match(detail, /cannot be reached \(ECONNREFUSED\)/);
  });

  it('a proxy in front of the server answers 502 with HTML: failed, "cannot be used (..., HTTP 502)"', async () => {
    const proxy = await listen((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    });
    try {
      const r = relay(exchangeSource({ tokenEndpoint: `${proxy.url}/token` }));
      const detail = failure(await r.get(request(await subjectToken('joe'))), 'failed');
      assert.match(detail, /response cannot be used \(OAUTH_[A-Z_]+, HTTP 502\)/);
    } finally {
      await proxy.close();
    }
  });

  const answers: [string, number, Record<string, string>, string, RegExp][] = [
    [
      'a DPoP-bound token, which the relay cannot send',
      200,
      {},
      '{"access_token":"dpop-bound","token_type":"DPoP","expires_in":60}',
      /^resolve\(\): the token endpoint issued a DPoP-bound token, which the relay cannot use; configure the client for Bearer tokens$/,
    ],
    [
      "an error code that is not a standard one (not quoted: it is the server's text)",
      400,
      {},
      '{"error":"site_specific_refusal"}',
      /^resolve\(\): the token endpoint answered 400 with an error code that is not a standard one$/,
    ],
    [
      'a 401 challenge naming no standard error code: read as the client credentials',
      401,
      { 'www-authenticate': 'Basic realm="as"' },
      '',
      /^resolve\(\): the token endpoint answered 401 with a WWW-Authenticate challenge; check clientId, the client secret and clientAuthentication$/,
    ],
  ];
  for (const [name, status, headers, body, expected] of answers) {
    it(`an endpoint answering ${name}: failed`, async () => {
      const endpoint = await listen((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(body);
      });
      try {
        const r = relay(exchangeSource({ tokenEndpoint: `${endpoint.url}/token` }));
        assert.match(failure(await r.get(request(await subjectToken('kim'))), 'failed'), expected);
      } finally {
        await endpoint.close();
      }
    });
  }

  it('a subject token the server did not issue: failed, "400 with invalid_grant"', async () => {
    const forged = `forged-${'x'.repeat(40)}`;
    sensitive.add(forged);
    const r = relay(exchangeSource());
    const detail = failure(await r.get(request(forged)), 'failed');
    assert.match(detail, /answered 400 with invalid_grant/);
  });

  it('the server refuses the grant: failed, and the failure is kept for failureTtl (one exchange for a burst)', async () => {
    as.refuse = true;
    try {
      const subject = await subjectToken('kate');
      const r = relay(exchangeSource(), { failureTtl: 1000 });
      const before = as.exchanges.length;
      failure(await r.get(request(subject)), 'failed');
      for (let i = 0; i < 20; i++) failure(await r.get(request(subject)), 'failed');
      assert.equal(as.exchanges.length - before, 1);
    } finally {
      as.refuse = false;
    }
  });

  it('a slow server: timeout at the deadline, and the exchange request is aborted', async () => {
    as.delay = 10_000;
    try {
      const r = relay(exchangeSource(), { timeout: 300 });
      const started = performance.now();
      const detail = failure(await r.get(request(await subjectToken('leo'))), 'timeout');
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2000, `answered after ${elapsed} ms`);
      assert.match(detail, /300 ms/);
      const exchange = as.exchanges.at(-1)!;
      await waitFor(() => exchange.abandoned, 'the aborted exchange closes its connection to the server');
    } finally {
      as.delay = 0;
    }
  });

  it('a wrong client secret: failed, with a hint to check the client credentials', async () => {
    env.WRONG_SECRET = `wrong-${RELAY_CLIENT.secret}`;
    sensitive.add(env.WRONG_SECRET);
    const r = relay(exchangeSource({ clientSecret: { secret: 'WRONG_SECRET', secrets: envSecrets(env) } }));
    const detail = failure(await r.get(request(await subjectToken('mallory'))), 'failed');
    assert.match(detail, /answered 401 with invalid_client; check clientId, the client secret and clientAuthentication/);
  });

  it('a client secret that disappeared at run time: failed, naming the option, not the value', async () => {
    env.GONE_SECRET = RELAY_CLIENT.secret;
    const r = relay(exchangeSource({ clientSecret: { secret: 'GONE_SECRET', secrets: envSecrets(env) } }));
    delete env.GONE_SECRET;
    const detail = failure(await r.get(request(await subjectToken('nick'))), 'failed');
    assert.match(detail, /client secret \(clientSecret\.secret, environment variable\) is missing/);
  });

  it('a format() that throws: failed, its message not shown', async () => {
    const r = relay(
      exchangeSource({
        format: (token) => {
          throw new Error(`cannot format ${token}`);
        },
      }),
    );
    const detail = failure(await r.get(request(await subjectToken('olivia'))), 'failed');
    assert.match(detail, /format\(accessToken\) threw/);
  });

  it('a format() that returns CRLF: invalid', async () => {
    const r = relay(exchangeSource({ format: (token) => `Bearer ${token}\r\nX-Injected: 1` }));
    failure(await r.get(request(await subjectToken('peggy'))), 'invalid');
  });
});

describe('tokenExchange: no token or secret in any text', () => {
  it('no subject token, issued token or client secret appears in any outcome, log line, inspect or JSON output', () => {
    assert.ok(sensitive.size > 10, 'the tests above recorded the tokens and secrets they used');
    assert.ok(texts.length > 50);
    const all = texts.join('\n');
    for (const value of sensitive) assert.ok(!all.includes(value), `a token or secret leaked into: ${all.slice(0, 500)}`);
  });
});
