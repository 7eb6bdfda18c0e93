/**
 * The oracle of the configuration property: from an options object (as the user would pass it),
 * every HeaderConfigError code the documented rules allow the factory to throw. An empty set means
 * the options are valid and the factory must construct. The set, not one code, because the docs fix
 * the rules but not the order in which they are checked.
 */
import type { HeaderConfigErrorCode } from '../../lib/index.js';
import { CREDENTIAL_NAMES, isRestricted, isValidAllowedHost, isValidAllowedOrigin, isValidName, isValidSecretName, isValidStaticValue } from './rules-model.js';

type Codes = Set<HeaderConfigErrorCode>;
type Options = Record<string, unknown>;

const CAPTURE_KEYS = ['allow', 'allowCredentials', 'maxValueLength', 'logger'];
const PROXY_KEYS = [
  'target',
  'passthrough',
  'headers',
  'secrets',
  'session',
  'allowCredentials',
  'connectTimeout',
  'responseTimeout',
  'allowedHosts',
  'allowedOrigins',
  'maxValueLength',
  'logger',
];
const MAX_ENTRIES = 64;
const DEFAULT_MAX_VALUE_LENGTH = 8192;

/** Own properties only: a JSON-parsed `__proto__` is data, and nothing is inherited. */
const own = (obj: object, key: string): unknown => (Object.hasOwn(obj, key) ? (obj as Options)[key] : undefined);

const isPlainObject = (v: unknown): v is Options => typeof v === 'object' && v !== null && !Array.isArray(v);

const isIntIn = (v: unknown, min: number, max: number): boolean => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

export function expectedCaptureCodes(options: Options): Codes {
  const codes: Codes = new Set();
  checkShared(options, CAPTURE_KEYS, codes);
  const allow = own(options, 'allow');
  if (!isStringArray(allow)) codes.add('ERR_INVALID_OPTION');
  else {
    if (allow.length === 0) codes.add('ERR_INVALID_OPTION');
    checkNameList(allow, own(options, 'allowCredentials') === true, codes);
  }
  return codes;
}

export function expectedProxyCodes(options: Options, env: Options): Codes {
  const codes: Codes = new Set();
  checkShared(options, PROXY_KEYS, codes);
  checkTarget(own(options, 'target'), codes);
  checkSession(own(options, 'session'), codes);
  for (const key of ['connectTimeout', 'responseTimeout']) {
    if (Object.hasOwn(options, key) && !isIntIn(options[key], 1, 2 ** 31 - 1)) codes.add('ERR_INVALID_OPTION');
  }
  checkAllowlist(own(options, 'allowedHosts'), isValidAllowedHost, false, codes);
  checkAllowlist(own(options, 'allowedOrigins'), isValidAllowedOrigin, true, codes);
  const passthrough = own(options, 'passthrough');
  if (passthrough !== undefined && !isStringArray(passthrough)) codes.add('ERR_INVALID_OPTION');
  if (isStringArray(passthrough)) checkNameList(passthrough, own(options, 'allowCredentials') === true, codes);
  const staticNames = checkHeaders(own(options, 'headers'), env, maxValueLength(options), codes);
  if (isStringArray(passthrough) && passthrough.some((n) => staticNames.has(n.toLowerCase()))) codes.add('ERR_HEADER_OVERLAP');
  return codes;
}

/** `allowedHosts` / `allowedOrigins`: valid entries, or `['*']` alone; only origins may be empty. */
function checkAllowlist(list: unknown, valid: (entry: string) => boolean, emptyOk: boolean, codes: Codes): void {
  if (list === undefined) return;
  if (!isStringArray(list) || (list.length === 0 && !emptyOk)) codes.add('ERR_INVALID_OPTION');
  else if (list.includes('*') ? list.length > 1 : !list.every(valid)) codes.add('ERR_INVALID_OPTION');
}

/** Unknown keys and the two options both factories share. */
function checkShared(options: Options, known: readonly string[], codes: Codes): void {
  if (Object.keys(options).some((k) => !known.includes(k))) codes.add('ERR_INVALID_OPTION');
  if (Object.hasOwn(options, 'allowCredentials') && typeof options.allowCredentials !== 'boolean') codes.add('ERR_INVALID_OPTION');
  if (Object.hasOwn(options, 'maxValueLength') && !isIntIn(options.maxValueLength, 1, 65_536)) codes.add('ERR_INVALID_OPTION');
}

