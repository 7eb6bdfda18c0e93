/**
 * RFC 8693 token exchange as a CredentialSource: the caller's token goes to the authorization server,
 * which issues a token for the backend. The backend never sees the caller's token (the MCP spec
 * forbids token passthrough). The HTTP and OAuth work is oauth4webapi's, loaded on the first
 * exchange, so an app that does not call tokenExchange() never loads it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type * as OAuth from 'oauth4webapi';
import { HeaderConfigError } from './config-error.js';
import { CredentialResolveError, redactedSource, type CredentialSource, type ResolvedCredential } from './credential-source.js';
import { MAX_VALUE_LENGTH_LIMIT } from './header-rules.js';
import { resolveLogger, type RelayLogger } from './logger.js';
import { isRecord, tokenExchangeSchema, validateShape } from './option-shapes.js';
import { describeSecretProblem, envSecrets, invalidSecretNameReason, readSecret, type SecretProvider } from './secrets.js';

export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Where the client secret comes from. It is read on every exchange, so a rotated secret is picked up. */
export interface TokenExchangeClientSecret {
  /** The secret's name in `secrets`, e.g. `RELAY_CLIENT_SECRET`. */
  secret: string;
  /** @default envSecrets() */
  secrets?: SecretProvider;
}

/** Options of {@link tokenExchange}. */
export interface TokenExchangeOptions {
  /**
   * The authorization server's token endpoint, e.g. `https://as.example/oauth/token`. `https:`, or
   * `http:` on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`) or with `allowInsecureHttp`.
   */
  tokenEndpoint: string | URL;
  /** The relay's client id at the authorization server. */
  clientId: string;
  /** The relay's client secret, read through a secret provider (never inline). */
  clientSecret: TokenExchangeClientSecret;
  /**
   * How the client authenticates (RFC 6749 §2.3.1): HTTP Basic, which every server must support, or
   * the secret in the form body. @default 'client_secret_basic'
   */
  clientAuthentication?: 'client_secret_basic' | 'client_secret_post';
  /** The token to exchange, e.g. the caller's bearer token without `Bearer `. `undefined`: no header. */
  subjectToken(req: IncomingMessage): string | undefined;
  /** @default 'urn:ietf:params:oauth:token-type:access_token' */
  subjectTokenType?: string;
  /** The `audience` parameter: the backend's name at the authorization server. */
  audience?: string;
  /** The `resource` parameter(s): absolute URIs of the backend (RFC 8707), e.g. the backend's MCP URL. */
  resource?: string | readonly string[];
  /** Space-separated scopes to ask for. */
  scope?: string;
  /** The `requested_token_type` parameter. Default: not sent (the server decides, usually an access token). */
  requestedTokenType?: string;
  /** The header value for an issued token. @default (token) => `Bearer ${token}` */
  format?(accessToken: string): string;
  /**
   * The cache key of a request. Default: an HMAC-SHA-256 of the subject token under a key made at
   * start-up, so a cache key reveals nothing about the token. A custom key (the principal, say) must
   * change whenever the subject token does, or one user may be served another token of theirs.
   */
  key?(req: IncomingMessage): string | undefined;
  /**
   * Allow `http:` to a host that is not loopback. The subject token and the client secret then
   * cross the network in clear: only for a private network you trust. @default false
   */
  allowInsecureHttp?: boolean;
  /** Where a start-up problem (a missing client secret) is logged with the secret's name. @default console */
  logger?: RelayLogger;
}

type OAuthModule = typeof OAuth;

interface ExchangeConfig {
  /** `token exchange at https://as.example/token`: the endpoint without its query, which might hold anything. */
  readonly description: string;
  readonly as: OAuth.AuthorizationServer;
  readonly client: OAuth.Client;
  readonly basic: boolean;
  readonly secretName: string;
  readonly secrets: SecretProvider;
  readonly subjectToken: (req: IncomingMessage) => string | undefined;
  readonly parameters: readonly [string, string][];
  readonly format: (accessToken: string) => string;
  readonly key: ((req: IncomingMessage) => string | undefined) | undefined;
  readonly allowHttp: boolean;
}

