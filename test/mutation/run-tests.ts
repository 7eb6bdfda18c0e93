/**
 * The command StrykerJS runs for each mutant (stryker.config.mjs, docs/testing.md#mutation-testing):
 * the unit and table tests that exercise the module holding the active mutant, in this one process
 * (no per-file isolation, so no process per test file), stopping at the first failure with exit code
 * 1: the mutant is killed. Exit code 0: every test passed, the mutant survived. Without an active
 * mutant (Stryker's initial run) it runs the tests of every module.
 *
 * Stryker's command runner names the active mutant in an environment variable; its instrumented
 * copy of each module (in the sandbox this runs in) holds a `stryMutAct_9fa48("<id>")` check per
 * mutant, which says which module the mutant is in.
 */
import { readFileSync } from 'node:fs';
import { run } from 'node:test';

/** Each mutated module, with the test files that exercise it (fastest and most direct first). */
export const TESTS_BY_MODULE: Readonly<Record<string, readonly string[]>> = {
  'lib/header-rules.ts': [
    'test/unit/header-rules.test.ts',
    'test/unit/capture.test.ts',
    'test/unit/outgoing-headers.test.ts',
    'test/unit/options.test.ts',
    'test/security/c-config.test.ts',
  ],
  'lib/forwarding-policy.ts': [
    'test/unit/outgoing-headers.test.ts',
    'test/unit/route-observer.test.ts',
    'test/integration/explain.test.ts',
    'test/security/j-identity.test.ts',
  ],
  'lib/capture.ts': [
    'test/unit/capture.test.ts',
    'test/unit/options.test.ts',
    'test/integration/explain.test.ts',
    'test/integration/config-hints.test.ts',
    'test/integration/host-app-faults.test.ts',
  ],
  'lib/parse-options.ts': [
    'test/unit/options.test.ts',
    'test/unit/response-policy.test.ts',
    'test/unit/route-name.test.ts',
    'test/security/c-config.test.ts',
    'test/unit/config-file.test.ts',
    'test/security/j-identity.test.ts',
  ],
  'lib/parse-headers.ts': ['test/unit/options.test.ts', 'test/security/c-config.test.ts'],
  'lib/parse-route-headers.ts': ['test/security/j-identity.test.ts', 'test/unit/options.test.ts', 'test/integration/explain.test.ts'],
  'lib/parse-session.ts': [
    'test/unit/session-options.test.ts',
    'test/unit/options.test.ts',
    'test/security/c-config.test.ts',
    'test/integration/explain.test.ts',
  ],
  'lib/parse-tls.ts': ['test/unit/tls-options.test.ts', 'test/unit/config-file.test.ts'],
  'lib/option-shapes.ts': [
    'test/unit/option-messages.test.ts',
    'test/unit/options.test.ts',
    'test/unit/session-options.test.ts',
    'test/unit/route-name.test.ts',
    'test/unit/token-exchange.test.ts',
    'test/unit/credential-cache.test.ts',
    'test/unit/tls-options.test.ts',
    'test/unit/config-file.test.ts',
    'test/security/c-config.test.ts',
  ],
  'lib/option-shape-errors.ts': [
    'test/unit/option-shape-errors.test.ts',
    'test/unit/options.test.ts',
    'test/unit/config-file.test.ts',
    'test/security/c-config.test.ts',
    'test/unit/tls-options.test.ts',
  ],
};

/** The module whose instrumented source checks for mutant `id`. */
function moduleOf(id: string): string | undefined {
  const check = `stryMutAct_9fa48("${id}")`;
  return Object.keys(TESTS_BY_MODULE).find((file) => readFileSync(file, 'utf8').includes(check));
}

/** The active mutant's module's tests; every module's when there is none, or when its module is not found (never a kill by mistake). */
function testFiles(): string[] {
  const id = process.env.__STRYKER_ACTIVE_MUTANT__;
  const module = id === undefined ? undefined : moduleOf(id);
  const lists = module === undefined ? Object.values(TESTS_BY_MODULE) : [TESTS_BY_MODULE[module]!];
  return [...new Set(lists.flat())];
}

/** Tests that start a child process and test no module mutated here: c-config's secret files (a FIFO, /dev/zero), token-exchange's lazy import. */
const SKIPPED = [/\(child process\)$/, /^importing the package and calling tokenExchange\(\) do not load it/];

let passed = 0;
for await (const event of run({ files: testFiles(), isolation: 'none', testSkipPatterns: SKIPPED })) {
  if (event.type === 'test:fail') process.exit(1);
  if (event.type === 'test:pass') passed++;
}
// No test ran (a file that did not load counts as a failure above): not a survivor.
process.exit(passed > 0 ? 0 : 1);
