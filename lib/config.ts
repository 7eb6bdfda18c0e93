/**
 * The resolved configurations the middlewares run on: frozen, every default applied, every rule
 * checked (parse-options.ts builds them).
 */
import type { Agent, IncomingMessage } from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import type { CredentialCache } from './credential-cache.js';
import type { CredentialSource } from './credential-source.js';
import type { TemplatePart } from './header-templates.js';
import type { RelayLogger } from './logger.js';
import type { CredentialAuditEvent, HeaderFunction } from './options.js';
import type { RebindingGuard } from './rebinding-guard.js';
import type { RouteMetrics } from './route-observer.js';
import type { ResponsePolicy } from './response-headers.js';
import type { SecretProvider } from './secrets.js';
import type { SessionStore, SessionTtl } from './session-store.js';

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

/** `headers.fromCaptured`: a captured value under another name. */
export interface RenamedHeader {
  readonly name: string;
  /** The captured header read. */
  readonly from: string;
}

/** `headers.template`. */
export interface TemplateHeader {
  readonly name: string;
  readonly parts: readonly TemplatePart[];
}

/** `headers.fromRequest`. */
export interface ComputedHeader {
  readonly name: string;
  readonly compute: HeaderFunction;
  /** Option path, for the log. */
  readonly path: string;
}

/** `headers.fromCredential`. */
export interface CredentialHeaderConfig {
  readonly name: string;
  readonly cache: CredentialCache;
  /** Redacted: prints its description only. */
  readonly source: CredentialSource;
}

/** The headers a route computes per request, besides static and secret ones (parse-route-headers.ts). */
export interface DynamicHeaders {
  readonly renamed: readonly RenamedHeader[];
  readonly templates: readonly TemplateHeader[];
  readonly computed: readonly ComputedHeader[];
  readonly credentials: readonly CredentialHeaderConfig[];
  /** Every outgoing name the route sets itself (static, secret, renamed, templated, computed): the client's copy is never forwarded. */
  readonly configured: ReadonlySet<string>;
  /** Captured names read by `fromCaptured` and templates: used under another name, never forwarded under their own. */
  readonly capturedInputs: ReadonlySet<string>;
  /** Captured names that become a credential header (renamed or templated into `authorization` or `cookie`): `pin` never keeps them. */
  readonly credentialInputs: ReadonlySet<string>;
  /** Outgoing names every request must carry. */
  readonly required: readonly string[];
  readonly principal: ((req: IncomingMessage) => string | undefined) | undefined;
  readonly audit: ((event: CredentialAuditEvent) => void) | undefined;
}

export interface ProxyConfig extends DynamicHeaders {
  /** The route's name in logs, metrics and health reports. */
  readonly name: string;
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
  /** Secrets `headers.template` placeholders read (`name` is the templated header). */
  readonly templateSecrets: readonly SecretHeader[];
  readonly secrets: SecretProvider;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
  readonly guard: RebindingGuard;
  readonly response: ResponsePolicy;
  /** `forwardTraceContext`: the caller's valid `traceparent`/`tracestate` go to the backend (trace-context.ts). */
  readonly forwardTraceContext: boolean;
  readonly maxValueLength: number;
  readonly logger: Required<RelayLogger>;
  readonly session: SessionConfig;
  /** `route.probe()`: its bound and how long a result is reused, in milliseconds. */
  readonly health: { readonly timeout: number; readonly cacheTtl: number };
  /** `undefined`: no metrics, and nothing on the request path but a null check. */
  readonly metrics: RouteMetrics | undefined;
  /** TLS options for the route's own `https:` pool (parse-tls.ts): only the ones given, `rejectUnauthorized` always set. */
  readonly tls: BackendTls | undefined;
  /** The user's agent, used as is instead of the route's pool. */
  readonly agent: Agent | undefined;
}

/** What the route's https.Agent is built with: never an `undefined` value, which would override Node's defaults. */
export type BackendTls = Readonly<Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'servername'>> & { readonly rejectUnauthorized: boolean };

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
