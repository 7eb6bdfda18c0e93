/**
 * The header names docs/security.md and docs/configuration.md give, written out from the docs rather
 * than imported from lib/header-rules.ts: a test that judges lib against these lists still fails when
 * lib's own tables lose a name. The fuzz model (test/fuzz/rules-model.ts), the security gateway's wire
 * checks (sec-relay.ts) and the configuration suite share them. Lower-case names.
 */

/** Hop-by-hop names (RFC 9110 §7.6.1 and the legacy ones): never forwarded in either direction. */
export const HOP_BY_HOP_NAMES: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
];

/** MCP protocol headers the relay copies from the client on every request (policy step 1). */
export const PROTOCOL_NAMES: readonly string[] = [
  'content-type',
  'content-encoding',
  'accept',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
  'mcp-method',
  'mcp-name',
];

/** W3C trace context: forwarded only by `forwardTraceContext`, validated. */
export const TRACE_CONTEXT_NAMES: readonly string[] = ['traceparent', 'tracestate'];

/** docs/security.md "Restricted names": hop-by-hop, routing, MCP protocol and trace context names (26). */
export const RESTRICTED_NAMES: readonly string[] = [
  ...HOP_BY_HOP_NAMES,
  'host',
  'content-length',
  'forwarded',
  'via',
  'x-real-ip',
  ...PROTOCOL_NAMES,
  ...TRACE_CONTEXT_NAMES,
];

/** docs/security.md: the three restricted families. */
export const RESTRICTED_PREFIXES: readonly string[] = ['x-forwarded-', 'x-envoy-', 'mcp-param-'];

/** Forwarded only with allowCredentials. */
export const CREDENTIAL_NAMES: readonly string[] = ['authorization', 'cookie'];
