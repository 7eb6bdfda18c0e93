/**
 * mcp-header-relay: deny-by-default header forwarding for MCP gateways.
 * The only export surface of the package.
 */
export { captureHeaders, getForwardedHeaders } from './capture.js';
export type { ForwardedHeaders } from './capture.js';
export { mcpProxy } from './proxy.js';
export { closeRoutes } from './lifecycle.js';
export type { CloseOptions, CloseSummary } from './lifecycle.js';
export { healthHandler } from './health-handler.js';
export type { HealthRequestHandler } from './health-handler.js';
export type { HealthCheck, HealthEra, HealthHandlerOptions, HealthOptions, HealthReason, HealthReport, ProbeOptions, RouteHealth } from './health-options.js';
export { formatExplanation } from './explain-format.js';
export type {
  DropReason,
  DroppedHeader,
  ExplainedHeader,
  ExplainedRejection,
  ExplainInput,
  Explanation,
  ForwardedSource,
  OmitReason,
  OmittedHeader,
} from './explain-types.js';
export { RESPONSE_HEADERS } from './response-headers.js';
export { envSecrets, fileSecrets, SecretReadError } from './secrets.js';
export type { FileSecretsOptions, SecretProvider } from './secrets.js';
export { CredentialResolveError } from './credential-source.js';
export type { CredentialCacheOptions, CredentialSource, ResolvedCredential } from './credential-source.js';
export { tokenExchange } from './token-exchange.js';
export type { TokenExchangeClientSecret, TokenExchangeOptions } from './token-exchange.js';
export { HeaderConfigError } from './config-error.js';
export type { RejectReason } from './rejection.js';
export type { HeaderConfigErrorCode } from './config-error.js';
export type {
  BackendTlsOptions,
  CaptureHeadersOptions,
  McpProxyOptions,
  RelayMiddleware,
  StaticHeaders,
  RouteHeaders,
  HeaderFunction,
  CredentialAuditEvent,
  CredentialSourceKind,
} from './options.js';
export type { BindSessionOptions, PinSessionOptions, SessionLimits, SessionOptions } from './session-options.js';
export type { McpRoute } from './route-operations.js';
export { memorySessionStore } from './session-store.js';
export type { AdmitAnswer, SessionEntry, SessionQuota, SessionStore, SessionTtl } from './session-store.js';
export type { LogFields, RelayLogger } from './logger.js';
export type { HeaderDropReason, ObservedMethod, ObservedRoute, RouteMetrics, RouteObserver } from './route-observer.js';
