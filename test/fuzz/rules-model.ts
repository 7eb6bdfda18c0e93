/**
 * An independent model of the header rules, written from docs/configuration.md and docs/security.md
 * rather than imported from lib/header-rules.ts: if lib's own tables lose a name, the fuzz oracle
 * must still know it. Pure functions over lower-case names; the name lists are test/helpers/spec-names.ts.
 */

import { CREDENTIAL_NAMES, PROTOCOL_NAMES, RESTRICTED_NAMES, RESTRICTED_PREFIXES } from '../helpers/spec-names.js';

export { CREDENTIAL_NAMES, PROTOCOL_NAMES, RESTRICTED_NAMES, RESTRICTED_PREFIXES };

/** Object.prototype's members (ES2023 plus Annex B) and `prototype`, lower-cased. */
export const PROTOTYPE_NAMES: readonly string[] = [
  'constructor',
  'hasownproperty',
  'isprototypeof',
  'propertyisenumerable',
  'tolocalestring',
  'tostring',
  'valueof',
  '__proto__',
  '__definegetter__',
  '__definesetter__',
  '__lookupgetter__',
  '__lookupsetter__',
  'prototype',
];

/** RFC 9110 tchar, except `*`, which the docs refuse as a wildcard. */
export const NAME_CHARS = "!#$%&'+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

export function isRestricted(lower: string): boolean {
  return RESTRICTED_NAMES.includes(lower) || RESTRICTED_PREFIXES.some((p) => lower.startsWith(p));
}

export function isProtocol(lower: string): boolean {
  return PROTOCOL_NAMES.includes(lower) || lower.startsWith('mcp-param-');
}

/** The shared name rules minus "restricted": 1-256 token characters, no `*`, no prototype member. */
export function isValidName(name: string): boolean {
  if (name.length < 1 || name.length > 256) return false;
  for (const ch of name) if (!NAME_CHARS.includes(ch)) return false;
  return !PROTOTYPE_NAMES.includes(name.toLowerCase());
}

/** Visible ASCII (0x21-0x7E), space and tab: the only bytes any forwarded value may hold. */
export function isValueByte(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code <= 0x7e);
}

/** The static/secret value rule: non-empty, value bytes only, no surrounding whitespace, not too long. */
export function isValidStaticValue(value: unknown, maxLength: number): boolean {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) return false;
  for (let i = 0; i < value.length; i++) if (!isValueByte(value.charCodeAt(i))) return false;
  return !/^[ \t]/.test(value) && !/[ \t]$/.test(value);
}

/** docs/configuration.md: 1-255 letters, digits, `.`, `_` or `-`, not starting with `.` or `-`. */
export function isValidSecretName(name: unknown): boolean {
  if (typeof name !== 'string' || name.length < 1 || name.length > 255) return false;
  if (name.startsWith('.') || name.startsWith('-')) return false;
  return [...name].every((ch) => /[A-Za-z0-9._-]/.test(ch));
}

/**
 * docs/configuration.md, `allowedHosts`: a DNS name (labels of letters, digits and inner hyphens,
 * joined by dots), an IPv4 address or a bracketed IPv6 address, then optionally `:port` (1-65535).
 */
export function isValidAllowedHost(entry: string): boolean {
  const lower = entry.toLowerCase();
  let host = lower;
  let port: string | undefined;
  const bracket = lower.startsWith('[') ? lower.indexOf(']') : -1;
  const colon = lower.indexOf(':', bracket + 1);
  if (lower.startsWith('[') && bracket === -1) return false;
  if (colon !== -1) {
    host = lower.slice(0, colon);
    port = lower.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return false;
  }
  if (host.startsWith('[')) return host.endsWith(']') && /^[0-9a-f:.]+$/.test(host.slice(1, -1));
  const labels = host.split('.');
  return labels.every((label) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(label));
}

/**
 * docs/configuration.md, `allowedOrigins`: `scheme://host[:port]` as browsers send it, one trailing
 * `/` tolerated, no path, query, fragment or user info; an http(s) origin must be a valid URL.
 */
export function isValidAllowedOrigin(entry: string): boolean {
  const value = entry.endsWith('/') ? entry.slice(0, -1) : entry;
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.+)$/.exec(value);
  if (!match || /[/?#@\s]/.test(match[2]!)) return false;
  if (!/^https?$/i.test(match[1]!)) return true;
  return URL.canParse(value);
}
