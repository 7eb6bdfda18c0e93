/**
 * What the docs promise about one request, from the client's side: the lines as Node's parser
 * hands them over (name lower-cased, optional whitespace trimmed), and the reasons the relay must
 * refuse the request rather than forward it (docs/security.md "Order of checks per request").
 */
import type { FuzzRequest } from './request-arbitraries.js';
import { ALLOWLISTED } from './request-arbitraries.js';
import { CREDENTIAL_NAMES, PROTOCOL_NAMES, isProtocol, isValueByte } from './rules-model.js';

export interface ClientLine {
  readonly name: string;
  /** latin1, without leading and trailing SP/HTAB (RFC 9110 OWS). */
  readonly value: string;
}

const MAX_VALUE_LENGTH = 8192;
const ROUTING = ['host', 'content-length', 'transfer-encoding', 'connection', 'forwarded', 'via', 'x-real-ip'];
const ROUTING_PREFIXES = ['x-forwarded-', 'x-envoy-'];

const trimOws = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, '');

export function clientLines(request: FuzzRequest): ClientLine[] {
  const lines = request.lines.map((l) => ({ name: l.name.toLowerCase(), value: trimOws(l.value.toString('latin1')) }));
  return request.host ? [{ name: 'host', value: 'gw.test' }, ...lines] : lines;
}

export const linesNamed = (lines: readonly ClientLine[], name: string): ClientLine[] => lines.filter((l) => l.name === name);

/** Value bytes only, and at most `maxLength` of them. */
export function isValidValue(value: string, maxLength = MAX_VALUE_LENGTH): boolean {
  if (value.length > maxLength) return false;
  for (let i = 0; i < value.length; i++) if (!isValueByte(value.charCodeAt(i))) return false;
  return true;
}

/**
 * docs/configuration.md: `maxValueLength` bounds captured values; a protocol header is bounded only by
 * Node's header block limit, which answers 431 before the relay runs.
 */
const maxLengthOf = (name: string): number => (isProtocol(name) ? Infinity : MAX_VALUE_LENGTH);

/** The 2026-07-28 standard headers, forwarded even when empty (docs/security.md, step 1). */
export const isStandard = (name: string): boolean => name === 'mcp-method' || name === 'mcp-name' || name.startsWith('mcp-param-');

/** docs/security.md, DNS-rebinding guard: the fuzz gateway allows `gw.test` (any port); Origin keeps the loopback default. */
function rebindingRefusal(lines: readonly ClientLine[]): string | undefined {
  const hosts = linesNamed(lines, 'host');
  if (hosts.length === 0) return 'no Host line';
  if (!/^gw\.test(:\d{1,5})?$/i.test(hosts[0]!.value)) return 'a Host the route does not allow';
  const origins = linesNamed(lines, 'origin');
  // Node joins repeated Origin lines with ", ", which is no origin at all.
  const origin = origins.map((l) => l.value).join(', ');
  if (origins.length > 0 && !/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i.test(origin)) return 'an Origin that is not a loopback origin';
  return undefined;
}

/** Names whose every line the relay checks: the allowlist and the protocol headers. */
function checkedNames(lines: readonly ClientLine[]): string[] {
  return [...new Set(lines.map((l) => l.name).filter((n) => ALLOWLISTED.includes(n) || isProtocol(n)))];
}

/** A `Connection` token the relay must refuse, given the names the backend actually received. */
function mustNotNominate(token: string, forwarded: ReadonlySet<string>): boolean {
  return (
    ROUTING.includes(token) ||
    ROUTING_PREFIXES.some((p) => token.startsWith(p)) ||
    CREDENTIAL_NAMES.includes(token) ||
    isProtocol(token) ||
    (ALLOWLISTED.includes(token) && forwarded.has(token))
  );
}

/**
 * Why this request must not have reached the backend, or undefined. `forwarded` is the set of
 * names the backend received, for the Connection rule ("a captured header this route forwards").
 */
export function refusalReason(request: FuzzRequest, forwarded: ReadonlySet<string>): string | undefined {
  const lines = clientLines(request);
  if (!['GET', 'POST', 'DELETE'].includes(request.method)) return `method ${request.method}`;
  if (linesNamed(lines, 'host').length > 1) return 'more than one Host line';
  if (request.target === 'absolute') return 'absolute-form request target';
  if (request.target !== 'origin' && request.target !== 'query') return `request target of kind ${request.target}`;
  const body = request.framing !== 'none' || linesNamed(lines, 'transfer-encoding').length > 0;
  if (request.method !== 'POST' && body) return `a ${request.method} with a body`;
  const rebinding = rebindingRefusal(lines);
  if (rebinding) return rebinding;
  for (const name of checkedNames(lines)) {
    const own = linesNamed(lines, name);
    if (own.length > 1 && name !== 'accept') return `${name} sent on ${own.length} lines`;
    if (own.some((l) => l.value !== '' && !isValidValue(l.value, maxLengthOf(name)))) return `${name} has an invalid or oversized value`;
  }
  for (const line of linesNamed(lines, 'connection')) {
    const tokens = line.value.split(',').map((t) => trimOws(t).toLowerCase());
    const bad = tokens.find((t) => t !== '' && mustNotNominate(t, forwarded));
    if (bad) return `Connection nominates ${bad}`;
  }
  return undefined;
}

/**
 * The client's value the backend must receive for `name`, when the request was forwarded: the one
 * valid line of an allowlisted or singleton protocol header (an empty one too, for the standard
 * headers). `accept` may be joined, so not here.
 */
export function expectedValue(lines: readonly ClientLine[], name: string): string | undefined {
  if (!ALLOWLISTED.includes(name) && !(isProtocol(name) && name !== 'accept')) return undefined;
  const own = linesNamed(lines, name);
  return own.length === 1 && (own[0]!.value !== '' || isStandard(name)) ? own[0]!.value : undefined;
}

export const PROTOCOL_AND_ALLOWLIST: readonly string[] = [...ALLOWLISTED, ...PROTOCOL_NAMES];
