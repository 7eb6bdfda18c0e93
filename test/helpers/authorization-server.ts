/**
 * A real OAuth 2.0 authorization server (oidc-provider) with the RFC 8693 token-exchange grant, on
 * 127.0.0.1 port 0. It issues subject tokens to users of the `app` client, authenticates the relay
 * (`client_secret_basic` or `client_secret_post`), checks the subject token against its own store,
 * and issues an access token for the requested audience or resource with a configurable
 * `expires_in`. It counts exchanges, and can be made slow or made to refuse every grant.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Provider, { errors, type ClientAuthMethod, type ClientMetadata, type KoaContextWithOIDC, type TokenEndpointGrantContext } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The audience of the subject tokens: the gateway the users call. */
export const GATEWAY_AUDIENCE = 'https://gateway.example';

/** The relay's clients: one per client authentication method. */
export const RELAY_CLIENT = { id: 'relay', secret: `relay-secret-${randomBytes(12).toString('hex')}` };
export const RELAY_POST_CLIENT = { id: 'relay-post', secret: `relay-post-secret-${randomBytes(12).toString('hex')}` };

interface ExchangeParams {
  subject_token?: string;
  subject_token_type?: string;
  audience?: string | string[];
  resource?: string | string[];
  scope?: string;
  requested_token_type?: string;
}

/** What the server records about one exchange request that reached the grant handler. */
export interface ExchangeRecord {
  readonly clientId: string;
  readonly params: Readonly<ExchangeParams>;
  readonly issued?: string;
  /** The relay hung up before the answer (a timeout aborted the exchange). */
  readonly abandoned: boolean;
}

/** What the server knows about an access token it issued. */
export interface TokenRecord {
  readonly accountId: string;
  readonly clientId: string;
  readonly aud: string | string[] | undefined;
  readonly gty: string;
  readonly scope: string | undefined;
}

export interface AuthorizationServer {
  /** `http://127.0.0.1:PORT` */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** Exchange requests that passed client authentication, in order. */
  readonly exchanges: ExchangeRecord[];
  /** `expires_in` of the tokens it issues from now on (seconds). */
  expiresIn: number;
  /** Delay (ms) before answering an exchange; cut short by close(). */
  delay: number;
  /** Refuse every exchange with invalid_grant. */
  refuse: boolean;
  /** An access token for `user`, issued to the `app` client for the gateway: what a caller presents. */
  issueSubjectToken(user: string): Promise<string>;
  /** The server's own record of an access token, or undefined when it did not issue it (or it expired). */
  lookup(accessToken: string): Promise<TokenRecord | undefined>;
  close(): Promise<void>;
}

type Payload = Record<string, unknown>;

/**
 * oidc-provider's storage, in memory, one instance per model: what its development adapter does, without
 * the console warning that adapter prints (a green test run prints no warnings).
 */
