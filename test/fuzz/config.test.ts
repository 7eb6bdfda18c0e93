/**
 * Property: any options object either constructs a middleware that keeps the documented rules, or
 * throws a HeaderConfigError whose code a broken rule explains and which carries no configured value
 * (message, String(), util.inspect(), enumerable properties, log lines). Nothing else is ever thrown.
 * The oracle is config-model.ts, written from the docs, not lib's validators.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { HeaderConfigError, captureHeaders, envSecrets, mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { VALUE_SENTINEL } from './arbitraries.js';
import { Live, Obj, configCase, type ConfigCase } from './config-arbitraries.js';
import { expectedCaptureCodes, expectedProxyCodes } from './config-model.js';
import { materialize, stringsContaining } from './materialize.js';
import { fuzzParameters } from './runs.js';

/** Constructs the case's middleware; returns what was thrown, or undefined. */
function construct(c: ConfigCase, options: Record<string, unknown>): unknown {
  try {
    if (c.kind === 'capture') captureHeaders(options as never);
    else mcpProxy(options as never);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Every way an error gets printed or serialised in practice. */
function renderings(error: HeaderConfigError): string[] {
  const own = Object.keys(error).map((key) => `${key}=${String((error as unknown as Record<string, unknown>)[key])}`);
  return [error.message, String(error), inspect(error), JSON.stringify(error), error.stack ?? '', ...own];
}

function assertNoValue(texts: readonly string[], values: readonly string[], where: string): void {
  for (const text of texts) {
    for (const value of [VALUE_SENTINEL, ...values]) {
      assert.ok(!text.includes(value), `${where} contains a configured value ${JSON.stringify(value.slice(0, 40))}: ${text.slice(0, 300)}`);
    }
  }
}

function checkCase(c: ConfigCase): void {
  const logger = captureLogger();
  const env = materialize(c.env);
  const options = materialize(new Obj([...c.options.entries, ['logger', new Live(logger)]]));
  if (c.kind === 'proxy') options.secrets = envSecrets(env as NodeJS.ProcessEnv);
  const expected = c.kind === 'capture' ? expectedCaptureCodes(options) : expectedProxyCodes(options, env);

  const error = construct(c, options);
  const values = stringsContaining([c.options, c.env], VALUE_SENTINEL);
  assertNoValue([logger.text()], values, 'a log line');
  if (error === undefined) {
    assert.deepEqual([...expected], [], 'constructed, although the documented rules refuse these options');
    return;
  }
  assert.ok(error instanceof HeaderConfigError, `threw something other than HeaderConfigError: ${inspect(error)}`);
  assert.ok(expected.has(error.code), `threw ${error.code} (${error.message}); the rules expect ${expected.size ? [...expected].join(' or ') : 'success'}`);
  assertNoValue(renderings(error), values, 'the HeaderConfigError');
}

test('fuzz: random options construct or throw a value-free HeaderConfigError the rules explain', () => {
  fc.assert(fc.property(configCase, checkCase), fuzzParameters());
});
