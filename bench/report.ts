/** The benchmark report: its shape, the targets of docs/benchmarks.md, and the printed table. */
import type { GatewayStats, LoadResult, Percentiles, SseResult } from './results.js';
import { SETUPS, type Setup } from './setups.js';
import type { StreamsRun } from './streams.js';

export interface SetupFigures {
  throughput: LoadResult;
  /** Gateway CPU time per request during the throughput run (none for `direct`). */
  cpuMicrosPerRequest: number | undefined;
  fixedRate: LoadResult;
  firstEvent?: SseResult;
  stream?: SseResult;
  /** `relay-bind-redis`: commands Redis ran during the throughput run, per request (bench/redis.ts). */
  storeCommandsPerRequest?: RedisCommands;
}

/** The sessions part: the relay's heap per recorded session; through Redis, Redis's memory and commands too. */
export interface SessionsFigures {
  sessions: number;
  bytesPerSession: number;
  /** Growth of Redis's `used_memory` over the initializes, per session. */
  redisBytesPerSession?: number;
  redisCommandsPerInitialize?: RedisCommands;
}

/** Commands per request or initialize: `sent` by the relay (round trips), `total` with those its scripts ran. */
export interface RedisCommands {
  sent: number;
  total: number;
}

export interface Target {
  name: string;
  value: number;
  limit: string;
  met: boolean;
}

export interface LongRun {
  minutes: number;
  /** Samples every 30 s (after a full GC) with streams open; before/after: 1 min in, and `minutes` later. */
  before: GatewayStats;
  after: GatewayStats;
  samples: (GatewayStats & { atSeconds: number })[];
  stream: SseResult;
}

export interface Report {
  date: string;
  /** `loadAverage`: the 1-minute load average when the run started; above the core count, other work shares the CPUs. */
  machine: { cpus: number; cpu: string; memoryGiB: number; node: string; platform: string; loadAverage: number };
  plan: Record<string, number | boolean>;
  /** The parts of the run measured (`--parts`). */
  parts: string[];
  rounds: Partial<Record<Setup, SetupFigures>>[];
  sessions: SessionsFigures | undefined;
  /** The sessions part through Redis (`relay-bind-redis`). */
  redisSessions: SessionsFigures | undefined;
  /** One lookup in the Redis store, timed alone (bench/redis.ts), in ms. */
  redisLookupMs: Percentiles | undefined;
  long: LongRun | undefined;
  streams: StreamsRun | undefined;
  targets: Target[];
}

