/**
 * A raw-socket backend: a net.Server (no node:http parser) that keeps every byte it receives, splits
 * the stream into requests by HTTP/1.1 framing (Content-Length or chunked), and answers each with
 * bytes of the test's choosing. Tests read what really went over the wire: header lines in the exact
 * casing, order and bytes the relay sent, including any a node:http server would have refused or merged.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface WireRequest {
  /** The request line, e.g. `POST /mcp HTTP/1.1`. */
  readonly requestLine: string;
  /** Header lines as sent, split at the first colon; the value keeps its bytes (latin1), untrimmed. */
  readonly lines: ReadonlyArray<readonly [name: string, value: string]>;
  /** Everything up to and including the blank line, byte for byte. */
  readonly head: Buffer;
  /** The body after framing is removed (chunked bodies are de-chunked). */
  readonly body: Buffer;
}

/** A responder's answer that writes nothing: the test drives `socket` itself. */
export const HOLD: unique symbol = Symbol('hold');

/** What to write back for one request. */
export type RawResponder = (request: WireRequest, socket: net.Socket) => Buffer | string | typeof HOLD;

export interface RawBackend {
  readonly url: string;
  readonly port: number;
  /** Every complete request, in arrival order. */
  readonly requests: WireRequest[];
  /** Every byte received on every connection, in arrival order per connection. */
  wire(): Buffer;
  /** Connections currently open. */
  openConnections(): number;
  /** Connections ever accepted. */
  acceptedConnections(): number;
  /** The last request; throws if none arrived. */
  last(): WireRequest;
  /** Values of every line named `name` (case-insensitive) in `request`. */
  values(request: WireRequest, name: string): string[];
  close(): Promise<void>;
}

export const OK_JSON = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}';

const HEAD_END = Buffer.from('\r\n\r\n');

export async function rawBackend(respond: RawResponder = () => OK_JSON): Promise<RawBackend> {
  const requests: WireRequest[] = [];
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;

  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const parsed = parseRequest(pending);
        if (!parsed) break;
        pending = pending.subarray(parsed.consumed);
        requests.push(parsed.request);
        const answer = respond(parsed.request, socket);
        if (answer !== HOLD && !socket.destroyed) socket.write(answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    wire: () => Buffer.concat(chunks),
    openConnections: () => sockets.size,
    acceptedConnections: () => accepted,
    last() {
      const r = requests.at(-1);
      if (!r) throw new Error('the raw backend received no complete request');
      return r;
    },
    values: (request, name) => request.lines.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One complete request at the start of `buf`, or undefined while more bytes are needed. */
export function parseRequest(buf: Buffer): { request: WireRequest; consumed: number } | undefined {
  const end = buf.indexOf(HEAD_END);
  if (end === -1) return undefined;
  const head = buf.subarray(0, end + HEAD_END.length);
  const [requestLine = '', ...rest] = head.subarray(0, end).toString('latin1').split('\r\n');
  const lines = rest.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return colon === -1 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1)];
  });
  const header = (name: string): string | undefined => lines.find(([n]) => n.toLowerCase() === name)?.[1].trim();
  let offset = head.length;
  let body: Buffer;
  if (/chunked/i.test(header('transfer-encoding') ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', offset);
      if (lineEnd === -1) return undefined;
      const size = parseInt(buf.subarray(offset, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('raw backend: bad chunk size');
      const dataStart = lineEnd + 2;
      if (size === 0) {
        // No trailers are expected from the relay: the last chunk ends with one blank line.
        if (buf.length < dataStart + 2) return undefined;
        offset = dataStart + 2;
        break;
      }
      if (buf.length < dataStart + size + 2) return undefined;
      parts.push(buf.subarray(dataStart, dataStart + size));
      offset = dataStart + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const length = Number(header('content-length') ?? 0);
    if (buf.length < offset + length) return undefined;
    body = Buffer.from(buf.subarray(offset, offset + length));
    offset += length;
  }
  return { request: { requestLine, lines, head: Buffer.from(head), body }, consumed: offset };
}
