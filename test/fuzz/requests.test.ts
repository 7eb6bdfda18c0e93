/**
 * Property: whatever raw request a client sends, a backend behind the relay never receives a
 * restricted or unlisted header name, a byte outside visible ASCII/SP/HTAB, a duplicate line, a
 * client copy of a static header, or a request the docs say must be refused; the client gets the
 * backend's 200, the relay's JSON-RPC error, or Node's own 4xx; and no value reaches a log line.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { FuzzGateway } from './gateway.js';
import { fuzzRequest, type FuzzRequest } from './request-arbitraries.js';
import { headEndsEarly, requestBytes, reusable } from './request-bytes.js';
import { FUZZ_RUNS, REPLAYING, fuzzParameters } from './runs.js';
import { assertNotReached, assertReached } from './wire-checks.js';

const gateway = new FuzzGateway();
const outcomes = new Map<string, number>();
const count = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

after(() => gateway.close());

const started = process.hrtime.bigint();
const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MiB`;

/** Time, run count and memory: printed at the end, and every 100 000 runs of a long fuzz job. */
function progress(runs: number): string {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { rss, heapUsed } = process.memoryUsage();
  return `${runs} runs in ${seconds.toFixed(1)} s, ${gateway.connections} connections, rss ${mib(rss)}, heap ${mib(heapUsed)}`;
}

let runs = 0;

async function checkRequest(request: FuzzRequest): Promise<void> {
  if (++runs % 100_000 === 0) console.log(progress(runs));
  const id = gateway.nextId();
  const split = headEndsEarly(request, id);
  // Node closes the connection after the malformed second request of a split one.
  const outcome = await gateway.send(requestBytes(request, id), reusable(request) && !split);
  const wire = gateway.take(id);
  if (wire) {
    assertReached(request, id, wire, outcome, gateway.backendPort, split);
    count('reached the backend');
  } else {
    count(assertNotReached(outcome));
  }
  assert.deepEqual(gateway.leaks, [], 'a log line contains a header value');
}

/** A plain request still goes through end to end: the process and the relay are alive. */
async function assertAlive(): Promise<void> {
  const plain: FuzzRequest = { method: 'GET', target: 'origin', host: true, lines: [], framing: 'none' };
  const id = gateway.nextId();
  const outcome = await gateway.send(requestBytes(plain, id), true);
  const wire = gateway.take(id);
  assert.ok(wire, 'a plain request no longer reaches the backend');
  assertReached(plain, id, wire, outcome, gateway.backendPort);
}

test('fuzz: no raw request makes the backend receive a restricted, unlisted or invalid header', async () => {
  await fc.assert(fc.asyncProperty(fuzzRequest, checkRequest), fuzzParameters());
  await assertAlive();
  const summary = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
  console.log(`${progress(FUZZ_RUNS)}\n${summary.join('\n')}`);
  // A generator that gets everything refused would prove nothing about what is forwarded.
  const reached = outcomes.get('reached the backend') ?? 0;
  if (FUZZ_RUNS >= 1000 && !REPLAYING) assert.ok(reached > FUZZ_RUNS * 0.1, `only ${reached} of ${FUZZ_RUNS} requests reached the backend`);
});
