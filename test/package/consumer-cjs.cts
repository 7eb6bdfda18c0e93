// A TypeScript consumer's CommonJS entry (module nodenext, .cts -> .cjs): the import compiles to a
// require() of the ESM-only package (Node >= 22.12). Compiled by smoke.sh against the installed
// tarball's .d.ts, then run.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { captureHeaders, HeaderConfigError, mcpProxy, memorySessionStore } from 'mcp-header-relay';
import type { HeaderConfigErrorCode, SecretProvider } from 'mcp-header-relay';

// A custom provider, as docs/configuration.md shows: synchronous, described, never quoting a value.
const secrets: SecretProvider = { description: 'fixed test secret', read: (name) => (name === 'API_KEY' ? 'k-secret' : undefined) };

function configError(build: () => unknown): HeaderConfigErrorCode | undefined {
  try {
    build();
    return undefined;
  } catch (error) {
    if (error instanceof HeaderConfigError) return error.code;
    throw error;
  }
}

async function main(): Promise<void> {
  const code = configError(() => mcpProxy({ target: 'http://127.0.0.1:1/mcp', headers: { plaintext: { Host: 'x' } } }));
  if (code !== 'ERR_RESTRICTED_HEADER') throw new Error(`restricted header: got ${code}`);

  const backend = http.createServer((req, res) => res.end(`${req.headers['x-mcp-api-key']} ${req.headers['x-api-key']}`));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key'] }));
  app.use(
    '/b',
    mcpProxy({
      target: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/mcp`,
      headers: { fromSecret: { 'X-Api-Key': 'API_KEY' } },
      secrets,
      session: { mode: 'bind', store: memorySessionStore(), sessionKey: randomBytes(32) },
    }),
  );
  const gateway = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => gateway.once('listening', resolve));
  const res = await fetch(`http://127.0.0.1:${(gateway.address() as AddressInfo).port}/b`, { headers: { 'x-mcp-api-key': 'k-ts-cjs' } });
  const text = await res.text();
  gateway.closeAllConnections();
  gateway.close();
  backend.closeAllConnections();
  backend.close();
  if (res.status !== 200 || text !== 'k-ts-cjs k-secret') throw new Error(`unexpected proxy result ${res.status} ${text}`);
  console.log('TypeScript CommonJS consumer: proxied one request');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
