/**
 * Secrets at run time: rotation without a restart (environment and files), and what happens when a
 * secret disappears or turns invalid while the gateway is running: 502 secret_unavailable, nothing
 * forwarded, a log line naming the header and the secret, and never the value anywhere.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { envSecrets, fileSecrets, mcpProxy } from '../../lib/index.js';
import type { McpProxyOptions } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { sleep } from '../helpers/wait.js';

type Logger = ReturnType<typeof captureLogger>;

interface Reply {
  status: number;
  contentType: string | null;
  text: string;
  /** How many requests reached the backend because of this one (0 or 1). */
  forwarded: number;
}

describe('secrets at run time', () => {
  let backend: RecordingBackend;
  let dir: string;
  const relays: Listening[] = [];

  before(async () => {
    backend = await recordingBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-secrets-'));
  });
  after(async () => {
    for (const relay of relays) await relay.close();
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A relay with one mcpProxy route at /mcp-route, using its own logger. */
  async function relayWith(options: Omit<McpProxyOptions, 'target' | 'logger'>): Promise<{ call(): Promise<Reply>; logger: Logger }> {
    const logger = captureLogger();
    const app = express();
    app.use('/mcp-route', mcpProxy({ target: `${backend.url}/mcp`, responseTimeout: 2000, logger, ...options }));
    const relay = await listen(app);
    relays.push(relay);
    return {
      logger,
      async call() {
        const count = backend.requests.length;
        const res = await fetch(`${relay.url}/mcp-route`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
        });
        const text = await res.text();
        return { status: res.status, contentType: res.headers.get('content-type'), text, forwarded: backend.requests.length - count };
      },
    };
  }

  function assertForwardedWith(reply: Reply, header: string, value: string): void {
    assert.equal(reply.status, 200, `relay answered ${reply.status}: ${reply.text}`);
    assert.equal(reply.forwarded, 1);
    assert.equal(backend.last().headers[header], value);
  }

  /** 502 secret_unavailable, not forwarded, JSON-RPC body. */
  function assertSecretUnavailable(reply: Reply): void {
    assert.equal(reply.status, 502, reply.text);
    assert.equal(reply.forwarded, 0, 'the request must not reach the backend');
    assert.match(reply.contentType ?? '', /^application\/json/);
    const body = JSON.parse(reply.text) as { jsonrpc: string; id: unknown; error: { code: number; data: { reason: string } } };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32000);
    assert.equal(body.error.data.reason, 'secret_unavailable');
  }

  /** The log line for the failure names the header and the secret. */
  function assertLogNames(logger: Logger, header: string, secret: string): void {
    const line = logger.lines.find((l) => `${l.message} ${JSON.stringify(l.fields)}`.includes('secret_unavailable'));
    assert.ok(line, `no secret_unavailable log line in:\n${logger.text()}`);
    const text = `${line.message} ${JSON.stringify(line.fields)}`;
    assert.ok(text.toLowerCase().includes(header.toLowerCase()), `log line does not name header ${header}: ${text}`);
    assert.ok(text.includes(secret), `log line does not name secret ${secret}: ${text}`);
  }

  function assertNoLeak(where: string, text: string, ...values: string[]): void {
    for (const value of values) assert.ok(!text.includes(value), `${where} contains a secret value fragment ${JSON.stringify(value)}`);
  }

  it('E22: envSecrets over a mutable record: a value changed between two requests is sent on the next one, without restart', async () => {
    const env: NodeJS.ProcessEnv = { API_KEY: 'key-v1' };
    const route = await relayWith({ headers: { fromSecret: { 'X-Api-Key': 'API_KEY' } }, secrets: envSecrets(env) });
    assertForwardedWith(await route.call(), 'x-api-key', 'key-v1');
    env.API_KEY = 'key-v2-rotated';
    assertForwardedWith(await route.call(), 'x-api-key', 'key-v2-rotated');
  });

  it('E22: fileSecrets (refreshInterval 20): a rewritten file is picked up 50 ms later, also when the new value has the same length', async () => {
    const file = path.join(dir, 'ROTATING_KEY');
    fs.writeFileSync(file, 'file-v1\n');
    const route = await relayWith({
      headers: { fromSecret: { 'X-File-Key': 'ROTATING_KEY' } },
      secrets: fileSecrets(dir, { refreshInterval: 20 }),
    });
    assertForwardedWith(await route.call(), 'x-file-key', 'file-v1');
    fs.writeFileSync(file, 'file-v2-rotated\n');
    await sleep(50);
    assertForwardedWith(await route.call(), 'x-file-key', 'file-v2-rotated');
    fs.writeFileSync(file, 'file-v3-rotated\n');
    await sleep(50);
    assertForwardedWith(await route.call(), 'x-file-key', 'file-v3-rotated');
  });

  it('an env secret deleted at run time: 502 secret_unavailable, not forwarded, logged by header and secret name without the value; restored: works again', async () => {
    const value = 'S3NT1NEL-env-3b9d';
    const env: NodeJS.ProcessEnv = { GITHUB_API_KEY: value };
    const route = await relayWith({ headers: { fromSecret: { 'X-Api-Key': 'GITHUB_API_KEY' } }, secrets: envSecrets(env) });
    assertForwardedWith(await route.call(), 'x-api-key', value);

    delete env.GITHUB_API_KEY;
    const reply = await route.call();
    assertSecretUnavailable(reply);
    assertLogNames(route.logger, 'x-api-key', 'GITHUB_API_KEY');
    assertNoLeak('response body', reply.text, value, 'GITHUB_API_KEY');
    assertNoLeak('log', route.logger.text(), value);

    env.GITHUB_API_KEY = 'S3NT1NEL-env-restored';
    assertForwardedWith(await route.call(), 'x-api-key', 'S3NT1NEL-env-restored');
    assertForwardedWith(await route.call(), 'x-api-key', 'S3NT1NEL-env-restored');
  });

  it('a secret file deleted at run time: 502 secret_unavailable, not forwarded, logged without the value; recreated: works again', async () => {
    const value = 'S3NT1NEL-file-8c2a';
    const file = path.join(dir, 'LINEAR_KEY');
    fs.writeFileSync(file, value);
    const route = await relayWith({
      headers: { fromSecret: { Authorization: 'LINEAR_KEY' } },
      secrets: fileSecrets(dir, { refreshInterval: 20 }),
    });
    assertForwardedWith(await route.call(), 'authorization', value);

    fs.unlinkSync(file);
    await sleep(50);
    const reply = await route.call();
    assertSecretUnavailable(reply);
    assertLogNames(route.logger, 'authorization', 'LINEAR_KEY');
    assertNoLeak('response body', reply.text, value);
    assertNoLeak('log', route.logger.text(), value);

    fs.writeFileSync(file, 'S3NT1NEL-file-recreated\n');
    await sleep(50);
    assertForwardedWith(await route.call(), 'authorization', 'S3NT1NEL-file-recreated');
  });

  it('C12 at run time: an env secret rotated to a value with CRLF ("v\\r\\nX-Evil: 1") gets 502, the value in neither body nor log; fixed: works again', async () => {
    const env: NodeJS.ProcessEnv = { API_KEY: 'S3NT1NEL-good' };
    const route = await relayWith({ headers: { fromSecret: { 'X-Api-Key': 'API_KEY' } }, secrets: envSecrets(env) });
    assertForwardedWith(await route.call(), 'x-api-key', 'S3NT1NEL-good');

    env.API_KEY = 'S3NT1NEL-injected\r\nX-Evil: 1';
    const reply = await route.call();
    assertSecretUnavailable(reply);
    assertLogNames(route.logger, 'x-api-key', 'API_KEY');
    for (const [where, text] of [
      ['response body', reply.text],
      ['log', route.logger.text()],
    ] as const) {
      assertNoLeak(where, text, 'S3NT1NEL-injected', 'X-Evil', 'S3NT1NEL-good');
    }
    assert.ok(
      backend.requests.every((r) => r.headers['x-evil'] === undefined),
      'no injected header reached the backend',
    );

    env.API_KEY = 'S3NT1NEL-fixed';
    assertForwardedWith(await route.call(), 'x-api-key', 'S3NT1NEL-fixed');
  });

  it('C12 at run time: a secret file rewritten with an interior CRLF gets 502, the value in neither body nor log', async () => {
    const file = path.join(dir, 'CRLF_KEY');
    fs.writeFileSync(file, 'S3NT1NEL-file-good\n');
    const route = await relayWith({ headers: { fromSecret: { 'X-Api-Key': 'CRLF_KEY' } }, secrets: fileSecrets(dir, { refreshInterval: 20 }) });
    assertForwardedWith(await route.call(), 'x-api-key', 'S3NT1NEL-file-good');

    fs.writeFileSync(file, 'S3NT1NEL-file-bad\r\nX-Evil: 1\n');
    await sleep(50);
    const reply = await route.call();
    assertSecretUnavailable(reply);
    assertLogNames(route.logger, 'x-api-key', 'CRLF_KEY');
    for (const [where, text] of [
      ['response body', reply.text],
      ['log', route.logger.text()],
    ] as const) {
      assertNoLeak(where, text, 'S3NT1NEL-file-bad', 'X-Evil', 'S3NT1NEL-file-good');
    }
  });

  it('B15: a secret file ending in "\\n" (and one ending in "\\r\\n") arrives without the newline', async () => {
    fs.writeFileSync(path.join(dir, 'LF_KEY'), 'lf-terminated-key\n');
    fs.writeFileSync(path.join(dir, 'CRLF_END_KEY'), 'crlf-terminated-key\r\n');
    const route = await relayWith({
      headers: { fromSecret: { 'X-Lf-Key': 'LF_KEY', 'X-Crlf-Key': 'CRLF_END_KEY' } },
      secrets: fileSecrets(dir, { refreshInterval: 20 }),
    });
    const reply = await route.call();
    assertForwardedWith(reply, 'x-lf-key', 'lf-terminated-key');
    assert.equal(backend.last().headers['x-crlf-key'], 'crlf-terminated-key');
    assert.deepEqual(
      backend
        .last()
        .rawHeaders.filter((_, i) => i % 2 === 1)
        .filter((v) => v.includes('terminated-key')),
      ['lf-terminated-key', 'crlf-terminated-key'],
    );
  });

  it('B15: only one trailing newline is removed: a file rotated to "key\\n\\n" is refused with 502, not silently trimmed', async () => {
    const file = path.join(dir, 'DOUBLE_NL_KEY');
    fs.writeFileSync(file, 'S3NT1NEL-nl\n');
    const route = await relayWith({ headers: { fromSecret: { 'X-Api-Key': 'DOUBLE_NL_KEY' } }, secrets: fileSecrets(dir, { refreshInterval: 20 }) });
    assertForwardedWith(await route.call(), 'x-api-key', 'S3NT1NEL-nl');
    fs.writeFileSync(file, 'S3NT1NEL-nl2\n\n');
    await sleep(50);
    const reply = await route.call();
    assertSecretUnavailable(reply);
    assertNoLeak('log', route.logger.text(), 'S3NT1NEL-nl2');
  });
});
