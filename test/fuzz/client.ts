/**
 * A raw HTTP/1.1 client that keeps one connection open between requests. A fresh TCP connection per
 * request would, at a million runs, fill the loopback port range with TIME_WAIT sockets; a client
 * library would refuse to send the bytes we want to send. One request at a time per connection.
 */
import net from 'node:net';

export interface Reply {
  readonly status: number;
  /** Lower-case name -> value; repeated lines joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** What came back: a response, or a connection closed without one. */
export type Outcome = { kind: 'reply'; reply: Reply } | { kind: 'closed'; bytes: Buffer };

const HEAD_END = Buffer.from('\r\n\r\n');

interface Parsed {
  reply: Reply;
  /** Bytes of this response; anything after them belongs to no request we sent. */
  length: number;
}

/** One final response at the start of `buf` (1xx interim responses skipped), or undefined if incomplete. */
function parseReply(buf: Buffer, ended: boolean): Parsed | undefined {
  const end = buf.indexOf(HEAD_END);
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const start = end + HEAD_END.length;
  if (status >= 100 && status < 200) {
    const rest = parseReply(buf.subarray(start), ended);
    return rest && { reply: rest.reply, length: start + rest.length };
  }
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  const declared = headers['content-length'];
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) return dechunk(buf, start, status, headers);
  // The relay and the backend declare a length; Node's own 400 and 431 are close-delimited.
  if (declared === undefined) return ended ? { reply: { status, headers, body: buf.subarray(start) }, length: buf.length } : undefined;
  const length = start + Number(declared);
  return buf.length < length ? undefined : { reply: { status, headers, body: buf.subarray(start, length) }, length };
}

/** A chunked body (Node's own 417 is sent that way), or undefined while incomplete. */
function dechunk(buf: Buffer, start: number, status: number, headers: Record<string, string>): Parsed | undefined {
  const parts: Buffer[] = [];
  let offset = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', offset);
    if (lineEnd === -1) return undefined;
    const size = parseInt(buf.subarray(offset, lineEnd).toString('latin1'), 16);
    const dataEnd = lineEnd + 2 + size;
    if (buf.length < dataEnd + 2) return undefined;
    if (size === 0) return { reply: { status, headers, body: Buffer.concat(parts) }, length: dataEnd + 2 };
    parts.push(buf.subarray(lineEnd + 2, dataEnd));
    offset = dataEnd + 2;
  }
}

export class KeepAliveClient {
  #socket: net.Socket | undefined;
  #opened = 0;

  constructor(private readonly port: number) {}

  /** Connections opened so far (for the report: how well keep-alive worked). */
  get opened(): number {
    return this.#opened;
  }

  /**
   * Sends `bytes` and resolves with the response. `reuse: false` closes the connection afterwards,
   * as does a response with `Connection: close`. Rejects if nothing completes within 10 s, or if
   * bytes follow the response (they would answer a request nobody sent).
   */
  async send(bytes: Buffer, reuse: boolean): Promise<Outcome> {
    const fresh = !this.#socket || this.#socket.destroyed;
    const outcome = await this.#exchange(this.#connection(), bytes, reuse);
    // A kept connection the server had just closed: nothing was processed, so send it again once.
    if (!fresh && outcome.kind === 'closed' && outcome.bytes.length === 0) return this.#exchange(this.#connection(), bytes, reuse);
    return outcome;
  }

  #exchange(socket: net.Socket, bytes: Buffer, reuse: boolean, timeoutMs = 10_000): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const finish = (outcome: Outcome | Error): void => {
        clearTimeout(timer);
        socket.off('data', onData).off('close', onClose).off('error', onError);
        const keep = reuse && !(outcome instanceof Error) && outcome.kind === 'reply' && !/close/i.test(outcome.reply.headers.connection ?? '');
        if (!keep) this.#drop();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const tryParse = (ended: boolean): void => {
        const parsed = parseReply(buf, ended);
        if (parsed && parsed.length < buf.length)
          finish(new Error(`bytes after the response: ${JSON.stringify(buf.subarray(parsed.length).toString('latin1').slice(0, 200))}`));
        else if (parsed) finish({ kind: 'reply', reply: parsed.reply });
        else if (ended) finish({ kind: 'closed', bytes: buf });
      };
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        tryParse(false);
      };
      const onClose = (): void => tryParse(true);
      // A reset after Node's 400 (it closes while we still write) is the same as a close.
      const onError = (): void => undefined;
      const timer = setTimeout(
        () => finish(new Error(`no response within ${timeoutMs} ms; got ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`)),
        timeoutMs,
      );
      socket.on('data', onData).on('close', onClose).on('error', onError);
      socket.write(bytes);
    });
  }

  close(): void {
    this.#drop();
  }

  #connection(): net.Socket {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    this.#opened++;
    const socket = net.connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    // Errors are handled per request; between requests a reset just means "reconnect next time".
    socket.on('error', () => socket.destroy());
    this.#socket = socket;
    return socket;
  }

  #drop(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }
}
