/**
 * Gateways and backends for test/security/i-requests.test.ts (issue 9, request side: I3–I7, I11).
 *
 * `withIRelay` is sec-relay's standard gateway that also captures `x-user-id`, the header an auth
 * middleware owns; tests mount their own middleware with its `before` and `beforeProxy` options.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import { sharedRelay, withRelay, type SecRelay, type SecRelayOptions } from './sec-relay.js';

/** The names the I-gateways capture: sec-relay's two and an identity header an auth middleware owns. */
export const I_ALLOW = ['x-mcp-api-key', 'x-tenant', 'x-user-id'];

export type IRelayOptions = Pick<SecRelayOptions, 'before' | 'beforeProxy' | 'target' | 'respond'>;

/** sec-relay's standard gateway capturing I_ALLOW as well; checks the wire and always closes it. */
export function withIRelay(options: IRelayOptions, fn: (relay: SecRelay) => Promise<void>): Promise<void> {
  return withRelay({ allow: I_ALLOW, ...options }, fn);
}

/** The same gateway shared by the tests of the enclosing describe (see sec-relay's `sharedRelay`). */
export function sharedIRelay(options: IRelayOptions = {}): () => SecRelay {
  return sharedRelay({ allow: I_ALLOW, ...options });
}

/** The common request-id middleware: adds a header the client did not send. */
export const requestId: RequestHandler = (req, _res, next) => {
  req.headers['x-request-id'] = crypto.randomUUID();
  next();
};

/** Sets (or, with `undefined`, deletes) `req.headers[name]` whenever the client sent that header. */
export function rewriteHeader(name: string, value: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (req.headers[name] !== undefined) {
      if (value === undefined) delete req.headers[name];
      else req.headers[name] = value;
    }
    next();
  };
}

export interface BodyBlindBackend {
  url: string;
  port: number;
  /** The request line and header lines of every request head seen, in arrival order. */
  heads: string[];
  /** Resolves once `count` heads were seen, or after `ms` (whichever comes first). */
  headsOrTimeout(count: number, ms: number): Promise<void>;
  close(): Promise<void>;
}

const BLIND_OK = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}';

/**
 * A raw TCP backend that never reads a request body: it answers every request head at once and reads
 * the next bytes as the next request head (a server that ignores Content-Length and Transfer-Encoding
 * on GET and DELETE). Bytes sent as the body of a GET are a second request to it.
 */
export async function bodyBlindBackend(): Promise<BodyBlindBackend> {
  const heads: string[] = [];
  const waiters: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        heads.push(pending.slice(0, end));
        pending = pending.slice(end + 4);
        socket.write(BLIND_OK);
        for (const wake of waiters.splice(0)) wake();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    heads,
    async headsOrTimeout(count, ms) {
      const deadline = Date.now() + ms;
      while (heads.length < count && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
