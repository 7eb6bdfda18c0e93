/**
 * The parsers that turn user options into frozen, fully resolved configurations. Every rule is checked
 * here, once, at construction: a mistake throws a HeaderConfigError with the option path and the rule,
 * never the value.
 */
import { HeaderConfigError, keyPath } from './config-error.js';
import type { CaptureConfig, ProxyConfig, SecretHeader } from './config.js';
import { CREDENTIAL_HEADERS, DEFAULT_MAX_VALUE_LENGTH, HOP_BY_HOP_HEADERS, invalidNameReason } from './header-rules.js';
import { resolveLogger, routeLogger, type RelayLogger } from './logger.js';
import { captureSchema, isRecord, proxySchema } from './option-shapes.js';
import { validateShape } from './option-shape-errors.js';
import { DEFAULT_HEALTH_CACHE_TTL_MS, DEFAULT_HEALTH_TIMEOUT_MS } from './health-options.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, MAX_CONFIGURED_HEADERS } from './options.js';
import { parseRouteHeaders } from './parse-route-headers.js';
import { parseHttpUrl } from './url-rules.js';
import { parseSessionOptions } from './parse-session.js';
import { parseTls } from './parse-tls.js';
import { parseRebindingGuard } from './rebinding-guard.js';
import { RESPONSE_HEADERS, type ResponsePolicy } from './response-headers.js';
import { describeSecretProblem, envSecrets, readSecret, type SecretProvider } from './secrets.js';
import { entriesOf, parseNameList, parseSecretName, parseStaticName, parseStaticValue } from './parse-headers.js';

export function parseCaptureOptions(options: unknown): CaptureConfig {
  const parsed = validateShape(captureSchema, options, 'captureHeaders');
  const logger = resolveLogger(parsed.logger);
  const allow = parseNameList(parsed.allow, 'allow', parsed.allowCredentials ?? false);
  if (allow.length === 0) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'allow', 'list at least one header name to capture');
  }
  warnCredentials(allow, logger, 'captureHeaders', 'allow');
  return Object.freeze({ allow: Object.freeze(allow), maxValueLength: parsed.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH, logger });
}

export function parseProxyOptions(options: unknown): ProxyConfig {
  refuseRenamed(options);
  const parsed = validateShape(proxySchema, options, 'mcpProxy');
  const target = parseTarget(parsed.target);
  const name = parsed.name ?? defaultRouteName(target);
  const logger = routeLogger(resolveLogger(parsed.logger), name);
  const allowCredentials = parsed.allowCredentials ?? false;
  const maxValueLength = parsed.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
  const secrets = parsed.secrets ?? envSecrets();

  const passthrough = parsed.passthrough && parseNameList(parsed.passthrough, 'passthrough', allowCredentials);
  if (passthrough) warnCredentials(passthrough, logger, 'mcpProxy', 'passthrough');
  else if (allowCredentials) {
    logger.warn(
      { option: 'allowCredentials', headers: [...CREDENTIAL_HEADERS] },
      'mcpProxy: allowCredentials without passthrough forwards any captured authorization or cookie header. This is token passthrough: the backend must accept tokens issued for it, see docs/security.md',
    );
  }

  const seen = new Map<string, string>();
  const plaintext = new Map<string, string>();
  for (const [key, value] of entriesOf(parsed.headers?.plaintext, 'headers.plaintext')) {
    const path = keyPath('headers.plaintext', key);
    const name = parseStaticName(key, path, seen);
    plaintext.set(name, parseStaticValue(value, path, maxValueLength));
  }
  const fromSecret: SecretHeader[] = [];
  for (const [key, secret] of entriesOf(parsed.headers?.fromSecret, 'headers.fromSecret')) {
    const path = keyPath('headers.fromSecret', key);
    const name = parseStaticName(key, path, seen);
    fromSecret.push({ name, secret: parseSecretName(secret, path), path });
  }
  const session = parseSessionOptions(parsed.session, `${target.origin}${target.targetPath}${target.targetSearch}`);
  // Stryker disable next-line ConditionalExpression,StringLiteral: a 'request' session has no principal, so reading it gives the same undefined
  const principal = parsed.principal ?? (session.mode === 'request' ? undefined : session.principal);
  const { templateSecrets, ...dynamic } = parseRouteHeaders(parsed, { allowCredentials, seen, passthrough, principal, maxValueLength });
  for (const header of [...fromSecret, ...templateSecrets]) resolveAtStartup(header, secrets, maxValueLength, logger);

  return Object.freeze({
    name,
    ...target,
    passthrough: passthrough ? new Set(passthrough) : undefined,
    allowCredentials,
    plaintext,
    fromSecret: Object.freeze(fromSecret),
    templateSecrets: Object.freeze(templateSecrets),
    ...dynamic,
    secrets,
    connectTimeout: parsed.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    responseTimeout: parsed.responseTimeout ?? DEFAULT_RESPONSE_TIMEOUT_MS,
    guard: parseRebindingGuard(parsed.allowedHosts, parsed.allowedOrigins),
    response: parseResponseHeaders(parsed.responseHeaders, fromSecret),
    forwardTraceContext: parsed.forwardTraceContext ?? false,
    maxValueLength,
    logger,
    session,
    health: Object.freeze({ timeout: parsed.health?.timeout ?? DEFAULT_HEALTH_TIMEOUT_MS, cacheTtl: parsed.health?.cacheTtl ?? DEFAULT_HEALTH_CACHE_TTL_MS }),
    metrics: parsed.metrics,
    ...parseTls(parsed.tls, parsed.agent, target.origin, logger),
  });
}

