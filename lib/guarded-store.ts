/**
 * A session store as SessionGuard uses it, whatever the store does:
 * - a call that throws or rejects is logged (operation name only: a store's own error text may hold
 *   anything) and answered by the caller's `failed`, never a crash;
 * - a synchronous store is answered synchronously, so the in-memory default costs no promise;
 * - an asynchronous answer is bounded by `connectTimeout`: a store that never answers (a client
 *   queueing commands while offline) must not hold a request, or the relay's own write;
 * - a lookup waits for this process's write of the same key still under way (read-your-writes): the
 *   client may follow up before a shared store has taken it.
 */
import { isThenable, withDeadline } from './deadline.js';
import type { RelayLogger } from './logger.js';
import type { AdmitAnswer, SessionEntry, SessionQuota, SessionStore, SessionTtl } from './session-store.js';

/** A store call that did not settle within `connectTimeout`. */
class StoreTimeout extends Error {
  override name = 'StoreTimeout';
}

const FAILED: unique symbol = Symbol('store call failed');

export class GuardedStore<V> {
  readonly #store: SessionStore<V>;
  readonly #timeoutMs: number;
  readonly #logger: RelayLogger;
  /** Writes still under way, by key. They never reject: a failure is logged where it happens. */
  readonly #writes = new Map<string, Promise<void>>();

  constructor(store: SessionStore<V>, timeoutMs: number, logger: RelayLogger) {
    this.#store = store;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
  }

  get<R>(key: string, then: (found: V | undefined) => R, failed: () => R): R | Promise<R> {
    const lookup = (): R | Promise<R> => this.#answer('get', () => this.#store.get(key), then, failed);
    const writing = this.#writes.get(key);
    return writing ? writing.then(lookup) : lookup();
  }

  size<R>(then: (size: number) => R, failed: () => R): R | Promise<R> {
    return this.#answer('size', () => this.#store.size(), then, failed);
  }

  /** The size when the store answers at once; undefined for an asynchronous or failing store. */
  sizeNow(): number | undefined {
    const size = this.#call(() => this.#store.size());
    return typeof size === 'number' ? size : undefined;
  }

  /** Whether the store counts sessions itself (has `admit()`): then the relay's limits are the store's. */
  get counting(): boolean {
    return typeof this.#store.admit === 'function';
  }

  /** A counting store's check before an initialize is forwarded: nothing is stored. */
  check<R>(quota: SessionQuota, then: (answer: AdmitAnswer) => R, failed: () => R): R | Promise<R> {
    return this.#answer('admit', () => this.#store.admit!(quota), then, failed);
  }

  /** Insert-only; `done(added)` runs once the store has answered. A failure is logged, and `done` does not run. */
  set(key: string, value: V, ttl: SessionTtl, done: (added: boolean) => void): void {
    this.#write(key, 'set', () => this.#store.set(key, value, ttl), done);
  }

  /** A counting store's atomic check and insert; `done(answer)` as for `set`. */
  record(quota: SessionQuota, entry: SessionEntry<V>, done: (answer: AdmitAnswer) => void): void {
    this.#write(entry.key, 'admit', () => this.#store.admit!(quota, entry), done);
  }

  /** Fire and forget; a failure is logged. */
  delete(key: string): void {
    void this.#answer(
      'delete',
      () => this.#store.delete(key),
      () => undefined,
      () => undefined,
    );
  }

  /** A write whose failure is only logged; this process's lookups of `key` wait for it. */
  #write<T>(key: string, operation: string, call: () => T | PromiseLike<T>, done: (answer: T) => void): void {
    const write = this.#answer(operation, call, done, () => undefined);
    if (!isThenable(write)) return;
    const pending = Promise.resolve(write).finally(() => this.#writes.delete(key));
    this.#writes.set(key, pending);
  }

  #answer<T, R>(operation: string, call: () => T | PromiseLike<T>, then: (value: T) => R, failed: () => R): R | Promise<R> {
    const result = this.#call(call);
    if (result === FAILED) {
      this.#logFailure(operation);
      return failed();
    }
    if (!isThenable(result)) return then(result);
    return this.#bounded(result, operation).then(then, (err: unknown) => {
      this.#logFailure(operation, err);
      return failed();
    });
  }

  /** A synchronous throw becomes FAILED. */
  #call<T>(fn: () => T): T | typeof FAILED {
    try {
      return fn();
    } catch {
      return FAILED;
    }
  }

  /** The store's answer, or StoreTimeout once `connectTimeout` has passed. */
  #bounded<T>(pending: PromiseLike<T>, operation: string): Promise<T> {
    const limit = this.#timeoutMs;
    return withDeadline(pending, limit, () => {
      throw new StoreTimeout(`${operation}() did not answer within connectTimeout (${limit} ms)`);
    });
  }

  #logFailure(operation: string, err?: unknown): void {
    const message = err instanceof StoreTimeout ? `mcpProxy: session store ${err.message}` : `mcpProxy: session store ${operation}() failed`;
    this.#logger.error({ reason: 'session_store_unavailable', operation }, message);
  }
}
