/**
 * The one place the fuzz suite reads its environment, so `npm test` (4 000 runs; 10 000 under
 * RELAY_TEST_SCALE=full, i.e. `npm run test:full`), `npm run fuzz` (FUZZ_RUNS=1000000) and a replay of
 * a reported failure all go through the same parameters.
 *
 *   FUZZ_RUNS=100000 node --import tsx --test test/fuzz/*.test.ts
 *   FUZZ_SEED=-123456 FUZZ_PATH="42:1:0" node --import tsx --test test/fuzz/requests.test.ts
 *
 * fast-check prints the seed and path of a counterexample when a property fails; pass them back here.
 */
import type fc from 'fast-check';
import { scaled } from '../helpers/scale.js';

function envInteger(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  // A typo must not silently turn a million-run job into the default, or a replay into a fresh seed.
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

export const FUZZ_RUNS = envInteger('FUZZ_RUNS', scaled(4_000, 10_000))!;
const FUZZ_SEED = envInteger('FUZZ_SEED', undefined);
const FUZZ_PATH = process.env.FUZZ_PATH || undefined;

/** A replay of one counterexample (`FUZZ_PATH`) runs it alone: run-count statistics mean nothing then. */
export const REPLAYING = FUZZ_PATH !== undefined;

if (FUZZ_RUNS < 1) throw new Error('FUZZ_RUNS must be at least 1');

/** fc.assert parameters for every property of the suite: run count, and the replay seed/path if given. */
export function fuzzParameters<T>(): fc.Parameters<T> {
  return {
    numRuns: FUZZ_RUNS,
    // The failed assertion's message belongs in the report next to the counterexample, seed and path.
    includeErrorInReport: true,
    ...(FUZZ_SEED === undefined ? {} : { seed: FUZZ_SEED }),
    ...(FUZZ_PATH === undefined ? {} : { path: FUZZ_PATH }),
  };
}
