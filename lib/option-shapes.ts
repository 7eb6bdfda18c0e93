/**
 * The option schemas: zod lives here and in option-shape-errors.ts (which runs a schema and turns its
 * first issue into a HeaderConfigError), nowhere else. Each schema's shape is tied to its public option
 * type at compile time (`ShapeOf`), so an option cannot be typed but unvalidated, or validated but untyped.
 * The shapes themselves are exported for the gateway file's JSON Schema (cli/config-json-schema.ts).
 */
import http, { type IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { CredentialCacheOptions, CredentialSource } from './credential-source.js';
import { MAX_VALUE_LENGTH_LIMIT } from './header-rules.js';
import type { HealthOptions } from './health-options.js';
import type { RelayLogger } from './logger.js';
import type { BackendTlsOptions, CredentialAuditEvent, CaptureHeadersOptions, McpProxyOptions, RouteHeaders } from './options.js';
import type { SecretProvider } from './secrets.js';
import { MIN_SESSION_KEY_BYTES, type BindSessionOptions, type PinSessionOptions, type SessionLimits } from './session-options.js';
import type { SessionStore } from './session-store.js';
import type { RouteMetrics } from './route-observer.js';
import type { TokenExchangeClientSecret, TokenExchangeOptions } from './token-exchange-options.js';

/** One schema per option of `T`, no more, no fewer (express-rate-limit's `KeysEnum`, for zod shapes). */
type ShapeOf<T> = { readonly [K in keyof Required<T>]: z.ZodType };

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);

const headerMap = z.custom<Record<string, unknown>>(isRecord, { message: 'must be an object of header name -> string' });
const loggerSchema = z.custom<RelayLogger>((v) => isRecord(v) && typeof v.warn === 'function' && typeof v.error === 'function', {
  message: 'must be a logger with warn() and error() methods (console and pino qualify)',
});
const secretsSchema = z.custom<SecretProvider>((v) => isRecord(v) && typeof v.read === 'function' && typeof v.description === 'string', {
  message: 'must be a secret provider such as envSecrets() or fileSecrets(dir)',
});
/** Milliseconds a Node timer can hold, from `min`. A schema's message is also that of its checks. */
const millisecondsSchema = (min: 0 | 1) =>
  z
    .number({ message: `must be whole milliseconds, an integer from ${min} to ${2 ** 31 - 1}` })
    .int()
    .min(min)
    .max(2 ** 31 - 1)
    .optional();
const timeoutSchema = millisecondsSchema(1);
const ttlSchema = timeoutSchema;
const maxValueLengthSchema = z.number().int().min(1).max(MAX_VALUE_LENGTH_LIMIT).optional();
const ROUTE_NAME_RULE = "must be 1 to 64 visible ASCII characters without spaces, e.g. 'github'";
const nameList = z.array(z.string()).readonly();

export const captureShape = {
  allow: nameList,
  allowCredentials: z.boolean().optional(),
  maxValueLength: maxValueLengthSchema,
  logger: loggerSchema.optional(),
} satisfies ShapeOf<CaptureHeadersOptions>;
export const captureSchema = z.strictObject(captureShape);

const functionMap = z.custom<Record<string, unknown>>(isRecord, { message: 'must be an object of header name -> function (req) => string | undefined' });
const principalSchema = (message: string) => z.custom<(req: IncomingMessage) => string | undefined>((v) => typeof v === 'function', { message });
export const routeHeadersShape = {
  plaintext: headerMap.optional(),
  fromSecret: headerMap.optional(),
  fromCaptured: headerMap.optional(),
  template: headerMap.optional(),
  fromRequest: functionMap.optional(),
  fromCredential: z
    .custom<Record<string, unknown>>(isRecord, { message: 'must be an object of header name -> credential source, e.g. tokenExchange({ ... })' })
    .optional(),
} satisfies ShapeOf<RouteHeaders>;

