/**
 * A gateway with many backends: every mcpProxy route on one server serves, and the server's close
 * listeners (one per route, from http-proxy-middleware) raise no MaxListenersExceededWarning.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen } from '../helpers/listen.js';
import { recordingBackend } from '../helpers/recording-backend.js';

describe('many routes on one server', () => {
  it('25 mcpProxy routes each answer, with no MaxListenersExceededWarning and the server still warning about a real leak', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const backend = await recordingBackend();
    const app = express();
    const ROUTES = 25;
    for (let i = 0; i < ROUTES; i++) app.use(`/r${i}`, mcpProxy({ target: `${backend.url}/mcp/${i}`, logger: captureLogger() }));
    const gateway = await listen(app);
    try {
      const before = gateway.server.getMaxListeners();
      for (let i = 0; i < ROUTES; i++) {
        const res = await fetch(`${gateway.url}/r${i}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        // A second request on the same route registers nothing more.
        await (await fetch(`${gateway.url}/r${i}`)).arrayBuffer();
      }
      assert.deepEqual(
        backend.requests.map((r) => r.url).filter((_, i) => i % 2 === 0),
        Array.from({ length: ROUTES }, (_, i) => `/mcp/${i}`),
      );
      // One more listener per route, and no more: ten unrelated listeners still make Node warn.
      assert.equal(gateway.server.getMaxListeners(), before + ROUTES);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String), []);
    } finally {
      process.off('warning', onWarning);
      await gateway.close();
      await backend.close();
    }
  });
});
