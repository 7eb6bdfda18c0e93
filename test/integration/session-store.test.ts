/**
 * `bind` with a store shared by several relay replicas: an asynchronous store (as Redis would be)
 * behind two Express gateways, one backend that mints session ids. A session initialized through one
 * replica is honoured by the other only with the same headers and the same sessionKey; the store
 * holds fingerprints, never a header value.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import {
  captureHeaders,
  mcpProxy,
  memorySessionStore,
  type AdmitAnswer,
  type McpProxyOptions,
  type SessionEntry,
  type SessionQuota,
  type SessionStore,
  type SessionTtl,
} from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { listen, type Listening } from '../helpers/listen.js';
import { recordingBackend, type RecordingBackend } from '../helpers/recording-backend.js';
import { sleep } from '../helpers/wait.js';

const KEY = 'S3NT1NEL-apikey-shared-store';
/** Writes are slow enough that a client's next request always arrives before the write lands. */
const SLOW_WRITE_MS = 80;
const writeLanded = (): Promise<void> => sleep(SLOW_WRITE_MS + 40);

/** A Map behind promises and a timer tick, like a network store. Records every call. */
class AsyncMapStore implements SessionStore {
  readonly map = new Map<string, string>();
  readonly calls: string[] = [];
  failing = false;

  async get(key: string): Promise<string | undefined> {
    return this.#op('get', () => this.map.get(key));
  }
  async set(key: string, value: string, _ttl: SessionTtl): Promise<boolean> {
    return this.#op('set', () => (this.map.has(key) ? false : (this.map.set(key, value), true)), SLOW_WRITE_MS);
  }
  async delete(key: string): Promise<void> {
    return this.#op('delete', () => void this.map.delete(key));
  }
  async size(): Promise<number> {
    return this.#op('size', () => this.map.size);
  }
  async #op<T>(name: string, fn: () => T, delay = 2): Promise<T> {
    this.calls.push(name);
    await sleep(delay);
    if (this.failing) throw new Error(`store down (${KEY})`);
    return fn();
  }
}

/** Answers like an MCP server: a request without a session id gets a new one. */
function mintingBackend(): Promise<RecordingBackend> {
  return recordingBackend((req, res) => {
    if (req.headers['mcp-session-id'] === undefined) res.setHeader('Mcp-Session-Id', randomUUID());
    res.setHeader('content-type', 'application/json');
    res.end('{"jsonrpc":"2.0","result":{},"id":1}');
  });
}

async function replica(backend: RecordingBackend, store: SessionStore, sessionKey: Uint8Array, logger = captureLogger()): Promise<Listening> {
  const app = express();
  app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
  app.use('/mcp', mcpProxy({ target: `${backend.url}/mcp`, session: { mode: 'bind', store, sessionKey }, logger }));
  return listen(app);
}