const pemSchema = (what: string) =>
  z.union([z.string(), z.instanceof(Buffer)], {
    message: `must be ${what} as PEM text, a string or a Buffer, e.g. fs.readFileSync('${what.includes('key') ? 'client.key' : 'client.crt'}')`,
  });
export const tlsShape = {
  ca: z
    .union([z.string(), z.instanceof(Buffer), z.array(z.union([z.string(), z.instanceof(Buffer)])).readonly()], {
      message: "must be PEM certificates: a string, a Buffer or a list of them, e.g. fs.readFileSync('ca.pem')",
    })
    .optional(),
  cert: pemSchema('the client certificate').optional(),
  key: pemSchema('the private key').optional(),
  passphrase: z.string({ message: 'must be a string' }).optional(),
  servername: z.string({ message: "must be a DNS name, e.g. 'mcp.internal.example'" }).optional(),
  rejectUnauthorized: z.boolean().optional(),
} satisfies ShapeOf<BackendTlsOptions>;

export const proxyShape = {
  target: z.union([z.string(), z.instanceof(URL)]),
  name: z
    .string({ message: ROUTE_NAME_RULE })
    .regex(/^[\x21-\x7e]{1,64}$/)
    .optional(),
  passthrough: nameList.optional(),
  headers: z.strictObject(routeHeadersShape).optional(),
  principal: principalSchema('must be a function (req) => string | undefined naming the authenticated caller, e.g. (req) => req.user?.id').optional(),
  required: nameList.optional(),
  audit: z.custom<(event: CredentialAuditEvent) => void>((v) => typeof v === 'function', { message: 'must be a function (event) => void' }).optional(),
  secrets: secretsSchema.optional(),
  session: z.unknown().optional(),
  allowCredentials: z.boolean().optional(),
  connectTimeout: timeoutSchema,
  responseTimeout: timeoutSchema,
  allowedHosts: z.array(z.string()).readonly().optional(),
  allowedOrigins: z.array(z.string()).readonly().optional(),
  responseHeaders: nameList.optional(),
  forwardTraceContext: z.boolean().optional(),
  maxValueLength: maxValueLengthSchema,
  health: z.strictObject({ timeout: timeoutSchema, cacheTtl: millisecondsSchema(0) } satisfies ShapeOf<HealthOptions>).optional(),
  logger: loggerSchema.optional(),
  metrics: z
    .custom<RouteMetrics>((v) => isRecord(v) && typeof v.observeRoute === 'function', {
      message: 'must be the metrics object relayMetrics() of mcp-header-relay/metrics returns',
    })
    .optional(),
  tls: z.strictObject(tlsShape).optional(),
  agent: z
    .custom<http.Agent>((v) => v instanceof http.Agent, { message: 'must be an http.Agent or https.Agent (node:http, node:https) or a subclass of one' })
    .optional(),
} satisfies ShapeOf<McpProxyOptions>;
export const proxySchema = z.strictObject(proxyShape);

const countSchema = z.number().int().min(1).max(10_000_000).optional();
const sessionKeySchema = z.custom<string | Uint8Array>(
  (v) => (typeof v === 'string' || v instanceof Uint8Array) && Buffer.byteLength(v) >= MIN_SESSION_KEY_BYTES,
  { message: `must be a string or Uint8Array of at least ${MIN_SESSION_KEY_BYTES} bytes, e.g. crypto.randomBytes(32)` },
);
const storeSchema = z.custom<SessionStore>(
  (v) => isRecord(v) && ['get', 'set', 'delete', 'size'].every((m) => typeof v[m] === 'function') && (v.admit === undefined || typeof v.admit === 'function'),
  { message: 'must be a session store with get(), set(), delete() and size() (and, optionally, admit()), e.g. memorySessionStore()' },
);
/** What `bind` and `pin` share. */
const limitsShape = {
  idleTtl: ttlSchema,
  absoluteTtl: ttlSchema,
  maxSessions: countSchema,
  allowLegacySse: z.boolean().optional(),
} satisfies ShapeOf<SessionLimits>;

