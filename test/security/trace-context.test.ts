/**
 * Trace context as an attack surface: a client trying to get a header, an oversized value or a
 * forged trace through `traceparent`/`tracestate` with forwardTraceContext on. Requests go byte for
 * byte over TCP; the backend's tap shows exactly what the relay sent. Invalid values are dropped,
 * never refused, and never logged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { captureHeaders, HeaderConfigError, mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { httpText, rawRequest } from '../helpers/raw-http.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const BODY = '{"jsonrpc":"2.0","id":1,"method":"ping"}';

describe('trace context smuggling with forwardTraceContext', () => {
  let backend: RecordingBackend;
  let gateway: Listening;
  const logger = captureLogger();

  before(async () => {
    backend = await recordingBackend();
    const app = express();
    app.use(captureHeaders({ allow: ['x-tenant'], logger }));
    app.use('/fwd', mcpProxy({ target: `${backend.url}/mcp`, forwardTraceContext: true, logger }));
    app.use('/plain', mcpProxy({ target: `${backend.url}/mcp`, logger }));
    gateway = await listen(app);
  });
  after(async () => {
    await gateway.close();
    await backend.close();
  });

  /** POSTs with `lines` added; the status and the trace lines the backend's socket received (name as sent, value). */
  const send = async (lines: string[], route = '/fwd') => {
    const before = backend.requests.length;
    const head = ['Host: localhost', 'Content-Type: application/json', 'Accept: application/json, text/event-stream', `Content-Length: ${BODY.length}`];
    const res = await rawRequest(gateway.port, httpText(`POST ${route} HTTP/1.1`, [...head, ...lines], BODY));
    const forwarded = backend.requests.length > before ? backend.last().wire.lines : undefined;
    const trace = forwarded?.filter(([name]) => /^trace(parent|state)$/i.test(name)).map(([name, value]) => `${name.toLowerCase()}: ${value.trim()}`);
    return { status: res.status, trace, wire: forwarded?.map(([n, v]) => `${n}:${v}`).join('\n') ?? '' };
  };

  it('control: a valid pair goes out once each, as sent', async () => {
    const { status, trace } = await send([`traceparent: ${TRACEPARENT}`, 'tracestate: rojo=1']);
    assert.equal(status, 200);
    assert.deepEqual(trace, [`traceparent: ${TRACEPARENT}`, 'tracestate: rojo=1']);
  });

  const dropped: [string, string[], string[]][] = [
    ['an upper-case traceparent', [`traceparent: ${TRACEPARENT.toUpperCase()}`, 'tracestate: rojo=1'], []],
    ['an all-zero trace id', [`traceparent: 00-${'0'.repeat(32)}-00f067aa0ba902b7-01`], []],
    ['an all-zero parent id', [`traceparent: 00-${TRACE_ID}-${'0'.repeat(16)}-01`], []],
    ['version ff', [`traceparent: ff-${TRACE_ID}-00f067aa0ba902b7-01`], []],
    ['an oversized later-version traceparent (4 KiB)', [`traceparent: 01-${TRACE_ID}-00f067aa0ba902b7-01-${'a'.repeat(4096)}`], []],
    [
      'a second traceparent line (a forged trace beside the real one)',
      [`traceparent: ${TRACEPARENT}`, `Traceparent: 00-${'f'.repeat(32)}-${'e'.repeat(16)}-01`],
      [],
    ],
    ['a tracestate without a traceparent', ['tracestate: rojo=1'], []],
    [
      'a tracestate of 33 members',
      [`traceparent: ${TRACEPARENT}`, `tracestate: ${Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')}`],
      [`traceparent: ${TRACEPARENT}`],
    ],
    ['a tracestate of 4 KiB', [`traceparent: ${TRACEPARENT}`, `tracestate: a=${'v'.repeat(4096)}`], [`traceparent: ${TRACEPARENT}`]],
    ['a tracestate with an upper-case key', [`traceparent: ${TRACEPARENT}`, 'tracestate: Rojo=1'], [`traceparent: ${TRACEPARENT}`]],
    ['a tracestate with a header line in its list', [`traceparent: ${TRACEPARENT}`, 'tracestate: a=1,x-injected: 1'], [`traceparent: ${TRACEPARENT}`]],
  ];
  for (const [label, lines, expected] of dropped) {
    it(`${label}: dropped, the request still forwarded, nothing injected`, async () => {
      logger.lines.length = 0;
      const { status, trace, wire } = await send(lines);
      assert.equal(status, 200);
      assert.deepEqual(trace, expected);
      assert.doesNotMatch(wire, /x-injected/i);
      for (const line of lines) {
        const value = line.slice(line.indexOf(':') + 1).trim();
        if (!expected.some((e) => e.endsWith(value))) assert.ok(!logger.text().includes(value), `${label}: the dropped value is not logged`);
      }
    });
  }

  // Bytes Node's parser refuses before any middleware runs: nothing reaches the relay or the backend.
  const unparsable: [string, string[]][] = [
    ['a bare CR inside a traceparent line', [`traceparent: ${TRACEPARENT}\rx-injected: 1`]],
    ['a header folded into a traceparent (obs-fold)', [`traceparent: ${TRACEPARENT}`, ' x-injected: 1']],
    ['a control character in a tracestate', [`traceparent: ${TRACEPARENT}`, 'tracestate: a=\u0001']],
  ];
  for (const [label, lines] of unparsable) {
    it(`${label}: refused by Node's parser, nothing forwarded`, async () => {
      const { status, trace } = await send(lines);
      assert.equal(status, 400);
      assert.equal(trace, undefined);
    });
  }

  it('without the option the route forwards neither header, however valid', async () => {
    const { status, trace } = await send([`traceparent: ${TRACEPARENT}`, 'tracestate: rojo=1'], '/plain');
    assert.equal(status, 200);
    assert.deepEqual(trace, []);
  });

  it('Connection naming traceparent is refused where the route forwards it, and harmless where it does not', async () => {
    const nominated = [`traceparent: ${TRACEPARENT}`, 'Connection: keep-alive, traceparent'];
    assert.equal((await send(nominated)).status, 400);
    const plain = await send(nominated, '/plain');
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.trace, []);
  });

  it('traceparent and tracestate cannot be captured, passed through or set by the route: the option is the one way in', () => {
    const configs: [string, () => unknown][] = [
      ['captureHeaders allow', () => captureHeaders({ allow: ['Traceparent'] })],
      ['passthrough', () => mcpProxy({ target: 'http://127.0.0.1:9/mcp', passthrough: ['tracestate'] })],
      ['headers.plaintext', () => mcpProxy({ target: 'http://127.0.0.1:9/mcp', headers: { plaintext: { traceparent: TRACEPARENT } } })],
      ['headers.fromRequest', () => mcpProxy({ target: 'http://127.0.0.1:9/mcp', headers: { fromRequest: { tracestate: () => 'a=1' } } })],
    ];
    for (const [where, build] of configs) {
      assert.throws(
        build,
        (err: unknown) => err instanceof HeaderConfigError && err.code === 'ERR_RESTRICTED_HEADER' && /forwardTraceContext/.test(err.message),
        where,
      );
    }
  });
});
