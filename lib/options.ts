/**
 * The public option types, their defaults, and the parsers that turn user options into frozen,
 * fully resolved configurations. Every rule is checked here, once, at construction: a mistake throws
 * a HeaderConfigError with the option path and the rule, never the value.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { HeaderConfigError, keyPath } from './errors.js';
import {
  CREDENTIAL_HEADERS,
  DEFAULT_MAX_VALUE_LENGTH,
  HOP_BY_HOP_HEADERS,
  MAX_VALUE_LENGTH_LIMIT,
  invalidNameReason,
  invalidValueReason,
  restrictedReason,
} from './header-rules.js';
import { resolveLogger, type RelayLogger } from './logger.js';
import { parseRebindingGuard, type RebindingGuard } from './rebinding-guard.js';
import { RESPONSE_HEADERS, type ResponsePolicy } from './response-headers.js';
import {
  describeSecretProblem,
  envSecrets,
  invalidSecretNameReason,
  readSecret,
  type SecretProvider,
} from './secrets.js';
import type { SessionStore, SessionTtl } from './session-store.js';

/** Options of {@link captureHeaders}. */
export interface CaptureHeadersOptions {
  /**
   * Incoming header names to capture (any casing; stored lower-case). Nothing else is ever captured.
   * Restricted names (hop-by-hop, routing, forwarding and MCP protocol headers) are refused.
   */
  allow: readonly string[];
  /**
   * Permit `authorization` and `cookie` in `allow`. Forwarding a caller's credential is token
   * passthrough (see docs/security.md); a warning naming the header is logged at startup.
   * @default false
   */
  allowCredentials?: boolean;
  /** Longest accepted header value in bytes; a longer captured value gets 431. @default 8192 */
  maxValueLength?: number;
  /** Console- or pino-compatible logger. Names and decisions only, never values. @default console (warn, error) */
  logger?: RelayLogger;
}

/** Static headers of one backend. */
export interface StaticHeaders {
  /** Header name -> value, sent on every request to this backend. */
  plaintext?: Readonly<Record<string, string>>;
  /** Header name -> secret name, resolved through `secrets` on every request. */
  fromSecret?: Readonly<Record<string, string>>;
}

/** Options of {@link mcpProxy}. */
export interface McpProxyOptions {
  /** Backend MCP endpoint, e.g. `http://127.0.0.1:9001/mcp`. A request to the mount root reaches this path exactly. */
  target: string | URL;
  /**
   * Captured headers this backend receives. Default: every captured header, except `authorization`
   * and `cookie` unless `allowCredentials` is set.
   */
  passthrough?: readonly string[];
  /** Static headers for this backend; they win over a captured header of the same name. */
  headers?: StaticHeaders;
  /** Where `headers.fromSecret` values come from. @default envSecrets() */
  secrets?: SecretProvider;
  /**
   * Session handling, see docs/sessions.md. `'request'`: stateless, headers read per request.
   * `'bind'`: a session must keep presenting the captured headers it was initialized with.
   * `{ mode: 'pin', principal }`: the initialize's captured values are kept for the session and its principal.
   * @default 'request'
   */
  session?: SessionOptions;
  /** Permit forwarding captured `authorization` and `cookie` (token passthrough). @default false */
  allowCredentials?: boolean;
  /**
   * Milliseconds for connecting to the backend and sending it the whole request; past it the client
   * gets 504, so a dead or unreachable backend is answered within seconds. @default 10000
   */
  connectTimeout?: number;
  /**
   * Milliseconds the backend may take, once it has the request, to start its response: its headers
   * for an event stream, the first body byte otherwise. A silent tool call answers only when it is
   * done, so this is long. A response under way is never cut. @default 300000 (5 minutes)
   */
  responseTimeout?: number;
  /**
   * `Host` names this route accepts (DNS-rebinding guard, see docs/security.md): `'name'` (any port),
   * `'name:port'`, or `['*']` for any. Default: on a loopback listener only `localhost`, `127.0.0.1`
   * and `[::1]`; on any other listener, any.
   */
  allowedHosts?: readonly string[];
  /**
   * `Origin`s this route accepts when a request carries one (browsers do): `'https://app.example'`,
   * or `['*']` for any. Default: on a loopback listener only loopback origins (`http(s)://localhost`,
   * `127.0.0.1`, `[::1]`, any port); on any other listener, any.
   */
  allowedOrigins?: readonly string[];
  /**
   * Response headers this route forwards to the client besides the defaults (`RESPONSE_HEADERS`:
   * content description, caching, `Mcp-Session-Id`, `WWW-Authenticate`, `Retry-After`, rate limits).
   * Every other header the backend sends is dropped. Hop-by-hop names and this route's secret header
   * names are refused.
   */
  responseHeaders?: readonly string[];
  /** Longest accepted static or secret header value in bytes. Protocol headers are bounded by Node's header limit only. @default 8192 */
  maxValueLength?: number;
  /** Console- or pino-compatible logger. Names and decisions only, never values. @default console (warn, error) */
  logger?: RelayLogger;
}

