/**
 * How the backend's body is written to the client: in the same writes the backend used.
 *
 * A backend writes a chunked response's last chunk and its terminator (`0\r\n\r\n`) in one TCP
 * segment. Piped naively, the relay writes the chunk as soon as it is parsed and the terminator a
 * tick later, when the upstream response emits `end`: two segments. That split is visible to clients.
 * An MCP SDK client resolves a call on the last event and may close its session in the same chain of
 * promise jobs; undici then aborts a response it has not seen end, destroys that keep-alive
 * connection and opens a fresh one, on which the next session's POST overtakes its GET stream. An SDK
 * v1 server then stores a sampling request for a GET stream that never asks for it, and the call hangs
 * (test/serial/sampling.test.ts). Directly, the terminator came with the last event.
 *
 * So each chunk is held (the client socket corked) until the current tick's jobs have run: the
 * upstream `end` that arrived in the same read is handled by then, and `res.end()` (which uncorks
 * fully) sends chunk and terminator in one write. A chunk with nothing behind it goes out after the
 * same jobs, well before the next I/O: streams are not delayed by any timer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Call before the upstream response is piped into `res`, so this listener sees each chunk first. */
export function writeAsReceived(req: IncomingMessage, proxyRes: IncomingMessage, res: ServerResponse): void {
  // HTTP/2 frames are not TCP writes of ours; a response framed by Content-Length has no terminator.
  if (req.httpVersionMajor !== 1 || proxyRes.headers['content-length'] !== undefined) return;
  let corked: Socket | undefined;
  const release = (): void => {
    // A no-op once res.end() has uncorked the socket fully; it cannot have served another response since.
    corked?.uncork();
    corked = undefined;
  };
  proxyRes.on('data', () => {
    // The socket, not the response: Node 22 and 24 buffer a corked chunked response's data apart
    // from the socket, and res.end() then writes the terminator before that data.
    const socket = res.socket;
    if (corked || !socket) return;
    corked = socket;
    socket.cork();
    // A microtask runs after the process.nextTick that emits the upstream `end`, before any I/O.
    queueMicrotask(release);
  });
}
