/**
 * Idle SSE client, run as its own process: `idle-client.ts '<json IdleSpec>'`. Opens `streams` GET
 * streams of the backend's `?idle` kind (a priming event, then nothing), `concurrency` at a time, each
 * on its own connection, and prints one JSON IdleOpened once every stream has its priming event or has
 * failed. Then holds them until SIGTERM and answers `{cmd:'stats'}` over IPC with how many are still open.
 */
import http from 'node:http';
import { wallClock } from './process.js';
import type { IdleOpened, IdleSpec } from './results.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as IdleSpec;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const url = new URL(spec.url);
url.searchParams.set('idle', '1');

let open = 0;
/** Streams that were open and closed since: the gateway or backend dropped an idle stream. */
let dropped = 0;

/** Resolves true once the priming event arrived: the stream is open end to end. */
function openStream(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: { ...spec.headers, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return void res.destroy();
      res.once('data', () => {
        clearTimeout(timer);
        open++;
        res.once('close', () => {
          open--;
          dropped++;
        });
        resolve(true);
      });
    });
    const timer = setTimeout(() => req.destroy(), spec.openTimeoutMs);
    req.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
    req.on('error', () => resolve(false));
  });
}

/** `concurrency` openers taking streams one at a time, so the gateway's accept backlog never overflows. */
async function openAll(): Promise<number> {
  let next = 0;
  let failed = 0;
  const opener = async (): Promise<void> => {
    while (next < spec.streams) {
      next++;
      if (!(await openStream())) failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, spec.streams) }, opener));
  return failed;
}

const started = wallClock();
const failed = await openAll();
const opened: IdleOpened = { opened: spec.streams - failed, failed, seconds: (wallClock() - started) / 1000 };
process.stdout.write(`${JSON.stringify(opened)}\n`);

process.on('message', (message: { cmd?: string }) => {
  if (message.cmd === 'stats') process.send?.({ open, dropped });
});
