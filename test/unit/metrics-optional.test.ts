/**
 * prom-client is an optional peer dependency: the main entry must never load it, so a host app without
 * metrics needs neither the package nor its start-up cost. Checked in a fresh child process, by what
 * Node's module cache holds after importing the entry (prom-client is CommonJS, so every file of it
 * that loads lands there), with `mcp-header-relay/metrics` as the control that does load it. One child
 * does both, in that order (a Node process costs a second or two of CPU here): the main entry's
 * snapshot is taken before anything imports the metrics entry.
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

/** The prom-client files in the child's module cache after each step: `[main entry used, metrics entry used]`. */
type Snapshots = [mainEntry: string[], metricsEntry: string[]];

/**
 * A fresh child process that imports the main entry and builds a route and captureHeaders, notes the
 * prom-client files loaded, then imports `mcp-header-relay/metrics`, calls relayMetrics() and notes them again.
 */
async function promClientFilesInChild(): Promise<Snapshots> {
  const entry = (file: string) => JSON.stringify(new URL(file, `file://${LIB}/`).href);
  const script = `
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const promClientFiles = () => Object.keys(cache).filter((file) => /[\\\\/]prom-client[\\\\/]/.test(file));
    const main = await import(${entry('index.ts')});
    main.captureHeaders({ allow: ['x-tenant'], logger: { warn() {}, error() {} } });
    main.mcpProxy({ target: 'http://127.0.0.1:9/mcp', session: 'bind', logger: { warn() {}, error() {} } });
    const afterMain = promClientFiles();
    const metrics = await import(${entry('metrics/index.ts')});
    metrics.relayMetrics();
    console.log(JSON.stringify([afterMain, promClientFiles()]));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 15_000,
    killSignal: 'SIGKILL',
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Snapshots;
}

describe('prom-client stays optional', () => {
  let child: Promise<Snapshots> | undefined;
  const snapshots = (): Promise<Snapshots> => (child ??= promClientFilesInChild());

  it('importing the main entry and building a route and captureHeaders loads no prom-client file', async () => {
    assert.deepEqual((await snapshots())[0], []);
  });

  it('the control: importing mcp-header-relay/metrics does load it (so the check above can fail)', async () => {
    const files = (await snapshots())[1];
    assert.ok(files.length > 0, 'prom-client files in the module cache');
  });

  it('no module of the main package names prom-client; only lib/metrics/index.ts and lib/metrics/prometheus-route.ts do', () => {
    const importers = readdirSync(LIB, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => /from ['"]prom-client['"]|import\(['"]prom-client['"]\)|require\(['"]prom-client['"]\)/.test(readFileSync(join(LIB, file), 'utf8')));
    assert.deepEqual(importers.sort(), [join('metrics', 'index.ts'), join('metrics', 'prometheus-route.ts')]);
  });
});
