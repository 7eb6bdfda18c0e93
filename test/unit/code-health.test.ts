/**
 * Code-health rules of lib/ that review alone let slip (issue 12's tidy found seven files over the
 * limit): every module stays at most 256 lines, and zod, an implementation detail of option checking,
 * is imported only by the option-shape modules (the library's and the gateway file's), so no zod type
 * leaks into the published ones.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const LIB = fileURLToPath(new URL('../../lib', import.meta.url));
const sources = readdirSync(LIB, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
const read = (file: string): string => readFileSync(join(LIB, file), 'utf8');

describe('lib/ code health', () => {
  it('finds the sources it judges', () => {
    assert.ok(sources.includes('proxy.ts') && sources.includes(join('metrics', 'index.ts')), sources.join(', '));
  });

  it('no module is longer than 256 lines', () => {
    const lines = (text: string): number => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    const long = sources.filter((file) => lines(read(file)) > 256).map((file) => `${file}: ${lines(read(file))}`);
    assert.deepEqual(long, []);
  });

  it('only option-shapes.ts, option-shape-errors.ts and the gateway file shape (cli/config-shape.ts, and its JSON Schema: cli/config-json-schema.ts) import zod', () => {
    const importsZod = /from\s+['"]zod['"]|import\(\s*['"]zod['"]\s*\)|require\(\s*['"]zod['"]\s*\)/;
    assert.ok(importsZod.test("import { z } from 'zod';"), 'the pattern catches an import');
    const importers = sources.filter((file) => importsZod.test(read(file))).sort();
    // config-json-schema.ts turns those shapes into the shipped JSON Schema (z.toJSONSchema); it returns plain JSON.
    assert.deepEqual(importers, [join('cli', 'config-json-schema.ts'), join('cli', 'config-shape.ts'), 'option-shape-errors.ts', 'option-shapes.ts']);
  });
});
