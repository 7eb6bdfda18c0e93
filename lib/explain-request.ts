/**
 * The request explain reasons about: a real `IncomingMessage` built from the caller's headers, as
 * Node's HTTP parser would present it (raw lines in order, values trimmed, repeated lines folded by
 * Node's own rules), with no body and no network behind it. What the parser itself refuses (a name
 * that is no token, a control character in a value, a header block over `http.maxHeaderSize`) is
 * answered here, as the 400 or 431 a client would get before any middleware runs.
 */
import http, { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { displayName } from './header-rules.js';

/** The request line and headers of one explained request. */
export interface RequestShape {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly localAddress: string;
}

/** RFC 9110 token: what llhttp accepts as a method or a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * What llhttp refuses in a value: every control character but HTAB (NUL, CR, LF and DEL included),
 * and, for this string form, anything outside latin1, which no client can put on the wire as it is.
 */
function parserRefuses(value: string, tab: boolean): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && !(tab && c === 0x09)) || c === 0x7f || c > 0xff) return true;
  }
  return false;
}

/** What Node's parser answers itself: 400 Bad Request or 431, with no body of ours. */
export interface ParserRefusal {
  readonly status: 400 | 431;
  readonly reason: 'http_parse_error' | 'header_block_too_large';
  readonly message: string;
  readonly header?: string;
  readonly detail: string;
}

/** Node's parser's view of the request, or the answer it gives instead. */
export function syntheticRequest(shape: RequestShape): IncomingMessage | ParserRefusal {
  if (!TOKEN.test(shape.method)) return parserRefusal(400, 'the method is not an HTTP token');
  if (shape.path.includes(' ') || parserRefuses(shape.path, false)) return parserRefusal(400, 'the request target has spaces or control characters');
  const raw: string[] = [];
  let bytes = shape.method.length + shape.path.length + 11; // "METHOD PATH HTTP/1.1\r\n"
  for (const [name, value] of Object.entries(shape.headers)) {
    for (const line of typeof value === 'string' ? [value] : value) {
      if (!TOKEN.test(name)) return parserRefusal(400, `header name ${JSON.stringify(displayName(name))} is not an HTTP token`);
      if (parserRefuses(line, true)) {
        return parserRefusal(400, `header ${displayName(name)} has a control character (CR, LF, NUL or another) or one outside latin1`, name);
      }
      // The parser trims optional whitespace around a value.
      raw.push(name, line.replace(/^[ \t]+|[ \t]+$/g, ''));
      bytes += name.length + line.length + 4;
    }
  }
  if (bytes > http.maxHeaderSize) return parserRefusal(431, `the header block is over http.maxHeaderSize (${http.maxHeaderSize} bytes)`);
  const socket = { localAddress: shape.localAddress, remoteAddress: shape.localAddress, encrypted: false } as unknown as Socket;
  const req = new IncomingMessage(socket);
  req.method = shape.method;
  req.url = shape.path;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  // What the parser calls with each header block: Node's own folding of repeated lines (joined,
  // first kept, or an array), so explain sees `req.headers` exactly as a request would.
  (req as unknown as { _addHeaderLines(lines: string[], n: number): void })._addHeaderLines(raw, raw.length);
  req.push(null);
  return req;
}

function parserRefusal(status: 400 | 431, detail: string, header?: string): ParserRefusal {
  const refusal = {
    status,
    reason: status === 431 ? 'header_block_too_large' : 'http_parse_error',
    message: status === 431 ? 'Request Header Fields Too Large' : 'Bad Request',
    detail: `Node's HTTP parser answers before any middleware: ${detail}`,
  } as const;
  return header === undefined ? refusal : { ...refusal, header: displayName(header) };
}