/** The `session` option of {@link mcpProxy}. The string forms use every default. */
export type SessionOptions = 'request' | 'bind' | { mode: 'request' } | BindSessionOptions | PinSessionOptions;

/** Limits shared by `bind` and `pin`. */
export interface SessionLimits {
  /** A session unused this long (milliseconds) is forgotten; every request on it restarts the clock. @default 1800000 (30 min) */
  idleTtl?: number;
  /** A session is forgotten this long (milliseconds) after its initialize, however active. @default 86400000 (24 h) */
  absoluteTtl?: number;
  /** Sessions this route keeps at once; beyond it a new initialize gets 503 with Retry-After. @default 10000 */
  maxSessions?: number;
  /**
   * Forward requests of the 2024-11-05 HTTP+SSE transport (`POST /messages?sessionId=…`) without any
   * binding. By default they get 400 `unsupported_transport`: that transport's sessions are not MCP
   * session ids, so `bind` and `pin` cannot protect them. @default false
   */
  allowLegacySse?: boolean;
}

/** `bind`: every request of a session must present the same captured headers as its initialize. */
export interface BindSessionOptions extends SessionLimits {
  mode: 'bind';
  /** Where fingerprints are kept. @default an in-memory store per route */
  store?: SessionStore;
  /** HMAC key (at least 32 bytes) for fingerprints. Required with `store`: every replica must share it. @default 32 random bytes per process */
  sessionKey?: string | Uint8Array;
  /**
   * The authenticated identity behind the request, set by the host app's auth middleware. When it
   * returns one, the session is bound to it as well: another principal (or none) gets 404 on it.
   */
  principal?(req: IncomingMessage): string | undefined;
  /**
   * Sessions one client keeps at once (the principal when known, else the captured headers'
   * fingerprint); beyond it a new initialize gets 503. @default ceil(maxSessions / 10)
   */
  maxSessionsPerClient?: number;
}

/** `pin`: the initialize's captured values are kept in process memory, for that principal only. */
export interface PinSessionOptions extends SessionLimits {
  mode: 'pin';
  /**
   * The authenticated identity behind the request (for example `req.user.id`), set by the host app's
   * auth middleware. `undefined` means none: such a request never gets pinned values.
   */
  principal(req: IncomingMessage): string | undefined;
  /** Sessions one principal keeps at once; beyond it a new initialize gets 503. @default 20 */
  maxSessionsPerPrincipal?: number;
}

export const DEFAULT_IDLE_TTL_MS = 30 * 60_000;
export const DEFAULT_ABSOLUTE_TTL_MS = 24 * 60 * 60_000;
export const DEFAULT_MAX_SESSIONS = 10_000;
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 20;
/** `bind`'s default share per client: a tenth of `maxSessions`, so no one client can take them all. */
export const DEFAULT_CLIENT_SHARE_DIVISOR = 10;
/** The HMAC key's minimum length: SHA-256's block of security. */
export const MIN_SESSION_KEY_BYTES = 32;

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 5 * 60_000;
/** More entries than this in one list or map is a configuration smell, and a per-request cost. */
export const MAX_CONFIGURED_HEADERS = 64;

export interface CaptureConfig {
  readonly allow: readonly string[];
  readonly maxValueLength: number;
  readonly logger: Required<RelayLogger>;
}

export interface SecretHeader {
  /** Lower-case header name. */
  readonly name: string;
  /** Secret name looked up in the provider. */
  readonly secret: string;
  /** Option path, for messages. */
  readonly path: string;
}

