/**
 * The header names and values of the options: `allow` and `passthrough` lists, `headers.plaintext`
 * and `headers.fromSecret` maps. Each rule throws a HeaderConfigError with the option path and the
 * rule broken, never the value.
 */
import { HeaderConfigError } from './config-error.js';
import { CREDENTIAL_HEADERS, invalidNameReason, invalidValueReason, restrictedReason } from './header-rules.js';
import { MAX_CONFIGURED_HEADERS } from './options.js';
import { invalidSecretNameReason } from './secrets.js';

/** Validates `allow` or `passthrough`: lower-cased, unique, unrestricted names. */
export function parseNameList(names: readonly string[], option: string, allowCredentials: boolean): string[] {
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
export function checkName(raw: string, path: string): string {
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
export function entriesOf(map: Record<string, unknown> | undefined, path: string): [string, unknown][] {
  if (!map) return [];
  const keys = Object.keys(map);
  if (keys.length > MAX_CONFIGURED_HEADERS) {
    throw new HeaderConfigError('ERR_TOO_MANY_HEADERS', path, `at most ${MAX_CONFIGURED_HEADERS} headers`);
  }
  return keys.map((key) => [key, map[key]]);
}

export function parseStaticName(key: string, path: string, seen: Map<string, string>): string {
  const name = checkName(key, path);
  const earlier = seen.get(name);
  if (earlier) {
    throw new HeaderConfigError('ERR_DUPLICATE_HEADER', path, `"${name}" is already set by ${earlier}; header names are case-insensitive, keep one`);
  }
  seen.set(name, path);
  return name;
}

export function parseStaticValue(value: unknown, path: string, maxLength: number): string {
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

export function parseSecretName(secret: unknown, path: string): string {
  if (typeof secret !== 'string') {
    throw new HeaderConfigError('ERR_INVALID_OPTION', path, `secret name must be a string, not ${describeType(secret)}`);
  }
  const invalid = invalidSecretNameReason(secret);
  if (invalid) throw new HeaderConfigError('ERR_INVALID_OPTION', path, invalid);
  return secret;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
