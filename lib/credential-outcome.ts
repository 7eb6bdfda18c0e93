/**
 * What a credential lookup comes to (CredentialOutcome), and the rules that make one from a source's
 * answer: how long a value is kept (`lifetime`), which values can be sent (`invalidCredentialReason`),
 * and value-free words for the log. Used by the cache (credential-cache.ts) and the request path
 * (dynamic-headers.ts); a value is never enumerable, so an outcome logged by mistake prints none.
 */
import { CredentialResolveError, type CredentialSource } from './credential-source.js';
import { invalidValueReason } from './header-rules.js';

export type CredentialProblem = 'failed' | 'timeout' | 'invalid';

export type CredentialOutcome =
  | { readonly ok: true; readonly value: string | undefined }
  /** `detail`: value-free words for the log. */
  | { readonly ok: false; readonly problem: CredentialProblem; readonly detail?: string };

/** A value is reused at most until this long before the issuer's `expires_in` runs out. */
export const EXPIRY_SKEW_MS = 30_000;

/** `undefined` from `key(req)` or `resolve`: no header for this request, which is no failure. */
export const NO_CREDENTIAL: CredentialOutcome = Object.freeze({ ok: true, value: undefined });

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
export function errorDetail(call: string, error: unknown): string {
  if (error instanceof CredentialResolveError) return `${call}: ${error.message}`;
  return `${call} threw an error that is not shown (it may hold a value); throw a CredentialResolveError for a message that is logged`;
}

export function failure(problem: CredentialProblem, detail: string): CredentialOutcome {
  return Object.freeze({ ok: false, problem, detail });
}

/** The value is not enumerable, so logging or serialising an outcome by mistake does not print it. */
export function valueOutcome(value: string): CredentialOutcome {
  const outcome = { ok: true } as { ok: true; value: string };
  Object.defineProperty(outcome, 'value', { value, enumerable: false });
  return Object.freeze(outcome);
}

/** Words for a failed outcome, for the log: the description of the source and the problem. Never a value. */
export function describeCredentialProblem(outcome: Extract<CredentialOutcome, { ok: false }>, source: CredentialSource): string {
  const what = outcome.problem === 'timeout' ? 'timed out' : outcome.problem === 'invalid' ? 'returned an unusable value' : 'failed';
  return `credential from ${source.description} ${what}${outcome.detail ? `: ${outcome.detail}` : ''}`;
}