export interface ProxyConfig {
  /** Origin only; the path is applied by `upstreamPath`. */
  readonly origin: string;
  readonly targetPath: string;
  readonly targetSearch: string;
  /** Names of the target's query parameters: a client's parameter of the same name is dropped. */
  readonly fixedQuery: ReadonlySet<string>;
  /** `undefined` means every captured header (credentials only with `allowCredentials`). */
  readonly passthrough: ReadonlySet<string> | undefined;
  readonly allowCredentials: boolean;
  readonly plaintext: ReadonlyMap<string, string>;
  readonly fromSecret: readonly SecretHeader[];
  readonly secrets: SecretProvider;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
  readonly guard: RebindingGuard;
  readonly response: ResponsePolicy;
  readonly maxValueLength: number;
  readonly logger: Required<RelayLogger>;
  readonly session: SessionConfig;
}

export type SessionConfig = { readonly mode: 'request' } | SessionModeConfig;

export interface SessionModeConfig {
  readonly mode: 'bind' | 'pin';
  /** A store passed for `bind`; otherwise the relay keeps its own in-memory one. */
  readonly store: SessionStore | undefined;
  /** Prefix of store keys: the backend, so routes sharing a store never see each other's sessions. */
  readonly namespace: string;
  readonly key: Buffer;
  readonly ttl: SessionTtl;
  readonly maxSessions: number;
  /** Sessions per client: `maxSessionsPerClient` for bind, `maxSessionsPerPrincipal` for pin. */
  readonly maxPerClient: number;
  readonly principal: ((req: IncomingMessage) => string | undefined) | undefined;
  readonly allowLegacySse: boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);

const headerMap = z.custom<Record<string, unknown>>(isRecord, { message: 'must be an object of header name -> string' });
const loggerSchema = z.custom<RelayLogger>(
  (v) => isRecord(v) && typeof v.warn === 'function' && typeof v.error === 'function',
  { message: 'must be a logger with warn() and error() methods (console and pino qualify)' },
);
const secretsSchema = z.custom<SecretProvider>(
  (v) => isRecord(v) && typeof v.read === 'function' && typeof v.description === 'string',
  { message: 'must be a secret provider such as envSecrets() or fileSecrets(dir)' },
);
const timeoutSchema = z.number().int().min(1).max(2 ** 31 - 1).optional();
const maxValueLengthSchema = z.number().int().min(1).max(MAX_VALUE_LENGTH_LIMIT).optional();
const nameList = z.array(z.string()).readonly();

const captureSchema = z.strictObject({
  allow: nameList,
  allowCredentials: z.boolean().optional(),
  maxValueLength: maxValueLengthSchema,
  logger: loggerSchema.optional(),
});