function maxValueLength(options: Options): number {
  const max = own(options, 'maxValueLength');
  return isIntIn(max, 1, 65_536) ? (max as number) : DEFAULT_MAX_VALUE_LENGTH;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function checkName(name: string, codes: Codes): void {
  if (!isValidName(name)) codes.add('ERR_INVALID_HEADER_NAME');
  else if (isRestricted(name.toLowerCase())) codes.add('ERR_RESTRICTED_HEADER');
}

/** `allow` and `passthrough`. */
function checkNameList(names: readonly string[], allowCredentials: boolean, codes: Codes): void {
  if (names.length > MAX_ENTRIES) codes.add('ERR_TOO_MANY_HEADERS');
  const seen = new Set<string>();
  for (const name of names) {
    checkName(name, codes);
    const lower = name.toLowerCase();
    if (CREDENTIAL_NAMES.includes(lower) && !allowCredentials) codes.add('ERR_CREDENTIAL_HEADER');
    if (seen.has(lower)) codes.add('ERR_DUPLICATE_HEADER');
    seen.add(lower);
  }
}

/** `headers`; returns the lower-case static names, for the overlap rule. */
function checkHeaders(headers: unknown, env: Options, max: number, codes: Codes): Set<string> {
  const names = new Set<string>();
  if (headers === undefined) return names;
  if (!isPlainObject(headers) || Object.keys(headers).some((k) => k !== 'plaintext' && k !== 'fromSecret')) {
    codes.add('ERR_INVALID_OPTION');
    return names;
  }
  const staticName = (name: string): void => {
    checkName(name, codes);
    if (names.has(name.toLowerCase())) codes.add('ERR_DUPLICATE_HEADER');
    names.add(name.toLowerCase());
  };
  forEachEntry(own(headers, 'plaintext'), codes, (name, value) => {
    staticName(name);
    if (!isValidStaticValue(value, max)) codes.add('ERR_INVALID_HEADER_VALUE');
  });
  forEachEntry(own(headers, 'fromSecret'), codes, (name, secret) => {
    staticName(name);
    checkSecret(secret, env, max, codes);
  });
  return names;
}

function forEachEntry(map: unknown, codes: Codes, visit: (name: string, value: unknown) => void): void {
  if (map === undefined) return;
  if (!isPlainObject(map)) {
    codes.add('ERR_INVALID_OPTION');
    return;
  }
  const keys = Object.keys(map);
  if (keys.length > MAX_ENTRIES) codes.add('ERR_TOO_MANY_HEADERS');
  for (const key of keys) visit(key, map[key]);
}

function checkSecret(secret: unknown, env: Options, max: number, codes: Codes): void {
  if (!isValidSecretName(secret)) codes.add('ERR_INVALID_OPTION');
  else if (!Object.hasOwn(env, secret as string)) codes.add('ERR_SECRET_MISSING');
  else if (!isValidStaticValue(env[secret as string], max)) codes.add('ERR_SECRET_INVALID');
}

function checkTarget(target: unknown, codes: Codes): void {
  if (typeof target !== 'string' && !(target instanceof URL)) {
    codes.add('ERR_INVALID_OPTION');
    return;
  }
  let url: URL;
  try {
    url = new URL(String(target));
  } catch {
    codes.add('ERR_INVALID_TARGET');
    return;
  }
  const bad = !['http:', 'https:'].includes(url.protocol) || url.username !== '' || url.password !== '' || url.hash !== '';
  if (bad) codes.add('ERR_INVALID_TARGET');
}

/** docs/sessions.md: 'request', 'bind', { mode: 'request' | 'bind' | 'pin', ... }. */
function checkSession(session: unknown, codes: Codes): void {
  if (session === undefined || session === 'request' || session === 'bind') return;
  if (!isPlainObject(session)) {
    codes.add('ERR_INVALID_OPTION');
    return;
  }
  const mode = own(session, 'mode');
  const allowed: Record<string, string[]> = {
    request: ['mode'],
    bind: ['mode', 'store', 'sessionKey', 'idleTtl', 'absoluteTtl', 'maxSessions'],
    pin: ['mode', 'principal', 'idleTtl', 'absoluteTtl', 'maxSessions', 'maxSessionsPerPrincipal'],
  };
  const keys = typeof mode === 'string' && Object.hasOwn(allowed, mode) ? allowed[mode] : undefined;
  if (!keys || Object.keys(session).some((k) => !keys.includes(k))) codes.add('ERR_INVALID_OPTION');
  const key = own(session, 'sessionKey');
  if (key !== undefined && !(typeof key === 'string' && Buffer.byteLength(key) >= 32)) codes.add('ERR_INVALID_OPTION');
  if (mode === 'pin' && typeof own(session, 'principal') !== 'function') codes.add('ERR_INVALID_OPTION');
}
