/**
 * The MCP-shaped answer to a POST, shared by the backend and the `express` setup (which answers
 * itself) so both do the same work: an initialize (no Mcp-Session-Id) gets a fresh session id.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

const RESULT = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}';
const INIT = '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"bench","version":"1"}}}';

export function answerPost(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  req.on('end', () => {
    const initialize = req.headers['mcp-session-id'] === undefined;
    const body = initialize ? INIT : RESULT;
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (initialize) headers['mcp-session-id'] = randomUUID();
    res.writeHead(200, headers).end(body);
  });
}
