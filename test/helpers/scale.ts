/**
 * How large the suite's volume cases run. `npm test` runs them at a size that shows the property in
 * seconds; `RELAY_TEST_SCALE=full` (or `npm run test:full`) runs the catalogue's own sizes.
 */
export const FULL_SCALE = process.env.RELAY_TEST_SCALE === 'full';

/** `small` in `npm test`, `full` under RELAY_TEST_SCALE=full. */
export function scaled(small: number, full: number): number {
  return FULL_SCALE ? full : small;
}
