// A TypeScript consumer's ESM entry (module nodenext, .mts -> .mjs), compiled by smoke.sh against the
// installed tarball's .d.ts and then run: the published types must accept what users write, reject
// what the docs say is an error, and describe what the code does at run time.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { captureHeaders, getForwardedHeaders, mcpProxy } from 'mcp-header-relay';
import type { ForwardedHeaders, McpProxyOptions, RelayMiddleware, SessionStore } from 'mcp-header-relay';
import { redisSessionStore } from 'mcp-header-relay/redis';

/** The request as the app's auth middleware leaves it (docs/sessions.md). */
interface AuthenticatedRequest extends http.IncomingMessage {
  user?: { id: string };
}

// Never called: errors the published types must still report (an unused directive fails tsc).
function rejectedAtCompileTime(): void {
  // @ts-expect-error pin needs a principal
  mcpProxy({ target: 'http://127.0.0.1:1/mcp', session: { mode: 'pin' } });
  // @ts-expect-error unknown option key
  captureHeaders({ allow: ['x-mcp-api-key'], alow: [] });
  // @ts-expect-error static header values are strings
  mcpProxy({ target: 'http://127.0.0.1:1/mcp', headers: { plaintext: { 'X-Retries': 3 } } });
  // @ts-expect-error pin keeps its values in this process: it takes no store
  mcpProxy({ target: 'http://127.0.0.1:1/mcp', session: { mode: 'pin', principal: () => 'p', store: redisSessionStore({ sendCommand: async () => null }) } });
}
void rejectedAtCompileTime;

const backend = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ key: req.headers['x-mcp-api-key'] ?? null, leaked: req.headers['authorization'] ?? null }));
});
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));

const options: McpProxyOptions = {
  target: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/mcp`,
  session: { mode: 'pin', principal: (req: AuthenticatedRequest) => req.user?.id },
};
const proxy: RelayMiddleware = mcpProxy(options);
let seen: ForwardedHeaders = {};
const app = express();
app.use(captureHeaders({ allow: ['x-mcp-api-key'] }));
app.use((req, _res, next) => {
  seen = getForwardedHeaders(req);
  next();
});
app.use('/backend', proxy);
const gateway = app.listen(0, '127.0.0.1');
await new Promise((resolve) => gateway.once('listening', resolve));

const res = await fetch(`http://127.0.0.1:${(gateway.address() as AddressInfo).port}/backend`, {
  headers: { 'x-mcp-api-key': 'k-ts-esm', authorization: 'Bearer client' },
});
const body = (await res.json()) as { key: unknown; leaked: unknown };
gateway.closeAllConnections();
gateway.close();
backend.closeAllConnections();
backend.close();
if (res.status !== 200 || body.key !== 'k-ts-esm' || body.leaked !== null || seen['x-mcp-api-key'] !== 'k-ts-esm') {
  throw new Error(`unexpected proxy result ${res.status} ${JSON.stringify(body)}`);
}
// mcp-header-relay/redis: the store a bind route takes, built on any client's sendCommand (here a stand-in).
const sent: string[][] = [];
const store: SessionStore = redisSessionStore({ prefix: 'consumer:', sendCommand: async (args) => (sent.push(args), null) });
mcpProxy({ target: 'http://127.0.0.1:1/mcp', session: { mode: 'bind', store, sessionKey: 'k'.repeat(32) } });
if ((await store.get('k')) !== undefined || sent[0]?.[0] !== 'EVALSHA' || !sent[0][3]?.startsWith('consumer:{sessions}:')) {
  throw new Error(`unexpected redis store commands ${JSON.stringify(sent)}`);
}
console.log('TypeScript ESM consumer: proxied one request; built a Redis session store');
