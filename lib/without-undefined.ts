/**
 * An object's own entries minus the `undefined` ones. Console prints `header: undefined`, so a log line
 * lists only what is known; an option object passed on keeps only the keys that were set.
 */
export function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
