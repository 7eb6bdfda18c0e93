/**
 * A gateway in its own Node process, for test/security/i-responses.test.ts (I1): the old lib crashes
 * the process on some backend status lines, which would take the test runner down with it in-process.
 *
 * The fixture prints `READY <port>` when listening and every relay log call as one JSON line
 * `{"log":level,"message":…,"fields":…}` on stdout; those lines are replayed into a capture logger,
 * so the suite's `assertRefusal`/`assertNoLeak` check them like in-process log lines.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogFields } from '../../lib/index.js';
import { captureLogger } from './capture-logger.js';
import { rawRequest, type RawResponse } from './raw-http.js';
import type { CapturedLogger } from './sec-relay.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What one request through the child gateway came to. */
export type ChildOutcome =
  | { kind: 'response'; res: RawResponse }
  /** The gateway process died while (or before) the request was answered. */
  | { kind: 'exited'; exit: ChildExit }
  /** No complete response in time, or the connection closed without one while the process lived on. */
  | { kind: 'failed'; message: string };

export interface ChildGateway {
  port: number;
  /** The relay's log calls as the child printed them (start-up lines included). */
  logger: CapturedLogger;
  /** Everything the child wrote on stdout and stderr so far. */
  output(): { stdout: string; stderr: string };
  /** Undefined while the process runs. */
  exit(): ChildExit | undefined;
  /** The error line(s) of the crash on stderr, e.g. `RangeError [ERR_HTTP_INVALID_STATUS_CODE]: Invalid status code: 0`. */
  crash(): string;
  /** Sends `request` over a fresh TCP connection (raw-http `rawRequest`) and says how it ended. */
  request(request: string | Buffer, timeoutMs: number): Promise<ChildOutcome>;
  /** Ends stdin (the fixture then exits); kills the process if it has not exited within 5 s. */
  stop(): Promise<void>;
}

/** Starts `node --import tsx <fixture>` (path relative to the package root) with `env` added. */
export async function childGateway(fixture: string, env: Record<string, string>, readyMs = 20_000): Promise<ChildGateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, fixture)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const logger = captureLogger();
  let stdout = '';
  let stderr = '';
  let pending = '';
  let exited: ChildExit | undefined;
  const exitedPromise = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    }),
  );
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as { log: 'warn' | 'error' | 'info' | 'debug'; message: string; fields: LogFields };
        logger[parsed.log]?.(parsed.fields, parsed.message);
      } catch {
        // Not one of the fixture's log lines; still part of `output()` for the leak checks.
      }
    }
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child gateway not ready in ${readyMs} ms: ${stdout}${stderr}`)), readyMs);
    const check = (): void => {
      const m = /READY (\d+)/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve(Number(m[1]));
    };
    child.stdout.on('data', check);
    void exitedPromise.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`child gateway exited (${exit.code ?? exit.signal}) before it was ready: ${stdout}${stderr}`));
    });
  });

  const crash = (): string =>
    stderr
      .split('\n')
      .filter((l) => /^\s*(\w*Error\b|code:)/.test(l))
      .map((l) => l.trim())
      .join(' | ');

  return {
    port,
    logger,
    output: () => ({ stdout, stderr }),
    exit: () => exited,
    crash,
    async request(request, timeoutMs) {
      if (exited) return { kind: 'exited', exit: exited };
      try {
        return { kind: 'response', res: await rawRequest(port, request, timeoutMs) };
      } catch (err) {
        // The client socket closes a moment before the parent sees the child's `exit`.
        const exit = await Promise.race([exitedPromise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000).unref())]);
        if (exit) return { kind: 'exited', exit };
        return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
      }
    },
    async stop() {
      if (!exited) child.stdin.end();
      const timer = setTimeout(() => child.kill(), 5000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
