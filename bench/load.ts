/**
 * Load generator, run as its own process: `load.ts '<json LoadSpec>'`. Drives autocannon and prints
 * one JSON LoadResult. Latency percentiles come from autocannon's per-response times (sub-millisecond)
 * rather than its histogram, which rounds to whole milliseconds.
 */
import autocannon from 'autocannon';
import { percentiles, type LoadResult, type LoadSpec } from './results.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;

const times: number[] = [];
const instance = autocannon(
  {
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.seconds }),
    ...(spec.rate ? { overallRate: spec.rate } : {}),
  },
  (err, result) => {
    if (err) throw err;
    const out: LoadResult = {
      requestsPerSecond: result.requests.average,
      requests: result.requests.total,
      ok: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      latencyMs: percentiles(times),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
  if (status >= 200 && status < 300) times.push(responseTime);
});
