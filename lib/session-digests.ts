/**
 * The formats of session binding, pure functions of the route's key and mode: a session's
 * fingerprint (what `bind` stores and `pin` checks), a principal's hash (the only form an identity is
 * kept in), a session id's tag (the only form an id is logged in), the record a session is stored
 * as, and the constant-time match of a request against it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What `pin` keeps per session, in this process only. */
export interface PinnedSession {
  readonly fingerprint: string;
  /** HMAC of the principal: counts sessions per principal without holding the identity itself. */
  readonly principal: string;
  readonly values: Readonly<Record<string, string>>;
}

/** A stored session: `bind` keeps only the fingerprint (base64url), `pin` the values as well. */
export type SessionRecord = string | PinnedSession;

/** A request against a record: whether it belongs to the session, and what a `pin` session adds to it. */
export interface RecordMatch {
  readonly matches: boolean;
  readonly pinned?: Readonly<Record<string, string>> | undefined;
}

export class SessionDigests {
  readonly #key: Buffer;
  readonly #mode: string;

  constructor(key: Buffer, mode: 'bind' | 'pin') {
    this.#key = key;
    this.#mode = mode;
  }

  /** HMAC-SHA256 of `scope` and the sorted pairs, each part length-prefixed so no two inputs collide. */
  fingerprint(scope: string, headers: Readonly<Record<string, string>>): Buffer {
    const hmac = createHmac('sha256', this.#key);
    hmac.update(`${this.#mode}:${scope.length}:${scope}`);
    for (const name of Object.keys(headers).sort()) {
      const value = headers[name]!;
      hmac.update(`|${name.length}:${name}${value.length}:${value}`);
    }
    return hmac.digest();
  }

  /** A principal as it is kept: so the store and the counts hold no identity either. */
  principal(value: string): string {
    return createHmac('sha256', this.#key).update(`principal:${value}`).digest('base64url');
  }

  /**
   * A new session's record from its initialize (`principal` already hashed); none for a `pin`
   * session without a principal, which is never recorded.
   */
  record(principal: string | undefined, headers: Readonly<Record<string, string>>): SessionRecord | undefined {
    if (this.#mode === 'bind') return this.fingerprint(principal ?? '', headers).toString('base64url');
    if (principal === undefined) return undefined;
    return Object.freeze({ fingerprint: this.fingerprint(principal, headers).toString('base64url'), principal, values: headers });
  }

  /**
   * Whether a request with these session headers belongs to the session `found` (undefined: unknown
   * id). The same work either way: one fingerprint and one constant-time comparison. A `pin` request
   * may omit pinned headers, never change or add one: the pin overlaid with what it sent must hash as the pin.
   */
  match(found: SessionRecord | undefined, principal: string | undefined, headers: Readonly<Record<string, string>>): RecordMatch {
    if (typeof found === 'string') return { matches: sameDigest(this.fingerprint(principal ?? '', headers), found) };
    const pinned = found?.values;
    const digest = this.fingerprint(principal ?? '', pinned ? { ...pinned, ...headers } : headers);
    const matches = sameDigest(digest, found?.fingerprint ?? UNKNOWN_DIGEST) && found !== undefined && principal !== undefined;
    return matches ? { matches, pinned } : { matches };
  }

  /** A session id as it may appear in logs: a keyed hash, useless to anyone reading them. */
  tag(id: string): string {
    return createHmac('sha256', this.#key).update(`id:${id}`).digest('hex').slice(0, 12);
  }
}

/** Compared against when the id is unknown, so that path does the work of a mismatch. */
export const UNKNOWN_DIGEST = Buffer.alloc(32).toString('base64url');

export function sameDigest(digest: Buffer, stored: string): boolean {
  const expected = Buffer.from(stored, 'base64url');
  // Lengths differ only for a corrupt record, which says nothing about the caller's headers.
  return expected.length === digest.length && timingSafeEqual(digest, expected);
}