function memoryAdapter(): new (name: string) => object {
  const stores = new Map<string, Map<string, { payload: Payload; expiresAt?: number }>>();
  return class MemoryAdapter {
    readonly #items: Map<string, { payload: Payload; expiresAt?: number }>;
    constructor(name: string) {
      this.#items = stores.get(name) ?? new Map();
      stores.set(name, this.#items);
    }
    upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      this.#items.set(id, { payload, ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}) });
      return Promise.resolve();
    }
    find(id: string): Promise<Payload | undefined> {
      const item = this.#items.get(id);
      if (item?.expiresAt !== undefined && item.expiresAt < Date.now()) this.#items.delete(id);
      return Promise.resolve(this.#items.get(id)?.payload);
    }
    findByUid(uid: string): Promise<Payload | undefined> {
      return Promise.resolve([...this.#items.values()].find((i) => i.payload.uid === uid)?.payload);
    }
    findByUserCode(code: string): Promise<Payload | undefined> {
      return Promise.resolve([...this.#items.values()].find((i) => i.payload.userCode === code)?.payload);
    }
    consume(id: string): Promise<void> {
      const item = this.#items.get(id);
      if (item) item.payload.consumed = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    }
    destroy(id: string): Promise<void> {
      this.#items.delete(id);
      return Promise.resolve();
    }
    revokeByGrantId(grantId: string): Promise<void> {
      for (const [id, item] of this.#items) if (item.payload.grantId === grantId) this.#items.delete(id);
      return Promise.resolve();
    }
  };
}

const relayClient = (client: { id: string; secret: string }, method: ClientAuthMethod): ClientMetadata => ({
  client_id: client.id,
  client_secret: client.secret,
  grant_types: [TOKEN_EXCHANGE],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: method,
});

export async function startAuthorizationServer(): Promise<AuthorizationServer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closing = new AbortController();
  const provider = new Provider(issuer, {
    adapter: memoryAdapter() as never,
    clients: [
      relayClient(RELAY_CLIENT, 'client_secret_basic'),
      relayClient(RELAY_POST_CLIENT, 'client_secret_post'),
      { client_id: 'app', client_secret: randomBytes(16).toString('hex'), grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ],
    jwks: { keys: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })] },
    // One EC key: ID tokens (never issued here) would be signed with it, so it is the default algorithm.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: { Grant: 3600, AccessToken: 3600 },
    features: { devInteractions: { enabled: false }, clientCredentials: { enabled: true } },
  });

  const state: AuthorizationServer = {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    exchanges: [],
    expiresIn: 3600,
    delay: 0,
    refuse: false,
    async issueSubjectToken(user) {
      const client = await provider.Client.find('app');
      if (!client) throw new Error('the app client is missing');
      const grant = new provider.Grant({ accountId: user, clientId: client.clientId });
      const token = new provider.AccessToken({ client, accountId: user, grantId: await grant.save(), gty: 'test', aud: GATEWAY_AUDIENCE, scope: 'mcp' });
      return token.save();
    },
    async lookup(accessToken) {
      const token = await provider.AccessToken.find(accessToken);
      if (!token || token.isExpired) return undefined;
      return { accountId: token.accountId, clientId: token.clientId!, aud: token.aud, gty: token.gty, scope: token.scope };
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  provider.registerGrantType<ExchangeParams>(
    TOKEN_EXCHANGE,
    (ctx) => exchange(provider, state, closing.signal, ctx),
    ['subject_token', 'subject_token_type', 'audience', 'resource', 'scope', 'requested_token_type', 'actor_token', 'actor_token_type'],
    ['audience', 'resource'],
  );
  // OAuth errors (invalid_grant, invalid_client) are answers; a server_error is a bug in this helper.
  provider.on('server_error', (_ctx: KoaContextWithOIDC, error: Error) => console.error('authorization server error', error));
  const callback = provider.callback();
  server.on('request', (req, res) => void callback(req, res));
  return state;
}

/**
 * The grant (RFC 8693 §2): the client is already authenticated by oidc-provider. The subject token
 * must be an unexpired access token this server issued for the gateway; the new token keeps its
 * user, names the relay as the actor, and is issued for the requested audience or resource.
 */
async function exchange(provider: Provider, state: AuthorizationServer, closing: AbortSignal, ctx: TokenEndpointGrantContext<ExchangeParams>): Promise<void> {
  const { client, params } = ctx.oidc;
  const record: { clientId: string; params: ExchangeParams; issued?: string; abandoned: boolean } = {
    clientId: client.clientId,
    params: { ...params },
    abandoned: false,
  };
  state.exchanges.push(record);
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) record.abandoned = true;
  });
  if (state.delay > 0) await sleep(state.delay, undefined, { signal: closing }).catch(() => undefined);
  if (state.refuse) throw new errors.InvalidGrant('the subject token was refused');
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
  const subject = params.subject_token ? await provider.AccessToken.find(params.subject_token) : undefined;
  if (!subject || subject.isExpired || subject.aud !== GATEWAY_AUDIENCE) throw new errors.InvalidGrant('subject token is invalid or expired');
  const audience = first(params.audience) ?? first(params.resource);
  if (!audience) throw new errors.InvalidTarget('audience or resource is required');

  const grant = new provider.Grant({ accountId: subject.accountId, clientId: client.clientId });
  const token = new provider.AccessToken({
    client,
    accountId: subject.accountId,
    grantId: await grant.save(),
    gty: 'token-exchange',
    aud: audience,
    scope: params.scope,
    expiresIn: state.expiresIn,
    extra: { act: { sub: client.clientId } },
  });
  const issued = await token.save();
  record.issued = issued;
  ctx.body = {
    access_token: issued,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: state.expiresIn,
    ...(params.scope ? { scope: params.scope } : {}),
  };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
