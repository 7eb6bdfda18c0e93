/**
 * mcp-header-relay: deny-by-default header forwarding for MCP gateways.
 * The only export surface of the package.
 */
export { captureHeaders, getForwardedHeaders } from './capture.js';
export type { ForwardedHeaders, RelayMiddleware } from './capture.js';
export { mcpProxy } from './proxy.js';
export { RESPONSE_HEADERS } from './response-headers.js';
export { envSecrets, fileSecrets, SecretReadError } from './secrets.js';
export type { FileSecretsOptions, SecretProvider } from './secrets.js';
export { HeaderConfigError } from './errors.js';
export type { RejectReason } from './error-response.js';
export type { HeaderConfigErrorCode } from './errors.js';
export type {
  BindSessionOptions,
  CaptureHeadersOptions,
  McpProxyOptions,
  PinSessionOptions,
  SessionLimits,
  SessionOptions,
  StaticHeaders,
} from './options.js';
export { memorySessionStore } from './session-store.js';
export type { SessionStore, SessionTtl } from './session-store.js';
export type { LogFields, RelayLogger } from './logger.js';