const proxySchema = z.strictObject({
  target: z.union([z.string(), z.instanceof(URL)]),
  passthrough: nameList.optional(),
  headers: z.strictObject({ plaintext: headerMap.optional(), fromSecret: headerMap.optional() }).optional(),
  secrets: secretsSchema.optional(),
  session: z.unknown().optional(),
  allowCredentials: z.boolean().optional(),
  connectTimeout: timeoutSchema,
  responseTimeout: timeoutSchema,
  allowedHosts: z.array(z.string()).readonly().optional(),
  allowedOrigins: z.array(z.string()).readonly().optional(),
  responseHeaders: nameList.optional(),
  maxValueLength: maxValueLengthSchema,
  logger: loggerSchema.optional(),
});

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
  const logger = resolveLogger(parsed.logger);
  const allowCredentials = parsed.allowCredentials ?? false;
  const maxValueLength = parsed.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
  const secrets = parsed.secrets ?? envSecrets();
  const target = parseTarget(parsed.target);

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
  for (const header of fromSecret) resolveAtStartup(header, secrets, maxValueLength);

  for (const name of passthrough ?? []) {
    const staticPath = seen.get(name);
    if (staticPath) {
      throw new HeaderConfigError(
        'ERR_HEADER_OVERLAP',
        staticPath,
        `"${name}" is also listed in passthrough; a header is either forwarded from the caller or set statically, remove it from one list`,
      );
    }
  }

  return Object.freeze({
    ...target,
    passthrough: passthrough ? new Set(passthrough) : undefined,
    allowCredentials,
    plaintext,
    fromSecret: Object.freeze(fromSecret),
    secrets,
    connectTimeout: parsed.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    responseTimeout: parsed.responseTimeout ?? DEFAULT_RESPONSE_TIMEOUT_MS,
    guard: parseRebindingGuard(parsed.allowedHosts, parsed.allowedOrigins),
    response: parseResponseHeaders(parsed.responseHeaders, fromSecret),
    maxValueLength,
    logger,
    session: parseSessionOptions(parsed.session, `${target.origin}${target.targetPath}${target.targetSearch}`),
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
      throw new HeaderConfigError('ERR_HEADER_OVERLAP', path, `"${name}" is a secret header of this route (${secret.path}); a backend must not echo a credential to the client`);
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

const ttlSchema = z.number().int().min(1).max(2 ** 31 - 1).optional();
const countSchema = z.number().int().min(1).max(10_000_000).optional();
const sessionKeySchema = z.custom<string | Uint8Array>(
  (v) => (typeof v === 'string' || v instanceof Uint8Array) && Buffer.byteLength(v) >= MIN_SESSION_KEY_BYTES,
  { message: `must be a string or Uint8Array of at least ${MIN_SESSION_KEY_BYTES} bytes, e.g. crypto.randomBytes(32)` },
);
const storeSchema = z.custom<SessionStore>(
  (v) => isRecord(v) && ['get', 'set', 'delete', 'size'].every((m) => typeof v[m] === 'function'),
  { message: 'must be a session store with get(), set(), delete() and size(), e.g. memorySessionStore()' },
);
const principalSchema = (message: string) =>
  z.custom<(req: IncomingMessage) => string | undefined>((v) => typeof v === 'function', { message });
const bindSchema = z.strictObject({
  mode: z.literal('bind'),
  store: storeSchema.optional(),
  sessionKey: sessionKeySchema.optional(),
  principal: principalSchema('must be a function (req) => string | undefined naming the authenticated caller, e.g. (req) => req.user?.id').optional(),
  idleTtl: ttlSchema,
  absoluteTtl: ttlSchema,
  maxSessions: countSchema,
  maxSessionsPerClient: countSchema,
  allowLegacySse: z.boolean().optional(),
});
const pinSchema = z.strictObject({
  mode: z.literal('pin'),
  principal: principalSchema('pin needs a principal: a function (req) => string | undefined naming the authenticated caller, e.g. (req) => req.user?.id'),
  idleTtl: ttlSchema,
  absoluteTtl: ttlSchema,
  maxSessions: countSchema,
  maxSessionsPerPrincipal: countSchema,
  allowLegacySse: z.boolean().optional(),
});
const requestSchema = z.strictObject({ mode: z.literal('request') });

/** `session`: a mode name, or an object whose `mode` picks the schema. */
function parseSessionOptions(session: unknown, backend: string): SessionConfig {
  if (session === undefined || session === 'request') return { mode: 'request' };
  if (session === 'bind') session = { mode: 'bind' };
  if (session === 'pin') {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'session', "pin needs a principal: { mode: 'pin', principal: (req) => req.user?.id }");
  }
  if (!isRecord(session)) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'session', "must be 'request', 'bind' or { mode: 'pin', principal }");
  }
  const mode = session.mode;
  if (mode === 'request') {
    validateShape(requestSchema, session, 'mcpProxy', 'session');
    return { mode: 'request' };
  }
  if (mode === 'pin' && Object.hasOwn(session, 'store')) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'session.store',
      'pin keeps header values in this process only, in its own store; a shared store is for bind (see docs/sessions.md)',
    );
  }
  if (mode === 'bind') {
    const bind = validateShape(bindSchema, session, 'mcpProxy', 'session');
    if (bind.store && bind.sessionKey === undefined) {
      throw new HeaderConfigError(
        'ERR_INVALID_OPTION',
        'session.sessionKey',
        'required with session.store: every replica sharing the store must use the same key, e.g. 32 random bytes from your secret store',
      );
    }
    const maxSessions = bind.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (bind.maxSessionsPerClient !== undefined && bind.maxSessionsPerClient > maxSessions) {
      throw new HeaderConfigError('ERR_INVALID_OPTION', 'session.maxSessionsPerClient', `is larger than maxSessions (${maxSessions}), so one client could take every session`);
    }
    return sessionMode('bind', bind, backend, {
      store: bind.store,
      key: bind.sessionKey,
      maxPerClient: bind.maxSessionsPerClient ?? Math.ceil(maxSessions / DEFAULT_CLIENT_SHARE_DIVISOR),
      principal: bind.principal,
    });
  }
  if (mode === 'pin') {
    const pin = validateShape(pinSchema, session, 'mcpProxy', 'session');
    return sessionMode('pin', pin, backend, { maxPerClient: pin.maxSessionsPerPrincipal ?? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL, principal: pin.principal });
  }
  throw new HeaderConfigError('ERR_INVALID_OPTION', 'session.mode', "must be 'request', 'bind' or 'pin'");
}

