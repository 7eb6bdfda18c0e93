/**
 * Type-checks every ```ts / ```typescript block of README.md and docs/*.md the way a user's project
 * would: each block is an ES module of its own in a temporary project ("type": "module", strict,
 * nodenext), where `mcp-header-relay` resolves to this repository's lib/index.ts (`/metrics` to
 * lib/metrics/index.ts, `/redis` to lib/redis/index.ts) and every other package to its node_modules. A failure is reported at its line in the markdown.
 *
 * Markers, on the line before a block's opening fence:
 *   <!-- not-compiled: reason -->   skip the block (a deliberate fragment; the reason is required)
 *   <!-- continues-previous -->     compile the block appended to the previous block of the same file,
 *                                   for a snippet that builds on the example above it
 *
 * Usage: tsx test/types/check-examples.ts [file.md ...]   (default: README.md docs/*.md)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One fenced block: its code and the markdown line of its first code line. */
interface Block {
  readonly file: string;
  readonly line: number;
  readonly code: string;
  readonly marker: string | undefined;
}

/** Blocks compiled as one module, in order; their markdown lines map its diagnostics back. */
interface Unit {
  readonly name: string;
  readonly blocks: Block[];
}

const FENCE = /^```(\w*)\s*$/;
const MARKER = /^<!--\s*(not-compiled:.*?|continues-previous)\s*-->$/;
const COMPILED = new Set(['ts', 'typescript']);

/** The TypeScript blocks of one markdown file, with the marker on the line before each, if any. */
function extractBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lang = FENCE.exec(lines[i] ?? '')?.[1];
    if (lang === undefined) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end === -1) throw new Error(`${file}:${i + 1}: unclosed code fence`);
    if (COMPILED.has(lang)) {
      const marker = MARKER.exec((lines[i - 1] ?? '').trim())?.[1];
      blocks.push({ file, line: i + 2, code: lines.slice(i + 1, end).join('\n'), marker });
    }
    i = end;
  }
  return blocks;
}

/** Groups blocks into modules; a skipped block is reported and left out. */
function toUnits(blocks: readonly Block[], skipped: string[]): Unit[] {
  const units: Unit[] = [];
  let previous: Unit | undefined;
  for (const block of blocks) {
    const where = `${block.file}:${block.line - 1}`;
    if (block.marker?.startsWith('not-compiled:')) {
      if (block.marker.slice('not-compiled:'.length).trim() === '') throw new Error(`${where}: not-compiled needs a reason`);
      skipped.push(`${where} (${block.marker})`);
      previous = undefined;
    } else if (block.marker === 'continues-previous') {
      if (previous?.blocks[0]?.file !== block.file) throw new Error(`${where}: continues-previous with no compiled block before it in this file`);
      previous.blocks.push(block);
    } else {
      previous = { name: `${path.basename(block.file, '.md')}-${block.line - 1}.ts`, blocks: [block] };
      units.push(previous);
    }
  }
  return units;
}

/** A user's project: ESM, the repo's node_modules, and the package name mapped to lib/. */
function writeProject(dir: string, units: readonly Unit[]): void {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  for (const unit of units) fs.writeFileSync(path.join(dir, unit.name), unit.blocks.map((b) => b.code).join('\n'));
}

function compilerOptions(): ts.CompilerOptions {
  return {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
    paths: {
      'mcp-header-relay': [path.join(repo, 'lib/index.ts')],
      'mcp-header-relay/metrics': [path.join(repo, 'lib/metrics/index.ts')],
      'mcp-header-relay/redis': [path.join(repo, 'lib/redis/index.ts')],
    },
  };
}

/** `docs/x.md:12:5` for a diagnostic in a unit; the path as is for one elsewhere (lib/, a .d.ts). */
function locate(diagnostic: ts.Diagnostic, dir: string, units: readonly Unit[]): string {
  const { file, start } = diagnostic;
  if (file === undefined || start === undefined) return '(project)';
  const { line, character } = file.getLineAndCharacterOfPosition(start);
  const unit = units.find((u) => path.join(dir, u.name) === path.resolve(file.fileName));
  if (unit === undefined) return `${path.relative(repo, file.fileName)}:${line + 1}:${character + 1}`;
  let first = 0;
  for (const block of unit.blocks) {
    const count = block.code.split('\n').length;
    if (line < first + count) return `${block.file}:${block.line + line - first}:${character + 1}`;
    first += count;
  }
  return `${unit.name}:${line + 1}`;
}

function typeCheck(dir: string, units: readonly Unit[]): string[] {
  const program = ts.createProgram(
    units.map((u) => path.join(dir, u.name)),
    compilerOptions(),
  );
  return ts.getPreEmitDiagnostics(program).map((d) => `${locate(d, dir, units)} error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n  ')}`);
}

function markdownFiles(args: readonly string[]): string[] {
  if (args.length > 0) return [...args];
  const docs = fs
    .readdirSync(path.join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

function main(): number {
  const files = markdownFiles(process.argv.slice(2));
  const blocks = files.flatMap((f) => extractBlocks(f, fs.readFileSync(path.resolve(repo, f), 'utf8')));
  const skipped: string[] = [];
  const units = toUnits(blocks, skipped);
  // An extractor that finds nothing would pass anything: that is a failure too.
  if (units.length === 0) {
    console.error(`no TypeScript example found in ${files.join(', ')}`);
    return 1;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-examples-'));
  try {
    writeProject(dir, units);
    const errors = typeCheck(dir, units);
    for (const line of skipped) console.log(`skipped ${line}`);
    for (const error of errors) console.error(error);
    console.log(
      `examples: ${blocks.length - skipped.length} blocks in ${units.length} modules type-checked, ${skipped.length} skipped, ${errors.length} errors`,
    );
    return errors.length === 0 ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main();
} catch (error) {
  // A malformed marker or fence: the message names the file and line, a stack would only hide it.
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
