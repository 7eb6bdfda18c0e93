/**
 * A real redis-server for the tests and the benchmark: Debian's package (`.ci/run` installs it when it
 * is missing), started on a free loopback port with a temporary directory of its own, no persistence,
 * and stopped afterwards (also when the test process exits without stopping it). `kill()` is a crash
 * (SIGKILL), `restart()` starts it again on the same port: what Redis going down and coming back looks
 * like to its clients; `pause()` and `resume()` (SIGSTOP, SIGCONT) are a Redis that hangs. Without redis-server on PATH, `startRedis()` throws: those tests fail, never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** Whether the server process is running. */
  running(): boolean;
  /** SIGKILL, and waits for the process to be gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing (a Redis that hangs), until `resume()`. */
  pause(): void;
  /** SIGCONT after `pause()`: the server answers what it was sent meanwhile. */
  resume(): void;
  /** Starts it again on the same port and directory (empty: nothing is persisted), ready for commands. */
  restart(): Promise<void>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Cluster mode with one node holding all 16384 slots: a real cluster for cluster clients. */
  cluster?: boolean;
}

const MISSING =
  'redis-server was not found on PATH. The Redis session store tests need a real Redis: install it (Debian/Ubuntu: apt-get install -y redis-server); .ci/run does so when it is missing';

const running = new Set<ChildProcess>();
const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL');
};
process.once('exit', killAll);
// A signal ends the process without 'exit' (node --test cancelling a file, ^C): the servers go first,
// then the signal is raised again, to end the process as it would have.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

export function redisServerPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const file = found.stdout.trim();
  return found.status === 0 && file !== '' ? file : undefined;
}

/** Starts redis-server on a free port of 127.0.0.1 and waits until it answers PING (and, for a cluster, until it is up). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error(MISSING);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-redis-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await serve(binary, dir, port, options);
    } catch (err) {
      // Another process may have taken the port between freePort() and redis-server's bind.
      if (attempt >= 5) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

async function serve(binary: string, dir: string, port: number, options: RedisOptions): Promise<RedisServer> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', ''];
  // A lone node does not know its own address until it meets another: announced, so CLUSTER SLOTS names it.
  if (options.cluster)
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--cluster-announce-ip', '127.0.0.1');
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const spawned = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = spawned;
    running.add(spawned);
    let output = '';
    spawned.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    spawned.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    spawned.once('exit', () => running.delete(spawned));
    const exited = once(spawned, 'exit').then(([code, signal]) => {
      throw new Error(`redis-server on port ${port} exited (${String(code ?? signal)}) before it was ready:\n${output}`);
    });
    await Promise.race([ready(port, options.cluster ?? false), exited]);
    exited.catch(() => {}); // later exits are kill()'s business
  };
  const kill = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const gone = once(current, 'exit');
    current.kill('SIGKILL');
    await gone;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    kill,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls until the server answers PING (a cluster node: until it has taken every slot and says cluster_state:ok). */
async function ready(port: number, cluster: boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  let slotsAdded = false;
  while (Date.now() < deadline) {
    const pong = await command(port, ['PING']).catch(() => undefined);
    if (pong === '+PONG') {
      if (!cluster || (await command(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return;
      // A restarted node keeps its slots (its nodes.conf); a new one takes them all.
      if (!slotsAdded) await command(port, ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']).catch(() => undefined);
      slotsAdded = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server on port ${port} did not become ready within 10 s`);
}

/**
 * One command over a fresh connection, its reply's first line (or a bulk string's content): enough for
 * PING and CLUSTER during start-up. The tests talk to Redis through real clients.
 */
export function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('no reply')));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end === -1) return;
      const head = reply.slice(0, end);
      if (head.startsWith('$')) {
        const length = Number(head.slice(1));
        if (reply.length < end + 2 + length) return;
        resolve(reply.slice(end + 2, end + 2 + length));
      } else if (head.startsWith('-')) reject(new Error(head.slice(1)));
      else resolve(head);
      socket.end();
    });
    socket.write(args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).reduce((wire, part) => wire + part, `*${args.length}\r\n`));
  });
}
