/**
 * The options of tokenExchange(): their types, and their parsing into the frozen configuration an
 * exchange runs on. Every rule throws a HeaderConfigError with the option path; the client secret is
 * read once at startup so a missing one fails now, its name logged rather than thrown.
 */
import type { IncomingMessage } from 'node:http';
import type * as OAuth from 'oauth4webapi';
import { HeaderConfigError } from './config-error.js';
import { MAX_VALUE_LENGTH_LIMIT } from './header-rules.js';
import { parseHttpUrl } from './url-rules.js';
import { resolveLogger, type RelayLogger } from './logger.js';
import { isRecord, tokenExchangeSchema } from './option-shapes.js';
import { validateShape } from './option-shape-errors.js';
import { describeSecretProblem, envSecrets, invalidSecretNameReason, readSecret, type SecretProvider } from './secrets.js';

const FN = 'tokenExchange';

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

export interface ExchangeConfig {
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

export function parseTokenExchangeOptions(options: TokenExchangeOptions): ExchangeConfig {
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
  const url = parseHttpUrl(raw, 'ERR_INVALID_OPTION', 'tokenEndpoint', 'pass the secret as clientSecret');
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !allowInsecureHttp) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'tokenEndpoint',
      "must use https: (http: sends the caller's token and the client secret in clear); http: is accepted on a loopback host, or anywhere with allowInsecureHttp: true",
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
    throw new HeaderConfigError('ERR_INVALID_OPTION', path, "must be an absolute URI without a #fragment (RFC 8707), e.g. the backend's MCP URL");
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