export const bindShape = {
  ...limitsShape,
  mode: z.literal('bind'),
  store: storeSchema.optional(),
  sessionKey: sessionKeySchema.optional(),
  principal: principalSchema('must be a function (req) => string | undefined naming the authenticated caller, e.g. (req) => req.user?.id').optional(),
  maxSessionsPerClient: countSchema,
} satisfies ShapeOf<BindSessionOptions>;
export const bindSchema = z.strictObject(bindShape);

const pinShape = {
  ...limitsShape,
  mode: z.literal('pin'),
  principal: principalSchema('pin needs a principal: a function (req) => string | undefined naming the authenticated caller, e.g. (req) => req.user?.id'),
  maxSessionsPerPrincipal: countSchema,
} satisfies ShapeOf<PinSessionOptions>;
export const pinSchema = z.strictObject(pinShape);

export const requestSchema = z.strictObject({ mode: z.literal('request') });

const durationSchema = millisecondsSchema(0);
const credentialCacheShape = {
  ttl: durationSchema,
  timeout: timeoutSchema,
  maxEntries: countSchema,
  negativeTtl: durationSchema,
  failureTtl: durationSchema,
} satisfies ShapeOf<CredentialCacheOptions>;
export const credentialCacheSchema = z.strictObject(credentialCacheShape);

/** Only its verdict is used (parse-route-headers.ts words the error, for a source alone or in { source, cache }). */
export const credentialSourceSchema = z.custom<CredentialSource>(
  (v) => isRecord(v) && typeof v.key === 'function' && typeof v.resolve === 'function' && typeof v.description === 'string',
);

const fn = <F>(message: string) => z.custom<F>((v) => typeof v === 'function', { message });
type Fn<K extends keyof TokenExchangeOptions> = NonNullable<TokenExchangeOptions[K]>;
/** RFC 6749 VSCHAR (client ids) and NQCHAR without the space (URIs, audiences): no controls, no non-ASCII. */
const vschar = (what: string) => z.string().regex(/^[\x20-\x7E]{1,2048}$/, `${what} must be 1-2048 visible ASCII characters or spaces`);
const uriLike = (what: string) => z.string().regex(/^[\x21-\x7E]{1,2048}$/, `${what} must be 1-2048 visible ASCII characters, no spaces`);
const clientSecretShape = {
  secret: z.string({ message: 'must be the name of the secret, e.g. "RELAY_CLIENT_SECRET"' }),
  secrets: secretsSchema.optional(),
} satisfies ShapeOf<TokenExchangeClientSecret>;
const tokenExchangeShape = {
  tokenEndpoint: z.union([z.string(), z.instanceof(URL)], { message: 'must be the token endpoint URL, a string or a URL' }),
  clientId: vschar('clientId'),
  clientSecret: z.strictObject(clientSecretShape, {
    message: 'must be { secret: "NAME" } (and optionally secrets: a secret provider); the secret itself is never inline',
  }),
  clientAuthentication: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
  subjectToken: fn<Fn<'subjectToken'>>("must be a function (req) => string | undefined returning the caller's token"),
  subjectTokenType: uriLike('subjectTokenType').optional(),
  audience: vschar('audience').optional(),
  resource: z.union([z.string(), z.array(z.string()).min(1).max(16).readonly()], { message: 'must be an absolute URI or a list of 1-16 of them' }).optional(),
  scope: z
    .string()
    .regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'scope must be scope tokens separated by single spaces (RFC 6749 §3.3)')
    .optional(),
  requestedTokenType: uriLike('requestedTokenType').optional(),
  format: fn<Fn<'format'>>('must be a function (accessToken) => header value').optional(),
  key: fn<Fn<'key'>>('must be a function (req) => string | undefined returning the cache key').optional(),
  allowInsecureHttp: z.boolean().optional(),
  logger: loggerSchema.optional(),
} satisfies ShapeOf<TokenExchangeOptions>;
export const tokenExchangeSchema = z.strictObject(tokenExchangeShape);
