/**
 * Secret files that can block a reader (a FIFO, /dev/zero behind a symlink), read in a child process:
 * a regression that blocks then fails the test on a timeout instead of hanging the whole run.
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIB_INDEX = new URL('../../lib/index.ts', import.meta.url).href;

/** Whether `mkfifo` is on the PATH (FIFO cases skip without it). */
export function hasMkfifo(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v mkfifo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface SecretInChild {
  /** `fileSecrets(dir).read(name)`: whether it threw, the error's name and message, how long it took. */
  read: { threw: boolean; name?: string; message?: string; ms: number };
  /** An mcpProxy whose `X-Api-Key` comes from `name` in fileSecrets(dir): the HeaderConfigError's code and path if it threw. */
  construct: { threw: boolean; code?: string; path?: string; message?: string; ms: number };
}

/** Reads `name` from fileSecrets(dir), then builds an mcpProxy with it, in a child process (15 s at most). */
export async function secretInChild(dir: string, name: string): Promise<SecretInChild> {
  const script = `
    const { fileSecrets, mcpProxy } = await import(${JSON.stringify(LIB_INDEX)});
    const dir = ${JSON.stringify(dir)}, name = ${JSON.stringify(name)};
    const out = {};
    let t0 = Date.now();
    try { fileSecrets(dir).read(name); out.read = { threw: false }; }
    catch (e) { out.read = { threw: true, name: e.name, message: e.message }; }
    out.read.ms = Date.now() - t0;
    t0 = Date.now();
    try {
      mcpProxy({ target: 'http://127.0.0.1:9/mcp', headers: { fromSecret: { 'X-Api-Key': name } }, secrets: fileSecrets(dir),
        logger: { warn() {}, error() {} } });
      out.construct = { threw: false };
    } catch (e) { out.construct = { threw: true, code: e.code, path: e.path, message: e.message }; }
    out.construct.ms = Date.now() - t0;
    console.log(JSON.stringify(out));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 15_000,
    killSignal: 'SIGKILL',
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as SecretInChild;
}
