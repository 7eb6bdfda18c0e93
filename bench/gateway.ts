/**
 * Benchmark gateway, run as its own process: `gateway.ts <setup> <backend url> [uncapped]`. Every setup
 * serves `/mcp` on an Express 5 app so that the only difference between two setups is what they measure.
 * Prints `{"port":N}` once listening; answers `{cmd:'stats'}` over IPC with memoryUsage() after a
 * full GC (start it with --expose-gc) and the CPU time used so far, `{cmd:'loop'}` with its event-loop
 * delay since the previous `loop` (the first one starts measuring); `{cmd:'profile-start'}` and
 * `{cmd:'profile-stop', file}` record a CPU profile of what happens between them.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { answerPost } from './mcp-answer.js';
import { createClient } from 'redis';
import type * as Relay from '../lib/index.js';
import type * as RelayRedis from '../lib/redis/index.js';
import { LOOP_RESOLUTION_MS, loopDelay, type Percentiles } from './results.js';
import { SETUPS, type Setup } from './setups.js';

// The relay as users run it: the tsc build in dist/ (`npm run bench` builds first), typed as lib/.
// Run through tsx, lib/ would carry esbuild's per-closure __name() calls, which bare HPM does not pay.
const { captureHeaders, envSecrets, mcpProxy } = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Relay;

const [setup, backend, uncapped] = process.argv.slice(2) as [Setup, string, 'uncapped' | undefined];
if (!SETUPS.includes(setup) || !backend) throw new Error(`usage: gateway.ts <${SETUPS.join('|')}> <backend url> [uncapped]`);

/**
 * `relay-bind-redis`: the `bind` route with its sessions in the run's redis-server (BENCH_REDIS_URL,
 * bench/redis.ts), through node-redis as docs/deployment.md shows.
 */
async function redisStore(): Promise<Relay.SessionStore> {
  const { redisSessionStore } = (await import(new URL('../dist/redis/index.js', import.meta.url).href)) as typeof RelayRedis;
  const client = createClient({ url: process.env.BENCH_REDIS_URL });
  client.on('error', (err: unknown) => console.error('gateway redis client:', err));
  await client.connect();
  return redisSessionStore({ sendCommand: (args) => client.sendCommand(args) });
}
const store = setup === 'relay-bind-redis' ? await redisStore() : undefined;

/** The relay as the issue fixes it for the benchmark: 2 captured, 2 static and 1 secret-backed header. */
/**
 * `relay-identity`: the `request` route plus what issue 11 measures: a header computed from the
 * request and a per-user credential from a cached source (every request a cache hit after the first).
 */
const identity = {
  fromRequest: {
    'X-User-Id': (req: { headers: Record<string, unknown> }) =>
      typeof req.headers['x-tenant'] === 'string' ? `user-of-${req.headers['x-tenant']}` : undefined,
  },
  fromCredential: {
    'X-Backend-Token': {
      description: 'bench per-user tokens',
      key: (req: { headers: Record<string, unknown> }) => (typeof req.headers['x-tenant'] === 'string' ? req.headers['x-tenant'] : undefined),
      resolve: (key: string) => Promise.resolve({ value: `Bearer token-for-${key}`, expiresIn: 3600 }),
    },
  },
};

function relay(session: 'request' | 'bind', withIdentity = false): express.RequestHandler[] {
  return [
    captureHeaders({ allow: ['x-mcp-api-key', 'x-tenant'] }),
    mcpProxy({
      target: `${backend}/mcp`,
      headers: {
        plaintext: { 'X-MCP-Toolsets': 'projects', 'X-Region': 'eu-west' },
        fromSecret: { 'X-Api-Key': 'BENCH_BACKEND_KEY' },
        ...(withIdentity ? identity : {}),
      },
      secrets: envSecrets({ BENCH_BACKEND_KEY: 'bench-backend-key-0123456789' }),
      session:
        session === 'bind' ? { mode: 'bind', maxSessions: 10_000_000, ...(store && { store, sessionKey: 'bench-session-key-'.padEnd(32, '0') }) } : 'request',
    }),
  ];
}

/**
 * `uncapped` (the idle-streams part): bare HPM gets a pool like the relay's own. httpxy's shared default
 * allows 256 sockets per backend, so every stream past the 256th would wait for a socket and never open.
 */
function hpmAgent(): { agent?: http.Agent } {
  return uncapped ? { agent: new http.Agent({ keepAlive: true, maxFreeSockets: 64 }) } : {};
}

function handlers(): express.RequestHandler[] {
  switch (setup) {
    case 'express':
      return [answerPost];
    case 'hpm':
      return [createProxyMiddleware({ target: `${backend}/mcp`, changeOrigin: true, ...hpmAgent() })];
    case 'relay-request':
      return relay('request');
    case 'relay-bind':
    case 'relay-bind-redis':
      return relay('bind');
    case 'relay-identity':
      return relay('request', true);
    case 'direct':
      throw new Error('the direct setup has no gateway');
  }
}

const app = express();
app.use('/mcp', ...handlers());
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
server.keepAliveTimeout = 60_000;

/** Memory after a full GC, and the CPU time used so far. */
function stats(): NodeJS.MemoryUsage & { cpuMicros: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const cpu = process.cpuUsage();
  return { ...process.memoryUsage(), cpuMicros: cpu.user + cpu.system };
}

/** Enabled by the first `loop` command only: its 10 ms timer would otherwise add to every other figure's CPU time. */
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });

function loopSinceLast(): Percentiles {
  const delay = loopDelay(loop);
  loop.reset();
  loop.enable();
  return delay;
}

// bench/profile.ts: a CPU profile of the measured window only (no start-up, no warm-up).
const inspector = new Session();

function profile(message: { cmd?: string; file?: string }): void {
  if (message.cmd === 'profile-start') {
    inspector.connect();
    inspector.post('Profiler.enable', () => inspector.post('Profiler.start', () => process.send?.({ started: true })));
    return;
  }
  inspector.post('Profiler.stop', (err, result) => {
    if (!err && message.file) writeFileSync(message.file, JSON.stringify(result.profile));
    process.send?.({ written: !err });
  });
}

process.on('message', (message: { cmd?: string; file?: string }) => {
  if (message.cmd === 'stats') process.send?.(stats());
  else if (message.cmd === 'loop') process.send?.(loopSinceLast());
  else if (message.cmd === 'profile-start' || message.cmd === 'profile-stop') profile(message);
});
process.on('SIGTERM', () => process.exit(0));
