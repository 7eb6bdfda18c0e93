/**
 * The keyed hashes of session binding, pure functions of the route's key and mode: a session's
 * fingerprint (what `bind` stores and `pin` checks), a principal's hash (the only form an identity is
 * kept in), a session id's tag (the only form an id is logged in), and their constant-time comparison.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

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