async function post(gateway: Listening, headers: Record<string, string>): Promise<Response> {
  return fetch(`${gateway.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: '{"jsonrpc":"2.0","method":"ping","id":1}',
  });
}

describe('bind with a shared asynchronous store', () => {
  const sessionKey = randomBytes(32);
  const store = new AsyncMapStore();
  const logger = captureLogger();
  let backend: RecordingBackend;
  let a: Listening;
  let b: Listening;

  before(async () => {
    backend = await mintingBackend();
    a = await replica(backend, store, sessionKey, logger);
    b = await replica(backend, store, sessionKey, logger);
  });
  after(async () => {
    await a.close();
    await b.close();
    await backend.close();
  });

  it('a session initialized on replica A works on replica B with the same headers', async () => {
    const init = await post(a, { 'x-mcp-api-key': KEY });
    assert.equal(init.status, 200);
    const id = init.headers.get('mcp-session-id');
    assert.ok(id);
    assert.equal(store.map.size, 0, 'precondition: the write has not landed yet');
    // Straight away on the same replica: the lookup waits for this replica's own write.
    assert.equal((await post(a, { 'x-mcp-api-key': KEY, 'mcp-session-id': id })).status, 200);
    await writeLanded();
    const res = await post(b, { 'x-mcp-api-key': KEY, 'mcp-session-id': id });
    assert.equal(res.status, 200);
    assert.equal(backend.last().headers['mcp-session-id'], id);
    assert.equal(backend.last().headers['x-mcp-api-key'], KEY);
  });

  it('replica B refuses the same session with another key: 404, not forwarded', async () => {
    const init = await post(a, { 'x-mcp-api-key': KEY });
    const id = init.headers.get('mcp-session-id')!;
    await writeLanded();
    const before = backend.requests.length;
    const res = await post(b, { 'x-mcp-api-key': `${KEY}-other`, 'mcp-session-id': id });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    assert.equal(backend.requests.length, before);
  });

  it('the store holds fingerprints under backend-scoped keys, never a header value', () => {
    assert.ok(store.map.size >= 2);
    for (const [key, value] of store.map) {
      assert.ok(key.startsWith(`${backend.url}/mcp\n`), `key is scoped to the backend: ${key}`);
      assert.match(value, /^[A-Za-z0-9_-]{43}$/, 'a base64url SHA-256 digest');
      assert.ok(!value.includes(KEY) && !key.includes(KEY));
    }
    assert.ok(!logger.text().includes(KEY));
  });

  it('a replica with a different sessionKey cannot verify the shared records (the key must be shared)', async () => {
    const init = await post(a, { 'x-mcp-api-key': KEY });
    const id = init.headers.get('mcp-session-id')!;
    await writeLanded();
    const stranger = await replica(backend, store, randomBytes(32));
    try {
      assert.equal((await post(stranger, { 'x-mcp-api-key': KEY, 'mcp-session-id': id })).status, 404);
      assert.equal((await post(b, { 'x-mcp-api-key': KEY, 'mcp-session-id': id })).status, 200);
    } finally {
      await stranger.close();
    }
  });

  it('a failing store answers 503 session_store_unavailable, logs no value, and the gateway recovers', async () => {
    const init = await post(a, { 'x-mcp-api-key': KEY });
    const id = init.headers.get('mcp-session-id')!;
    await writeLanded();
    store.failing = true;
    try {
      for (const headers of [{ 'x-mcp-api-key': KEY, 'mcp-session-id': id }, { 'x-mcp-api-key': KEY }] as Record<string, string>[]) {
        const res = await post(b, headers);
        assert.equal(res.status, 503);
        const body = (await res.json()) as { error: { data: { reason: string } } };
        assert.equal(body.error.data.reason, 'session_store_unavailable');
      }
    } finally {
      store.failing = false;
    }
    assert.ok(!logger.text().includes(KEY) && !logger.text().includes(id));
    assert.equal((await post(b, { 'x-mcp-api-key': KEY, 'mcp-session-id': id })).status, 200);
  });
});

describe('one memory store shared by two routes', () => {
  it('keys are scoped per backend: a session of route 1 is unknown on route 2', async () => {
    const one = await mintingBackend();
    const two = await mintingBackend();
    const store = memorySessionStore();
    const sessionKey = randomBytes(32);
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'] }));
    app.use('/one', mcpProxy({ target: `${one.url}/mcp`, session: { mode: 'bind', store, sessionKey } }));
    app.use('/two', mcpProxy({ target: `${two.url}/mcp`, session: { mode: 'bind', store, sessionKey } }));
    const gateway = await listen(app);
    try {
      const send = (path: string, headers: Record<string, string>) =>
        fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
      const init = await send('/one', { 'x-mcp-api-key': KEY });
      const id = init.headers.get('mcp-session-id')!;
      assert.equal(store.size(), 1);
      assert.equal((await send('/one', { 'x-mcp-api-key': KEY, 'mcp-session-id': id })).status, 200);
      assert.equal((await send('/two', { 'x-mcp-api-key': KEY, 'mcp-session-id': id })).status, 404);
      assert.equal(two.requests.length, 0);
    } finally {
      await gateway.close();
      await one.close();
      await two.close();
    }
  });
});

describe('limits count recorded sessions only', () => {
  /** Answers after `delay` ms, minting a session id only when `mint` is set. */
  async function slowBackend(delay: number, mint: boolean): Promise<RecordingBackend> {
    return recordingBackend((req, res) => {
      setTimeout(() => {
        if (mint && req.headers['mcp-session-id'] === undefined) res.setHeader('Mcp-Session-Id', randomUUID());
        res.setHeader('content-type', 'application/json');
        res.end('{"jsonrpc":"2.0","result":{},"id":1}');
      }, delay);
    });
  }

  async function gatewayFor(backend: RecordingBackend, session: McpProxyOptions['session'], logger = captureLogger()): Promise<Listening> {
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use((req, _res, next) => {
      (req as typeof req & { user?: string }).user = req.headers['x-user'] as string | undefined;
      next();
    });
    app.use('/mcp', mcpProxy({ target: `${backend.url}/mcp`, session, logger }));
    return listen(app);
  }

  const principal = (req: unknown): string | undefined => (req as { user?: string }).user;

  it('a backend without sessions is never limited: 8 concurrent requests at maxSessions 2 and 8 per principal at a cap of 1 all pass', async () => {
    const backend = await slowBackend(200, false);
    const bind = await gatewayFor(backend, { mode: 'bind', maxSessions: 2 });
    const pin = await gatewayFor(backend, { mode: 'pin', principal, maxSessionsPerPrincipal: 1 });
    try {
      const burst = (gateway: Listening) => Promise.all(Array.from({ length: 8 }, () => post(gateway, { 'x-mcp-api-key': KEY, 'x-user': 'alice' })));
      for (const responses of [await burst(bind), await burst(pin)]) {
        assert.deepEqual(
          responses.map((r) => r.status),
          Array(8).fill(200),
        );
      }
      assert.equal(backend.requests.length, 16);
    } finally {
      await bind.close();
      await pin.close();
      await backend.close();
    }
  });

  it('only a POST is an initialize: at the limit a GET or DELETE without an id is forwarded, and an id on its answer is not recorded', async () => {
    const backend = await slowBackend(0, true);
    const store = memorySessionStore();
    const gateway = await gatewayFor(backend, { mode: 'bind', store, sessionKey: randomBytes(32), maxSessions: 1 });
    try {
      for (const method of ['GET', 'DELETE']) {
        const res = await fetch(`${gateway.url}/mcp`, { method, headers: { 'x-mcp-api-key': KEY } });
        assert.equal(res.status, 200, method);
        assert.ok(res.headers.get('mcp-session-id'), 'the backend issued an id');
        assert.equal(store.size(), 0, `${method}: not recorded`);
      }
      assert.equal((await post(gateway, { 'x-mcp-api-key': KEY })).status, 200);
      assert.equal(store.size(), 1);
      assert.equal((await post(gateway, { 'x-mcp-api-key': KEY })).status, 503);
      assert.equal((await fetch(`${gateway.url}/mcp`, { method: 'GET', headers: { 'x-mcp-api-key': KEY } })).status, 200, 'GET at the limit');
      assert.equal(backend.requests.length, 4);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  it('initializes racing at the limit are all answered, but only as many as fit are recorded', async () => {
    const backend = await slowBackend(100, true);
    const store = memorySessionStore();
    const logger = captureLogger();
    // One client here: its share is the whole cap, which is what this test is about.
    const gateway = await gatewayFor(backend, { mode: 'bind', store, sessionKey: randomBytes(32), maxSessions: 2, maxSessionsPerClient: 2 }, logger);
    try {
      const responses = await Promise.all(Array.from({ length: 5 }, () => post(gateway, { 'x-mcp-api-key': KEY })));
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(5).fill(200),
      );
      assert.equal(store.size(), 2);
      const ids = responses.map((r) => r.headers.get('mcp-session-id')!);
      const later = await Promise.all(ids.map((id) => post(gateway, { 'x-mcp-api-key': KEY, 'mcp-session-id': id })));
      assert.deepEqual(later.map((r) => r.status).sort(), [200, 200, 404, 404, 404]);
      assert.equal(logger.lines.filter((l) => /limit reached while this session initialized/.test(l.message)).length, 3);
      const third = await post(gateway, { 'x-mcp-api-key': KEY });
      assert.equal(third.status, 503);
      assert.match(third.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});

describe('a store that counts sessions itself (admit)', () => {
  /** A Map that keeps the limits as admit() describes: counts per scope and client, checked and inserted in one step. */
  class CountingMapStore implements SessionStore {
    readonly map = new Map<string, { value: string; scope: string; client: string }>();
    readonly calls: string[] = [];
    readonly quotas: SessionQuota[] = [];
    get(key: string): Promise<string | undefined> {
      this.calls.push('get');
      return Promise.resolve(this.map.get(key)?.value);
    }
    set(): boolean {
      this.calls.push('set');
      throw new Error('a counting store is never asked to set()');
    }
    delete(key: string): Promise<void> {
      this.calls.push('delete');
      this.map.delete(key);
      return Promise.resolve();
    }
    size(): number {
      this.calls.push('size');
      throw new Error('a counting store is never asked for its size()');
    }
    async admit(quota: SessionQuota, entry?: SessionEntry): Promise<AdmitAnswer> {
      this.calls.push(entry ? 'admit+entry' : 'admit');
      this.quotas.push(quota);
      await sleep(2);
      if (entry && this.map.has(entry.key)) return 'exists';
      const inScope = [...this.map.values()].filter((e) => e.scope === quota.scope);
      if (inScope.length >= quota.maxSessions) return 'sessions';
      if (inScope.filter((e) => e.client === quota.client).length >= quota.maxPerClient) return 'client';
      if (entry) this.map.set(entry.key, { value: entry.value, scope: quota.scope, client: quota.client });
      return 'ok';
    }
  }

  it('the relay asks admit() before forwarding an initialize and records through it: never size() nor set(); its answers are the limits', async () => {
    const backend = await mintingBackend();
    const store = new CountingMapStore();
    const logger = captureLogger();
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    const session = { mode: 'bind', store, sessionKey: randomBytes(32), maxSessions: 3, maxSessionsPerClient: 2 } as const;
    app.use('/mcp', mcpProxy({ target: `${backend.url}/mcp`, session, logger }));
    const gateway = await listen(app);
    try {
      const first = await post(gateway, { 'x-mcp-api-key': KEY });
      assert.equal(first.status, 200);
      await sleep(20);
      assert.deepEqual(store.calls, ['admit', 'admit+entry']);
      const [check, record] = store.quotas;
      assert.deepEqual(check, record, 'the check and the record name the same quota');
      assert.equal(check!.scope, `${backend.url}/mcp\n`, 'the scope is the route');
      assert.match(check!.client, /^[A-Za-z0-9_-]{43}$/, 'the client is a keyed hash');
      assert.ok(!check!.client.includes(KEY));
      assert.deepEqual([check!.maxSessions, check!.maxPerClient], [3, 2]);
      const id = first.headers.get('mcp-session-id')!;
      assert.equal((await post(gateway, { 'x-mcp-api-key': KEY, 'mcp-session-id': id })).status, 200);

      assert.equal((await post(gateway, { 'x-mcp-api-key': KEY })).status, 200);
      await sleep(20);
      const third = await post(gateway, { 'x-mcp-api-key': KEY });
      assert.equal(third.status, 503, "the client's share (2) is reached");
      assert.equal(((await third.json()) as { error: { data: { reason: string } } }).error.data.reason, 'session_limit');
      assert.equal((await post(gateway, { 'x-mcp-api-key': `${KEY}-other` })).status, 200, 'another client still gets in');
      await sleep(20);
      assert.equal((await post(gateway, { 'x-mcp-api-key': `${KEY}-third` })).status, 503, 'maxSessions (3) is reached');
      assert.deepEqual(
        logger.lines.filter((l) => /session_limit/.test(JSON.stringify(l.fields))).map((l) => (l.fields as { limit?: string }).limit),
        ['client', undefined, 'sessions', undefined],
      );
      assert.ok(!store.calls.includes('size') && !store.calls.includes('set'));
      assert.equal(store.map.size, 3);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  it('a record admit() refuses (the limit was reached meanwhile) is not kept: the next request on it gets 404', async () => {
    const backend = await mintingBackend();
    const store = new CountingMapStore();
    const logger = captureLogger();
    const app = express();
    app.use(captureHeaders({ allow: ['x-mcp-api-key'], logger }));
    app.use('/mcp', mcpProxy({ target: `${backend.url}/mcp`, session: { mode: 'bind', store, sessionKey: randomBytes(32), maxSessions: 1 }, logger }));
    const gateway = await listen(app);
    try {
      const racing = await Promise.all([post(gateway, { 'x-mcp-api-key': KEY }), post(gateway, { 'x-mcp-api-key': `${KEY}-2` })]);
      assert.deepEqual(
        racing.map((r) => r.status),
        [200, 200],
        'both passed the check before either was recorded',
      );
      await sleep(20);
      assert.equal(store.map.size, 1);
      const later = await Promise.all(
        racing.map((r, i) => post(gateway, { 'x-mcp-api-key': i ? `${KEY}-2` : KEY, 'mcp-session-id': r.headers.get('mcp-session-id')! })),
      );
      assert.deepEqual(later.map((r) => r.status).sort(), [200, 404]);
      assert.equal(logger.lines.filter((l) => /limit reached while this session initialized/.test(l.message)).length, 1);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});
