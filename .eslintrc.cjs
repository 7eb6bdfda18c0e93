/* ESLint 9 in eslintrc mode: run with ESLINT_USE_FLAT_CONFIG=false (see package.json "lint"). */
module.exports = {
  root: true,
  env: { node: true, es2022: true },
  parser: '@typescript-eslint/parser',
  parserOptions: {
    project: './tsconfig.json',
    tsconfigRootDir: __dirname,
    sourceType: 'module',
  },
  plugins: ['@typescript-eslint'],
  extends: [
    'eslint:recommended',
    'plugin:@typescript-eslint/recommended-type-checked',
  ],
  // test/package/ holds consumers of the packed tarball: smoke.sh compiles the TypeScript ones with tsc.
  ignorePatterns: ['dist/', 'node_modules/', '.eslintrc.cjs', 'test/package/'],
  rules: {
    '@typescript-eslint/consistent-type-imports': 'error',
    // From strict-type-checked, the rules that found real things here: dead conditions, needless
    // conversions and template wrappers, switches that miss a case, untyped rejection handlers.
    '@typescript-eslint/no-unnecessary-template-expression': 'error',
    '@typescript-eslint/no-unnecessary-type-arguments': 'error',
    '@typescript-eslint/no-unnecessary-type-conversion': 'error',
    '@typescript-eslint/no-meaningless-void-operator': 'error',
    '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    '@typescript-eslint/use-unknown-in-catch-callback-variable': 'error',
    '@typescript-eslint/prefer-promise-reject-errors': 'error',
    'no-param-reassign': ['error', { props: false }],
    'prefer-const': 'error',
    'object-shorthand': 'error',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    eqeqeq: ['error', 'always'],
    'no-console': 'off',
  },
  overrides: [
    {
      // The library stays framework-agnostic: it is typed against node:http only.
      files: ['lib/**/*.ts'],
      rules: {
        // ... and brings no Redis client: mcp-header-relay/redis takes the user's client's sendCommand.
        'no-restricted-imports': ['error', { paths: ['express', 'express4', 'redis', 'ioredis'] }],
        'no-console': ['error', { allow: ['warn', 'error'] }],
        // In lib only: tests keep defensive checks on values their types promise but the wire may not.
        '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      },
    },
    {
      // The command (bin) builds an Express app and prints to stdout; the library's entry never imports lib/cli/.
      files: ['lib/cli/**/*.ts'],
      rules: {
        'no-restricted-imports': 'off',
        'no-console': 'off',
      },
    },
    {
      files: ['test/**/*.ts', 'examples/**/*.ts', 'bench/**/*.ts'],
      rules: {
        '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] }],
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
        '@typescript-eslint/no-unsafe-argument': 'off',
        '@typescript-eslint/no-unsafe-call': 'off',
        '@typescript-eslint/no-unsafe-return': 'off',
      },
    },
  ],
};
