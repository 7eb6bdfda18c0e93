/**
 * Session modes across both MCP eras, end to end with real SDK clients and the SDK v2 hybrid backend
 * (2025 sessions next to a 2026-07-28 endpoint). `bind` and `pin` apply to 2025-era sessions; a
 * 2026-era request is handled per request: never a candidate initialize, never counted against a cap,
 * no store call. And what an application must do after a `bind` 404, measured on SDK v1 and v2.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { captureHeaders, mcpProxy, type SessionOptions, type SessionStore } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { eraBackend, type EraBackend } from '../helpers/mcp-eras.js';
import { eraClient, type ClientKind, type EraClient } from '../helpers/mcp-eras-clients.js';
import { SessionRecovery } from '../../examples/session-recovery.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KEY = { 'x-mcp-api-key': 'key-of-alice' };

interface Gateway extends Listening {
  logger: ReturnType<typeof captureLogger>;
}

/** captureHeaders, then one route per entry; `x-user` stands in for the host app's authentication. */
async function gateway(routes: Record<string, SessionOptions>, target: string): Promise<Gateway> {
  const logger = captureLogger();
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
  for (const [mount, session] of Object.entries(routes)) app.use(mount, mcpProxy({ target, session, logger }));
  return { ...(await listen(app)), logger };
}

/** A store that counts its calls and fails every one of them: a shared store that is down. */
function brokenStore(): SessionStore & { calls: number } {
  const store = {
    calls: 0,
    fail(): never {
      store.calls++;
      throw new Error('store down');
    },
    get: () => store.fail(),
    set: () => store.fail(),
    delete: () => store.fail(),
    size: () => store.fail(),
  };
  return store;
}

async function connected(kind: ClientKind, url: string, headers: Record<string, string> = { ...KEY }): Promise<EraClient> {
  const client = eraClient(kind, url, headers);
  await client.connect();
  return client;
}

/** A 2026 client's whole exchange: server/discover, tools/list and a tools/call. */
async function modernExchange(url: string): Promise<void> {
  const client = await connected('v2-2026', url);
  try {
    assert.equal(client.era(), 'modern');
    assert.ok((await client.listTools()).includes('echo'));
    const result = await client.callTool('echo', { region: 'eu' });
    assert.match(result.content?.[0]?.text ?? '', /"region":"eu"/);
  } finally {
    await client.close();
  }
}

describe('session modes and 2026-07-28 traffic', () => {
  let backend: EraBackend;
  before(async () => {
    backend = await eraBackend('v2-hybrid');
  });
  after(() => backend.close());

  it('bind at maxSessions (filled by 2025 sessions) still serves 2026 requests; a new 2025 initialize gets 503', async () => {
    const g = await gateway({ '/bind': { mode: 'bind', maxSessions: 1 } }, backend.endpoint);
    try {
      const old = await connected('v1', `${g.url}/bind`);
      assert.ok(old.sessionId(), 'a 2025 session fills the cap');
      await modernExchange(`${g.url}/bind`);
      await modernExchange(`${g.url}/bind`);
      const second = eraClient('v2', `${g.url}/bind`, { ...KEY });
      await assert.rejects(second.connect(), (err: { code?: unknown; status?: unknown }) => err.code === 503 || err.status === 503);
      await old.close();
    } finally {
      await g.close();
    }
  });

  it("pin at a principal's maxSessionsPerPrincipal still serves that principal's 2026 requests", async () => {
    const g = await gateway({ '/pin': { mode: 'pin', principal: () => 'alice', maxSessionsPerPrincipal: 1 } }, backend.endpoint);
    try {
      const old = await connected('v2', `${g.url}/pin`);
      assert.ok(old.sessionId());
      await modernExchange(`${g.url}/pin`);
      await old.close();
    } finally {
      await g.close();
    }
  });

  it('with the shared store down, 2026 requests are served without a single store call; 2025 initializes get 503', async () => {
    const store = brokenStore();
    const g = await gateway({ '/bind': { mode: 'bind', store, sessionKey: 'k'.repeat(32) } }, backend.endpoint);
    try {
      await modernExchange(`${g.url}/bind`);
      assert.equal(store.calls, 0, 'a 2026 request touched the store');
      const old = eraClient('v1', `${g.url}/bind`, { ...KEY });
      await assert.rejects(old.connect(), (err: { code?: unknown }) => err.code === 503);
      assert.ok(store.calls > 0, 'control: a 2025 initialize does use the store');
    } finally {
      await g.close();
    }
  });

  it('each bind or pin route logs once that 2026 traffic is per request, however much of it passes', async () => {
    const g = await gateway({ '/bind': 'bind', '/pin': { mode: 'pin', principal: () => 'alice' } }, backend.endpoint);
    try {
      for (const mount of ['/bind', '/pin', '/bind', '/pin']) await modernExchange(`${g.url}${mount}`);
      const notes = g.logger.lines.filter((l) => l.message.includes('2026-07-28 requests on this route'));
      assert.deepEqual(
        notes.map((l) => [l.level, (l.fields as { mode: string }).mode]),
        [
          ['warn', 'bind'],
          ['warn', 'pin'],
        ],
      );
    } finally {
      await g.close();
    }
  });
});

