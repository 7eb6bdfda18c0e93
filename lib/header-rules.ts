/**
 * The header vocabulary of the relay: which names are protocol, restricted, hop-by-hop or credential,
 * and the grammar every configured name and every forwarded value must follow.
 * Pure functions and frozen sets only, so the rules can be tested as tables.
 */

/**
 * MCP protocol headers copied from the client on every request (policy step 1). Without them the
 * Streamable HTTP transport breaks. `content-encoding` travels with the body it describes.
 */
export const PROTOCOL_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-encoding',
  'accept',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
  'mcp-method',
  'mcp-name',
]);

/** MCP 2026-07-28 `Mcp-Param-{Name}` headers: intermediaries MUST forward them unchanged. */
export const PROTOCOL_HEADER_PREFIX = 'mcp-param-';

/**
 * The 2026-07-28 standard headers (SEP-2243): forwarded exactly as sent, an empty value included,
 * since each mirrors a part of the body the backend compares it with.
 */
export function isStandardHeader(name: string): boolean {
  return name === 'mcp-method' || name === 'mcp-name' || name.startsWith(PROTOCOL_HEADER_PREFIX);
}

/**
 * Protocol headers defined as lists (RFC 9110 §12.5.1), so repeated lines are legal. Every other
 * protocol header is a singleton: a second line is an attack or a bug.
 */
export const PROTOCOL_LISTS: ReadonlySet<string> = new Set(['accept']);

/**
 * Hop-by-hop and connection-control fields (RFC 9110 §7.6.1 plus the RFC 2616 list Go still uses,
 * plus `expect`, which makes http-proxy skip its `proxyReq` hook). Never forwarded in either
 * direction.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
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
]);

/**
 * What a client may list in `Connection`: `close` and the hop-by-hop names, which the relay drops
 * anyway. Not `connection` itself, nor `transfer-encoding`, which frames the message: nominating it
 * is a smuggling attempt, not an option.
 */
export const CONNECTION_OPTIONS: ReadonlySet<string> = new Set([
  'close',
  ...[...HOP_BY_HOP_HEADERS].filter((name) => name !== 'connection' && name !== 'transfer-encoding'),
]);

/** Names that describe the route or the client's network position; only the relay may set them. */
const ROUTING_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'forwarded', 'via', 'x-real-ip']);

/** Prefixes whose whole family is restricted. `x-envoy-*` are internal-only fields for Envoy meshes. */
const RESTRICTED_PREFIXES: readonly string[] = ['x-forwarded-', 'x-envoy-', PROTOCOL_HEADER_PREFIX];

/**
 * Credential names: allowed as static or secret-backed headers (that is how a backend credential is
 * attached), but forwarding the caller's copy is token passthrough and needs `allowCredentials`.
 */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie']);

/**
 * W3C trace context: set by a tracer that instruments the upstream request, or forwarded validated
 * with `forwardTraceContext` (trace-context.ts). Captured, static or computed, an unvalidated copy
 * would go out beside, or instead of, the tracer's.
 */
export const TRACE_CONTEXT_HEADERS: ReadonlySet<string> = new Set(['traceparent', 'tracestate']);

/** Why a name is restricted, or undefined when it is not. `name` must be lower-case. */
export function restrictedReason(name: string): string | undefined {
  if (HOP_BY_HOP_HEADERS.has(name)) return 'hop-by-hop or connection-control header (RFC 9110 §7.6.1)';
  if (ROUTING_HEADERS.has(name)) return 'routing header set by the relay or the transport';
  if (PROTOCOL_HEADERS.has(name)) return 'MCP protocol header, always copied from the client';
  if (TRACE_CONTEXT_HEADERS.has(name)) return "W3C trace context header: set by a tracer, or forwarded validated with mcpProxy's forwardTraceContext";
  for (const prefix of RESTRICTED_PREFIXES) {
    if (name.startsWith(prefix)) return `member of the restricted "${prefix}*" family`;
  }
  return undefined;
}

export function isProtocolHeader(name: string): boolean {
  return PROTOCOL_HEADERS.has(name) || name.startsWith(PROTOCOL_HEADER_PREFIX);
}

/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const MAX_NAME_LENGTH = 256;

/** Own and inherited members of Object.prototype, plus `prototype`: never valid map keys. */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype).map((n) => n.toLowerCase()), 'prototype']);

/** Why a configured header name is invalid, or undefined when it is a valid name. */
export function invalidNameReason(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    return `header names must be 1-${MAX_NAME_LENGTH} characters`;
  }
  if (!TOKEN.test(name)) return "header names must be RFC 9110 tokens (letters, digits and !#$%&'*+-.^_`|~)";
  if (name.includes('*')) return 'wildcards are not supported: list every header by name';
  if (PROTOTYPE_NAMES.has(name.toLowerCase())) return 'reserved JavaScript property name';
  return undefined;
}

export const DEFAULT_MAX_VALUE_LENGTH = 8192;
/** The highest `maxValueLength` accepted; Node's own header block limit is 16 KiB by default anyway. */
export const MAX_VALUE_LENGTH_LIMIT = 65_536;

/**
 * Why a header value is invalid, or undefined when it may be forwarded: visible ASCII, space and tab
 * only (no CR, LF, NUL, other controls, DEL or bytes above 0x7E), at most `maxLength` bytes.
 * Node decodes header bytes as latin1, so a char count is a byte count here.
 */
export function invalidValueReason(value: string, maxLength: number): 'too_long' | 'bad_characters' | undefined {
  if (value.length > maxLength) return 'too_long';
  // Stryker disable next-line EqualityOperator: one step past the end reads NaN, which no comparison below refuses
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return 'bad_characters';
  }
  return undefined;
}

/**
 * Every token of every `Connection` line, trimmed and lower-cased, empty elements dropped.
 * Each line is parsed (the CVE-2021-33197 shape hides a token behind an empty first line).
 */
export function connectionTokens(lines: readonly string[] | undefined): string[] {
  if (!lines) return [];
  const tokens: string[] = [];
  for (const line of lines) {
    for (const part of line.split(',')) {
      const token = part.trim().toLowerCase();
      if (token) tokens.push(token);
    }
  }
  return tokens;
}

/** Shortens a name (a client's, or a configuration key) before it goes into a log line or an error. */
export function displayName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}
