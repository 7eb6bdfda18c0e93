/**
 * A node:http backend that records every request twice: as Node's parser presents it (method, url,
 * headers, body) and as it went over the wire. A TCP tap in front of the server keeps each
 * connection's bytes before passing them on; `parseRequest` (raw-backend) splits them into requests,
 * and the n-th request node:http parses on a socket is the n-th one split from that connection. So
 * tests assert on the exact bytes the relay sent (casing, order, whitespace, duplicates) while the
 * responders keep node:http's `res` for the fault and session cases.
 */
import type http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { listen, type Listening } from './listen.js';
import { parseRequest, type WireRequest } from './raw-backend.js';

export type { WireRequest } from './raw-backend.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Raw header lines as Node's parser presents them (values trimmed). Prefer `wire`. */
  rawHeaders: string[];
  body: string;
  /** The request exactly as the backend's socket received it. Throws if the bytes could not be split. */
  readonly wire: WireRequest;
}

export interface RecordingBackend extends Listening {
  requests: RecordedRequest[];
  last(): RecordedRequest;
}

export type Responder = (req: http.IncomingMessage, res: http.ServerResponse, recorded: RecordedRequest) => void;

/** The default answer: 200 `{"ok":true}` as JSON. */
export const answerOk: Responder = (_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"ok":true}');
};

/** The bytes one tapped connection carried towards the server, split into requests on demand. */
class TappedConnection {
  private readonly chunks: Buffer[] = [];
  private readonly parsed: WireRequest[] = [];
  private consumed = 0;

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  /** The n-th request (0-based) on this connection, or undefined if the bytes do not hold it. */
  request(n: number): WireRequest | undefined {
    if (this.parsed.length <= n) {
      let rest = Buffer.concat(this.chunks).subarray(this.consumed);
      while (this.parsed.length <= n) {
        const next = parseRequest(rest);
        if (!next) return undefined;
        this.parsed.push(next.request);
        this.consumed += next.consumed;
        rest = rest.subarray(next.consumed);
      }
    }
    return this.parsed[n];
  }
}

interface Tap {
  port: number;
  /** The connection whose upstream socket has local port `port` (the server's `req.socket.remotePort`). */
  byUpstreamPort(port: number): TappedConnection | undefined;
  close(): Promise<void>;
}

/** Ends or resets `to` the way `from` ended, so a reset still reaches the relay as a reset. */
function mirrorClose(from: net.Socket, to: net.Socket): void {
  from.on('error', () => {
    if (!to.destroyed) to.resetAndDestroy();
  });
  from.on('close', () => to.destroy());
}

/** A TCP forwarder to 127.0.0.1:`target` that records what each client sends before passing it on. */
async function tap(target: number): Promise<Tap> {
  const connections = new Map<number, TappedConnection>();
  const sockets = new Set<net.Socket>();
  // Paused until the upstream socket is connected and registered: no byte reaches the server before
  // its connection can be attributed.
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    const record = new TappedConnection();
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    mirrorClose(client, upstream);
    mirrorClose(upstream, client);
    upstream.once('connect', () => {
      const port = upstream.localPort!;
      connections.set(port, record);
      upstream.once('close', () => connections.delete(port));
      // Recorded before it is written on: the server cannot parse a byte the tap has not kept.
      client.on('data', (chunk: Buffer) => record.append(chunk));
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    byUpstreamPort: (port) => connections.get(port),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Records every request and answers with `respond` (default `answerOk`). `url` and `port` are the
 * tap's; `server` is the node:http server behind it.
 */
export async function recordingBackend(respond: Responder = answerOk): Promise<RecordingBackend> {
  const requests: RecordedRequest[] = [];
  const served = new WeakMap<net.Socket, number>();
  // `tapped` is set before any connection can arrive: clients only know the tap's port.
  const listening = await listen((req, res) => {
    const n = served.get(req.socket) ?? 0;
    served.set(req.socket, n + 1);
    const connection = tapped.byUpstreamPort(req.socket.remotePort ?? -1);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const wire = connection?.request(n);
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
        get wire(): WireRequest {
          if (!wire) throw new Error(`the tap could not split request #${n} of its connection from the bytes it received`);
          return wire;
        },
      };
      requests.push(recorded);
      respond(req, res, recorded);
    });
  });
  const tapped = await tap(listening.port);
  return {
    server: listening.server,
    port: tapped.port,
    url: `http://127.0.0.1:${tapped.port}`,
    requests,
    last() {
      const r = requests.at(-1);
      if (!r) throw new Error('the backend received no request');
      return r;
    },
    async close() {
      await tapped.close();
      await listening.close();
    },
  };
}