describe('after a bind 404, SDK clients keep the dead session: the application reconnects', () => {
  let backend: EraBackend;
  let g: Gateway;
  before(async () => {
    backend = await eraBackend('v2-hybrid');
    g = await gateway({ '/bind': 'bind' }, backend.endpoint);
  });
  after(async () => {
    await g.close();
    await backend.close();
  });

  for (const kind of ['v1', 'v2'] as const) {
    it(`SDK ${kind}: every call after the 404 fails the same way and the session id stays; a new client recovers`, async () => {
      const headers = { ...KEY };
      const client = await connected(kind, `${g.url}/bind`, headers);
      const id = client.sessionId();
      await client.callTool('echo', { region: 'eu' });
      // The application's key changed mid-session: bind refuses the session from now on.
      headers['x-mcp-api-key'] = 'key-of-mallory';
      for (let i = 0; i < 3; i++) {
        await assert.rejects(client.callTool('echo', { region: 'eu' }), (err: { code?: unknown; status?: unknown }) => err.code === 404 || err.status === 404);
        assert.equal(client.sessionId(), id, 'the SDK client still holds the refused session id');
      }
      await client.close();
      const fresh = await connected(kind, `${g.url}/bind`, headers);
      assert.notEqual(fresh.sessionId(), id);
      assert.match((await fresh.callTool('echo', { region: 'eu' })).content?.[0]?.text ?? '', /eu/);
      await fresh.close();
    });

    it(`SDK ${kind}: the reconnect shown in docs/sessions.md turns the 404 into one transparent retry`, async () => {
      const headers = { ...KEY };
      const sessions: (string | undefined)[] = [];
      const recovery = new SessionRecovery(async () => {
        const client = await connected(kind, `${g.url}/bind`, headers);
        sessions.push(client.sessionId());
        return client;
      });
      try {
        await recovery.run((c) => c.callTool('echo', { region: 'eu' }));
        headers['x-mcp-api-key'] = 'key-rotated';
        const result = await recovery.run((c) => c.callTool('echo', { region: 'us' }));
        assert.match(result.content?.[0]?.text ?? '', /"region":"us"/);
        assert.equal(sessions.length, 2, 'one new session, opened with the new key');
        await assert.rejects(
          recovery.run(() => Promise.reject(new Error('not a 404'))),
          /not a 404/,
          'other errors are not retried',
        );
      } finally {
        await recovery.close();
      }
    });
  }

  it('docs/sessions.md shows the recovery code exactly as examples/session-recovery.ts has it', () => {
    const example = fs.readFileSync(path.join(root, 'examples/session-recovery.ts'), 'utf8');
    const region = /\/\/ #region session-recovery\n([\s\S]*?)\/\/ #endregion session-recovery/.exec(example)?.[1];
    assert.ok(region, 'the example marks its region');
    const docs = fs.readFileSync(path.join(root, 'docs/sessions.md'), 'utf8');
    assert.ok(docs.includes(region.trim()), 'docs/sessions.md must show the region of examples/session-recovery.ts verbatim');
    assert.doesNotMatch(docs, /reacts to it as to any ended session/, 'the old claim that SDK clients recover by themselves');
  });
});
