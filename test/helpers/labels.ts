import { inspect } from 'node:util';

/**
 * A value as a test name shows it: strings quoted with control characters escaped ('x\r\ny'), numbers
 * as written (NaN, -0, Infinity), arrays and objects on one line, a URL object by its href; strings
 * longer than `maxLength` shortened. For tests generated one per input case.
 */
export function label(value: unknown, maxLength = 40): string {
  if (value instanceof URL) return `URL(${label(value.href, maxLength)})`;
  return inspect(value, { breakLength: Infinity, maxStringLength: maxLength, depth: 2 });
}
