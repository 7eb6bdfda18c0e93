/**
 * How many sessions each client holds, so that one client cannot take a route's whole
 * `maxSessions` (docs/sessions.md, "Limits"). A client is a principal (keyed hash) or, on a `bind`
 * route without one, the fingerprint of the captured headers.
 *
 * Counted for the sessions this process recorded, with the store's TTLs mirrored here: a session
 * leaves its client's count when the relay deletes it, when a lookup finds it gone, or when the
 * mirrored idle or absolute TTL passes. So the count never depends on a store telling us about
 * expiry; with a store shared by replicas it is per replica, and errs towards admitting.
 */
import type { SessionTtl } from './session-store.js';

interface Held {
  readonly client: string;
  readonly absoluteUntil: number;
  idleUntil: number;
}

export class ClientShares {
  readonly #ttl: SessionTtl;
  readonly #held = new Map<string, Held>();
  readonly #byClient = new Map<string, Set<string>>();
  #prunedAt = Date.now();

  constructor(ttl: SessionTtl) {
    this.#ttl = ttl;
  }

  /**
   * Whether `client` holds `limit` live sessions or more. Its expired sessions are dropped only when
   * the count reaches the limit, so an initialize below it costs one lookup, whatever the share.
   */
  atLimit(client: string, limit: number, now = Date.now()): boolean {
    const keys = this.#byClient.get(client);
    if (!keys || keys.size < limit) return false;
    for (const key of keys) {
      const held = this.#held.get(key)!;
      if (now >= held.idleUntil || now >= held.absoluteUntil) this.remove(key);
    }
    return (this.#byClient.get(client)?.size ?? 0) >= limit;
  }

  add(client: string, key: string, now = Date.now()): void {
    this.remove(key);
    this.#held.set(key, { client, idleUntil: now + this.#ttl.idleMs, absoluteUntil: now + this.#ttl.absoluteMs });
    let keys = this.#byClient.get(client);
    if (!keys) this.#byClient.set(client, (keys = new Set()));
    keys.add(key);
    // Clients that never come back would keep their expired entries: sweep now and then.
    if (now - this.#prunedAt >= Math.min(this.#ttl.idleMs, 60_000)) this.#prune(now);
  }

  /** A request used the session: its idle TTL restarts, as the store's does. */
  touch(key: string, now = Date.now()): void {
    const held = this.#held.get(key);
    if (held) held.idleUntil = now + this.#ttl.idleMs;
  }

  remove(key: string): void {
    const held = this.#held.get(key);
    if (!held) return;
    this.#held.delete(key);
    const keys = this.#byClient.get(held.client)!;
    keys.delete(key);
    if (keys.size === 0) this.#byClient.delete(held.client);
  }

  /** Sessions counted, for tests and metrics. */
  get size(): number {
    return this.#held.size;
  }

  /** Sessions counted and unexpired: what a metrics scrape reports (it prunes, so it is not for the request path). */
  live(now = Date.now()): number {
    this.#prune(now);
    return this.#held.size;
  }

  #prune(now: number): void {
    this.#prunedAt = now;
    for (const [key, held] of this.#held) if (now >= held.idleUntil || now >= held.absoluteUntil) this.remove(key);
  }
}
