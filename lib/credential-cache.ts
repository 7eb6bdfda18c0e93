/**
 * The cache in front of a CredentialSource. Rules, in the order a request meets them:
 *  1. `key(req)` names the entry; `undefined` means no header, a throw or a bad key means `failed`.
 *  2. A live entry answers synchronously (no promise on the hot path) and becomes most recently used.
 *  3. An expired entry is dropped; a call already in flight for the key is joined (single flight).
 *  4. Otherwise one `resolve` call starts, with a deadline: past `timeout` its signal aborts and every
 *     waiting request gets `timeout`. A late answer is ignored.
 *  5. The answer is checked (a string of visible ASCII, SP and HTAB, 1..maxValueLength long, no
 *     surrounding whitespace) and kept: a value for `ttl` or less (see `lifetime`), `undefined`
 *     for `negativeTtl`, a failure for `failureTtl`. Keeping failures briefly protects a failing
 *     issuer from one call per request.
 *  6. Inserting drops expired entries at the least-recently-used end and evicts past `maxEntries`,
 *     so memory is bounded by `maxEntries` whatever the traffic.
 * Values live only in private fields and non-enumerable properties: never in inspect, JSON or errors.
 */
import type { IncomingMessage } from 'node:http';
import { inspect } from 'node:util';
import {
  DEFAULT_CREDENTIAL_FAILURE_TTL_MS,
  DEFAULT_CREDENTIAL_MAX_ENTRIES,
  DEFAULT_CREDENTIAL_NEGATIVE_TTL_MS,
  DEFAULT_CREDENTIAL_TIMEOUT_MS,
  DEFAULT_CREDENTIAL_TTL_MS,
  type CredentialCacheOptions,
  type CredentialSource,
} from './credential-source.js';
import { HeaderConfigError } from './config-error.js';
import { errorDetail, failure, invalidCredentialReason, lifetime, NO_CREDENTIAL, valueOutcome, type CredentialOutcome } from './credential-outcome.js';
import { credentialCacheSchema, isRecord } from './option-shapes.js';
import { validateShape } from './option-shape-errors.js';

/** Keys are names or hashes; a longer one is a bug in `key()` and would only inflate memory. */
export const MAX_KEY_LENGTH = 1024;

interface Entry {
  readonly outcome: CredentialOutcome;
  readonly expiresAt: number;
}

/** An outcome and how long (ms) to keep it. */
interface Answer {
  readonly outcome: CredentialOutcome;
  readonly keep: number;
}

export class CredentialCache {
  readonly #source: CredentialSource;
  readonly #options: Readonly<Required<CredentialCacheOptions>>;
  readonly #maxValueLength: number;
  readonly #now: () => number;
  readonly #timeoutOutcome: CredentialOutcome;
  /** Map order is recency: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Promise<CredentialOutcome>>();

  /** `now` is a monotonic clock in ms (injected by tests); wall-clock jumps must not stretch a TTL. */
  constructor(source: CredentialSource, options: Required<CredentialCacheOptions>, maxValueLength: number, now: () => number = () => performance.now()) {
    this.#source = source;
    this.#options = Object.freeze({ ...options });
    this.#maxValueLength = maxValueLength;
    this.#now = now;
    this.#timeoutOutcome = failure('timeout', `no answer within ${options.timeout} ms; the call was aborted`);
  }

