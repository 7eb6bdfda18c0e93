/**
 * forwardTraceContext without a tracer: Express, captureHeaders, two real mcpProxy routes (with and
 * without the option) in front of a real MCP SDK backend, driven by the SDK client. This process loads
 * no OpenTelemetry, so what the backend receives is the relay's doing alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { captureHeaders, mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { mcpBackend, type McpBackend } from '../helpers/mcp-backend.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

describe('forwardTraceContext end to end (no tracer)', () => {
  let backend: McpBackend;
  let gateway: Listening;
  const logger = captureLogger();

  before(async () => {
    backend = await mcpBackend();
    const app = express();
    app.use(captureHeaders({ allow: ['x-tenant'], logger }));
    app.use('/forwarding', mcpProxy({ target: `${backend.url}/mcp`, forwardTraceContext: true, logger }));
    app.use('/plain', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    gateway = await listen(app);
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  /** A session (initialize, GET stream, tool call, DELETE) on `route`; the trace headers the backend received, per request. */
  const session = async (route: string, headers: Record<string, string>) => {
    backend.requests.length = 0;
    logger.lines.length = 0;
    const client = new Client({ name: 'trace-context-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/${route}`), { requestInit: { headers: { 'x-tenant': 't1', ...headers } } });
    await client.connect(transport);
    await client.callTool({ name: 'headers', arguments: {} });
    await transport.terminateSession();
    await client.close();
    assert.ok(backend.requests.length >= 4, 'initialize, initialized, the tool call and DELETE reached the backend');
    return backend.requests.map((r) => ({ method: r.method, traceparent: r.headers.traceparent, tracestate: r.headers.tracestate }));
  };

  it("with the option, every request of the session carries the caller's traceparent and tracestate unchanged", async () => {
    for (const seen of await session('forwarding', { traceparent: TRACEPARENT, tracestate: TRACESTATE })) {
      assert.deepEqual(seen, { method: seen.method, traceparent: TRACEPARENT, tracestate: TRACESTATE });
    }
  });

  it("without the option, the caller's trace headers never reach the backend", async () => {
    for (const seen of await session('plain', { traceparent: TRACEPARENT, tracestate: TRACESTATE })) {
      assert.deepEqual(seen, { method: seen.method, traceparent: undefined, tracestate: undefined });
    }
  });

  it('an invalid tracestate is dropped, not refused: the session works, the traceparent goes, a debug line names header and reason only', async () => {
    const invalid = 'Congo=secret-looking-value';
    for (const seen of await session('forwarding', { traceparent: TRACEPARENT, tracestate: invalid })) {
      assert.deepEqual(seen, { method: seen.method, traceparent: TRACEPARENT, tracestate: undefined });
    }
    const dropped = logger.lines.filter((l) => l.level === 'debug' && /trace context/.test(l.message));
    assert.ok(dropped.length >= 4);
    for (const line of dropped) assert.deepEqual(line.fields, { route: '127.0.0.1:' + backend.port + '/mcp', header: 'tracestate', reason: 'invalid_member' });
    assert.doesNotMatch(logger.text(), /secret-looking-value|Congo/);
  });

  it('an invalid traceparent is dropped with its tracestate: the backend sees neither', async () => {
    for (const seen of await session('forwarding', { traceparent: TRACEPARENT.toUpperCase(), tracestate: TRACESTATE })) {
      assert.deepEqual(seen, { method: seen.method, traceparent: undefined, tracestate: undefined });
    }
  });
});
