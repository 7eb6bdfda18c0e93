/**
 * The `mcp-header-relay` command as a user runs it, for the end-to-end tests: a child process (`node
 * --import tsx lib/cli/main.ts`, the same code the bin runs built) in the repository root, with its
 * output collected. `serve` resolves once the `listening` line arrives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './wait.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const START_MS = 15_000;

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Served {
  child: ChildProcess;
  url: string;
  admin: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A temp directory for a test file's gateway files; `write(name, text)` returns the file's path. */
export function fileDir(prefix: string): { dir: string; write: (name: string, text: string) => string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    dir,
    write: (name, text) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    },
  };
}

export function command(args: readonly string[], env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'lib/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the command to its end. */
export async function run(args: readonly string[], env: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []): Promise<Ran> {
  const child = command(args, env, nodeArgs);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await withTimeout(new Promise<number | null>((resolve) => child.once('exit', resolve)), `${args.join(' ')} to exit`, START_MS);
  return { code, stdout, stderr };
}

/** Starts `serve --config file` and waits for its `listening` line. */
export function serve(file: string, env: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []): Promise<Served> {
  return serveWith(['serve', '--config', file], env, nodeArgs);
}

/** Starts `serve` with any arguments and waits for its `listening` line. */
export async function serveWith(args: readonly string[], env: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []): Promise<Served> {
  const child = command(args, env, nodeArgs);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = await withTimeout(
    new Promise<{ url: string; admin: string }>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.includes('"msg":"listening"'));
        if (line) resolve(JSON.parse(line) as { url: string; admin: string });
      });
      void exited.then(({ code }) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    }),
    'the gateway to listen',
    START_MS,
  );
  return { child, ...listening, stdout: () => stdout, stderr: () => stderr, exited };
}

/**
 * Ends a gateway as a supervisor does (SIGTERM: it drains, then exits 0), so the child writes its
 * coverage data when `npm run coverage` runs the suite; SIGKILL only if it has not exited in time.
 */
export async function stop(gateway: Served): Promise<void> {
  if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) return;
  gateway.child.kill('SIGTERM');
  try {
    await withTimeout(gateway.exited, 'the gateway to exit after SIGTERM', START_MS);
  } catch (error) {
    gateway.child.kill('SIGKILL');
    throw error;
  }
}

/** A module hook (for `node --import`) that makes `import(pkg)` fail as it does where the package is not installed. */
export function hideModule(pkg: string): string {
  return `import { register } from 'node:module';
const hook = \`export async function resolve(specifier, context, next) {
  if (specifier === '${pkg}' || specifier.startsWith('${pkg}/')) {
    const error = new Error("Cannot find package '${pkg}' (hidden by the test)");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}\`;
register('data:text/javascript,' + encodeURIComponent(hook));
`;
}
