/**
 * When the host app mounted a body parser (express.json(), express.urlencoded(), express.text(),
 * express.raw()) before the relay, the request stream is already consumed. The parsed body is
 * serialised again so the backend receives it; its length is declared exactly.
 */
import type { IncomingMessage } from 'node:http';

/** `undefined`: the stream is intact and is piped as is. `'lost'`: consumed and not reconstructible. */
export type ReplayBody = Buffer | undefined | 'lost';

export function replayBody(req: IncomingMessage): ReplayBody {
  if (!req.readableEnded) return undefined;
  const body: unknown = (req as IncomingMessage & { body?: unknown }).body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (!hasBody(req)) return undefined;
  const type = req.headers['content-type']?.toLowerCase() ?? '';
  if (isObject(body) && /[/+]json(\s*;|$)/.test(type)) return Buffer.from(JSON.stringify(body), 'utf8');
  if (isObject(body) && type.startsWith('application/x-www-form-urlencoded')) return urlEncoded(body);
  return 'lost';
}

function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Flat forms only; nested `qs` objects cannot be restored faithfully, so they count as lost. */
function urlEncoded(body: Record<string, unknown>): ReplayBody {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') params.append(key, value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) for (const v of value) params.append(key, v);
    else return 'lost';
  }
  return Buffer.from(params.toString(), 'utf8');
}
