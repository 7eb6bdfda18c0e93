/**
 * `npm run bench [-- --quick | --long] [--rounds N] [--setups a,b] [--parts a,b] [--streams N]`: the
 * benchmark of docs/benchmarks.md.
 *
 * Backend, gateway and load generator each run in their own process. Every round measures every
 * setup (the second round in reverse order, so drift in the machine does not favour one setup), each
 * after a warm-up; then the parts measured once (bind sessions, idle streams, the long run). Prints a
 * table, checks the targets as ratios within the same run, and writes the whole result as JSON to
 * .bench-results/ (git-ignored). Exits 1 if a target is missed (not with --quick).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { sessionHeaders, startGateway } from './harness.js';
import { ask, runChild, startChild } from './process.js';
import { print, targets, type LongRun, type Report, type SessionsFigures, type SetupFigures } from './report.js';
import type { LoadResult, LoadSpec, GatewayStats, SseResult, SseSpec } from './results.js';
import { startBenchRedis, type BenchRedis } from './redis.js';
import { CALL_BODY, CLIENT_HEADERS, INIT_BODY, SETUPS, STREAMING_SETUPS, type Setup } from './setups.js';
import { LimitError, idleStreams, streamsPlan, type StreamsPlan } from './streams.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const long = args.includes('--long');
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 2;
/** `--setups hpm,relay-request`: only these (for profiling one change); the targets need hpm, direct and both relays. */
const only = args.includes('--setups') ? (args[args.indexOf('--setups') + 1] ?? '').split(',') : undefined;
let setups: Setup[] = SETUPS.filter((s) => !only || only.includes(s));
/** The run's redis-server, for `relay-bind-redis` (bench/redis.ts). */
let redis: BenchRedis | undefined;
/** `--parts streams`: only these parts of the run (`--long` adds `long` to the default ones). */
const PARTS = ['rounds', 'sessions', 'streams', 'long'] as const;
const parts = args.includes('--parts') ? (args[args.indexOf('--parts') + 1] ?? '').split(',') : ['rounds', 'sessions', 'streams', ...(long ? ['long'] : [])];
const unknownPart = parts.find((p) => !(PARTS as readonly string[]).includes(p));
if (unknownPart !== undefined) usage(`--parts: no part '${unknownPart}' (parts: ${PARTS.join(', ')})`);
/** `--streams N`: concurrent streams of the idle-streams part. */
const streamsArg = args.includes('--streams') ? Number(args[args.indexOf('--streams') + 1]) : undefined;
if (streamsArg !== undefined && !(Number.isInteger(streamsArg) && streamsArg > 0)) usage('--streams takes a positive whole number');

/** A run that cannot start: says why, without a stack trace. */
function usage(message: string): never {
  console.error(`npm run bench: ${message}`);
  process.exit(2);
}

/** Durations; `--quick` is a smoke run of the harness, not a measurement. */
const PLAN = {
  warmupSeconds: quick ? 1 : 3,
  throughputSeconds: quick ? 2 : 10,
  latencySeconds: quick ? 2 : 10,
  fixedRate: 500,
  sseSeconds: quick ? 3 : 60,
  sseStreams: 10,
  sseIntervalMs: 100,
  firstEventSamples: quick ? 10 : 50,
  sessions: quick ? 10_000 : 100_000,
  redisLookups: quick ? 1_000 : 20_000,
  longMinutes: 10,
  longStreams: 50,
  streams: streamsArg ?? (quick ? 500 : 10_000),
  streamsSample: quick ? 20 : 100,
  streamsSampleIntervalMs: 200,
  streamsSampleSeconds: quick ? 3 : 20,
};

const load = (spec: LoadSpec): Promise<LoadResult> => runChild<LoadResult>('load.ts', spec);
const sse = (spec: SseSpec): Promise<SseResult> => runChild<SseResult>('sse-client.ts', spec);

