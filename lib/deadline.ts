/**
 * Bounding what the host app's code answers asynchronously (a session store, a computed header): the
 * relay never waits on it longer than a limit, and its timer never outlives the wait.
 */

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** `pending`'s answer, or `expired()`'s (a value, or a throw that rejects) once `ms` have passed. */
export function withDeadline<T>(pending: PromiseLike<T>, ms: number, expired: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    // A throw in `expired` rejects the race.
    timer = setTimeout(() => resolve(Promise.resolve().then(expired)), ms);
  });
  return Promise.race([Promise.resolve(pending), deadline]).finally(() => clearTimeout(timer));
}
