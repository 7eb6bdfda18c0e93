/**
 * Client aborts through a real gateway: the client destroys its socket mid-upload, while the backend
 * is still thinking, or mid-SSE. The relay must abort the upstream request, so the backend sees its
 * connection close within 1 s of the client's destroy, and must neither crash, leak a value into
 * its logs, nor stop serving.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoLeak } from '../helpers/sec-relay.js';
import { waitFor } from '../helpers/wait.js';
import {
  PING,
  assertAlive,
  assertClosedPromptly,
  assertSentinelsForwarded,
  faultGateway,
  faultSuite,
  httpBackend,
  openStream,
  rawClient,
  send,
  startUpload,
  type FaultGateway,
  type HttpBackend,
  type RawClient,
} from './harness.js';

describe('client aborts', () => {
  const { track } = faultSuite();

  /** A node:http backend behind a fresh gateway's /mcp; `handler` runs at the request's headers. */
  async function setUp(handler: Parameters<typeof httpBackend>[0]): Promise<{ backend: HttpBackend; gw: FaultGateway }> {
    const backend = track(await httpBackend(handler));
    const gw = track(await faultGateway({ '/mcp': { target: `${backend.url}/mcp` } }));
    return { backend, gw };
  }

  /**
   * The client leaves; the backend sees its request's connection close within 1 s; the backend never
   * finished a response, the client got none, and the gateway still serves.
   */
  async function assertAbortPropagates(gw: FaultGateway, backend: HttpBackend, client: RawClient): Promise<void> {
    const { socket, res } = backend.last();
    assert.equal(socket.closedAt, undefined, 'the upstream request closed before the client left');
    await assertClosedPromptly(socket, client.abort(), 'the backend to see the close after the client left');
    assert.equal(res.writableFinished, false, 'the backend response completed');
    assertNoLeak(undefined, gw);
    await assertAlive(gw);
  }

  it('a client aborting mid-upload (headers and part of the body sent) aborts the upstream request within 1 s', async () => {
    let bodyBytes = 0;
    const { gw, backend } = await setUp((req) => {
      req.on('data', (data: Buffer) => {
        bodyBytes += data.length;
      });
    });
    const part = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"text":"';
    const client = startUpload(gw.port, '/mcp', 4096, part);
    // The relay is streaming the upload: the backend has the head and the first bytes.
    await waitFor(() => bodyBytes === part.length, 'the backend to receive the first part of the body');
    assertSentinelsForwarded(backend.last().headers);
    await assertAbortPropagates(gw, backend, client);
    assert.equal(bodyBytes, part.length, 'the backend received bytes the client never sent');
  });

  it('a client aborting while the backend has not answered yet aborts the upstream request within 1 s', async () => {
    const { gw, backend } = await setUp(() => {});
    const client = rawClient(gw.port, 'GET /mcp', ['Accept: application/json']);
    await waitFor(() => backend.seen.length === 1, 'the request to reach the backend');
    await assertAbortPropagates(gw, backend, client);
  });

  it('a client aborting mid-SSE, after reading one event, aborts the upstream stream within 1 s', async () => {
    const { gw, backend } = await setUp((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: {"n":1}\n\n');
    });
    const client = openStream(gw.port, '/mcp');
    await waitFor(() => client.text().includes('data: {"n":1}'), 'the first event');
    assertSentinelsForwarded(backend.last().headers);
    await assertAbortPropagates(gw, backend, client);
  });

  it('control: without an abort, the same upload completes and the backend answers', async () => {
    const { gw } = await setUp((req, res) => {
      req.resume();
      req.on('end', () => res.end('{"ok":true}'));
    });
    const res = await send(gw.port, '/mcp', { method: 'POST', body: PING });
    assert.equal(res.status, 200);
    assert.equal(res.body, '{"ok":true}');
  });
});
