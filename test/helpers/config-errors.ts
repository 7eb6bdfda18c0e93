/**
 * Construction-time refusals (layer S): the one way the suite asserts a HeaderConfigError, used by
 * test/unit/options.test.ts, test/unit/secrets.test.ts and test/security/c-config.test.ts.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { HeaderConfigError, type HeaderConfigErrorCode } from '../../lib/index.js';
import { SENTINEL } from './sentinel.js';

/** Every textual view of an error a log pipeline might produce. */
export function errorViews(error: unknown): string[] {
  const e = error as Error;
  return [
    e.message,
    String(e.stack),
    String(error),
    JSON.stringify(error),
    inspect(error),
    inspect(error, { showHidden: true, depth: Infinity }),
    (error as HeaderConfigError).rule ?? '',
    (error as HeaderConfigError).path ?? '',
  ];
}

/**
 * Runs `fn` and asserts it throws a HeaderConfigError with this `code` (named in the message, with a
 * rule in words) and, when given, this `path` (named in the message too); no view of the error
 * (`errorViews`) may hold a sentinel (anything starting with SENTINEL). Returns the error.
 */
export function expectConfigError(fn: () => unknown, code: HeaderConfigErrorCode, path?: string): HeaderConfigError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof HeaderConfigError, `expected a HeaderConfigError (${code}), got ${String(thrown)}`);
  assert.equal(thrown.name, 'HeaderConfigError');
  assert.equal(thrown.code, code, thrown.message);
  assert.ok(thrown.message.includes(code), `message names the code: ${thrown.message}`);
  assert.ok(thrown.rule.length > 0, `the error has a rule: ${thrown.message}`);
  if (path !== undefined) {
    assert.equal(thrown.path, path, thrown.message);
    assert.ok(thrown.message.includes(path), `message names the path: ${thrown.message}`);
  }
  for (const view of errorViews(thrown)) assert.ok(!view.includes(SENTINEL), `error leaks a configured value: ${view}`);
  return thrown;
}
