/**
 * Configuration errors. Thrown at construction, never per request. A message names the option path,
 * the rule broken and what to do; it never contains a header value or a secret value.
 */
import { displayName } from './header-rules.js';

export type HeaderConfigErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_HEADER_NAME'
  | 'ERR_RESTRICTED_HEADER'
  | 'ERR_CREDENTIAL_HEADER'
  | 'ERR_DUPLICATE_HEADER'
  | 'ERR_HEADER_OVERLAP'
  | 'ERR_TOO_MANY_HEADERS'
  | 'ERR_INVALID_HEADER_VALUE'
  | 'ERR_SECRET_MISSING'
  | 'ERR_SECRET_INVALID'
  | 'ERR_INVALID_TARGET'
  | 'ERR_INVALID_TLS'
  | 'ERR_INVALID_TEMPLATE';

export class HeaderConfigError extends Error {
  /** Stable machine-readable code, documented in docs/errors.md. */
  readonly code: HeaderConfigErrorCode;
  /** The option path that broke the rule, e.g. `headers.plaintext["X-Forwarded-For"]`. */
  readonly path: string;
  /** The rule that was broken, in words. */
  readonly rule: string;

  constructor(code: HeaderConfigErrorCode, path: string, rule: string) {
    super(`${path}: ${rule} [${code}; see mcp-header-relay docs/errors.md#${code.toLowerCase().replaceAll('_', '-')}]`);
    this.name = 'HeaderConfigError';
    this.code = code;
    this.path = path;
    this.rule = rule;
  }
}

/** `headers.plaintext["X-Api-Key"]`: the path notation used in every error. */
export function keyPath(base: string, key: string): string {
  return `${base}[${JSON.stringify(displayName(key))}]`;
}