const FN = 'tokenExchange';
/** OAuth error codes (RFC 6749, 6750, 8693, 8707, 9449) that may be quoted: anything else an AS sends is not. */
const KNOWN_OAUTH_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'invalid_target', 'access_denied', 'server_error', 'temporarily_unavailable', 'invalid_token', 'insufficient_scope',
  'invalid_dpop_proof', 'use_dpop_nonce', 'unsupported_token_type',
]);

/**
 * A credential source that exchanges the caller's token (RFC 8693) for one issued to the backend.
 * Validates every option now (HeaderConfigError) and checks that the client secret can be read.
 */
export function tokenExchange(options: TokenExchangeOptions): CredentialSource {
  const config = parseTokenExchangeOptions(options);
  const keyOf = config.key ?? hashedSubjectKey(config.subjectToken);
  return redactedSource({
    description: config.description,
    key: (req) => keyOf(req),
    resolve: (_key, req, signal) => exchange(config, req, signal),
  });
}

/** HMAC, not a plain hash: cache keys of short or guessable tokens cannot be reversed outside this process. */
function hashedSubjectKey(subjectToken: (req: IncomingMessage) => string | undefined): (req: IncomingMessage) => string | undefined {
  const hashKey = randomBytes(32);
  return (req) => {
    const token = checkedSubjectToken(subjectToken, req);
    return token === undefined ? undefined : createHmac('sha256', hashKey).update(token).digest('base64url');
  };
}

function checkedSubjectToken(subjectToken: (req: IncomingMessage) => string | undefined, req: IncomingMessage): string | undefined {
  const token: unknown = subjectToken(req);
  if (token === undefined) return undefined;
  if (typeof token !== 'string' || token.length === 0) {
    throw new CredentialResolveError('subjectToken(req) must return undefined or a non-empty string');
  }
  return token;
}

async function exchange(config: ExchangeConfig, req: IncomingMessage, signal: AbortSignal): Promise<ResolvedCredential | undefined> {
  const subject = checkedSubjectToken(config.subjectToken, req);
  if (subject === undefined) return undefined;
  const clientSecret = readClientSecret(config);
  const oauth = await loadOAuth();
  let response: OAuth.TokenEndpointResponse;
  try {
    response = await requestToken(oauth, config, clientSecret, subject, signal);
  } catch (error) {
    throw explain(oauth, error);
  }
  if (response.token_type === 'dpop') {
    throw new CredentialResolveError('the token endpoint issued a DPoP-bound token, which the relay cannot use; configure the client for Bearer tokens');
  }
  return { value: formatToken(config, response.access_token), expiresIn: response.expires_in };
}

async function requestToken(oauth: OAuthModule, config: ExchangeConfig, clientSecret: string, subject: string, signal: AbortSignal): Promise<OAuth.TokenEndpointResponse> {
  const parameters = new URLSearchParams([['subject_token', subject], ...config.parameters]);
  const auth = config.basic ? oauth.ClientSecretBasic(clientSecret) : oauth.ClientSecretPost(clientSecret);
  const http = await oauth.genericTokenEndpointRequest(config.as, config.client, auth, TOKEN_EXCHANGE_GRANT_TYPE, parameters, {
    signal,
    [oauth.allowInsecureRequests]: config.allowHttp,
  });
  // `n_a`: RFC 8693 §2.2.1's token_type for a token that is not an access token (a requested JWT, say).
  return oauth.processGenericTokenEndpointResponse(config.as, config.client, http, { recognizedTokenTypes: { n_a: () => undefined } });
}

function readClientSecret(config: ExchangeConfig): string {
  const result = readSecret(config.secrets, config.secretName, MAX_VALUE_LENGTH_LIMIT);
  if (result.ok) return result.value;
  throw new CredentialResolveError(`the client secret (clientSecret.secret, ${config.secrets.description}) ${describeSecretProblem(result, MAX_VALUE_LENGTH_LIMIT)}`);
}

