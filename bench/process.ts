/**
 * What the benchmark's processes share: a wall clock comparable across processes, and starting a
 * child that announces itself with one JSON line on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

/** Milliseconds since the epoch with sub-millisecond precision; one machine, so processes agree. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

export interface Child<T> {
  readonly process: ChildProcess;
  /** The first JSON line the child printed. */
  readonly hello: T;
  /** Every later JSON line, in order. */
  readonly lines: AsyncIterableIterator<string>;
  stop(): Promise<void>;
}

/** Runs `bench/<script>` under tsx in its own Node process and waits for its first JSON line. */
export async function startChild<T>(script: string, args: string[] = [], nodeFlags: string[] = []): Promise<Child<T>> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path, ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await Promise.race([
    lines.next(),
    once(child, 'exit').then(([code]) => {
      throw new Error(`bench/${script} exited with ${String(code)} before it was ready`);
    }),
  ]);
  if (first.done) throw new Error(`bench/${script} printed nothing`);
  return {
    process: child,
    hello: JSON.parse(first.value) as T,
    lines,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs a child to completion and returns the JSON it printed last. */
export async function runChild<T>(script: string, args: unknown): Promise<T> {
  const child = await startChild<T>(script, [JSON.stringify(args)]);
  await once(child.process, 'exit');
  if (child.process.exitCode !== 0) throw new Error(`bench/${script} failed with exit code ${String(child.process.exitCode)}`);
  return child.hello;
}

/** Asks a child started with an IPC channel for something and waits for its answer. */
export async function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  const answer = once(child, 'message') as Promise<[T]>;
  child.send(message as object);
  return (await answer)[0];
}
