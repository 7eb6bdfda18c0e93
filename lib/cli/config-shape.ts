/**
 * The gateway file's shape (`mcp-header-relay serve --config relay.yaml`), checked with zod like the
 * library's options (option-shapes.ts), through the same adapter (option-shape-errors.ts). Only what the
 * file adds is checked here: listeners, named secret providers, the mount path, TLS files. A route's
 * library options pass through as they are and mcpProxy() checks them, so a rule lives in one place.
 * The route keys are tied to McpProxyOptions at compile time: a new option must be placed here, either
 * as settable from a file or as code only.
 */
import { z } from 'zod';
import type { BackendTlsOptions, CaptureHeadersOptions, McpProxyOptions, RouteHeaders } from '../options.js';

const CODE_ONLY = 'takes a function or an object made in code; the gateway file cannot set it (embed mcpProxy() in an Express app instead)';
/** An option of the library the file cannot express: absent passes, anything present is refused. */
export const codeOnly = z.custom<never>(() => false, { message: CODE_ONLY }).optional();
/** Checked by the library itself, under the same path. */
export const byLibrary = z.unknown().optional();
/** The same, for a key the library requires. */
export const requiredByLibrary = z.unknown();

export const captureShape = {
  allow: byLibrary,
  allowCredentials: byLibrary,
  maxValueLength: byLibrary,
  logger: codeOnly,
} satisfies { readonly [K in keyof Required<CaptureHeadersOptions>]: z.ZodType };

/** A name routes use in `secrets:`, and a secret provider of lib/secrets.ts. */
export const PROVIDER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const PROVIDER_RULE = 'must be { type: env } or { type: file, dir: /run/secrets, refreshInterval: 1000 }';
const providerSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('env') }),
    z.strictObject({
      type: z.literal('file'),
      dir: z.string({ message: 'must be the directory holding one file per secret, e.g. /run/secrets' }).min(1),
      refreshInterval: z.number({ message: 'must be milliseconds, an integer >= 0' }).int().min(0).optional(),
    }),
  ],
  { message: PROVIDER_RULE },
);

const FILE_RULE = "must be a file path (relative paths are read from the gateway file's directory)";
const filePath = z.string({ message: FILE_RULE }).min(1, { message: FILE_RULE });
/** Each BackendTlsOptions key as the file names it: PEM contents come from files, the passphrase from the environment. */
type FileTlsKey<K extends string> = K extends 'ca' | 'cert' | 'key' ? `${K}File` : K extends 'passphrase' ? 'passphraseEnv' : K;
/** BackendTlsOptions with files instead of PEM text, and the passphrase from an environment variable. */
export const tlsFileShape = {
  caFile: z.union([filePath, z.array(filePath).min(1)], { message: `${FILE_RULE}, or a list of them` }).optional(),
  certFile: filePath.optional(),
  keyFile: filePath.optional(),
  passphraseEnv: z.string({ message: "must name the environment variable holding the key's passphrase" }).min(1).optional(),
  servername: byLibrary,
  rejectUnauthorized: byLibrary,
} satisfies { readonly [K in FileTlsKey<keyof Required<BackendTlsOptions>>]: z.ZodType };

/** HTTPS on a listener of the gateway itself: its certificate, and optionally the CA its clients' certificates must chain to. */
const listenerTlsSchema = z
  .strictObject({
    certFile: filePath.describe('PEM certificate (chain) the listener presents'),
    keyFile: filePath.describe('PEM private key of the certificate'),
    passphraseEnv: tlsFileShape.passphraseEnv,
    clientCaFile: z
      .union([filePath, z.array(filePath).min(1)], { message: `${FILE_RULE}, or a list of them` })
      .optional()
      .describe('require client certificates issued by this CA (mutual TLS)'),
  })
  .describe('serve HTTPS: re-read on reload (SIGHUP), so a renewed certificate needs no restart');

const PORT_RULE = 'must be a TCP port, an integer from 0 to 65535 (0: any free port)';
const listenerSchema = z.strictObject({
  host: z.string({ message: 'must be a host name or IP address to bind, e.g. 127.0.0.1' }).min(1).optional(),
  port: z.number({ message: PORT_RULE }).int({ message: PORT_RULE }).min(0, { message: PORT_RULE }).max(65535, { message: PORT_RULE }),
  tls: listenerTlsSchema.optional(),
});

export const headersShape = {
  plaintext: byLibrary,
  fromSecret: byLibrary,
  fromCaptured: byLibrary,
  template: byLibrary,
  fromRequest: codeOnly,
  fromCredential: codeOnly,
} satisfies { readonly [K in keyof Required<RouteHeaders>]: z.ZodType };

