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
  CredentialResolveError,
  DEFAULT_CREDENTIAL_FAILURE_TTL_MS,
  DEFAULT_CREDENTIAL_MAX_ENTRIES,
  DEFAULT_CREDENTIAL_NEGATIVE_TTL_MS,
  DEFAULT_CREDENTIAL_TIMEOUT_MS,
  DEFAULT_CREDENTIAL_TTL_MS,
  type CredentialCacheOptions,
  type CredentialSource,
} from './credential-source.js';
import { HeaderConfigError } from './config-error.js';
import { invalidValueReason } from './header-rules.js';
import { credentialCacheSchema, isRecord, validateShape } from './option-shapes.js';

export type CredentialProblem = 'failed' | 'timeout' | 'invalid';

export type CredentialOutcome =
  | { readonly ok: true; readonly value: string | undefined }
  /** `detail`: value-free words for the log. */
  | { readonly ok: false; readonly problem: CredentialProblem; readonly detail?: string };

/** A value is reused at most until this long before the issuer's `expires_in` runs out. */
export const EXPIRY_SKEW_MS = 30_000;
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

const NO_CREDENTIAL: CredentialOutcome = Object.freeze({ ok: true, value: undefined });

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

/**
 * How long (ms) a value is reused: `ttl`, and with `expiresIn` never past its lifetime minus
 * EXPIRY_SKEW_MS, nor past half its lifetime (a short-lived token is refreshed halfway, not at the
 * last second, and a token of 0 s is used once and not kept).
 */
export function lifetime(ttl: number, expiresIn: number | undefined): number {
  if (expiresIn === undefined) return ttl;
  const life = expiresIn * 1000;
  return Math.min(ttl, life - Math.min(EXPIRY_SKEW_MS, life / 2));
}

/** Why a resolved value cannot be sent, in value-free words; undefined when it can. */
export function invalidCredentialReason(value: unknown, expiresIn: unknown, maxLength: number): string | undefined {
  if (typeof value !== 'string') return 'the value is not a string (return a string, a { value, expiresIn } object or undefined)';
  if (value.length === 0) return 'the value is empty';
  const reason = invalidValueReason(value, maxLength);
  if (reason === 'too_long') return `the value is longer than ${maxLength} bytes`;
  if (reason === 'bad_characters') return 'the value contains characters other than visible ASCII, space and tab (CR, LF, NUL, controls or non-ASCII)';
  if (/^[ \t]|[ \t]$/.test(value)) return 'the value starts or ends with whitespace';
  if (expiresIn !== undefined && (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0)) {
    return 'expiresIn is not a number of seconds >= 0';
  }
  return undefined;
}

/** A CredentialResolveError's message, value-free by contract; any other error is not quoted, nor its cause. */
function errorDetail(call: string, error: unknown): string {
  if (error instanceof CredentialResolveError) return `${call}: ${error.message}`;
  return `${call} threw an error that is not shown (it may hold a value); throw a CredentialResolveError for a message that is logged`;
}

function failure(problem: CredentialProblem, detail: string): CredentialOutcome {
  return Object.freeze({ ok: false, problem, detail });
}

/** The value is not enumerable, so logging or serialising an outcome by mistake does not print it. */
function valueOutcome(value: string): CredentialOutcome {
  const outcome = { ok: true } as { ok: true; value: string };
  Object.defineProperty(outcome, 'value', { value, enumerable: false });
  return Object.freeze(outcome);
}

/** Words for a failed outcome, for the log: the description of the source and the problem. Never a value. */
export function describeCredentialProblem(outcome: Extract<CredentialOutcome, { ok: false }>, source: CredentialSource): string {
  const what = outcome.problem === 'timeout' ? 'timed out' : outcome.problem === 'invalid' ? 'returned an unusable value' : 'failed';
  return `credential from ${source.description} ${what}${outcome.detail ? `: ${outcome.detail}` : ''}`;
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
