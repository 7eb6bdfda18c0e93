/**
 * Per-user credentials: the contract a credential source meets (tokenExchange() is one), the error
 * class whose message may be logged, and the cache options with their defaults. A source's values
 * are header values such as `Bearer eyJ...`: they never appear in an error, a log line, util.inspect
 * or JSON.stringify.
 */
import type { IncomingMessage } from 'node:http';
import { redacted } from './secrets.js';

/** What a source returns when it knows how long its value lives. */
export interface ResolvedCredential {
  /** The header value to send, e.g. `Bearer eyJ...`. */
  readonly value: string;
  /** Seconds the value stays valid, as the issuer said (OAuth `expires_in`). The cache keeps it for less. */
  readonly expiresIn?: number;
}

/**
 * Where a per-user header value comes from. The relay caches answers by `key(req)`, makes one
 * `resolve` call per key at a time, and gives that call a deadline through `signal`.
 */
export interface CredentialSource {
  /**
   * The cache key of this request: the principal, or a hash of the caller's token. Requests with
   * the same key share one value, so the key must cover everything the value depends on.
   * `undefined`: no credential for this request, the header is not sent.
   */
  key(req: IncomingMessage): string | undefined;
  /**
   * Fetches the value for `key`: a string (no known expiry), a {@link ResolvedCredential}, or
   * `undefined` (none for this key: the header is not sent). `req` is the request that missed the
   * cache; others with the same key wait for this call. Stop when `signal` aborts (the deadline
   * passed). Throw a {@link CredentialResolveError} for a failure whose message may be logged;
   * any other error is reported without its message.
   */
  resolve(key: string, req: IncomingMessage, signal: AbortSignal): Promise<string | ResolvedCredential | undefined> | string | ResolvedCredential | undefined;
  /** Names the source in logs, never a secret, e.g. `token exchange at https://as.example/token`. */
  readonly description: string;
}

/**
 * Thrown by a credential source for a failure it can describe without quoting a token, a secret or
 * a credential: its message goes to the log. Any other error from a source is reported without its
 * message (and without its `cause`), in case they carry a value.
 */
export class CredentialResolveError extends Error {
  override name = 'CredentialResolveError';
}

/** How the relay caches the answers of a {@link CredentialSource}. Every duration is in milliseconds. */
export interface CredentialCacheOptions {
  /**
   * How long a value is reused. A value with `expiresIn` is kept for less: its lifetime minus
   * 30 s, or half its lifetime when that is shorter (a 60 s token: 30 s; a 10 s token: 5 s).
   * 0: never reused (concurrent requests still share one call). @default 300000
   */
  ttl?: number;
  /**
   * Deadline of one `resolve` call. Past it the waiting requests fail with `timeout` and the call's
   * `signal` is aborted. @default 5000
   */
  timeout?: number;
  /** Most keys kept; the least recently used is dropped first. @default 10000 */
  maxEntries?: number;
  /**
   * How long an `undefined` answer ("no credential for this key") is reused. 0: asked again on
   * the next request, so a user who just linked an account is served at once. @default 0
   */
  negativeTtl?: number;
  /**
   * How long a failure (an error, a timeout, an unusable value) is reused for its key, so a failing
   * issuer sees one call per key per `failureTtl`, not one per request. 0: every request after a
   * failure tries again. @default 1000
   */
  failureTtl?: number;
}

export const DEFAULT_CREDENTIAL_TTL_MS = 300_000;
export const DEFAULT_CREDENTIAL_TIMEOUT_MS = 5000;
export const DEFAULT_CREDENTIAL_MAX_ENTRIES = 10_000;
export const DEFAULT_CREDENTIAL_NEGATIVE_TTL_MS = 0;
export const DEFAULT_CREDENTIAL_FAILURE_TTL_MS = 1000;

/** Keeps a source from printing anything but its description: its closures may hold secrets. */
export function redactedSource(source: CredentialSource): CredentialSource {
  return redacted('CredentialSource', source);
}