function sessionMode(
  mode: 'bind' | 'pin',
  limits: SessionLimits,
  backend: string,
  extra: { store?: SessionStore | undefined; key?: string | Uint8Array | undefined; maxPerClient?: number | undefined; principal?: PinSessionOptions['principal'] | undefined },
): SessionModeConfig {
  const ttl = { idleMs: limits.idleTtl ?? DEFAULT_IDLE_TTL_MS, absoluteMs: limits.absoluteTtl ?? DEFAULT_ABSOLUTE_TTL_MS };
  if (ttl.absoluteMs < ttl.idleMs) {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      limits.absoluteTtl === undefined ? 'session.idleTtl' : 'session.absoluteTtl',
      `the absolute TTL (${ttl.absoluteMs} ms) is shorter than the idle TTL (${ttl.idleMs} ms), so the idle TTL would never apply`,
    );
  }
  const principal = extra.principal;
  return Object.freeze({
    mode,
    // A store passed in may be shared by several routes: keys carry the backend.
    store: extra.store,
    namespace: extra.store ? `${backend}\n` : '',
    key: extra.key === undefined ? randomBytes(MIN_SESSION_KEY_BYTES) : Buffer.from(extra.key),
    ttl: Object.freeze(ttl),
    maxSessions: limits.maxSessions ?? DEFAULT_MAX_SESSIONS,
    maxPerClient: extra.maxPerClient ?? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
    // Called as a plain function: the host app's `this` is not ours to supply.
    principal: principal && ((req: IncomingMessage) => principal(req)),
    allowLegacySse: limits.allowLegacySse ?? false,
  });
}

/** Shape and type checks with zod; the first problem becomes a HeaderConfigError. */
function validateShape<T>(schema: z.ZodType<T>, options: unknown, fn: string, at = ''): T {
  if (!isRecord(options)) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', '(options)', `${fn}() takes an options object`);
  }
  const result = schema.safeParse(ownProperties(options));
  // zod's output is a plain object: read back through a null prototype so absent options stay absent.
  if (result.success) return ownProperties(result.data as Record<string, unknown>) as T;
  const issue = result.error.issues[0]!;
  const base = [at, formatPath(issue.path)].filter(Boolean).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const path = base ? `${base}.${key}` : key;
    throw new HeaderConfigError('ERR_INVALID_OPTION', path, `unknown option of ${fn}()${suggest(key, knownKeys(schema, issue.path))}`);
  }
  throw new HeaderConfigError('ERR_INVALID_OPTION', base || '(options)', issue.message);
}

/**
 * Own enumerable properties only, on null-prototype objects (one level into `headers`): an option
 * inherited from a polluted Object.prototype, such as `allowCredentials`, must never take effect.
 */
