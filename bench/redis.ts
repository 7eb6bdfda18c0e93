/**
 * The Redis side of the benchmark (docs/benchmarks.md, "Bind through Redis"): a redis-server started
 * with the tests' helper (a free loopback port, its own directory, no persistence), announced to the
 * gateway processes in BENCH_REDIS_URL, and what Redis itself reports: its memory (`used_memory`) and
 * how many commands it ran (`INFO commandstats`), for bytes per session and commands per request.
 * Without redis-server the `relay-bind-redis` setup is left out of the run, with a note.
 */
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import type * as RelayRedis from '../lib/redis/index.js';
import { redisServerPath, startRedis, type RedisServer } from '../test/helpers/redis-server.js';
import { percentiles, type Percentiles } from './results.js';

export const REDIS_URL_ENV = 'BENCH_REDIS_URL';

export interface BenchRedis {
  /** Redis's own memory use now, in bytes. */
  usedMemory(): Promise<number>;
  /**
   * Commands Redis has run so far, INFO's own excepted: `sent` by clients (the store's EVALSHA and EVAL:
   * one round trip each), and `total`, which adds those its scripts ran.
   */
  commands(): Promise<{ sent: number; total: number }>;
  /** Empties it, so each setup and part starts from nothing. */
  flush(): Promise<void>;
  /**
   * What the store adds to a request of a session: `samples` lookups of one session one after another
   * (the built store, through node-redis from this process), in ms.
   */
  lookupLatency(samples: number): Promise<Percentiles>;
  stop(): Promise<void>;
}

/** Starts redis-server for the run, or says why the Redis setup is left out. */
export async function startBenchRedis(): Promise<BenchRedis | undefined> {
  if (redisServerPath() === undefined) {
    console.error('redis-server not found: relay-bind-redis is left out of this run (Debian: apt-get install -y redis-server)');
    return undefined;
  }
  const server: RedisServer = await startRedis();
  process.env[REDIS_URL_ENV] = server.url;
  const client = createClient({ url: server.url });
  client.on('error', (err: unknown) => console.error('bench redis client:', err));
  await client.connect();
  const info = (section: string): Promise<string> => client.info(section);
  return {
    async usedMemory() {
      return Number(/^used_memory:(\d+)/m.exec(await info('memory'))?.[1]);
    },
    async commands() {
      const stats = await info('commandstats');
      const counts = { sent: 0, total: 0 };
      for (const [, name, n] of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
        if (name === 'info') continue;
        counts.total += Number(n);
        if (name === 'eval' || name === 'evalsha') counts.sent += Number(n);
      }
      return counts;
    },
    async flush() {
      await client.sendCommand(['FLUSHALL']);
      await client.sendCommand(['CONFIG', 'RESETSTAT']);
    },
    async lookupLatency(samples) {
      const { redisSessionStore } = (await import(new URL('../dist/redis/index.js', import.meta.url).href)) as typeof RelayRedis;
      const store = redisSessionStore({ sendCommand: (args) => client.sendCommand(args), prefix: 'bench-lookup:' });
      const key = 'http://127.0.0.1/mcp\nbench-session';
      await store.set(key, 'fingerprint', { idleMs: 600_000, absoluteMs: 600_000 });
      for (let i = 0; i < 500; i++) await store.get(key); // warm-up
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        const started = performance.now();
        await store.get(key);
        times.push(performance.now() - started);
      }
      return percentiles(times);
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
