/**
 * DNS-rebinding guard. A web page that rebinds its own name to 127.0.0.1 makes the victim's browser
 * send it requests to a loopback service, carrying `Host: evil.example` and `Origin: http://evil.example`.
 * An MCP server on localhost checks both (MCP transport rules; SDK advisory GHSA-w48q-cv73-mx4w), but
 * behind the relay it never sees them: the relay sets `Host` from the target and drops `Origin`. So
 * the relay makes the check itself, before anything is forwarded.
 *
 * Default: on a request that arrived on a loopback address, `Host` must name loopback and an
 * `Origin`, when present, must be a loopback origin. Other listeners are not checked unless the
 * route lists its names (a gateway reachable from the network has its own Host names to allow).
 */
import type { IncomingMessage } from 'node:http';
import { reject, type Rejection } from './rejection.js';
import { HeaderConfigError } from './config-error.js';

/** The names the SDK's `localhostHostValidation()` accepts. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What one check accepts, and what the log says when it refuses. */
interface Allowlist {
  /** `value`: the `Host` (or `:authority`), or the `Origin`; `undefined` when the request has none. */
  allows(value: string | undefined): boolean;
  readonly refusal: string;
}

/** `undefined` in a field: the default of the listener the request came in on. */
export interface RebindingGuard {
  readonly hosts: Allowlist | undefined;
  readonly origins: Allowlist | undefined;
}

/** `['*']`, and the default of a listener that is not on loopback. */
const ANY: Allowlist = { allows: () => true, refusal: '' };

const LOOPBACK_HOSTS = hostAllowlist(
  LOOPBACK_NAMES,
  new Set(),
  'not a loopback name (localhost, 127.0.0.1, [::1]) on a loopback listener; list the names clients use in allowedHosts',
);

const LOOPBACK_ORIGINS: Allowlist = {
  allows: (origin) => {
    const normalized = origin === undefined ? undefined : normalizeOrigin(origin);
    return normalized !== undefined && /^https?:/.test(normalized) && LOOPBACK_NAMES.has(new URL(normalized).hostname);
  },
  refusal: 'not a loopback origin on a loopback listener; list the origins of your web clients in allowedOrigins',
};

/** A DNS name, IPv4 address or bracketed IPv6 address, and an optional port. */
const HOST_ENTRY = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

export function parseRebindingGuard(hosts: readonly string[] | undefined, origins: readonly string[] | undefined): RebindingGuard {
  return Object.freeze({
    hosts: hosts && parseHosts(hosts),
    origins: origins && parseOrigins(origins),
  });
}

function parseHosts(entries: readonly string[]): Allowlist {
  // Every request carries a Host: an empty list would refuse them all.
  if (entries.length === 0) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'allowedHosts', "list the names clients use to reach the gateway, or ['*'] for any");
  }
  if (wildcard(entries, 'allowedHosts')) return ANY;
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  entries.forEach((raw, i) => {
    const entry = raw.toLowerCase();
    const match = HOST_ENTRY.exec(entry);
    const port = match?.[1];
    if (!match || (port !== undefined && !validPort(port))) {
      throw new HeaderConfigError(
        'ERR_INVALID_OPTION',
        `allowedHosts[${i}]`,
        "must be a host name or address with an optional port, such as 'gateway.example.com', 'localhost:8080' or '[::1]', or ['*'] for any",
      );
    }
    (port === undefined ? names : hostPorts).add(entry);
  });
  return hostAllowlist(names, hostPorts, 'not in allowedHosts');
}

/** `names` match on any port, `hostPorts` (`name:port`) on that port only. */
function hostAllowlist(names: ReadonlySet<string>, hostPorts: ReadonlySet<string>, refusal: string): Allowlist {
  return Object.freeze({
    allows: (value: string | undefined) => {
      const host = value === undefined ? undefined : splitHost(value);
      if (host === undefined) return false;
      return names.has(host.name) || (host.port !== undefined && hostPorts.has(`${host.name}:${host.port}`));
    },
    refusal,
  });
}

