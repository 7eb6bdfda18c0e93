// A consumer project's CommonJS entry: require()s the ESM-only package (Node >= 22.12) and proxies one request.
const http = require('node:http');
const express = require('express');
const { captureHeaders, mcpProxy, HeaderConfigError } = require('mcp-header-relay');

(async () => {
  try {
    mcpProxy({ target: 'http://127.0.0.1:1/mcp', headers: { plaintext: { Host: 'x' } } });
    throw new Error('restricted header accepted');
  } catch (error) {
    if (!(error instanceof HeaderConfigError) || error.code !== 'ERR_RESTRICTED_HEADER') throw error;
  }
  const backend = http.createServer((req, res) => res.end(String(req.headers['x-mcp-api-key'])));
  await new Promise((r) => backend.listen(0, '127.0.0.1', r));
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key'] }));
  app.use('/b', mcpProxy({ target: `http://127.0.0.1:${backend.address().port}/mcp` }));
  const gateway = app.listen(0, '127.0.0.1');
  await new Promise((r) => gateway.once('listening', r));
  const res = await fetch(`http://127.0.0.1:${gateway.address().port}/b`, { headers: { 'x-mcp-api-key': 'k-cjs' } });
  const text = await res.text();
  if (res.status !== 200 || text !== 'k-cjs') throw new Error(`unexpected proxy result ${res.status}`);
  gateway.closeAllConnections();
  gateway.close();
  backend.closeAllConnections();
  backend.close();
  console.log('CommonJS consumer: proxied one request');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
