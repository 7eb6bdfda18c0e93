import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case header name -> value (repeated lines joined with ", "). */
  headers: Record<string, string>;
  /** Raw header lines as [name, value] in order. */
  headerLines: [string, string][];
  body: string;
  /** Every byte received, for leak checks. */
  raw: string;
}

/**
 * Sends `request` byte for byte over a fresh TCP connection (so tests can send what fetch and
 * supertest refuse to: duplicate lines, Trailer, Expect, CRLF tricks, absolute-form targets) and
 * resolves with the first response. Lines are joined with CRLF; pass the full request text
 * including the final blank line. Times out after `timeoutMs`.
 */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms; got: ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, timeoutMs);
    const finish = (): boolean => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const parsed = parseResponse(raw);
      if (!parsed) return false;
      clearTimeout(timer);
      socket.destroy();
      resolve(parsed);
      return true;
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      finish();
    });
    socket.on('end', () => {
      if (!finish()) {
        clearTimeout(timer);
        const raw = Buffer.concat(chunks).toString('latin1');
        reject(new Error(`connection closed before a complete response: ${JSON.stringify(raw.slice(0, 300))}`));
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write(request);
  });
}

export interface RawExchange {
  /** Every byte the client received, latin1. */
  raw: string;
  /** When the server closed the connection, or undefined if it was still open at `waitMs`. */
  closedAt: number | undefined;
}

/**
 * Sends `request` over a fresh TCP connection and collects every byte until the server closes the
 * connection or `waitMs` passes (then the client closes it and `closedAt` is undefined): for what
 * rawRequest cannot frame, such as streams and connections the server breaks off. `onData` sees the
 * bytes received so far after each chunk.
 */
export function rawExchange(port: number, request: string, waitMs: number, onData?: (raw: string) => void): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    let done = false;
    const finish = (closedAt: number | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ raw, closedAt });
    };
    const timer = setTimeout(() => finish(undefined), waitMs);
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('latin1');
      onData?.(raw);
    });
    socket.on('error', () => finish(Date.now()));
    socket.on('close', () => finish(Date.now()));
    socket.write(request);
  });
}

/** Builds a request text: `http('GET /x HTTP/1.1', ['Host: a', 'X: 1'], body)`. */
export function httpText(requestLine: string, headerLines: string[], body = ''): string {
  return `${requestLine}\r\n${headerLines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * The response head only (status and headers, an empty body), read up to the blank line: for answers
 * that carry no body (to HEAD) or whose body a test does not wait for.
 */
export function rawHead(port: number, request: string, timeoutMs = 3000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response head within ${timeoutMs} ms: ${JSON.stringify(raw.slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseHead(raw, end), body: '', raw });
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write(request);
  });
}

/** Status line and header lines of a head that ends at `end` (the index of its blank line). */
function parseHead(raw: string, end: number): Pick<RawResponse, 'status' | 'headers' | 'headerLines'> {
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headerLines: [string, string][] = lines.map((line) => {
    const i = line.indexOf(':');
    return [line.slice(0, i).trim(), line.slice(i + 1).trim()];
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of headerLines) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, headerLines };
}

function parseResponse(raw: string): RawResponse | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const { status, headers, headerLines } = parseHead(raw, end);
  if (status === 100) {
    const parsed = parseResponse(raw.slice(end + 4));
    return parsed && { ...parsed, raw };
  }
  const rest = raw.slice(end + 4);
  let body: string;
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (Buffer.byteLength(rest, 'latin1') < length) return undefined;
    body = rest.slice(0, length);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const decoded = decodeChunked(rest);
    if (decoded === undefined) return undefined;
    body = decoded;
  } else {
    body = rest; // 1xx/204/304 or close-delimited; callers needing the latter wait for 'end'
  }
  return { status, headers, headerLines, body, raw };
}

function decodeChunked(text: string): string | undefined {
  let out = '';
  let i = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', i);
    if (lineEnd === -1) return undefined;
    const size = parseInt(text.slice(i, lineEnd), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return text.indexOf('\r\n\r\n', lineEnd - 2) === -1 ? undefined : out;
    const start = lineEnd + 2;
    if (text.length < start + size + 2) return undefined;
    out += text.slice(start, start + size);
    i = start + size + 2;
  }
}