async function measureSetup(setup: Setup, backendUrl: string): Promise<SetupFigures> {
  const store = setup === 'relay-bind-redis' ? redis : undefined;
  await store?.flush();
  const gateway = await startGateway(setup, backendUrl);
  try {
    const url = `${gateway ? `http://127.0.0.1:${gateway.hello.port}` : backendUrl}/mcp`;
    const headers = await sessionHeaders(url);
    const post = { url, method: 'POST', headers, body: CALL_BODY } as const;
    await load({ ...post, connections: 32, seconds: PLAN.warmupSeconds });
    const before = gateway && (await ask<GatewayStats>(gateway.process, { cmd: 'stats' }));
    const commandsBefore = await store?.commands();
    const throughput = await load({ ...post, connections: 32, seconds: PLAN.throughputSeconds });
    const commandsAfter = await store?.commands();
    const after = gateway && (await ask<GatewayStats>(gateway.process, { cmd: 'stats' }));
    // CPU per request hardly depends on what else the machine runs, unlike requests per second.
    const cpuMicrosPerRequest = before && after ? (after.cpuMicros - before.cpuMicros) / throughput.requests : undefined;
    const fixedRate = await load({ ...post, connections: 10, seconds: PLAN.latencySeconds, rate: PLAN.fixedRate });
    if (commandsBefore && commandsAfter) {
      const perRequest = (n: number): number => n / throughput.requests;
      const storeCommandsPerRequest = {
        sent: perRequest(commandsAfter.sent - commandsBefore.sent),
        total: perRequest(commandsAfter.total - commandsBefore.total),
      };
      return { throughput, cpuMicrosPerRequest, fixedRate, storeCommandsPerRequest };
    }
    if (!STREAMING_SETUPS.includes(setup)) return { throughput, cpuMicrosPerRequest, fixedRate };
    const firstEvent = await sse({ url, headers, streams: PLAN.firstEventSamples, sequential: true, events: 1, intervalMs: 1 });
    const events = Math.round((PLAN.sseSeconds * 1000) / PLAN.sseIntervalMs);
    const stream = await sse({ url, headers, streams: PLAN.sseStreams, events, intervalMs: PLAN.sseIntervalMs });
    return { throughput, cpuMicrosPerRequest, fixedRate, firstEvent, stream };
  } finally {
    await gateway?.stop();
  }
}

/**
 * Heap held per recorded `bind` session: the heap after N initializes minus before, over N. Through
 * Redis (`relay-bind-redis`), also Redis's own memory (`used_memory`) and commands per initialize.
 */
async function bytesPerSession(backendUrl: string, setup: 'relay-bind' | 'relay-bind-redis' = 'relay-bind'): Promise<SessionsFigures> {
  const store = setup === 'relay-bind-redis' ? redis : undefined;
  await store?.flush();
  const gateway = (await startGateway(setup, backendUrl))!;
  try {
    const init = { url: `http://127.0.0.1:${gateway.hello.port}/mcp`, method: 'POST', headers: CLIENT_HEADERS, body: INIT_BODY } as const;
    await load({ ...init, connections: 32, amount: 2_000 }); // warm-up: JIT and pools, not counted
    const before = await ask<GatewayStats>(gateway.process, { cmd: 'stats' });
    const memoryBefore = await store?.usedMemory();
    const commandsBefore = await store?.commands();
    const run = await load({ ...init, connections: 32, amount: PLAN.sessions });
    const memoryAfter = await store?.usedMemory();
    const commandsAfter = await store?.commands();
    const after = await ask<GatewayStats>(gateway.process, { cmd: 'stats' });
    if (run.ok !== PLAN.sessions) throw new Error(`${setup}: only ${run.ok} of ${PLAN.sessions} initializes succeeded`);
    const figures = { sessions: run.ok, bytesPerSession: (after.heapUsed - before.heapUsed) / run.ok };
    if (memoryBefore === undefined || memoryAfter === undefined || !commandsBefore || !commandsAfter) return figures;
    const redisCommandsPerInitialize = {
      sent: (commandsAfter.sent - commandsBefore.sent) / run.ok,
      total: (commandsAfter.total - commandsBefore.total) / run.ok,
    };
    return { ...figures, redisBytesPerSession: (memoryAfter - memoryBefore) / run.ok, redisCommandsPerInitialize };
  } finally {
    await gateway.stop();
  }
}

/**
 * `--long`: relay RSS and heap every 30 s over one long SSE run; "before" is the first sample after
 * a minute of warm-up and "after" the last one, both taken while the streams are open, so the figure
 * compares the same state.
 */
