/**
 * The limits of a `bind` or `pin` route (docs/sessions.md, "Limits"): `maxSessions`, and each client's
 * share. Counted one of two ways:
 * 1. A store with `admit()` (a shared store such as mcp-header-relay/redis) counts for every process that
 *    shares it: it is asked before an initialize is forwarded, and the record itself is its atomic
 *    check-and-insert, so two replicas racing cannot both record past a limit.
 * 2. Any other store: `size()` before an initialize is forwarded, and each client's sessions counted in
 *    this process (ClientShares); both checked again at record time when the store answers at once.
 * The per-process count is kept either way: it is what the metrics' sessions gauge reports.
 */
import type { SessionModeConfig } from './config.js';
import { ClientShares } from './client-shares.js';
import type { GuardedStore } from './guarded-store.js';
import type { RelayLogger } from './logger.js';
import type { SessionRecord } from './session-digests.js';
import { sessionLimit, storeUnavailable } from './session-refusals.js';
import type { AdmitAnswer, SessionQuota } from './session-store.js';
import type { Rejection } from './rejection.js';

/** Which limit a new session would pass, if any. */
type Reached = 'sessions' | 'client' | undefined;

export class SessionLimiter {
  readonly #config: SessionModeConfig;
  readonly #store: GuardedStore<SessionRecord>;
  readonly #logger: Required<RelayLogger>;
  /** Sessions per client that this process recorded: the limit itself unless the store counts. */
  readonly #shares: ClientShares;

  constructor(config: SessionModeConfig, store: GuardedStore<SessionRecord>, logger: Required<RelayLogger>) {
    this.#config = config;
    this.#store = store;
    this.#logger = logger;
    this.#shares = new ClientShares(config.ttl);
  }

  /**
   * Before an initialize is forwarded: the refusal if a limit is reached (or the store failed), else
   * undefined. `counted`: whether the session would be recorded at all (a `pin` initialize without a
   * principal is not, so it takes no share).
   */
  check(client: string, counted: boolean): Rejection | undefined | Promise<Rejection | undefined> {
    if (this.#store.counting) {
      return this.#store.check(this.#quota(client), (answer) => this.#refusal(limitOf(answer)), storeUnavailable);
    }
    const refuseAt = (size: number): Rejection | undefined => {
      if (size >= this.#config.maxSessions) return this.#refusal('sessions');
      return counted && this.#shares.atLimit(client, this.#config.maxPerClient) ? this.#refusal('client') : undefined;
    };
    return this.#store.size(refuseAt, storeUnavailable);
  }

  /**
   * Records a session the backend has issued, if it still fits: `recorded` runs once the store has
   * taken it, `refused` with the reason it was not (a limit reached meanwhile, or the id already
   * recorded). A store failure is logged by the store and calls neither.
   */
  record(key: string, record: SessionRecord, client: string, recorded: () => void, refused: (why: 'exists' | 'sessions' | 'client') => void): void {
    const ttl = this.#config.ttl;
    if (this.#store.counting) {
      this.#store.record(this.#quota(client), { key, value: record, ttl }, (answer) => {
        if (answer !== 'ok') return refused(answer);
        this.#shares.add(client, key);
        recorded();
      });
      return;
    }
    // Concurrent initializes all passed admission; only as many as fit are recorded.
    const full = this.#reachedNow(client);
    if (full) return refused(full);
    this.#store.set(key, record, ttl, (added) => {
      if (!added) return refused('exists');
      this.#shares.add(client, key);
      recorded();
    });
  }

  /** The session is gone (deleted, ended by the backend, or expired in the store). */
  forget(key: string): void {
    this.#shares.remove(key);
  }

  /** A request used the session: its idle TTL restarts here as in the store. */
  touch(key: string): void {
    this.#shares.touch(key);
  }

  /** Sessions this process recorded and still holds, for the metrics' sessions gauge. */
  held(): number {
    return this.#shares.live();
  }

  #quota(client: string): SessionQuota {
    const { namespace: scope, maxSessions, maxPerClient } = this.#config;
    return { scope, client, maxSessions, maxPerClient };
  }

  /** At record time, for a store that does not count: a store that answers size() synchronously is checked again. */
  #reachedNow(client: string): Reached {
    if (this.#shares.atLimit(client, this.#config.maxPerClient)) return 'client';
    const size = this.#store.sizeNow();
    return size !== undefined && size >= this.#config.maxSessions ? 'sessions' : undefined;
  }

  #refusal(reached: Reached): Rejection | undefined {
    return reached && sessionLimit(reached, this.#config, this.#logger);
  }
}

/** A check's answer as a limit: `ok` (and `exists`, which a check without an entry does not give) pass. */
function limitOf(answer: AdmitAnswer): Reached {
  return answer === 'sessions' || answer === 'client' ? answer : undefined;
}