function formatToken(config: ExchangeConfig, accessToken: string): string {
  try {
    return config.format(accessToken);
  } catch {
    throw new CredentialResolveError('format(accessToken) threw; its error is not shown, it may hold the token');
  }
}

/**
 * Value-free words for what went wrong. oauth4webapi's errors carry the response body (tokens
 * included) in `cause`, so none of them is passed on: only codes and statuses are.
 */
function explain(oauth: OAuthModule, error: unknown): CredentialResolveError {
  if (error instanceof oauth.ResponseBodyError) {
    const code = KNOWN_OAUTH_ERRORS.has(error.error) ? error.error : 'an error code that is not a standard one';
    return new CredentialResolveError(`the token endpoint answered ${error.status} with ${code}${hint(error.error)}`);
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const code = error.cause.map((challenge) => challenge.parameters.error).find((c) => c !== undefined && KNOWN_OAUTH_ERRORS.has(c));
    return new CredentialResolveError(`the token endpoint answered ${error.status} with ${code ?? 'a WWW-Authenticate challenge'}${hint(code ?? 'invalid_client')}`);
  }
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
    const code = /^OAUTH_[A-Z_]{1,64}$/.test(error.code ?? '') ? error.code! : 'unknown';
    const status = error.cause instanceof Response ? `, HTTP ${error.cause.status}` : '';
    return new CredentialResolveError(`the token endpoint's response cannot be used (${code}${status})`);
  }
  if (isRecord(error) && (error.name === 'AbortError' || error.name === 'TimeoutError')) return new CredentialResolveError('the exchange was aborted');
  const code = isRecord(error) && typeof error.code === 'string' && /^ERR_[A-Z_]{1,64}$/.test(error.code) ? error.code : undefined;
  if (code) return new CredentialResolveError(`the exchange request could not be made (${code})`);
  if (error instanceof TypeError) return new CredentialResolveError(`the token endpoint cannot be reached${networkCode(error)}`);
  return new CredentialResolveError('the exchange failed with an error that is not shown (it may hold a value)');
}

function hint(code: string | undefined): string {
  if (code === 'invalid_client') return '; check clientId, the client secret and clientAuthentication';
  if (code === 'invalid_grant') return '; the subject token was refused (expired, revoked, or not for this exchange)';
  return '';
}

/** `fetch failed` hides the reason in `cause.code` (ECONNREFUSED, ENOTFOUND, ...): a code, never a value. */
function networkCode(error: TypeError): string {
  const cause: unknown = error.cause;
  const code = isRecord(cause) && typeof cause.code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(cause.code) ? cause.code : undefined;
  return code ? ` (${code})` : '';
}

let oauthModule: Promise<OAuthModule> | undefined;

/** Loaded once, on the first exchange; a failed load is retried on the next. */
function loadOAuth(): Promise<OAuthModule> {
  oauthModule ??= import('oauth4webapi').catch(() => {
    oauthModule = undefined;
    throw new CredentialResolveError('the oauth4webapi package cannot be loaded; reinstall the dependencies of mcp-header-relay');
  });
  return oauthModule;
}

function parseTokenExchangeOptions(options: TokenExchangeOptions): ExchangeConfig {
  const parsed = validateShape(tokenExchangeSchema, withOwnClientSecret(options), FN);
  const logger = resolveLogger(parsed.logger);
  const endpoint = parseEndpoint(parsed.tokenEndpoint, parsed.allowInsecureHttp ?? false);
  if (endpoint.protocol === 'http:' && !isLoopback(endpoint.hostname)) {
    logger.warn(
      { option: 'allowInsecureHttp', tokenEndpoint: `${endpoint.origin}${endpoint.pathname}` },
      `${FN}: the token endpoint uses http: on a host that is not loopback; callers' tokens and the client secret cross the network in clear`,
    );
  }
  const clientSecret = ownClientSecret(parsed.clientSecret);
  const secretName = clientSecret.secret;
  const nameProblem = invalidSecretNameReason(secretName);
  if (nameProblem) throw new HeaderConfigError('ERR_INVALID_OPTION', 'clientSecret.secret', nameProblem);
  const secrets = clientSecret.secrets ?? envSecrets();
  checkSecretAtStartup(secretName, secrets, logger);
  return Object.freeze({
    description: `token exchange at ${endpoint.origin}${endpoint.pathname}`,
    as: Object.freeze({ issuer: endpoint.origin, token_endpoint: endpoint.href }),
    client: Object.freeze({ client_id: parsed.clientId }),
    basic: (parsed.clientAuthentication ?? 'client_secret_basic') === 'client_secret_basic',
    secretName,
    secrets,
    subjectToken: parsed.subjectToken,
    parameters: Object.freeze(requestParameters(parsed)),
    format: parsed.format ?? ((token: string) => `Bearer ${token}`),
    key: parsed.key,
    allowHttp: endpoint.protocol === 'http:',
  });
}

