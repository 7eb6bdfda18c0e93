/**
 * The suite against the catalogue (security.md §5, groups A–H, 108 cases, plus group I: the 14
 * findings of the independent attack review, issue 9, and group J: identity headers and per-user
 * credentials, issue 11) and docs/security.md: every
 * case has a test named with its id, in its group's file; every refusal is asserted through the
 * leak-checking helpers; every layer P case through `assertParserRejected`; and the cases marked as
 * deviations or scaled down in the tests are exactly the ones docs/security.md lists.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const here = path.join(root, 'test/security');

/** Cases per group, as the catalogue counts them. */
const CATALOGUE: Record<string, number> = { A: 13, B: 19, C: 17, D: 13, E: 23, F: 12, G: 7, H: 4, I: 14, J: 11 };
const TOTAL = Object.values(CATALOGUE).reduce((a, b) => a + b, 0);

/** Where each group's tests live (the configuration-time B and H cases sit with group C). */
const FILES: Record<string, string[]> = {
  A: ['a-header-names'],
  B: ['b-header-values', 'c-config'],
  C: ['c-config'],
  D: ['d-hop-by-hop'],
  E: ['e-sessions'],
  F: ['f-backend-faults'],
  G: ['g-streams'],
  H: ['h-leakage', 'c-config'],
  I: ['i-requests', 'i-responses', 'i-sessions'],
  J: ['j-identity'],
};

const source = (name: string): string => fs.readFileSync(path.join(here, `${name}.test.ts`), 'utf8');
const suiteFiles = fs.readdirSync(here).filter((f) => f.endsWith('.test.ts') && f !== 'catalogue.test.ts');
const docs = fs.readFileSync(path.join(root, 'docs/security.md'), 'utf8');

/** Case ids that start a test title (`it('A5: …'`, `it(\`G6 (…)`) in `text`. */
function testedIds(text: string): Set<string> {
  return new Set([...text.matchAll(/\bit\(\s*['"`]([A-J]\d{1,2})\b/g)].map((m) => m[1]!));
}

/** Each `it(` block of a file: its title line and its text up to the next `it(`. */
function testBlocks(text: string): { title: string; body: string }[] {
  return text
    .split(/\n\s*it\(/)
    .slice(1)
    .map((body) => ({ title: body.slice(0, body.indexOf('\n')), body }));
}

/** Case ids marked `// <kind> X1:` in the suite. */
function markedIds(kind: 'Deviation' | 'Scaled'): string[] {
  const text = suiteFiles.map((f) => fs.readFileSync(path.join(here, f), 'utf8')).join('\n');
  return [...text.matchAll(new RegExp(`// ${kind} ([A-J]\\d{1,2}):`, 'g'))].map((m) => m[1]!).sort();
}

/** Case ids of the `- **X1: …**` bullets between two headings of docs/security.md. */
function listedIds(from: string, to: string): string[] {
  const start = docs.indexOf(from);
  const end = docs.indexOf(to, start);
  assert.ok(start !== -1 && end !== -1, `docs/security.md has the sections "${from}" and "${to}"`);
  return [...docs.slice(start, end).matchAll(/^- \*\*([A-J]\d{1,2}):/gm)].map((m) => m[1]!).sort();
}

describe('the security suite covers the catalogue and matches docs/security.md', () => {
  for (const [group, count] of Object.entries(CATALOGUE)) {
    it(`group ${group}: each of its ${count} cases has a test named with its id in ${FILES[group]!.join(' or ')}`, () => {
      const found = new Set(FILES[group]!.flatMap((f) => [...testedIds(source(f))]).filter((id) => id.startsWith(group)));
      const expected = Array.from({ length: count }, (_, i) => `${group}${i + 1}`);
      assert.deepEqual(
        expected.filter((id) => !found.has(id)),
        [],
        'cases without a test',
      );
      assert.deepEqual(
        [...found].filter((id) => !expected.includes(id)),
        [],
        'tests named for a case the catalogue does not have',
      );
    });
  }

  it(`the coverage table in docs/security.md gives each group its catalogue count, ${TOTAL} in all`, () => {
    const rows = [...docs.matchAll(/^\| ([A-J]): [^|]+\| (\d+) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    assert.deepEqual(Object.fromEntries(rows), CATALOGUE);
    assert.match(docs, new RegExp(`^\\| \\*\\*Total\\*\\* \\| \\*\\*${TOTAL}\\*\\* \\|`, 'm'));
  });

  it('each group I case (the attack review) is in the docs with its id and its test file', () => {
    const section = docs.slice(docs.indexOf('## The attack review (group I)'));
    assert.ok(section.length > 0 && docs.includes('## The attack review (group I)'), 'docs/security.md has the group I section');
    const listed = [...section.matchAll(/^\| (I\d{1,2}) \|/gm)].map((m) => m[1]!);
    assert.deepEqual(
      listed,
      Array.from({ length: CATALOGUE.I! }, (_, i) => `I${i + 1}`),
    );
  });

  it('each group J case (identity and credentials) is in the docs with its id', () => {
    const heading = '## Identity headers and per-user credentials (group J)';
    assert.ok(docs.includes(heading), 'docs/security.md has the group J section');
    const section = docs.slice(docs.indexOf(heading));
    const listed = [...section.matchAll(/^\| (J\d{1,2}) \|/gm)].map((m) => m[1]!);
    assert.deepEqual(
      listed,
      Array.from({ length: CATALOGUE.J! }, (_, i) => `J${i + 1}`),
    );
  });

  it('every refusal is asserted with its leak check: no test calls assertGatewayError or its own error-shape helper', () => {
    for (const file of suiteFiles) {
      const text = fs.readFileSync(path.join(here, file), 'utf8');
      assert.doesNotMatch(text, /\bassertGatewayError\s*\(|\bexpectGatewayError\b/, `${file} asserts a refusal without assertRefusal`);
    }
  });

  it('every layer P case asserts through assertParserRejected (relay never reached, process still serving)', () => {
    let cases = 0;
    for (const file of suiteFiles) {
      for (const { title, body } of testBlocks(fs.readFileSync(path.join(here, file), 'utf8'))) {
        if (!title.includes('(layer P)')) continue;
        cases++;
        assert.match(body, /\bassertParserRejected\(/, `${file}: ${title.slice(0, 80)}`);
      }
    }
    assert.ok(cases >= 7, `found ${cases} layer P tests`);
  });

  it('the deviations marked in the tests are exactly the ones docs/security.md lists, and so are the scaled cases', () => {
    const deviations = listedIds('## Design choices that differ from our reference catalogue', '### Cases run at a smaller scale');
    const scaled = listedIds('### Cases run at a smaller scale', '### Other design choices');
    assert.ok(deviations.length > 0 && scaled.length > 0);
    assert.deepEqual(markedIds('Deviation'), deviations);
    assert.deepEqual(markedIds('Scaled'), scaled);
  });
});
