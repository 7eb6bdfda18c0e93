/**
 * SSE client, run as its own process: `sse-client.ts '<json SseSpec>'`. Opens `streams` GET streams
 * (at once, or one after another) and prints one JSON SseResult: time to first event per stream, and per-event latency from
 * the backend's send time (carried in the event) to this process reading it. With `keepOpen` a stream
 * counts as complete at its last event and stays open until the process is stopped.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { wallClock } from './process.js';
import { LOOP_RESOLUTION_MS, loopDelay, percentiles, type SseResult, type SseSpec } from './results.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as SseSpec;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();

interface StreamOutcome {
  firstEventMs: number;
  latencies: number[];
  complete: boolean;
}

function openStream(): Promise<StreamOutcome> {
  const url = new URL(spec.url);
  url.searchParams.set('events', String(spec.events));
  url.searchParams.set('interval', String(spec.intervalMs));
  if (spec.keepOpen) url.searchParams.set('keep', '1');
  const started = wallClock();
  const outcome: StreamOutcome = { firstEventMs: NaN, latencies: [], complete: false };
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: { ...spec.headers, accept: 'text/event-stream' } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = wallClock();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const event = JSON.parse(buffer.slice(buffer.indexOf('data: ') + 6, end)) as { t: number };
          buffer = buffer.slice(end + 2);
          if (outcome.latencies.length === 0) outcome.firstEventMs = now - started;
          outcome.latencies.push(now - event.t);
          if (spec.keepOpen && outcome.latencies.length === spec.events) resolve({ ...outcome, complete: true });
        }
      });
      res.on('end', () => resolve({ ...outcome, complete: outcome.latencies.length === spec.events }));
      res.on('error', () => resolve(outcome));
      // A held stream has no `end`: the connection closing early is what breaks it.
      res.on('close', () => resolve(outcome));
    });
    req.on('error', () => resolve(outcome));
  });
}

/** Parallel streams share the machine; sequential ones measure opening a stream on its own. */
async function openAll(): Promise<StreamOutcome[]> {
  if (!spec.sequential) return Promise.all(Array.from({ length: spec.streams }, openStream));
  const outcomes: StreamOutcome[] = [];
  for (let i = 0; i < spec.streams; i++) outcomes.push(await openStream());
  return outcomes;
}

const outcomes = await openAll();
loop.disable();
const result: SseResult = {
  firstEventMs: percentiles(outcomes.map((o) => o.firstEventMs).filter((v) => !Number.isNaN(v))),
  eventMs: percentiles(outcomes.flatMap((o) => o.latencies)),
  events: outcomes.reduce((n, o) => n + o.latencies.length, 0),
  broken: outcomes.filter((o) => !o.complete).length,
  loopDelayMs: loopDelay(loop),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
