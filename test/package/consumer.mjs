// A consumer project's ESM entry: imports the installed tarball and proxies one request.
import http from 'node:http';
import express from 'express';
import { captureHeaders, mcpProxy, getForwardedHeaders, HeaderConfigError, envSecrets, fileSecrets } from 'mcp-header-relay';

for (const fn of [captureHeaders, mcpProxy, getForwardedHeaders, envSecrets, fileSecrets]) {
  if (typeof fn !== 'function') throw new Error('missing export');
}
if (typeof HeaderConfigError !== 'function') throw new Error('missing HeaderConfigError');

const backend = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ key: req.headers['x-mcp-api-key'] ?? null, leaked: req.headers['authorization'] ?? null, path: req.url }));
});
await new Promise((r) => backend.listen(0, '127.0.0.1', r));
const app = express();
app.use(captureHeaders({ allow: ['x-mcp-api-key'] }));
app.use('/backend', mcpProxy({ target: `http://127.0.0.1:${backend.address().port}/mcp` }));
const gateway = app.listen(0, '127.0.0.1');
await new Promise((r) => gateway.once('listening', r));
const res = await fetch(`http://127.0.0.1:${gateway.address().port}/backend`, {
  headers: { 'x-mcp-api-key': 'k-esm', authorization: 'Bearer client' },
});
const body = await res.json();
if (res.status !== 200 || body.key !== 'k-esm' || body.leaked !== null || body.path !== '/mcp') {
  throw new Error(`unexpected proxy result ${res.status} ${JSON.stringify(body)}`);
}
gateway.closeAllConnections();
gateway.close();
backend.closeAllConnections();
backend.close();
console.log('ESM consumer: proxied one request');
