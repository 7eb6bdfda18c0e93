/**
 * The idle-streams part of the run (docs/benchmarks.md, "Idle streams"): N concurrent GET SSE streams
 * through one gateway process, each on its own HTTP/1.1 connection through to the backend, almost all
 * of them idle. Measures the gateway's RSS per open stream (after a full GC, against its RSS after a
 * warm-up) and, while all N are open, the delay of timed events on a sample of them.
 *
 * The idle streams come from bench/idle-client.ts processes; the timed sample from a separate
 * bench/sse-client.ts process, so opening and holding thousands of sockets cannot delay the events it
 * times. That client reports its own event-loop delay too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, sessionHeaders, type Gateway } from './harness.js';
import { ask, runChild, startChild, type Child } from './process.js';
import type { GatewayStats, IdleOpened, IdleSpec, Percentiles, SseResult, SseSpec } from './results.js';
import type { Setup } from './setups.js';

/** The setups this part measures: the relay, and bare HPM for comparison. */
export const STREAM_SETUPS: readonly Setup[] = ['hpm', 'relay-request'];

export interface StreamsPlan {
  /** What was asked for (`--streams N`, or the default). */
  requested: number;
  /** What this run opens: `requested`, or fewer where the open-files limit allows no more (see `streamsPlan`). */
  streams: number;
  fdHardLimit: number;
  /** Of the `streams`, this many carry a timed event every `sampleIntervalMs` for `sampleSeconds`. */
  sampleStreams: number;
  sampleIntervalMs: number;
  sampleSeconds: number;
}

export interface StreamsFigures {
  /** GET streams the backend had open with all of them open: the divisor of the per-stream figures. */
  open: number;
  /** Idle streams that did not open, and idle streams that closed while they should have stayed open. */
  failed: number;
  dropped: number;
  /** Wall time to open the idle streams. */
  openSeconds: number;
  /** The gateway after the warm-up, and with every stream open; both after a full GC. */
  before: GatewayStats;
  withStreams: GatewayStats;
  rssPerStreamKiB: number;
  heapPerStreamKiB: number;
  /** Event delay on the timed sample (and that client's own event-loop delay), with all streams open. */
  sample: SseResult;
  /** The gateway's event-loop delay while the sample ran. */
  gatewayLoopDelayMs: Percentiles;
}

export interface StreamsRun {
  plan: StreamsPlan;
  setups: Partial<Record<Setup, StreamsFigures>>;
}

/** This machine cannot hold the streams asked for: a message for the person running the benchmark, not a stack trace. */
export class LimitError extends Error {
  override name = 'LimitError';
}

/** Open files a gateway process has besides its sockets (stdio, IPC, epoll, tsx's): 28 counted, with room. */
const FD_RESERVE = 64;
/** Idle streams per client process: well inside any client's open-files limit. */
const STREAMS_PER_CLIENT = 5_000;

/**
 * How many streams this machine allows. Node raises its own soft open-files limit to the hard limit
 * at startup, so each child may hold up to `ulimit -Hn` descriptors, and the gateway needs two per
 * stream (client side and backend side). An explicit `--streams N` that does not fit fails here,
 * before anything runs; the default is lowered to what fits, and the output says so.
 */
export function streamsPlan(requested: number, explicit: boolean, sample: Omit<StreamsPlan, 'requested' | 'streams' | 'fdHardLimit'>): StreamsPlan {
  const fdHardLimit = hardLimit();
  checkPortRange(requested);
  const fits = Math.floor((fdHardLimit - FD_RESERVE) / 2 / 100) * 100;
  const plan = { ...sample, requested, streams: requested, fdHardLimit };
  if (requested <= fits) return plan;
  const need = 2 * requested + FD_RESERVE;
  const why = `${requested} streams need ${need} open files in the gateway process (2 sockets per stream + ${FD_RESERVE}); the hard limit here (ulimit -Hn) is ${fdHardLimit}`;
  if (explicit)
    throw new LimitError(
      `${why}. Raise it (as root: ulimit -Hn ${need} in the shell that runs npm run bench; systemd: LimitNOFILE=${need}) or pass --streams ${fits}.`,
    );
  console.error(`streams: ${why}, so this run opens ${fits}`);
  return { ...plan, streams: fits };
}

function hardLimit(): number {
  const limit = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return limit === 'unlimited' ? Infinity : Number(limit);
}

/** Each hop (client to gateway, gateway to backend) needs an ephemeral port per stream towards one address. */
function checkPortRange(streams: number): void {
  const file = '/proc/sys/net/ipv4/ip_local_port_range';
  if (!existsSync(file)) return;
  const [low, high] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number) as [number, number];
  const ports = high - low + 1;
  if (ports < streams + 1_000)
    throw new LimitError(`${streams} streams need more than ${ports} ephemeral ports (${file} is ${low}-${high}): widen it or pass a smaller --streams`);
}

