/**
 * The relay under the real OpenTelemetry SDK, set up as docs/operations.md#tracing says: a gateway
 * process started with `--import tracing-setup.mjs` (NodeTracerProvider, SimpleSpanProcessor into an
 * InMemorySpanExporter, HttpInstrumentation, AsyncLocalStorage context manager), a real MCP SDK backend
 * and client in this process, which loads no OpenTelemetry at all. The gateway's route has a `bind`
 * session on a store that answers from a timer and an asynchronous computed header, so the upstream
 * request starts turns after the incoming one: the context must survive those steps.
 * One gateway process serves every case (starting one costs seconds of CPU): its `/mcp` route is the
 * plain one, `/forward/mcp` the same with forwardTraceContext, and `TRUST off` switches its tracer to
 * one that does not extract callers' context. Each case forgets the spans and requests before it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mcpBackend, type McpBackend } from '../helpers/mcp-backend.js';
import { eraBackend, type EraBackend } from '../helpers/mcp-eras.js';
import { eraClient } from '../helpers/mcp-eras-clients.js';
import { sleep } from '../helpers/wait.js';
import type { SpanRecord } from './fixtures/span-record.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** OpenTelemetry's SpanKind. */
const SERVER = 1;
const CLIENT = 2;
const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_PARENT_ID = '00f067aa0ba902b7';
const CALLER_TRACEPARENT = `00-${CALLER_TRACE_ID}-${CALLER_PARENT_ID}-01`;

interface Gateway {
  /** The route without forwardTraceContext. */
  url: string;
  /** The same route with forwardTraceContext. */
  forwardUrl: string;
  /** The same route as `url`, in front of the 2026-07-28 backend. */
  modernUrl: string;
  spans(): Promise<SpanRecord[]>;
  reset(): Promise<void>;
  /** Whether the gateway's tracer extracts callers' trace context (it does from the start). */
  trustIncoming(trusted: boolean): Promise<void>;
  close(): Promise<void>;
}