/** A mount path Express takes literally: segments of URL-safe characters, no patterns. */
const MOUNT_RULE = "must be a mount path of plain segments starting with /, e.g. '/github' (no trailing /, no patterns)";
const MOUNT_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

export const routeShape = {
  path: z.string({ message: MOUNT_RULE }).regex(MOUNT_PATH, { message: MOUNT_RULE }),
  target: requiredByLibrary,
  name: byLibrary,
  passthrough: byLibrary,
  headers: z.strictObject(headersShape).optional(),
  principal: codeOnly,
  required: byLibrary,
  audit: codeOnly,
  secrets: z.string({ message: 'must name a provider of the top-level secrets, or env' }).optional(),
  session: byLibrary,
  allowCredentials: byLibrary,
  connectTimeout: byLibrary,
  responseTimeout: byLibrary,
  allowedHosts: byLibrary,
  allowedOrigins: byLibrary,
  responseHeaders: byLibrary,
  forwardTraceContext: byLibrary,
  maxValueLength: byLibrary,
  health: byLibrary,
  logger: codeOnly,
  metrics: codeOnly,
  tls: z.strictObject(tlsFileShape).optional(),
  agent: codeOnly,
} satisfies { readonly [K in keyof Required<McpProxyOptions> | 'path']: z.ZodType };

/** A POSIX environment variable name: the file names where a secret is, never the secret. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const envName = (rule: string) => z.string({ message: rule }).regex(ENV_NAME, { message: rule });
const STORE_TIMEOUT_RULE = 'must be milliseconds, an integer from 1 to 60000';
/** Sessions of `bind` routes in Redis, shared by every `serve` process started with the same file (docs/deployment.md). */
const sessionStoreSchema = z
  .strictObject({
    type: z.literal('redis', { message: 'must be redis, the one shared store (without sessionStore each process keeps its sessions in memory)' }),
    urlEnv: envName('must name the environment variable holding the Redis URL, redis://[user:password@]host:port[/db] or rediss://...').describe(
      'the environment variable holding the Redis URL (it may hold a password, so the file names the variable, not the URL)',
    ),
    sessionKeyEnv: envName('must name the environment variable holding the session key the replicas share, at least 32 bytes').describe(
      'the environment variable holding the session key every replica shares (at least 32 bytes, e.g. openssl rand -hex 32)',
    ),
    prefix: z
      .string({ message: 'must be a string: 1-64 visible ASCII characters without { or }' })
      .optional()
      .describe("the start of every key (default 'mcp-relay:'); the same on every replica of one gateway, checked by redisSessionStore()"),
    connectTimeout: z
      .number({ message: STORE_TIMEOUT_RULE })
      .int({ message: STORE_TIMEOUT_RULE })
      .min(1, { message: STORE_TIMEOUT_RULE })
      .max(60_000, { message: STORE_TIMEOUT_RULE })
      .optional()
      .describe('ms that serve waits for Redis at start before it gives up (default 5000)'),
  })
  .describe('where every bind route keeps its sessions: in Redis, so replicas of the gateway share them; applied at start');

const GRACE_RULE = `must be whole milliseconds, an integer from 0 to ${2 ** 31 - 1}`;
const graceSchema = z
  .number({ message: GRACE_RULE })
  .int({ message: GRACE_RULE })
  .min(0, { message: GRACE_RULE })
  .max(2 ** 31 - 1, { message: GRACE_RULE })
  .optional();
export const gatewayFileSchema = z.strictObject({
  listen: listenerSchema,
  admin: listenerSchema.optional(),
  capture: z.strictObject(captureShape).optional(),
  secrets: z
    .record(z.string().regex(PROVIDER_NAME, { message: 'provider names are 1-64 letters, digits, _ or -, starting with a letter' }), providerSchema)
    .optional(),
  routes: z
    .array(z.strictObject(routeShape), { message: 'must be a list of routes, each { path, target, ... }' })
    .min(1, { message: 'must hold at least one route' }),
  sessionStore: sessionStoreSchema.optional(),
  shutdownGrace: graceSchema.describe('ms that requests under way get on SIGTERM/SIGINT before they are cut (default 10000)'),
  reloadGrace: graceSchema.describe('ms that requests and event streams under way on a changed or removed route get after a reload (default 60000)'),
});

export type GatewayFile = z.infer<typeof gatewayFileSchema>;
export type FileRoute = GatewayFile['routes'][number];
export type FileTls = NonNullable<FileRoute['tls']>;
export type FileSecretProvider = NonNullable<GatewayFile['secrets']>[string];
export type FileListenerTls = NonNullable<GatewayFile['listen']['tls']>;
export type FileSessionStore = NonNullable<GatewayFile['sessionStore']>;