/** The fixed parameters of every exchange, in RFC 8693 §2.1 order. */
function requestParameters(parsed: TokenExchangeOptions): [string, string][] {
  const list: [string, string][] = [['subject_token_type', parsed.subjectTokenType ?? ACCESS_TOKEN_TYPE]];
  const resources = typeof parsed.resource === 'string' ? [parsed.resource] : (parsed.resource ?? []);
  resources.forEach((resource, i) => {
    list.push(['resource', parseResource(resource, typeof parsed.resource === 'string' ? 'resource' : `resource[${i}]`)]);
  });
  if (parsed.audience !== undefined) list.push(['audience', parsed.audience]);
  if (parsed.scope !== undefined) list.push(['scope', parsed.scope]);
  if (parsed.requestedTokenType !== undefined) list.push(['requested_token_type', parsed.requestedTokenType]);
  return list;
}

/**
 * Null-prototype copies of `clientSecret`, before and after zod (whose output objects have the usual
 * prototype): a polluted Object.prototype.secrets must never become the provider of the secret.
 */
function withOwnClientSecret(options: unknown): unknown {
  if (!isRecord(options) || !isRecord(options.clientSecret)) return options;
  return { ...options, clientSecret: ownClientSecret(options.clientSecret) };
}

function ownClientSecret<T extends object>(clientSecret: T): T {
  return Object.assign(Object.create(null) as T, clientSecret);
}

function parseEndpoint(raw: string | URL, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'tokenEndpoint', 'must be an absolute https:// URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'tokenEndpoint', 'must use https:');
  }
  if (url.username || url.password) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'tokenEndpoint', 'must not contain credentials; URLs end up in logs, so pass the secret as clientSecret');
  }
  if (url.hash) throw new HeaderConfigError('ERR_INVALID_OPTION', 'tokenEndpoint', 'must not contain a #fragment');
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !allowInsecureHttp) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'tokenEndpoint',
      'must use https: (http: sends the caller\'s token and the client secret in clear); http: is accepted on a loopback host, or anywhere with allowInsecureHttp: true',
    );
  }
  return url;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function parseResource(resource: string, path: string): string {
  let url: URL | undefined;
  try {
    url = new URL(resource);
  } catch {
    url = undefined;
  }
  if (url === undefined || url.hash) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', path, 'must be an absolute URI without a #fragment (RFC 8707), e.g. the backend\'s MCP URL');
  }
  return resource;
}

/**
 * Fail at start-up, not on every request: the secret must be readable now. As for headers.fromSecret,
 * the secret's name and source go to the error log, not into the message.
 */
function checkSecretAtStartup(name: string, secrets: SecretProvider, logger: Required<RelayLogger>): void {
  const result = readSecret(secrets, name, MAX_VALUE_LENGTH_LIMIT);
  if (result.ok) return;
  const problem = describeSecretProblem(result, MAX_VALUE_LENGTH_LIMIT);
  logger.error({ option: 'clientSecret.secret', secret: name, source: secrets.description }, `${FN}: the client secret ${problem}`);
  throw new HeaderConfigError(
    result.problem === 'missing' ? 'ERR_SECRET_MISSING' : 'ERR_SECRET_INVALID',
    'clientSecret.secret',
    `the client secret ${problem}; the error log names the secret and its source`,
  );
}
