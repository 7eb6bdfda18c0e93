/**
 * prom-client is an optional peer dependency: the main entry must never load it, so a host app without
 * metrics needs neither the package nor its start-up cost. Checked in a fresh child process, by what
 * Node's module cache holds after importing the entry (prom-client is CommonJS, so every file of it
 * that loads lands there), with `mcp-header-relay/metrics` as the control that does load it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIB = join(ROOT, 'lib');

/** The prom-client files loaded in a child process that imports `entry` and runs `use` on it. */
async function promClientFilesAfter(entry: string, use: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    const mod = await import(${JSON.stringify(new URL(entry, `file://${LIB}/`).href)});
    ${use}
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).filter((file) => /[\\\\/]prom-client[\\\\/]/.test(file))));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 15_000,
    killSignal: 'SIGKILL',
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as string[];
}

describe('prom-client stays optional', () => {
  it('importing the main entry and building a route and captureHeaders loads no prom-client file', async () => {
    const use = `
      mod.captureHeaders({ allow: ['x-tenant'], logger: { warn() {}, error() {} } });
      mod.mcpProxy({ target: 'http://127.0.0.1:9/mcp', session: 'bind', logger: { warn() {}, error() {} } });
    `;
    assert.deepEqual(await promClientFilesAfter('index.ts', use), []);
  });

  it('the control: importing mcp-header-relay/metrics does load it (so the check above can fail)', async () => {
    const files = await promClientFilesAfter('metrics/index.ts', 'mod.relayMetrics();');
    assert.ok(files.length > 0, 'prom-client files in the module cache');
  });

  it('no module of the main package names prom-client; only lib/metrics/index.ts and lib/metrics/prometheus-route.ts do', () => {
    const importers = readdirSync(LIB, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => /from ['"]prom-client['"]|import\(['"]prom-client['"]\)|require\(['"]prom-client['"]\)/.test(readFileSync(join(LIB, file), 'utf8')));
    assert.deepEqual(importers.sort(), [join('metrics', 'index.ts'), join('metrics', 'prometheus-route.ts')]);
  });
});
