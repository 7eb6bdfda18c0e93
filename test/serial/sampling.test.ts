/**
 * A server-to-client request in a 2025 session, through the relay, after the relay has carried other
 * sessions. The backend is shaped like many real SDK v1 servers: an event store, and a tool that asks
 * the client for sampling with `server.server.request(...)` and no `relatedRequestId`, so the request
 * goes out on the session's standalone GET stream, and is only stored if that stream is not open yet.
 *
 * The client runs short sessions one after another (connect, call a tool, close), as an agent does.
 * Directly, each session's GET reaches the backend before its tools/call. Through a relay that wrote a
 * chunked response's end apart from its last event, the client closed a connection it had not seen
 * end, undici opened a fresh one, and the next session's tools/call overtook its GET: the sampling
 * request was stored for a stream that never asked for it, and the call hung (see lib/response-writes.ts).
 * Backend and relay run in processes of their own, as in production: in one process the timing differs
 * and the race does not show. This file runs alone (test/serial/, after the rest of `npm test`): on a
 * machine busy with other test files the SDK's own ordering race shows directly too.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'test/e2e/fixtures');

/** Sessions before the sampling one: the hang needed a relay that had carried a few. */
const WARM_UP_SESSIONS = 5;
/** Fresh processes each try; through the old relay most tries hung (about 3 in 4), directly none does. */
const TRIES = 4;
/** The SDK default is 60 s; a sampling round trip on loopback takes milliseconds. */
const CALL_TIMEOUT_MS = 3000;

interface Child {
  port: number;
  stop(): Promise<void>;
}

/** Starts a fixture in its own Node process (as backend and gateway run in production) and waits for `READY <port>`. */
async function start(fixture: string, env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(fixtures, fixture)], { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (\d+)/.exec(out);
      if (ready) resolve(Number(ready[1]));
    });
    child.once('exit', (code) => reject(new Error(`${fixture} exited (${code}) before it was ready: ${out}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One agent run in a fresh client process: warm-up sessions, then the sampling session's answer (or its error). */
async function agent(url: string): Promise<string> {
  const client = path.join(fixtures, 'sampling-client.mjs');
  const { stdout } = await run(process.execPath, [client, url, String(WARM_UP_SESSIONS), String(CALL_TIMEOUT_MS)], { cwd: root, timeout: 60_000 });
  const outcome = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ok: boolean; text: string };
  return outcome.ok ? outcome.text : `failed: ${outcome.text}`;
}

/**
 * `TRIES` agent runs, each against a fresh backend (and relay in front of it): the hang showed on a
 * relay that had carried a few sessions, not on one that had carried many.
 */
async function tries(throughRelay: boolean): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < TRIES; i++) {
    const backend = await start('sampling-backend.ts');
    const relay = throughRelay ? await start('sampling-relay.ts', { TARGET: `http://127.0.0.1:${backend.port}/mcp` }) : undefined;
    try {
      outcomes.push(await agent(`http://127.0.0.1:${(relay ?? backend).port}/mcp`));
    } finally {
      await relay?.stop();
      await backend.stop();
    }
  }
  return outcomes;
}

const ANSWER = 'LLM: hello from the client';

// Node 20 (below the engines floor) loses this race directly too, now and then: its fetch is older.
const skip = Number(process.versions.node.split('.')[0]) < 22 ? 'Node 20 fetch loses this race directly too' : false;

describe('a sampling request over the GET stream completes through the relay, as it does directly', { skip }, () => {
  it(`direct: ${TRIES} of ${TRIES} tries complete (the control)`, async () => {
    assert.deepEqual(await tries(false), Array<string>(TRIES).fill(ANSWER));
  });

  it(`through a relay route: ${TRIES} of ${TRIES} tries complete`, async () => {
    assert.deepEqual(await tries(true), Array<string>(TRIES).fill(ANSWER));
  });
});