/** An empty list is meaningful: no browser page may call this route, only clients that send no Origin. */
function parseOrigins(entries: readonly string[]): Allowlist {
  if (wildcard(entries, 'allowedOrigins')) return ANY;
  const origins = new Set<string>();
  entries.forEach((raw, i) => {
    // 'https://app.example.com/' is a common way to write an origin; browsers never send the slash.
    const origin = normalizeOrigin(raw.endsWith('/') ? raw.slice(0, -1) : raw);
    if (origin === undefined) {
      throw new HeaderConfigError(
        'ERR_INVALID_OPTION',
        `allowedOrigins[${i}]`,
        "must be an origin as browsers send it, scheme://host[:port] with no path, such as 'https://app.example.com', or ['*'] for any",
      );
    }
    origins.add(origin);
  });
  return Object.freeze({
    allows: (value: string | undefined) => {
      const origin = value === undefined ? undefined : normalizeOrigin(value);
      return origin !== undefined && origins.has(origin);
    },
    refusal: 'not in allowedOrigins',
  });
}

/** `['*']` switches a check off; a `*` among other entries is a mistake, not a pattern. */
function wildcard(entries: readonly string[], option: string): boolean {
  const at = entries.indexOf('*');
  if (at === -1) return false;
  if (entries.length > 1) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', `${option}[${at}]`, `'*' allows any value and must be the only entry; patterns are not supported`);
  }
  return true;
}

function validPort(port: string): boolean {
  const n = Number(port);
  return n >= 1 && n <= 65_535;
}

/**
 * `scheme://host[:port]` lower-cased, with the default port dropped for http and https (browsers omit
 * it); `undefined` when it is not of that form. Other schemes (`chrome-extension://id`) compare as written.
 */
function normalizeOrigin(value: string): string | undefined {
  const lower = value.toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s@]+$/.test(lower)) return undefined;
  if (!lower.startsWith('http://') && !lower.startsWith('https://')) return lower;
  try {
    return new URL(lower).origin;
  } catch {
    return undefined;
  }
}

/** The guard's verdict on one request: a 403, or `undefined` to go on. */
export function checkRebinding(req: IncomingMessage, guard: RebindingGuard): Rejection | undefined {
  let loopback: boolean | undefined;
  // The type promises a socket; an HTTP/2 compatibility request whose stream is gone has none.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  const onLoopback = (): boolean => (loopback ??= isLoopbackAddress(req.socket?.localAddress));
  const hosts = guard.hosts ?? (onLoopback() ? LOOPBACK_HOSTS : ANY);
  const host = req.headers.host ?? (req.headers as Record<string, string | undefined>)[':authority'];
  if (!hosts.allows(host || undefined)) return refusal('host_not_allowed', 'host', hosts.refusal);
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  const origins = guard.origins ?? (onLoopback() ? LOOPBACK_ORIGINS : ANY);
  return origins.allows(origin) ? undefined : refusal('origin_not_allowed', 'origin', origins.refusal);
}

function refusal(reason: 'host_not_allowed' | 'origin_not_allowed', header: string, detail: string): Rejection {
  const what = header === 'host' ? 'Host' : 'Origin';
  // A refused Host or Origin is what a DNS-rebinding page sends: worth a warning, never the value.
  return { ...reject(403, reason, `Forbidden: this ${what} is not allowed`, header), detail: `${what} ${detail}`, suspicious: true };
}

/** A `Host` or `:authority` value split into a lower-case name and its port. */
function splitHost(raw: string): { name: string; port: string | undefined } {
  const value = raw.toLowerCase();
  const close = value.startsWith('[') ? value.indexOf(']') : -1;
  const colon = value.indexOf(':', close + 1);
  if (colon === -1) return { name: value, port: undefined };
  const port = value.slice(colon + 1);
  // `host:` or `host:abc` is no port; treat the whole value as an unknown name.
  return /^\d{1,5}$/.test(port) ? { name: value.slice(0, colon), port } : { name: value, port: undefined };
}

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.x on a dual-stack socket. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}
