import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Listening {
  server: http.Server;
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts a server for `handler` on 127.0.0.1, port 0. `close()` also ends idle and streaming sockets. */
export async function listen(handler: http.RequestListener, options: http.ServerOptions = {}): Promise<Listening> {
  const server = http.createServer(options, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * As `listen`, over TLS (`https://127.0.0.1:PORT`). `server` is typed as an http.Server: an
 * https.Server has the same request-handling surface (it is built on the same internals).
 */
export async function listenHttps(handler: http.RequestListener, options: https.ServerOptions): Promise<Listening> {
  const server = https.createServer(options, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server: server as unknown as http.Server,
    port,
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