/** The gateway process, with both routes in front of `target` and a third in front of `modernTarget`. */
async function startGateway(target: string, modernTarget: string): Promise<Gateway> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', path.join(fixtures, 'tracing-setup.mjs'), path.join(fixtures, 'tracing-gateway.ts')],
    {
      env: { ...process.env, TARGET: target, MODERN_TARGET: modernTarget },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(line));
  const nextLine = (what: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway: no ${what} within 20 s`)), 20_000);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const ready = await nextLine('READY');
  assert.match(ready, /^READY \d+$/);
  const command = async (line: string, answer: string): Promise<string> => {
    const reply = nextLine(answer);
    child.stdin!.write(`${line}\n`);
    const text = await reply;
    assert.ok(text.startsWith(answer), `gateway answered ${text.slice(0, 80)}`);
    return text.slice(answer.length);
  };
  const base = `http://127.0.0.1:${ready.split(' ')[1]}`;
  return {
    url: `${base}/mcp`,
    forwardUrl: `${base}/forward/mcp`,
    modernUrl: `${base}/modern/mcp`,
    spans: async () => JSON.parse(await command('SPANS', 'SPANS ')) as SpanRecord[],
    reset: async () => {
      await command('RESET', 'RESET');
    },
    trustIncoming: async (trusted) => {
      await command(`TRUST ${trusted ? 'on' : 'off'}`, 'TRUST done');
    },
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

/** A whole MCP session through the gateway: initialize, the GET event stream, a tool call, DELETE. */
async function session(url: string, headers: Record<string, string> = {}): Promise<void> {
  const client = new Client({ name: 'tracing-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { 'x-tenant': 't1', ...headers } } });
  await client.connect(transport);
  await client.callTool({ name: 'headers', arguments: {} });
  await transport.terminateSession();
  await client.close();
}

/** The spans once every upstream request's client span and its server span have ended (the GET stream ends last). */
async function settledSpans(gateway: Gateway, upstream: number): Promise<SpanRecord[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = await gateway.spans();
    const ended = (kind: number) => spans.filter((s) => s.kind === kind).length;
    if ((ended(CLIENT) >= upstream && ended(SERVER) >= upstream) || Date.now() > deadline) {
      await sleep(100); // a span that should not exist has had time to end as well
      return gateway.spans();
    }
    await sleep(50);
  }
}

const traceparentOf = (span: SpanRecord): string => `00-${span.traceId}-${span.spanId}-01`;

let backend: McpBackend;
let modern: EraBackend;
let gateway: Gateway;

before(async () => {
  backend = await mcpBackend();
  modern = await eraBackend('v2-stateless');
  gateway = await startGateway(`${backend.url}/mcp`, modern.endpoint);
});
after(async () => {
  await gateway.close();
  await modern.close();
  await backend.close();
});

/** Runs a session through `url` after forgetting earlier spans and requests; returns the settled spans. */
const traced = async (url: string, headers?: Record<string, string>): Promise<SpanRecord[]> => {
  await gateway.reset();
  backend.requests.length = 0;
  await session(url, headers);
  return settledSpans(gateway, backend.requests.length);
};

describe('tracing with the OpenTelemetry SDK and its HTTP instrumentation', () => {
  it('each upstream request is exactly one CLIENT span, the child of the SERVER span of its incoming request', async () => {
    const spans = await traced(gateway.url);
    const servers = spans.filter((s) => s.kind === SERVER);
    const clients = spans.filter((s) => s.kind === CLIENT);
    assert.deepEqual(backend.requests.map((r) => r.method).sort(), ['DELETE', 'GET', 'POST', 'POST', 'POST']);
    assert.equal(clients.length, backend.requests.length, 'one client span per upstream request');
    assert.equal(servers.length, backend.requests.length, 'one server span per incoming request');
    for (const server of servers) {
      const children = clients.filter((c) => c.parentSpanId === server.spanId);
      assert.equal(children.length, 1, `server span ${server.method} has one client child`);
      assert.equal(children[0]!.traceId, server.traceId);
      assert.equal(children[0]!.method, server.method);
      assert.equal(server.parentSpanId, undefined, 'without a caller context each incoming request starts a trace');
    }
  });

  it("the backend receives the traceparent of the client span of its request, the instrumentation's injection", async () => {
    const spans = await traced(gateway.url);
    const clients = spans.filter((s) => s.kind === CLIENT);
    const received = backend.requests.map((r) => r.headers.traceparent).sort();
    assert.deepEqual(received, clients.map(traceparentOf).sort());
  });

  it("with a caller's traceparent, every server span continues the caller's trace, and the backend the client span's", async () => {
    const spans = await traced(gateway.url, { traceparent: CALLER_TRACEPARENT });
    const servers = spans.filter((s) => s.kind === SERVER);
    assert.equal(servers.length, backend.requests.length);
    for (const server of servers) {
      assert.equal(server.traceId, CALLER_TRACE_ID);
      assert.equal(server.parentSpanId, CALLER_PARENT_ID);
    }
    const clients = spans.filter((s) => s.kind === CLIENT);
    assert.ok(clients.every((c) => c.traceId === CALLER_TRACE_ID && servers.some((s) => s.spanId === c.parentSpanId)));
    assert.deepEqual(backend.requests.map((r) => r.headers.traceparent).sort(), clients.map(traceparentOf).sort());
  });
});

describe('tracing a 2026-07-28 exchange (SDK v2 client pinned to it, SDK v2 backend)', () => {
  it('each stateless POST upstream is one CLIENT span under its SERVER span, and the backend receives its traceparent', async () => {
    await gateway.reset();
    modern.requests.length = 0;
    const client = eraClient('v2-2026', gateway.modernUrl, { 'x-tenant': 't1' });
    try {
      await client.connect();
      assert.equal(client.era(), 'modern');
      await client.callTool('echo', { region: 'eu' });
    } finally {
      await client.close();
    }
    const spans = await settledSpans(gateway, modern.requests.length);
    const servers = spans.filter((s) => s.kind === SERVER);
    const clients = spans.filter((s) => s.kind === CLIENT);
    assert.ok(modern.requests.length >= 2, 'server/discover and the tool call at least');
    assert.ok(modern.requests.every((r) => r.method === 'POST' && r.headers['mcp-session-id'] === undefined));
    assert.equal(clients.length, modern.requests.length, 'one client span per upstream request');
    for (const server of servers) {
      const children = clients.filter((c) => c.parentSpanId === server.spanId);
      assert.equal(children.length, 1, `server span ${server.method} has one client child`);
      assert.equal(children[0]!.traceId, server.traceId);
    }
    assert.deepEqual(modern.requests.map((r) => r.headers.traceparent).sort(), clients.map(traceparentOf).sort());
  });
});

describe('forwardTraceContext together with the OpenTelemetry HTTP instrumentation', () => {
  it("the tracer's context reaches the backend, not the caller's raw traceparent; the caller's tracestate travels in it", async () => {
    const spans = await traced(gateway.forwardUrl, { traceparent: CALLER_TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7' });
    const clients = spans.filter((s) => s.kind === CLIENT);
    assert.equal(clients.length, backend.requests.length);
    for (const request of backend.requests) {
      assert.notEqual(request.headers.traceparent, CALLER_TRACEPARENT, `${request.method}: the caller's raw traceparent`);
      assert.ok(
        clients.some((c) => traceparentOf(c) === request.headers.traceparent),
        `${request.method}: the client span's traceparent`,
      );
      assert.equal(request.headers.tracestate, 'rojo=00f067aa0ba902b7', 'OpenTelemetry continues the caller trace with its tracestate');
    }
  });

  it("a tracer that does not trust callers' context: the caller's tracestate, which belongs to another trace, is removed", async () => {
    await gateway.trustIncoming(false);
    try {
      const spans = await traced(gateway.forwardUrl, { traceparent: CALLER_TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7' });
      const servers = spans.filter((s) => s.kind === SERVER);
      assert.ok(servers.length > 0 && servers.every((s) => s.parentSpanId === undefined && s.traceId !== CALLER_TRACE_ID), 'each request a trace of its own');
      const clients = spans.filter((s) => s.kind === CLIENT);
      assert.equal(clients.length, backend.requests.length);
      for (const request of backend.requests) {
        const { traceparent, tracestate } = request.headers;
        assert.ok(
          clients.some((c) => traceparentOf(c) === traceparent && c.traceId !== CALLER_TRACE_ID),
          `${request.method}: the tracer's own trace`,
        );
        assert.equal(tracestate, undefined, `${request.method}: the caller's tracestate next to another trace's traceparent`);
      }
    } finally {
      await gateway.trustIncoming(true);
    }
  });
});
