/**
 * RFC 8693 token exchange as a CredentialSource: the caller's token goes to the authorization server,
 * which issues a token for the backend. The backend never sees the caller's token (the MCP spec
 * forbids token passthrough). The HTTP and OAuth work is oauth4webapi's, loaded on the first
 * exchange, so an app that does not call tokenExchange() never loads it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type * as OAuth from 'oauth4webapi';
import { CredentialResolveError, redactedSource, type CredentialSource, type ResolvedCredential } from './credential-source.js';
import { TOKEN_EXCHANGE_GRANT_TYPE, parseTokenExchangeOptions, type ExchangeConfig, type TokenExchangeOptions } from './token-exchange-options.js';
import { MAX_VALUE_LENGTH_LIMIT } from './header-rules.js';
import { isRecord } from './option-shapes.js';
import { describeSecretProblem, readSecret } from './secrets.js';

export { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT_TYPE } from './token-exchange-options.js';
export type { TokenExchangeClientSecret, TokenExchangeOptions } from './token-exchange-options.js';

type OAuthModule = typeof OAuth;

/** OAuth error codes (RFC 6749, 6750, 8693, 8707, 9449) that may be quoted: anything else an AS sends is not. */
const KNOWN_OAUTH_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'invalid_token',
  'insufficient_scope',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'unsupported_token_type',
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

async function requestToken(
  oauth: OAuthModule,
  config: ExchangeConfig,
  clientSecret: string,
  subject: string,
  signal: AbortSignal,
): Promise<OAuth.TokenEndpointResponse> {
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
  throw new CredentialResolveError(
    `the client secret (clientSecret.secret, ${config.secrets.description}) ${describeSecretProblem(result, MAX_VALUE_LENGTH_LIMIT)}`,
  );
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
    return new CredentialResolveError(
      `the token endpoint answered ${error.status} with ${code ?? 'a WWW-Authenticate challenge'}${hint(code ?? 'invalid_client')}`,
    );
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
