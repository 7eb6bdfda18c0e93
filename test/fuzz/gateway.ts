/**
 * The system under test for requests.test.ts: a real Express app, captureHeaders with two
 * allowlisted names, and `app.use('/b', mcpProxy(...))` with one static and one secret header, in
 * front of test/helpers/raw-backend.ts, which records the exact bytes the relay sends.
 *
 * The raw backend keeps every byte it ever received, so after `RECYCLE_EVERY` requests the whole
 * stack is rebuilt: a million runs then use bounded memory.
 */
import express from 'express';
import { captureHeaders, envSecrets, mcpProxy } from '../../lib/index.js';
import type { LogFields, RelayLogger } from '../../lib/index.js';
import { listen, type Listening } from '../helpers/listen.js';
import { OK_JSON, rawBackend, type RawBackend, type WireRequest } from '../helpers/raw-backend.js';
import { VALUE_SENTINEL } from './arbitraries.js';
import { KeepAliveClient, type Outcome } from './client.js';
import { ALLOWLISTED } from './request-arbitraries.js';

export const STATIC_VALUE = 'static-value-1';
export const SECRET_VALUE = 'secret-value-2';
const RECYCLE_EVERY = 20_000;

/** Request ids travel in the path: `/b/fz12z` reaches the backend as `/mcp/fz12z`. */
const ID = /fz(\d+)z/;

/** A logger that keeps only what the property checks: lines containing a generated value. */
function leakWatchingLogger(leaks: string[]): RelayLogger {
  const line = (fields: LogFields, message: string): void => {
    const text = `${message} ${JSON.stringify(fields)}`;
    if (text.includes(VALUE_SENTINEL)) leaks.push(text);
  };
  return { warn: line, error: line, info: line, debug: line };
}

interface Stack {
  backend: RawBackend;
  gateway: Listening;
  client: KeepAliveClient;
}

export class FuzzGateway {
  /** Wire requests by id, removed when the property reads them. */
  readonly #received = new Map<string, WireRequest>();
  /** Log lines that contained a generated value (must stay empty). */
  readonly leaks: string[] = [];
  #stack: Stack | undefined;
  #served = 0;
  #connections = 0;
  #nextId = 0;

  get backendPort(): number {
    return this.#stack!.backend.port;
  }

  /** Client connections opened over the whole run. */
  get connections(): number {
    return this.#connections + (this.#stack?.client.opened ?? 0);
  }

  nextId(): string {
    return `fz${this.#nextId++}z`;
  }

  async send(bytes: Buffer, reuse: boolean): Promise<Outcome> {
    if (!this.#stack || this.#served >= RECYCLE_EVERY) await this.#restart();
    this.#served++;
    return this.#stack!.client.send(bytes, reuse);
  }

  /** The request with this id as the backend received it, if it arrived; forgets it. */
  take(id: string): WireRequest | undefined {
    const wire = this.#received.get(id);
    this.#received.delete(id);
    return wire;
  }

  async close(): Promise<void> {
    const stack = this.#stack;
    this.#stack = undefined;
    if (!stack) return;
    this.#connections += stack.client.opened;
    stack.client.close();
    await stack.gateway.close();
    await stack.backend.close();
  }

  async #restart(): Promise<void> {
    await this.close();
    this.#served = 0;
    const received = this.#received;
    const backend = await rawBackend((request) => {
      const id = ID.exec(request.requestLine)?.[0];
      if (id) received.set(id, request);
      return OK_JSON;
    });
    const gateway = await listen(this.#app(backend.url));
    this.#stack = { backend, gateway, client: new KeepAliveClient(gateway.port) };
  }

  #app(backendUrl: string): express.Express {
    const logger = leakWatchingLogger(this.leaks);
    const app = express();
    app.use(captureHeaders({ allow: ALLOWLISTED, logger }));
    app.use(
      '/b',
      mcpProxy({
        target: `${backendUrl}/mcp`,
        headers: { plaintext: { 'X-Static': STATIC_VALUE }, fromSecret: { 'X-Backend-Auth': 'FUZZ_SECRET' } },
        secrets: envSecrets({ FUZZ_SECRET: SECRET_VALUE }),
        // The clients call it gw.test; Origin keeps the loopback default of this 127.0.0.1 listener.
        allowedHosts: ['gw.test'],
        logger,
      }),
    );
    return app;
  }
}