/** The mean over rounds of one figure of one setup (NaN where a setup has no such figure). */
function mean(report: Report, setup: Setup, figure: (f: SetupFigures) => number | undefined): number {
  const values = report.rounds.map((r) => (r[setup] ? figure(r[setup]) : undefined)).filter((v): v is number => v !== undefined && !Number.isNaN(v));
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

const rps = (s: Setup, r: Report): number => mean(r, s, (f) => f.throughput.requestsPerSecond);
const p50 = (s: Setup, r: Report): number => mean(r, s, (f) => f.fixedRate.latencyMs.p50);
const firstEvent = (s: Setup, r: Report): number => mean(r, s, (f) => f.firstEvent?.firstEventMs.p50);

/** The targets, as ratios or differences within this run. */
export function targets(report: Report): Target[] {
  const out: Target[] = [];
  // A figure this run did not measure (e.g. `--setups` left out its setups) is no target missed.
  const add = (name: string, value: number, limit: string, met: boolean): void => {
    if (!Number.isNaN(value)) out.push({ name, value, limit, met });
  };
  const hpm = rps('hpm', report);
  const request = rps('relay-request', report) / hpm;
  const bind = rps('relay-bind', report) / hpm;
  add('relay request throughput / bare HPM', request, '>= 1.00', request >= 1.0);
  add('relay bind throughput / bare HPM', bind, '>= 0.95', bind >= 0.95);
  const identity = rps('relay-identity', report) / rps('relay-request', report);
  add('relay identity (computed + cached credential) throughput / relay request', identity, '>= 0.90', identity >= 0.9);
  const addedP50 = p50('relay-request', report) - p50('hpm', report);
  add('relay request p50 - bare HPM p50 at 500 req/s (ms)', addedP50, '<= 0.20', addedP50 <= 0.2);
  const laterFirst = firstEvent('relay-request', report) - firstEvent('direct', report);
  add('relay SSE first event p50 - direct (ms)', laterFirst, '<= 2.00', laterFirst <= 2);
  if (report.sessions) add('bytes per bind session', report.sessions.bytesPerSession, '<= 400', report.sessions.bytesPerSession <= 400);
  if (report.long) {
    const growth = (report.long.after.rss - report.long.before.rss) / report.long.before.rss;
    add(`relay RSS growth over ${report.long.minutes} min of SSE`, growth * 100, '< 5 %', growth < 0.05);
  }
  const streams = report.streams?.setups['relay-request'];
  if (streams) {
    add(`relay RSS per idle SSE stream, ${streams.open} open (KiB)`, streams.rssPerStreamKiB, '<= 20', streams.rssPerStreamKiB <= 20);
    const p99 = streams.sample.eventMs.p99;
    add(`relay SSE event delay p99 with ${streams.open} streams open (ms)`, p99, '<= 50', p99 <= 50);
  }
  return out;
}

const fixed = (n: number, digits = 2): string => (Number.isNaN(n) ? '-' : n.toFixed(digits));

export function print(report: Report): void {
  const m = report.machine;
  console.log(
    `\nmcp-header-relay benchmark, ${report.date}: ${m.cpus} x ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, load ${fixed(m.loadAverage)} at start`,
  );
  if (report.rounds.length) printRounds(report);
  if (report.sessions) console.log(`\nbind sessions: ${report.sessions.sessions}, ${fixed(report.sessions.bytesPerSession, 0)} bytes of heap each`);
  if (report.rounds[0]?.['relay-bind-redis'] || report.redisSessions || report.redisLookupMs) printRedis(report);
  if (report.long) printLong(report.long);
  if (report.streams) printStreams(report.streams);
  console.log('\ntargets:');
  for (const t of report.targets) console.log(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.name}: ${fixed(t.value)} (target ${t.limit})`);
}

function printRounds(report: Report): void {
  console.log(`${report.rounds.length} rounds, means shown\n`);
  const hpm = rps('hpm', report);
  const rows = [
    [
      'setup',
      'req/s (32 conn)',
      'vs HPM',
      'gateway CPU us/req',
      'p50 ms @500/s',
      'p99 ms @500/s',
      'SSE 1st event p50 ms',
      'SSE event p50 ms',
      'SSE event p99 ms',
    ],
  ];
  for (const s of SETUPS) {
    if (!report.rounds[0]?.[s]) continue;
    rows.push([
      s,
      fixed(rps(s, report), 0),
      `${fixed(rps(s, report) / hpm)}x`,
      fixed(
        mean(report, s, (f) => f.cpuMicrosPerRequest),
        0,
      ),
      fixed(p50(s, report)),
      fixed(mean(report, s, (f) => f.fixedRate.latencyMs.p99)),
      fixed(firstEvent(s, report)),
      fixed(mean(report, s, (f) => f.stream?.eventMs.p50)),
      fixed(mean(report, s, (f) => f.stream?.eventMs.p99)),
    ]);
  }
  printTable(rows);
}

/** `relay-bind-redis` against `relay-bind` (the memory store): what keeping sessions in Redis costs. */
function printRedis(report: Report): void {
  console.log('\nbind through Redis (relay-bind-redis) against the memory store (relay-bind):');
  if (report.rounds[0]?.['relay-bind-redis']) {
    const ratio = rps('relay-bind-redis', report) / rps('relay-bind', report);
    const added = p50('relay-bind-redis', report) - p50('relay-bind', report);
    const sent = mean(report, 'relay-bind-redis', (f) => f.storeCommandsPerRequest?.sent);
    const total = mean(report, 'relay-bind-redis', (f) => f.storeCommandsPerRequest?.total);
    console.log(`  throughput ${fixed(ratio)}x, p50 at 500 req/s ${added >= 0 ? '+' : ''}${fixed(added)} ms`);
    console.log(`  per request: ${fixed(sent)} Redis commands sent (round trips), ${fixed(total)} run with those inside its scripts`);
  }
  const l = report.redisLookupMs;
  if (l) console.log(`  one lookup alone (a session request's round trip to Redis): p50 ${fixed(l.p50, 3)} ms, p99 ${fixed(l.p99, 3)} ms`);
  const r = report.redisSessions;
  if (r) {
    console.log(
      `  sessions: ${r.sessions}, ${fixed(r.redisBytesPerSession ?? NaN, 0)} bytes of Redis memory and ${fixed(r.bytesPerSession, 0)} bytes of relay heap each`,
    );
    console.log(
      `  per initialize: ${fixed(r.redisCommandsPerInitialize?.sent ?? NaN)} Redis commands sent, ${fixed(r.redisCommandsPerInitialize?.total ?? NaN)} run with those inside its scripts`,
    );
  }
}

function printLong(l: LongRun): void {
  const mib = (n: number): string => fixed(n / 2 ** 20, 1);
  console.log(`long SSE: ${l.minutes} min, ${l.stream.events} events, ${l.stream.broken} broken streams`);
  console.log(`  relay RSS  MiB every 30 s: ${l.samples.map((s) => mib(s.rss)).join(' ')}`);
  console.log(`  relay heap MiB every 30 s: ${l.samples.map((s) => mib(s.heapUsed)).join(' ')}`);
  console.log(`  from ${mib(l.before.rss)} to ${mib(l.after.rss)} MiB RSS over ${l.minutes} min after a 1 min warm-up`);
}

/** First column left-aligned, the others right-aligned. */
function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}

function printStreams(run: StreamsRun): void {
  const p = run.plan;
  const lowered = p.streams < p.requested ? ` (${p.requested} asked for; the open-files hard limit ${p.fdHardLimit} allows no more)` : '';
  console.log(`\nidle SSE streams: ${p.streams} at once through one gateway${lowered};`);
  console.log(`${p.sampleStreams} of them carry an event every ${p.sampleIntervalMs} ms for ${p.sampleSeconds} s while all are open`);
  const mib = (n: number): string => fixed(n / 2 ** 20, 1);
  const rows = [
    [
      'setup',
      'open',
      'failed',
      'dropped',
      'open s',
      'RSS MiB before',
      'RSS MiB open',
      'RSS KiB/stream',
      'heap KiB/stream',
      'event p50 ms',
      'event p99 ms',
      'event max ms',
      'gateway loop p99 ms',
      'client loop p99 ms',
    ],
  ];
  for (const [setup, f] of Object.entries(run.setups)) {
    rows.push([
      setup,
      String(f.open),
      String(f.failed),
      String(f.dropped),
      fixed(f.openSeconds, 1),
      mib(f.before.rss),
      mib(f.withStreams.rss),
      fixed(f.rssPerStreamKiB, 1),
      fixed(f.heapPerStreamKiB, 1),
      fixed(f.sample.eventMs.p50),
      fixed(f.sample.eventMs.p99),
      fixed(f.sample.eventMs.max),
      fixed(f.gatewayLoopDelayMs.p99),
      fixed(f.sample.loopDelayMs.p99),
    ]);
  }
  printTable(rows);
  for (const [setup, f] of Object.entries(run.setups)) {
    if (f.failed || f.dropped || f.sample.broken)
      console.log(`  ${setup}: ${f.failed} idle streams did not open, ${f.dropped} closed early, ${f.sample.broken} timed streams broke`);
  }
}
