/**
 * Mutation testing of the pure policy modules: `npm run mutate` (docs/testing.md#mutation-testing).
 * StrykerJS with its command runner: for each mutant it runs test/mutation/run-tests.ts, which runs
 * the unit and table tests of the mutated module (its list there) in one process and stops at the
 * first failure. StrykerJS 10 needs Node 22 or later: `npm run mutate` starts it with Node 22 from
 * the npm registry, and the tests run on the Node that runs Stryker.
 */
const node = JSON.stringify(process.execPath);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: { command: `${node} --import tsx test/mutation/run-tests.ts` },
  // The modules of test/mutation/run-tests.ts's TESTS_BY_MODULE.
  mutate: [
    'lib/header-rules.ts',
    'lib/forwarding-policy.ts',
    'lib/capture.ts',
    'lib/parse-options.ts',
    'lib/parse-headers.ts',
    'lib/parse-route-headers.ts',
    'lib/parse-session.ts',
    'lib/parse-tls.ts',
    'lib/option-shapes.ts',
    'lib/option-shape-errors.ts',
  ],
  // Two cores: one test run each.
  concurrency: 2,
  coverageAnalysis: 'off',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['coverage', 'dist', 'reports', '.bench-results', '*.tgz', '*.log'],
  timeoutMS: 10_000,
};
