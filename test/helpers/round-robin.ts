/**
 * A load balancer for replica tests: an HTTP proxy on 127.0.0.1 that sends each request (not each
 * connection: an SDK client reuses its connections) to the next of its targets in turn. A test may
 * steer requests with `route`, e.g. every initialize to replica 0 and the rest of the session to 1.
 * Bodies and answers are streamed both ways, so an SSE stream stays open through it.
 */
import http from 'node:http';
import { listen, type Listening } from './listen.js';

export interface Served {
  /** The index of the target that served the request. */
  replica: number;
  method: string;
  sessionId: string | undefined;
  status?: number;
}

export interface Balancer extends Listening {
  /** Every request, in arrival order, with the replica that served it. */
  readonly served: Served[];
  /** Picks the target of a request; `undefined`: the next in turn. */
  route: ((req: http.IncomingMessage) => number | undefined) | undefined;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export async function roundRobin(targets: readonly string[]): Promise<Balancer> {
  const agent = new http.Agent({ keepAlive: true });
  const served: Served[] = [];
  let turn = 0;
  const balancer = {
    served,
    route: undefined as Balancer['route'],
  };
  const listening = await listen((req, res) => {
    const replica = balancer.route?.(req) ?? turn++ % targets.length;
    const sessionId = req.headers['mcp-session-id'];
    const entry: Served = { replica, method: req.method ?? '', sessionId: typeof sessionId === 'string' ? sessionId : undefined };
    served.push(entry);
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && name !== 'host') headers[name] = value;
    const upstream = http.request(`${targets[replica]!}${req.url ?? '/'}`, { method: req.method, headers, agent }, (answer) => {
      entry.status = answer.statusCode;
      const out: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
      res.writeHead(answer.statusCode ?? 502, out);
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // The client left before the answer was through (an SSE stream closed): the replica's request goes too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  return Object.assign(balancer, {
    ...listening,
    close: async () => {
      agent.destroy();
      await listening.close();
    },
  });
}
