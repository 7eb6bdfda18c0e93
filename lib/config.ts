/**
 * The resolved configurations the middlewares run on: frozen, every default applied, every rule
 * checked (parse-options.ts builds them).
 */
import type { IncomingMessage } from 'node:http';
import type { RelayLogger } from './logger.js';
import type { RebindingGuard } from './rebinding-guard.js';
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
