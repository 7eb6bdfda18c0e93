/**
 * Where session bindings live. A small interface so a shared store (Redis, a database) can serve
 * several relay replicas in `bind` mode, and the in-memory default: a Map with sliding idle and
 * absolute expiry, checked on lookup and by an unref()ed sweep timer.
 */

/** How long an entry lives: `idleMs` after its last successful `get` (sliding), `absoluteMs` after `set` at most. */
export interface SessionTtl {
  readonly idleMs: number;
  readonly absoluteMs: number;
}

/** Where a new session stands against a route's limits, as a counting store checks it ({@link SessionStore.admit}). */
export interface SessionQuota {
  /** The route: sessions are counted per scope. Opaque (the relay derives it from the route's target). */
  readonly scope: string;
  /** Who the session belongs to: a keyed hash of the principal or of the captured headers, never a header value. */
  readonly client: string;
  /** The route's `maxSessions`: live entries in `scope`. */
  readonly maxSessions: number;
  /** The client's share (`maxSessionsPerClient`): live entries of `client` in `scope`. */
  readonly maxPerClient: number;
}

/** An entry to store if it fits: the arguments of {@link SessionStore.set}. */
export interface SessionEntry<T = string> {
  readonly key: string;
  readonly value: T;
  readonly ttl: SessionTtl;
}

/**
 * What {@link SessionStore.admit} answers: `ok` (it fits; with an entry, it is stored), `exists` (the
 * key is already stored; nothing changed), or the limit that is reached (`sessions` or `client`; nothing stored).
 */
export type AdmitAnswer = 'ok' | 'exists' | 'sessions' | 'client';

/**
 * A session store. Each method may answer directly or with a promise. In `bind` mode the values are
 * fingerprints (base64url strings), never header values, so a store shared between replicas holds
 * nothing secret; the replicas must share `session.sessionKey`.
 */
export interface SessionStore<T = string> {
  /** The live entry, or `undefined`. A hit extends the idle TTL; an expired entry counts as absent. A miss must not allocate. */
  get(key: string): T | undefined | PromiseLike<T | undefined>;
  /** Stores `value` unless `key` is already present; answers whether it was stored. */
  set(key: string, value: T, ttl: SessionTtl): boolean | PromiseLike<boolean>;
  delete(key: string): void | PromiseLike<void>;
  /** Live entries (entries past their TTL but not yet swept may be counted). */
  size(): number | PromiseLike<number>;
  /**
   * Optional: the store keeps the route's limits itself, for every process that shares it (docs/sessions.md,
   * "SessionStore"). When present the relay calls it instead of `size()`, `set()` and its own per-process count:
   * - without `entry`, before an initialize is forwarded: whether a new session of `quota.client` fits now.
   *   Nothing is stored.
   * - with `entry`, when the backend has issued the session's id: stores it as `set()` would (insert only,
   *   with its TTLs) if the key is absent and both limits hold, all in one atomic step (a Redis script, a
   *   database transaction), so two processes racing cannot both store past a limit.
   * Only live entries count: an entry leaves the counts when it expires (idle or absolute) or is deleted.
   */
  admit?(quota: SessionQuota, entry?: SessionEntry<T>): AdmitAnswer | PromiseLike<AdmitAnswer>;
}

interface Entry<T> {
  readonly value: T;
  readonly idleMs: number;
  readonly absoluteUntil: number;
  idleUntil: number;
}

/** The sweep runs this often at most, and at least once a minute. */
const MIN_SWEEP_MS = 100;
const MAX_SWEEP_MS = 60_000;

/** In-process store. `onRemove` sees every entry that leaves, whether deleted or expired. */
export class MemorySessionStore<T = string> implements SessionStore<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #onRemove: ((value: T, key: string) => void) | undefined;
  #sweepMs = MAX_SWEEP_MS;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { onRemove?: (value: T, key: string) => void } = {}) {
    this.#onRemove = options.onRemove;
  }

  get(key: string): T | undefined {
    const now = Date.now();
    const entry = this.#live(key, now);
    if (entry === undefined) return undefined;
    entry.idleUntil = now + entry.idleMs;
    return entry.value;
  }

  set(key: string, value: T, ttl: SessionTtl): boolean {
    const now = Date.now();
    if (this.#live(key, now) !== undefined) return false;
    this.#entries.set(key, { value, idleMs: ttl.idleMs, idleUntil: now + ttl.idleMs, absoluteUntil: now + ttl.absoluteMs });
    this.#schedule(ttl.idleMs);
    return true;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) this.#remove(key, entry);
  }

  size(): number {
    return this.#entries.size;
  }

  /** Drops every entry and the sweep timer: the route that owns the store is closing. */
  clear(): void {
    for (const [key, entry] of this.#entries) this.#remove(key, entry);
    this.#stop();
  }

  /** Drops every expired entry; the timer calls it, tests may too. */
  sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (now >= entry.idleUntil || now >= entry.absoluteUntil) this.#remove(key, entry);
    }
  }

  /** The entry if present and unexpired; an expired one is removed on the spot. */
  #live(key: string, now: number): Entry<T> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now < entry.idleUntil && now < entry.absoluteUntil) return entry;
    this.#remove(key, entry);
    return undefined;
  }

  #remove(key: string, entry: Entry<T>): void {
    this.#entries.delete(key);
    if (this.#entries.size === 0) this.#stop();
    this.#onRemove?.(entry.value, key);
  }

  /** A timer only while there is something to expire, so an idle relay holds no timer at all. */
  #schedule(idleMs: number): void {
    const every = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, idleMs));
    if (this.#timer !== undefined && every >= this.#sweepMs) return;
    this.#stop();
    this.#sweepMs = every;
    this.#timer = setInterval(() => this.sweep(), every).unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sweepMs = MAX_SWEEP_MS;
  }
}

/**
 * The in-memory store, for passing explicitly: to share one store between routes of one process, or
 * to watch `size()`. Entries never leave the process.
 */
export function memorySessionStore(): SessionStore {
  return new MemorySessionStore<string>();
}