/** The response allowlist: the defaults plus the route's names, never a secret header's name. */
function parseResponseHeaders(names: readonly string[] | undefined, fromSecret: readonly SecretHeader[]): ResponsePolicy {
  const allowed = new Set(RESPONSE_HEADERS);
  if (names && names.length > MAX_CONFIGURED_HEADERS) {
    throw new HeaderConfigError('ERR_TOO_MANY_HEADERS', 'responseHeaders', `at most ${MAX_CONFIGURED_HEADERS} header names`);
  }
  (names ?? []).forEach((raw, i) => {
    const path = `responseHeaders[${i}]`;
    const invalid = invalidNameReason(raw);
    if (invalid) throw new HeaderConfigError('ERR_INVALID_HEADER_NAME', path, invalid);
    const name = raw.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(name)) {
      throw new HeaderConfigError('ERR_RESTRICTED_HEADER', path, `"${name}" is hop-by-hop: Node frames the response to the client itself`);
    }
    const secret = fromSecret.find((h) => h.name === name);
    if (secret) {
      throw new HeaderConfigError(
        'ERR_HEADER_OVERLAP',
        path,
        `"${name}" is a secret header of this route (${secret.path}); a backend must not echo a credential to the client`,
      );
    }
    allowed.add(name);
  });
  for (const header of fromSecret) allowed.delete(header.name);
  return Object.freeze({ allowed });
}

/** Options removed at 0.2.0, with what replaces them: an old configuration fails loudly, not silently. */
function refuseRenamed(options: unknown): void {
  if (isRecord(options) && Object.hasOwn(options, 'timeout')) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'timeout',
      'was split in 0.2.0: use connectTimeout (connecting and sending the request, default 10 s) and responseTimeout (until the response starts, default 5 min); see CHANGELOG.md',
    );
  }
}

/** `host:port/path` of the target: what an operator recognizes, and a bounded label. */
function defaultRouteName(target: Pick<ProxyConfig, 'origin' | 'targetPath'>): string {
  const host = new URL(target.origin).host;
  return target.targetPath === '/' ? host : `${host}${target.targetPath}`.slice(0, 64);
}

function parseTarget(target: string | URL): Pick<ProxyConfig, 'origin' | 'targetPath' | 'targetSearch' | 'fixedQuery'> {
  const url = parseHttpUrl(target, 'ERR_INVALID_TARGET', 'target', 'send the credential as headers.fromSecret');
  return { origin: url.origin, targetPath: url.pathname, targetSearch: url.search, fixedQuery: new Set(url.searchParams.keys()) };
}

/**
 * Fail at start-up, not as a missing header on every request. The error names the option path only:
 * which secret, and where the provider looks for it, go to the error log, not into a message that
 * may travel further (a crash report, a support ticket).
 */
function resolveAtStartup(header: SecretHeader, secrets: SecretProvider, maxLength: number, logger: Required<RelayLogger>): void {
  const result = readSecret(secrets, header.secret, maxLength);
  if (result.ok) return;
  const problem = describeSecretProblem(result, maxLength);
  logger.error({ option: header.path, secret: header.secret, source: secrets.description }, `mcpProxy: the secret behind ${header.path} ${problem}`);
  throw new HeaderConfigError(
    result.problem === 'missing' ? 'ERR_SECRET_MISSING' : 'ERR_SECRET_INVALID',
    header.path,
    `the secret for this header ${problem}; the error log names the secret and its source`,
  );
}

function warnCredentials(names: readonly string[], logger: Required<RelayLogger>, fn: string, option: string): void {
  for (const name of names) {
    if (!CREDENTIAL_HEADERS.has(name)) continue;
    logger.warn(
      { header: name, option },
      `${fn}: ${option} forwards the caller's "${name}" header (allowCredentials). This is token passthrough: the backend must accept tokens issued for it, see docs/security.md`,
    );
  }
}
