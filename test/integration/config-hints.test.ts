/**
 * Misconfigurations only the running app shows, each logged once per route with names only:
 * captureHeaders mounted after the route or not at all, a passthrough name no captureHeaders allows,
 * a target without its path. And what is not a mistake logs nothing.
 * captureHeaders' allowlists are process-wide knowledge, so each test uses header names of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { captureHeaders, mcpProxy } from '../../lib/index.js';
import { captureLogger, type LogLine } from '../helpers/capture-logger.js';
import { recordingBackend } from '../helpers/recording-backend.js';

const SECRET_VALUE = 'hint-test-value-never-logged';

function hints(lines: LogLine[], hint: string): LogLine[] {
  return lines.filter((l) => (l.fields as { hint?: string }).hint === hint);
}

describe('misconfiguration hints', () => {
  it('captureHeaders mounted after the route: one warning at the first request, naming what the route reads', async () => {
    const backend = await recordingBackend();
    try {
      const logger = captureLogger();
      const app = express();
      app.use('/a', mcpProxy({ target: `${backend.url}/mcp`, passthrough: ['x-late-1'], logger }));
      app.use(captureHeaders({ allow: ['x-late-1'], logger }));
      assert.deepEqual(hints(logger.lines, 'no_capture'), [], 'nothing before a request');
      for (let i = 0; i < 3; i++) await request(app).post('/a').set('x-late-1', SECRET_VALUE).send({}).expect(200);
      const warned = hints(logger.lines, 'no_capture');
      assert.equal(warned.length, 1);
      assert.equal(warned[0]!.level, 'warn');
      assert.match(warned[0]!.message, /captureHeaders/);
      assert.deepEqual(warned[0]!.fields, { route: `127.0.0.1:${backend.port}/mcp`, hint: 'no_capture', uses: 'passthrough' });
      assert.equal(backend.last().headers['x-late-1'], undefined, 'and indeed nothing was forwarded');
      assert.ok(!logger.text().includes(SECRET_VALUE));
    } finally {
      await backend.close();
    }
  });

  it("a bind session without captureHeaders warns too; a route that reads no caller header doesn't", async () => {
    const backend = await recordingBackend();
    try {
      const bindLog = captureLogger();
      const plainLog = captureLogger();
      const app = express();
      app.use('/bind', mcpProxy({ target: `${backend.url}/mcp`, session: 'bind', logger: bindLog }));
      app.use('/plain', mcpProxy({ target: `${backend.url}/mcp`, headers: { plaintext: { 'x-static': 'v' } }, logger: plainLog }));
      await request(app).post('/bind').send({}).expect(200);
      await request(app).post('/plain').send({}).expect(200);
      assert.deepEqual(
        hints(bindLog.lines, 'no_capture').map((l) => (l.fields as { uses: string }).uses),
        ["session 'bind'"],
      );
      assert.deepEqual(
        plainLog.lines.filter((l) => (l.fields as { hint?: string }).hint !== undefined),
        [],
      );
    } finally {
      await backend.close();
    }
  });

  it('a passthrough or fromCaptured name no captureHeaders allows (x-tenants for x-tenant): one warning at the first request, naming it', async () => {
    const backend = await recordingBackend();
    try {
      const logger = captureLogger();
      const app = express();
      // Built before its captureHeaders: the check waits for the first request, when the app is complete.
      const route = mcpProxy({
        target: `${backend.url}/mcp`,
        passthrough: ['x-hint-tenants', 'x-hint-user'],
        headers: { fromCaptured: { 'x-backend-team': 'x-hint-team' } },
        logger,
      });
      app.use(captureHeaders({ allow: ['x-hint-tenant', 'x-hint-user'], logger }));
      app.use('/a', route);
      assert.deepEqual(hints(logger.lines, 'passthrough_not_captured'), []);
      await request(app).post('/a').send({}).expect(200);
      await request(app).post('/a').send({}).expect(200);
      const warned = hints(logger.lines, 'passthrough_not_captured');
      assert.equal(warned.length, 1);
      assert.deepEqual((warned[0]!.fields as { headers: string[] }).headers, ['x-hint-tenants', 'x-hint-team']);
      assert.match(warned[0]!.message, /no captureHeaders allows.*spelling/);
      assert.deepEqual(hints(logger.lines, 'no_capture'), [], 'captureHeaders did run');
    } finally {
      await backend.close();
    }
  });

  it('a target without a path: an info hint at construction, and a warning once the backend answers 404 there', async () => {
    const backend = await recordingBackend((req, res) => {
      res.statusCode = req.url === '/mcp' ? 200 : 404;
      res.end(req.url === '/mcp' ? '{}' : 'Cannot POST /');
    });
    try {
      const logger = captureLogger();
      const app = express();
      app.use('/a', mcpProxy({ target: backend.url, logger }));
      assert.deepEqual(
        hints(logger.lines, 'target_without_path').map((l) => l.level),
        ['info'],
      );
      await request(app).post('/a').send({}).expect(404);
      await request(app).post('/a').send({}).expect(404);
      const lines = hints(logger.lines, 'target_without_path');
      assert.deepEqual(
        lines.map((l) => l.level),
        ['info', 'warn'],
      );
      assert.match(lines[1]!.message, /target: "http:\/\/host:port\/mcp"/);

      const fine = captureLogger();
      app.use('/b', mcpProxy({ target: `${backend.url}/mcp`, logger: fine }));
      await request(app).post('/b').send({}).expect(200);
      assert.deepEqual(hints(fine.lines, 'target_without_path'), []);
    } finally {
      await backend.close();
    }
  });
});