function ownProperties(options: Record<string, unknown>): Record<string, unknown> {
  const copy = Object.assign(Object.create(null) as Record<string, unknown>, options);
  if (isRecord(copy.headers)) copy.headers = Object.assign(Object.create(null) as Record<string, unknown>, copy.headers);
  return copy;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** The option names valid at `path` inside `schema` (an object schema, possibly wrapped in optional). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = schema;
  for (const part of path) {
    while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
    node = node instanceof z.ZodObject ? (node.shape as Record<string, z.ZodType>)[String(part)] : undefined;
  }
  while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** "Did you mean `passthrough`?" for a near-miss key among the ones valid there. */
function suggest(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const match = known.find((candidate) => {
    const k = candidate.toLowerCase();
    return k === lower || editDistance(k, lower) <= 2;
  });
  return match ? `; did you mean "${match}"?` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function parseTarget(target: string | URL): Pick<ProxyConfig, 'origin' | 'targetPath' | 'targetSearch' | 'fixedQuery'> {
  let url: URL;
  try {
    url = new URL(String(target));
  } catch {
    throw new HeaderConfigError('ERR_INVALID_TARGET', 'target', 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HeaderConfigError('ERR_INVALID_TARGET', 'target', 'must use http: or https:');
  }
  if (url.username || url.password) {
    throw new HeaderConfigError(
      'ERR_INVALID_TARGET',
      'target',
      'must not contain credentials; URLs end up in logs, so send the credential as headers.fromSecret',
    );
  }
  if (url.hash) throw new HeaderConfigError('ERR_INVALID_TARGET', 'target', 'must not contain a #fragment');
  return { origin: url.origin, targetPath: url.pathname, targetSearch: url.search, fixedQuery: new Set(url.searchParams.keys()) };
}

/** Validates `allow` or `passthrough`: lower-cased, unique, unrestricted names. */
function parseNameList(names: readonly string[], option: string, allowCredentials: boolean): string[] {
  if (names.length > MAX_CONFIGURED_HEADERS) {
    throw new HeaderConfigError('ERR_TOO_MANY_HEADERS', option, `at most ${MAX_CONFIGURED_HEADERS} header names`);
  }
  const out: string[] = [];
  names.forEach((raw, i) => {
    const path = `${option}[${i}]`;
    const name = checkName(raw, path);
    if (CREDENTIAL_HEADERS.has(name) && !allowCredentials) {
      throw new HeaderConfigError(
        'ERR_CREDENTIAL_HEADER',
        path,
        `forwarding the caller's "${name}" is token passthrough; attach a backend credential with headers.fromSecret, or set allowCredentials: true to opt in`,
      );
    }
    if (out.includes(name)) {
      throw new HeaderConfigError('ERR_DUPLICATE_HEADER', path, `"${name}" is listed twice (names are case-insensitive)`);
    }
    out.push(name);
  });
  return out;
}

/** Name rules shared by every list and map; returns the lower-case name. */
function checkName(raw: string, path: string): string {
  const invalid = invalidNameReason(raw);
  if (invalid) throw new HeaderConfigError('ERR_INVALID_HEADER_NAME', path, invalid);
  const name = raw.toLowerCase();
  const restricted = restrictedReason(name);
  if (restricted) {
    throw new HeaderConfigError('ERR_RESTRICTED_HEADER', path, `"${name}" cannot be configured: ${restricted}`);
  }
  return name;
}

/** Own enumerable entries only: a JSON-parsed `__proto__` key is seen (and refused), never followed. */
function entriesOf(map: Record<string, unknown> | undefined, path: string): [string, unknown][] {
  if (!map) return [];
  const keys = Object.keys(map);
  if (keys.length > MAX_CONFIGURED_HEADERS) {
    throw new HeaderConfigError('ERR_TOO_MANY_HEADERS', path, `at most ${MAX_CONFIGURED_HEADERS} headers`);
  }
  return keys.map((key) => [key, map[key]]);
}

function parseStaticName(key: string, path: string, seen: Map<string, string>): string {
  const name = checkName(key, path);
  const earlier = seen.get(name);
  if (earlier) {
    throw new HeaderConfigError(
      'ERR_DUPLICATE_HEADER',
      path,
      `"${name}" is already set by ${earlier}; header names are case-insensitive, keep one`,
    );
  }
  seen.set(name, path);
  return name;
}

function parseStaticValue(value: unknown, path: string, maxLength: number): string {
  if (typeof value !== 'string') {
    throw new HeaderConfigError('ERR_INVALID_HEADER_VALUE', path, `value must be a string, not ${describeType(value)}`);
  }
  if (value.length === 0) throw new HeaderConfigError('ERR_INVALID_HEADER_VALUE', path, 'value must not be empty');
  const invalid = invalidValueReason(value, maxLength);
  if (invalid === 'too_long') {
    throw new HeaderConfigError('ERR_INVALID_HEADER_VALUE', path, `value is longer than ${maxLength} bytes (maxValueLength)`);
  }
  if (invalid) {
    throw new HeaderConfigError(
      'ERR_INVALID_HEADER_VALUE',
      path,
      'value may contain only visible ASCII, space and tab (no CR, LF, NUL, controls or non-ASCII)',
    );
  }
  if (/^[ \t]|[ \t]$/.test(value)) {
    throw new HeaderConfigError('ERR_INVALID_HEADER_VALUE', path, 'value must not start or end with whitespace');
  }
  return value;
}

function parseSecretName(secret: unknown, path: string): string {
  if (typeof secret !== 'string') {
    throw new HeaderConfigError('ERR_INVALID_OPTION', path, `secret name must be a string, not ${describeType(secret)}`);
  }
  const invalid = invalidSecretNameReason(secret);
  if (invalid) throw new HeaderConfigError('ERR_INVALID_OPTION', path, invalid);
  return secret;
}

/** Fail at start-up, not as a missing header on every request. */
function resolveAtStartup(header: SecretHeader, secrets: SecretProvider, maxLength: number): void {
  const result = readSecret(secrets, header.secret, maxLength);
  if (result.ok) return;
  throw new HeaderConfigError(
    result.problem === 'missing' ? 'ERR_SECRET_MISSING' : 'ERR_SECRET_INVALID',
    header.path,
    `secret "${header.secret}" (${secrets.description}) ${describeSecretProblem(result, maxLength)}`,
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

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
