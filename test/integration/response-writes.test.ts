/**
 * The relay writes a backend's response to the client in the writes the backend used: a chunked
 * response's last chunk and its terminator (`0\r\n\r\n`), which the backend sends in one TCP segment,
 * leave the relay in one write too (lib/response-writes.ts says why clients care). Checked on the
 * relay's real client sockets: every write the socket hands to the kernel is recorded.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { mcpProxy } from '../../lib/index.js';
import { listen, type Listening } from '../helpers/listen.js';
import { HOLD, rawBackend, type RawBackend } from '../helpers/raw-backend.js';

const TERMINATOR = '0\r\n\r\n';
const RESPONSES = 50;

type WriteSpy = net.Socket & {
  _write: (chunk: Buffer, encoding: string, cb: () => void) => void;
  _writev: (chunks: { chunk: Buffer }[], cb: () => void) => void;
};

/** Records what each accepted socket hands to the kernel, one string per write call. */
function recordWrites(server: http.Server): string[] {
  const writes: string[] = [];
  server.on('connection', (socket: WriteSpy) => {
    const write = socket._write.bind(socket);
    const writev = socket._writev.bind(socket);
    socket._write = (chunk, encoding, cb) => {
      writes.push(String(chunk));
      write(chunk, encoding, cb);
    };
    socket._writev = (chunks, cb) => {
      writes.push(chunks.map((c) => String(c.chunk)).join(''));
      writev(chunks, cb);
    };
  });
  return writes;
}

/** One GET through the relay on a fresh connection; resolves with the body once the response ended. */
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe("response writes: the relay keeps the backend's last chunk and terminator together", () => {
  let backend: RawBackend;
  let relay: Listening;
  let writes: string[];

  before(async () => {
    // An SSE response as an SDK server writes it: head and first event together; later the last event
    // and the terminator together, in one write.
    backend = await rawBackend((_request, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n');
      setTimeout(() => socket.write(`9\r\ndata: 2\n\n\r\n${TERMINATOR}`), 5);
      return HOLD;
    });
    const app = express();
    app.use('/mcp', mcpProxy({ target: `${backend.url}/mcp` }));
    relay = await listen(app);
    writes = recordWrites(relay.server);
  });
  after(async () => {
    await relay.close();
    await backend.close();
  });

  it(`in ${RESPONSES} of ${RESPONSES} event-stream responses the terminator leaves in the same write as the last event`, async () => {
    for (let i = 0; i < RESPONSES; i++) {
      writes.length = 0;
      assert.equal(await get(`${relay.url}/mcp`), 'data: 1\n\ndata: 2\n\n');
      const last = writes.findIndex((w) => w.includes('data: 2'));
      assert.ok(last !== -1, 'the last event was written');
      assert.ok(writes[last]!.endsWith(TERMINATOR), `response ${i}: the terminator was written apart from the last event: ${JSON.stringify(writes)}`);
      assert.equal(writes.filter((w) => w.includes(TERMINATOR)).length, 1);
    }
  });

  it('an event with nothing behind it is written at once, not held for the end of the stream', async () => {
    writes.length = 0;
    const firstEvent = new Promise<number>((resolve, reject) => {
      const started = Date.now();
      http
        .get(`${relay.url}/mcp`, { agent: false }, (res) => {
          res.once('data', () => resolve(Date.now() - started));
          res.resume();
        })
        .on('error', reject);
    });
    // The backend sends the second event 5 ms after the first; the first must not wait for it.
    const elapsed = await firstEvent;
    const first = writes.findIndex((w) => w.includes('data: 1'));
    const second = writes.findIndex((w) => w.includes('data: 2'));
    assert.ok(first !== -1 && (second === -1 || second > first), `the first event went out on its own: ${JSON.stringify(writes)}`);
    assert.ok(elapsed < 1000, `the first event took ${elapsed} ms`);
  });
});
