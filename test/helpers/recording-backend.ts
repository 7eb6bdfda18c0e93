import type http from 'node:http';
import { listen, type Listening } from './listen.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Raw header lines as received, to see duplicates and casing. */
  rawHeaders: string[];
  body: string;
}

export interface RecordingBackend extends Listening {
  requests: RecordedRequest[];
  last(): RecordedRequest;
}

export type Responder = (req: http.IncomingMessage, res: http.ServerResponse, recorded: RecordedRequest) => void;

/**
 * A plain node:http backend that records every request (method, url, headers, body) and answers
 * with `respond`, by default 200 `{"ok":true}` as JSON.
 */
export async function recordingBackend(respond?: Responder): Promise<RecordingBackend> {
  const requests: RecordedRequest[] = [];
  const listening = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      if (respond) return respond(req, res, recorded);
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  return {
    ...listening,
    requests,
    last() {
      const r = requests.at(-1);
      if (!r) throw new Error('the backend received no request');
      return r;
    },
  };
}