/** Measures each of `setups` (those of STREAM_SETUPS) in turn, each in a fresh gateway process. */
export async function idleStreams(backend: Child<{ port: number }>, plan: StreamsPlan, setups: readonly Setup[]): Promise<StreamsRun> {
  const run: StreamsRun = { plan, setups: {} };
  for (const setup of STREAM_SETUPS.filter((s) => setups.includes(s))) {
    console.error(`streams: ${plan.streams} through ${setup}`);
    run.setups[setup] = await measure(setup, backend, plan);
  }
  return run;
}

async function measure(setup: Setup, backend: Child<{ port: number }>, plan: StreamsPlan): Promise<StreamsFigures> {
  const gateway = (await startGateway(setup, `http://127.0.0.1:${backend.hello.port}`, ['uncapped']))!;
  const clients: Child<unknown>[] = [];
  try {
    const url = `http://127.0.0.1:${gateway.hello.port}/mcp`;
    const headers = await sessionHeaders(url);
    await warmUp(url, headers, backend);
    const before = await ask<GatewayStats>(gateway.process, { cmd: 'stats' });
    const idle = await openIdle({ url, headers, streams: plan.streams - plan.sampleStreams, concurrency: 32, openTimeoutMs: 30_000 }, clients);
    await ask(gateway.process, { cmd: 'loop' });
    const events = Math.round((plan.sampleSeconds * 1000) / plan.sampleIntervalMs);
    const sample = await startChild<SseResult>('sse-client.ts', [
      JSON.stringify({ url, headers, streams: plan.sampleStreams, events, intervalMs: plan.sampleIntervalMs, keepOpen: true } satisfies SseSpec),
    ]);
    clients.push(sample);
    const gatewayLoopDelayMs = await ask<Percentiles>(gateway.process, { cmd: 'loop' });
    const { open } = await ask<{ open: number }>(backend.process, { cmd: 'streams' });
    const withStreams = await ask<GatewayStats>(gateway.process, { cmd: 'stats' });
    const dropped = await droppedStreams(idle.children);
    const perStreamKiB = (field: 'rss' | 'heapUsed'): number => (withStreams[field] - before[field]) / open / 1024;
    return {
      open,
      failed: idle.failed,
      dropped,
      openSeconds: idle.seconds,
      before,
      withStreams,
      rssPerStreamKiB: perStreamKiB('rss'),
      heapPerStreamKiB: perStreamKiB('heapUsed'),
      sample: sample.hello,
      gatewayLoopDelayMs,
    };
  } finally {
    await stopAll(gateway, clients, backend);
  }
}

/** JIT, pools and the gateway's first-use allocations, so `before` is the gateway ready for streams. */
async function warmUp(url: string, headers: Record<string, string>, backend: Child<{ port: number }>): Promise<void> {
  const clients: Child<unknown>[] = [];
  await openIdle({ url, headers, streams: 500, concurrency: 32, openTimeoutMs: 30_000 }, clients);
  await Promise.all(clients.map((c) => c.stop()));
  await runChild<SseResult>('sse-client.ts', { url, headers, streams: 10, events: 20, intervalMs: 50 } satisfies SseSpec);
  await backendIdle(backend);
}

/** Spreads `spec.streams` over client processes and waits until each has opened its share. */
async function openIdle(spec: IdleSpec, clients: Child<unknown>[]): Promise<{ children: Child<IdleOpened>[]; failed: number; seconds: number }> {
  const processes = Math.ceil(spec.streams / STREAMS_PER_CLIENT);
  const shares = Array.from({ length: processes }, (_, i) => Math.floor(spec.streams / processes) + (i < spec.streams % processes ? 1 : 0));
  const started = await Promise.allSettled(shares.map((streams) => startChild<IdleOpened>('idle-client.ts', [JSON.stringify({ ...spec, streams })])));
  const children = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  clients.push(...children);
  const failure = started.find((s) => s.status === 'rejected');
  if (failure) throw failure.reason;
  return {
    children,
    failed: children.reduce((n, c) => n + c.hello.failed, 0),
    seconds: Math.max(...children.map((c) => c.hello.seconds)),
  };
}

async function droppedStreams(children: Child<IdleOpened>[]): Promise<number> {
  const held = await Promise.all(children.map((c) => ask<{ dropped: number }>(c.process, { cmd: 'stats' })));
  return held.reduce((n, h) => n + h.dropped, 0);
}

/** The gateway first: the kernel then closes its thousands of sockets at once, instead of one close event each. */
async function stopAll(gateway: Gateway, clients: Child<unknown>[], backend: Child<{ port: number }>): Promise<void> {
  await gateway.stop();
  await Promise.all(clients.map((c) => c.stop()));
  await backendIdle(backend);
}

/** Waits until the backend has seen every stream close, so the next measurement starts from none. */
async function backendIdle(backend: Child<{ port: number }>): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 100) {
    if ((await ask<{ open: number }>(backend.process, { cmd: 'streams' })).open === 0) return;
    await sleep(100);
  }
  throw new Error('the backend still has streams open 30 s after their clients left');
}
