/**
 * One request of a health probe, straight to the backend (not through the relay): sent with the
 * route's agent, so a probe connects the way the route does (same pool, same TLS settings), and its
 * answer read only as far as the JSON-RPC response to it, within a byte bound. Whatever the backend
 * writes is parsed here and never returned as text: a probe result must not echo a backend's body.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';

/** Where and how a probe's requests go. */
export interface Exchange {
  /** The route's target: origin, path and query. */
  readonly url: URL;
  readonly agent: http.Agent;
  /** Aborted at the probe's deadline: the request (or the body being read) is destroyed. */
  readonly signal: AbortSignal;
}

/** The parts of a JSON-RPC response a probe looks at. */
export interface JsonRpcAnswer {
  readonly result?: unknown;
  readonly error?: unknown;
}

export interface Answer {
  readonly status: number;
  /** A 2025 backend's `Mcp-Session-Id`, when it is one a client could send back (visible ASCII). */
  readonly sessionId: string | undefined;
  /** The JSON-RPC response to the request, read from a JSON or event-stream body of a 2xx answer. */
  readonly message: JsonRpcAnswer | undefined;
}

/** Larger than any discover or initialize result; a body past it is not what a probe asked for. */
const MAX_BODY_BYTES = 256 * 1024;
/** MCP 2025-11-25: a session id holds visible ASCII only. */
const SESSION_ID = /^[\x21-\x7e]{1,1024}$/;

/** The backend's answer was not HTTP a probe can read to the end (too large). */
export class ProbeBodyError extends Error {
  override name = 'ProbeBodyError';
}

/** Sends one request; rejects with the connection's error (or an AbortError at the deadline). */
export function exchange(target: Exchange, method: 'POST' | 'DELETE', headers: OutgoingHttpHeaders, body?: string): Promise<Answer> {
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise<Answer>((resolve, reject) => {
    const req = client.request(target.url, { method, headers, agent: target.agent, signal: target.signal }, (res) => {
      const status = res.statusCode ?? 0;
      const raw = res.headers['mcp-session-id'];
      const sessionId = typeof raw === 'string' && SESSION_ID.test(raw) ? raw : undefined;
      if (status < 200 || status > 299 || method === 'DELETE') {
        // An error body is neither read nor kept: dropping the socket is cheaper than draining an unknown length.
        res.destroy();
        resolve({ status, sessionId, message: undefined });
        return;
      }
      readAnswer(res).then((message) => resolve({ status, sessionId, message }), reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The first JSON-RPC response in a JSON or event-stream body; the rest of a stream is not waited for. */
async function readAnswer(res: IncomingMessage): Promise<JsonRpcAnswer | undefined> {
  const stream = /^text\/event-stream\b/i.test(res.headers['content-type'] ?? '');
  let text = '';
  let bytes = 0;
  try {
    for await (const chunk of res) {
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_BODY_BYTES) throw new ProbeBodyError('the answer is larger than a probe reads');
      text += (chunk as Buffer).toString('utf8');
      if (!stream) continue;
      const message = firstEventAnswer(text);
      if (message) return message;
    }
  } finally {
    if (!res.complete) res.destroy();
  }
  return stream ? firstEventAnswer(`${text}\n\n`) : jsonRpcAnswer(text);
}

/** Looks through the complete events of an event stream for a JSON-RPC response. */
function firstEventAnswer(text: string): JsonRpcAnswer | undefined {
  const events = text.replace(/\r\n?/g, '\n').split('\n\n');
  events.pop(); // incomplete, or empty after the last blank line
  for (const event of events) {
    const data = event
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    const message = data === '' ? undefined : jsonRpcAnswer(data);
    if (message) return message;
  }
  return undefined;
}

/** A JSON-RPC response (result or error), or undefined for anything else, including a request or notification. */
function jsonRpcAnswer(text: string): JsonRpcAnswer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const message = parsed as Record<string, unknown>;
  if (message.jsonrpc !== '2.0' || !('id' in message)) return undefined;
  if (isObject(message.result)) return { result: message.result };
  if (isObject(message.error)) return { error: message.error };
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