async function longSse(backendUrl: string): Promise<LongRun> {
  const gateway = (await startGateway('relay-request', backendUrl))!;
  try {
    const url = `http://127.0.0.1:${gateway.hello.port}/mcp`;
    const headers = await sessionHeaders(url);
    const warmupMs = 60_000;
    const events = (warmupMs + PLAN.longMinutes * 60_000 + 20_000) / PLAN.sseIntervalMs;
    const started = Date.now();
    const running = sse({ url, headers, streams: PLAN.longStreams, events, intervalMs: PLAN.sseIntervalMs });
    const samples: (GatewayStats & { atSeconds: number })[] = [];
    const sample = async (): Promise<void> => {
      const stats = await ask<GatewayStats>(gateway.process, { cmd: 'stats' });
      samples.push({ ...stats, atSeconds: Math.round((Date.now() - started) / 1000) });
    };
    const sampler = setInterval(() => void sample(), 30_000);
    const stream = await running.finally(() => clearInterval(sampler));
    const during = samples.filter((s) => s.atSeconds >= warmupMs / 1000 && s.atSeconds <= (warmupMs + PLAN.longMinutes * 60_000) / 1000);
    if (during.length < 2) throw new Error('the long run took too few samples');
    return { minutes: PLAN.longMinutes, before: during[0]!, after: during.at(-1)!, samples, stream };
  } finally {
    await gateway.stop();
  }
}

function planStreams(): StreamsPlan {
  const sample = { sampleStreams: PLAN.streamsSample, sampleIntervalMs: PLAN.streamsSampleIntervalMs, sampleSeconds: PLAN.streamsSampleSeconds };
  try {
    return streamsPlan(PLAN.streams, streamsArg !== undefined, sample);
  } catch (err) {
    if (err instanceof LimitError) usage(err.message);
    throw err;
  }
}

async function main(): Promise<void> {
  // Checked first: a machine that cannot hold the streams should say so before the other parts run.
  const streams = parts.includes('streams') ? planStreams() : undefined;
  if (setups.includes('relay-bind-redis')) {
    redis = await startBenchRedis();
    if (!redis) setups = setups.filter((s) => s !== 'relay-bind-redis');
  }
  const backend = await startChild<{ port: number }>('backend.ts');
  const backendUrl = `http://127.0.0.1:${backend.hello.port}`;
  const report: Report = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAverage: os.loadavg()[0] ?? NaN,
    },
    plan: { ...PLAN, rounds, quick, long },
    parts,
    rounds: [],
    sessions: undefined,
    redisSessions: undefined,
    redisLookupMs: undefined,
    long: undefined,
    streams: undefined,
    targets: [],
  };
  try {
    for (let round = 0; parts.includes('rounds') && round < rounds; round++) {
      const order = round % 2 === 0 ? [...setups] : [...setups].reverse();
      const figures: Partial<Record<Setup, SetupFigures>> = {};
      for (const setup of order) {
        console.error(`round ${round + 1}/${rounds}: ${setup}`);
        figures[setup] = await measureSetup(setup, backendUrl);
      }
      report.rounds.push(figures);
    }
    if (parts.includes('sessions') && setups.includes('relay-bind')) {
      console.error(`sessions: ${PLAN.sessions} bind initializes`);
      report.sessions = await bytesPerSession(backendUrl);
    }
    if (redis && parts.includes('rounds') && setups.includes('relay-bind-redis')) {
      console.error('redis: lookups timed one by one');
      report.redisLookupMs = await redis.lookupLatency(PLAN.redisLookups);
    }
    if (parts.includes('sessions') && setups.includes('relay-bind-redis')) {
      console.error(`sessions: ${PLAN.sessions} bind initializes through Redis`);
      report.redisSessions = await bytesPerSession(backendUrl, 'relay-bind-redis');
    }
    if (streams) report.streams = await idleStreams(backend, streams, setups);
    if (parts.includes('long')) {
      console.error(`long: ${PLAN.longMinutes} min of SSE through the relay`);
      report.long = await longSse(backendUrl);
    }
  } finally {
    await backend.stop();
    await redis?.stop();
  }
  report.targets = targets(report);
  print(report);
  await mkdir('.bench-results', { recursive: true });
  const file = `.bench-results/bench-${report.date.replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten: ${file}`);
  // A quick run checks the harness, not the relay: its figures are too short to judge.
  if (!quick && report.targets.some((t) => !t.met)) process.exitCode = 1;
}

await main();