  /** A cached outcome synchronously when there is one; otherwise a promise that never rejects. */
  get(req: IncomingMessage): CredentialOutcome | Promise<CredentialOutcome> {
    const key = this.#keyOf(req);
    if (typeof key !== 'string') return key;
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      if (entry.expiresAt > this.#now()) {
        this.#entries.delete(key);
        this.#entries.set(key, entry);
        return entry.outcome;
      }
      this.#entries.delete(key);
    }
    return this.#flights.get(key) ?? this.#start(key, req);
  }

  /**
   * Step 1 alone, for explain: this request's key, or the outcome it gets without one (no credential,
   * or a failing `key()`). Calls no `resolve` and touches no entry.
   */
  keyOf(req: IncomingMessage): string | CredentialOutcome {
    return this.#keyOf(req);
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#entries.size;
  }

  /** Forgets every entry; calls in flight still answer their waiting requests but are not kept. */
  clear(): void {
    this.#entries.clear();
    this.#flights.clear();
  }

  toJSON(): Record<string, string | number> {
    return { source: this.#source.description, size: this.size };
  }

  toString(): string {
    return `CredentialCache(${this.#source.description}, ${this.size} entries)`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #keyOf(req: IncomingMessage): string | CredentialOutcome {
    let key: unknown;
    try {
      key = this.#source.key(req);
    } catch (error) {
      return failure('failed', errorDetail('key(req)', error));
    }
    if (key === undefined) return NO_CREDENTIAL;
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      return failure('failed', `key(req) must return undefined or a string of 1-${MAX_KEY_LENGTH} characters`);
    }
    return key;
  }

  #start(key: string, req: IncomingMessage): Promise<CredentialOutcome> {
    const flight: Promise<CredentialOutcome> = this.#resolveWithDeadline(key, req).then(({ outcome, keep }) => {
      // After clear() (or a newer flight) this answer belongs to nobody: answer, but do not keep it.
      if (this.#flights.get(key) === flight) {
        this.#flights.delete(key);
        this.#keep(key, outcome, keep);
      }
      return outcome;
    });
    this.#flights.set(key, flight);
    return flight;
  }

  async #resolveWithDeadline(key: string, req: IncomingMessage): Promise<Answer> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new DOMException('credential resolve timed out', 'TimeoutError'));
        resolve({ outcome: this.#timeoutOutcome, keep: this.#options.failureTtl });
      }, this.#options.timeout);
    });
    try {
      return await Promise.race([this.#call(key, req, controller.signal), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Never rejects: a late rejection after the deadline must not become an unhandled one. */
  async #call(key: string, req: IncomingMessage, signal: AbortSignal): Promise<Answer> {
    let answer: unknown;
    try {
      answer = await this.#source.resolve(key, req, signal);
    } catch (error) {
      return { outcome: failure('failed', errorDetail('resolve()', error)), keep: this.#options.failureTtl };
    }
    return this.#judge(answer);
  }

  #judge(answer: unknown): Answer {
    if (answer === undefined) return { outcome: NO_CREDENTIAL, keep: this.#options.negativeTtl };
    const value = typeof answer === 'string' ? answer : isRecord(answer) ? answer.value : answer;
    const expiresIn = isRecord(answer) ? answer.expiresIn : undefined;
    const problem = invalidCredentialReason(value, expiresIn, this.#maxValueLength);
    if (problem !== undefined) return { outcome: failure('invalid', problem), keep: this.#options.failureTtl };
    return { outcome: valueOutcome(value as string), keep: lifetime(this.#options.ttl, expiresIn as number | undefined) };
  }

  #keep(key: string, outcome: CredentialOutcome, keep: number): void {
    if (keep <= 0) return;
    const now = this.#now();
    this.#entries.delete(key);
    this.#entries.set(key, { outcome, expiresAt: now + keep });
    this.#sweep(now);
  }

  /** From the least recently used end: drop what is expired or over the bound, stop at the first keeper. */
  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#options.maxEntries && entry.expiresAt > now) return;
      this.#entries.delete(key);
    }
  }
}

/** Validates cache options (zod, in option-shapes.ts) and fills in the defaults. `at`: the option path, for errors. */
export function parseCredentialCacheOptions(options: CredentialCacheOptions | undefined, fn: string, at: string): Required<CredentialCacheOptions> {
  if (options === undefined) return parseCredentialCacheOptions({}, fn, at);
  if (!isRecord(options))
    throw new HeaderConfigError('ERR_INVALID_OPTION', at, 'must be an object of cache options (ttl, timeout, maxEntries, negativeTtl, failureTtl)');
  const parsed = validateShape(credentialCacheSchema, options, fn, at);
  return Object.freeze({
    ttl: parsed.ttl ?? DEFAULT_CREDENTIAL_TTL_MS,
    timeout: parsed.timeout ?? DEFAULT_CREDENTIAL_TIMEOUT_MS,
    maxEntries: parsed.maxEntries ?? DEFAULT_CREDENTIAL_MAX_ENTRIES,
    negativeTtl: parsed.negativeTtl ?? DEFAULT_CREDENTIAL_NEGATIVE_TTL_MS,
    failureTtl: parsed.failureTtl ?? DEFAULT_CREDENTIAL_FAILURE_TTL_MS,
  });
}
