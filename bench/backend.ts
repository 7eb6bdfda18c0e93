/**
 * Benchmark backend, run as its own process. A minimal MCP-shaped node:http server, so the figures
 * measure the gateway and not an MCP SDK:
 * - POST without Mcp-Session-Id: an initialize; answers with a fresh `Mcp-Session-Id` (bind mode records it).
 * - POST with one: a small JSON-RPC result.
 * - GET: an SSE stream of `?events=N` events every `?interval=MS` ms; each event carries its send
 *   time (`performance.timeOrigin + performance.now()`, comparable across processes on one machine).
 *   With `?keep`, the stream stays open after its last event.
 * - GET `?idle`: an SSE stream that only ever carries the priming event MCP 2025-11-25 asks a server
 *   to send first (an event ID and empty data), the shape of a real server's quiet GET stream.
 * Prints `{"port":N}` on stdout once listening; answers `{cmd:'streams'}` over IPC with how many GET
 * streams are open.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerPost } from './mcp-answer.js';
import { wallClock } from './process.js';

let openStreams = 0;

function stream(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://bench');
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  openStreams++;
  res.on('close', () => openStreams--);
  if (url.searchParams.has('idle')) {
    res.write('id: 0\ndata:\n\n');
    return;
  }
  timedEvents(res, Number(url.searchParams.get('events') ?? 100), Number(url.searchParams.get('interval') ?? 10), url.searchParams.has('keep'));
}

function timedEvents(res: http.ServerResponse, events: number, interval: number, keep: boolean): void {
  let sent = 0;
  const send = (): void => {
    res.write(`data: {"seq":${sent},"t":${wallClock()}}\n\n`);
    if (++sent >= events) {
      clearInterval(timer);
      if (!keep) res.end();
    }
  };
  const timer = setInterval(send, interval);
  send();
  res.on('close', () => clearInterval(timer));
}

const server = http.createServer((req, res) => (req.method === 'GET' ? stream(req, res) : answerPost(req, res)));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});

process.on('message', (message: { cmd?: string }) => {
  if (message.cmd === 'streams') process.send?.({ open: openStreams });
});
