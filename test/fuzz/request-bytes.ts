/** Serialises a generated request byte for byte, with the body its framing variant promises. */
import type { FuzzRequest } from './request-arbitraries.js';

const BODY = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
const CHUNKED_BODY = `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`;

/** The request target; `id` makes the request recognisable on the backend's wire. */
export function requestTarget(request: FuzzRequest, id: string): string {
  switch (request.target) {
    case 'absolute':
      return `http://evil.test/b/${id}`;
    case 'query':
      return `/b/${id}?q=1`;
    case 'dot':
      return `/b/${id}/..`;
    case 'encoded-dot':
      return `/b/${id}/%2E%2e`;
    case 'fragment':
      return `/b/${id}#x`;
    case 'double-slash':
      return `/b//${id}`;
    default:
      return `/b/${id}`;
  }
}

/** Extra framing lines and the body that matches them. */
function framing(request: FuzzRequest): { lines: string[]; body: string } {
  switch (request.framing) {
    case 'none':
      return { lines: [], body: '' };
    case 'length':
      return { lines: [`Content-Length: ${BODY.length}`], body: BODY };
    case 'length-twice':
      return { lines: [`Content-Length: ${BODY.length}`, `content-length: ${BODY.length}`], body: BODY };
    case 'chunked':
      return { lines: ['Transfer-Encoding: chunked'], body: CHUNKED_BODY };
    case 'chunked-and-length':
      return { lines: ['Transfer-Encoding: chunked', `Content-Length: ${CHUNKED_BODY.length}`], body: CHUNKED_BODY };
    default:
      return { lines: [`Transfer-Encoding: ${request.framing.slice('coding:'.length)}`], body: CHUNKED_BODY };
  }
}

/**
 * Whether the connection can carry another request afterwards. Not when the framing is one Node may
 * read differently from us (a second Content-Length, an odd coding, a generated Transfer-Encoding
 * line): a byte left over would become the next request's response.
 */
export function reusable(request: FuzzRequest): boolean {
  const plain = request.framing === 'none' || request.framing === 'length' || request.framing === 'chunked';
  return plain && !request.lines.some((l) => l.name.toLowerCase() === 'transfer-encoding');
}

export function requestBytes(request: FuzzRequest, id: string): Buffer {
  const { lines, body } = framing(request);
  const parts: Buffer[] = [Buffer.from(`${request.method} ${requestTarget(request, id)} HTTP/1.1\r\n`, 'latin1')];
  if (request.host) parts.push(Buffer.from('Host: gw.test\r\n'));
  for (const line of request.lines) parts.push(Buffer.from(`${line.name}:`, 'latin1'), line.value, Buffer.from('\r\n'));
  parts.push(Buffer.from(`${lines.map((l) => `${l}\r\n`).join('')}\r\n${body}`, 'latin1'));
  return Buffer.concat(parts);
}

/**
 * Whether a generated value ends the head early (a value ending in CRLF, or holding CRLF CRLF): Node
 * then reads a complete first request and parses the rest of the bytes as a second one. It answers a
 * malformed second request with 400 at once, which can reach the client before the first's response.
 */
export function headEndsEarly(request: FuzzRequest, id: string): boolean {
  const bytes = requestBytes(request, id);
  const headLength = bytes.length - Buffer.byteLength(framing(request).body, 'latin1');
  return bytes.indexOf('\r\n\r\n') + 4 < headLength;
}
