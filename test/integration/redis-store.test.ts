/**
 * mcp-header-relay/redis against a real redis-server (test/helpers/redis-server.ts; no mock), through
 * both clients the docs show: node-redis and ioredis, the same table of cases for each. The store's
 * contract (docs/sessions.md, "SessionStore"): insert-only records, TTLs Redis enforces by itself
 * (sliding idle, absolute), limits checked and a record inserted in one atomic step even when two
 * connections race, keys under the prefix, and nothing in Redis that names a session, client or route.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { redisSessionStore, type RedisSessionStore, type SendCommand } from '../../lib/redis/index.js';
import { HeaderConfigError, type SessionQuota } from '../../lib/index.js';
import { connectRedis, connectRedisCluster, dumpRedis, REDIS_CLIENT_KINDS, type ConnectedClient } from '../helpers/redis-clients.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { SENTINEL } from '../helpers/sentinel.js';
import { sleep } from '../helpers/wait.js';

const TTL = { idleMs: 60_000, absoluteMs: 600_000 };
/** The ACL rules docs/deployment.md gives for the store's Redis user (for the default prefix), read from the page. */
const DOCUMENTED_ACL = /^\s*ACL SETUSER mcp-relay on >change-me (~mcp-relay:\*(?: \+[a-z]+)+)$/m.exec(
  readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8'),
)?.[1];
const ROUTE = 'http://127.0.0.1:9/mcp\n';
let prefixes = 0;
/** A prefix of its own for each case, so cases share one server without sharing keys. */
const freshPrefix = (): string => `t${++prefixes}:`;
const quota = (client: string, maxSessions = 100, maxPerClient = 100, scope = ROUTE): SessionQuota => ({ scope, client, maxSessions, maxPerClient });

async function keysUnder(send: SendCommand, prefix: string): Promise<string[]> {
  return [...(await dumpRedis(send, `${prefix}*`)).keys()].sort();
}

/** One server and one cluster for the whole file, started on first use: each takes a moment to come up. */
let single: Promise<RedisServer> | undefined;
let cluster: Promise<RedisServer> | undefined;
after(async () => {
  await (await single)?.stop();
  await (await cluster)?.stop();
});

for (const kind of REDIS_CLIENT_KINDS) {
  describe(`redisSessionStore with ${kind}`, () => {
    let redis: RedisServer;
    let client: ConnectedClient;
    const store = (prefix = freshPrefix()): RedisSessionStore => redisSessionStore({ sendCommand: client.sendCommand, prefix });
    before(async () => {
      redis = await (single ??= startRedis());
      client = await connectRedis(kind, redis.port);
    });
    after(async () => {
      await client.close();
    });

    it('set is insert-only, get answers the value or undefined, delete removes, size counts', async () => {
      const s = store();
      assert.equal(await s.get(`${ROUTE}a`), undefined);
      assert.equal(await s.set(`${ROUTE}a`, 'fp-a', TTL), true);
      assert.equal(await s.set(`${ROUTE}a`, 'fp-other', TTL), false, 'an existing key is kept');
      assert.equal(await s.get(`${ROUTE}a`), 'fp-a');
      assert.equal(await s.set(`${ROUTE}b`, 'fp-b', TTL), true);
      assert.equal(await s.size(), 2);
      await s.delete(`${ROUTE}a`);
      await s.delete(`${ROUTE}never-stored`);
      assert.equal(await s.get(`${ROUTE}a`), undefined);
      assert.equal(await s.size(), 1);
    });

    it('a lookup of an unknown id writes nothing to Redis', async () => {
      const before = String(await client.sendCommand(['DBSIZE']));
      const s = store();
      for (let i = 0; i < 20; i++) assert.equal(await s.get(`${ROUTE}unknown-${i}`), undefined);
      assert.equal(String(await client.sendCommand(['DBSIZE'])), before);
    });

    it('every key is under the prefix, then the {sessions} hash tag; two prefixes do not see each other', async () => {
      const one = store(`one-${kind}:`);
      const two = store(`two-${kind}:`);
      assert.equal(await one.admit(quota('c'), { key: `${ROUTE}id-1`, value: 'fp', ttl: TTL }), 'ok');
      assert.equal(await two.get(`${ROUTE}id-1`), undefined);
      assert.equal(await two.size(), 0);
      const keys = await keysUnder(client.sendCommand, `one-${kind}:`);
      assert.deepEqual(
        keys.map((k) => k.replace(`one-${kind}:`, '<prefix>').replace(/[A-Za-z0-9_-]{22}$/, '<digest>')),
        ['<prefix>{sessions}:client:<digest>', '<prefix>{sessions}:s:<digest>', '<prefix>{sessions}:scope:<digest>', '<prefix>{sessions}:scopes'],
      );
    });

    it('Redis holds no session id, route, client hash or value other than the fingerprint given', async () => {
      const prefix = freshPrefix();
      const s = store(prefix);
      const key = `http://${SENTINEL}.example/mcp\n${SENTINEL}-session-id`;
      const q = { ...quota(`${SENTINEL}-client`), scope: `http://${SENTINEL}.example/mcp\n` };
      assert.equal(await s.admit(q, { key, value: 'fingerprint-only', ttl: TTL }), 'ok');
      assert.equal(await s.get(key), 'fingerprint-only');
      const dump = [...(await dumpRedis(client.sendCommand, `${prefix}*`))].map(([k, v]) => `${k} ${v}`).join('\n');
      assert.ok(dump.includes('fingerprint-only'));
      assert.ok(!dump.includes(SENTINEL), dump);
    });

    it('the idle TTL is Redis expiry: an untouched session is gone from Redis itself after idleMs', async () => {
      const prefix = freshPrefix();
      const s = store(prefix);
      assert.equal(await s.set(`${ROUTE}idle`, 'fp', { idleMs: 300, absoluteMs: 60_000 }), true);
      const [session] = (await keysUnder(client.sendCommand, `${prefix}{sessions}:s:`)) as [string];
      const pttl = Number(await client.sendCommand(['PTTL', session]));
      assert.ok(pttl > 0 && pttl <= 300, `PTTL ${pttl}`);
      await sleep(450);
      assert.deepEqual(await keysUnder(client.sendCommand, prefix), [], 'Redis dropped the session and its counts without any lookup');
      assert.equal(await s.get(`${ROUTE}idle`), undefined);
    });

    it('a hit slides the idle TTL, never past the absolute one', async () => {
      const prefix = freshPrefix();
      const s = store(prefix);
      const started = Date.now();
      assert.equal(await s.set(`${ROUTE}busy`, 'fp', { idleMs: 300, absoluteMs: 800 }), true);
      const [session] = (await keysUnder(client.sendCommand, `${prefix}{sessions}:s:`)) as [string];
      let lastHit = 0;
      while (Date.now() - started < 600) {
        await sleep(150);
        assert.equal(await s.get(`${ROUTE}busy`), 'fp', `alive at ${Date.now() - started} ms: each hit restarts the idle TTL`);
        lastHit = Date.now() - started;
        const pttl = Number(await client.sendCommand(['PTTL', session]));
        assert.ok(pttl <= Math.min(300, 800 - lastHit + 20), `PTTL ${pttl} at ${lastHit} ms never reaches past the absolute deadline`);
      }
      await sleep(Math.max(0, 850 - (Date.now() - started)));
      assert.equal(await s.get(`${ROUTE}busy`), undefined, 'gone at the absolute deadline although used within the idle TTL');
      assert.deepEqual(await keysUnder(client.sendCommand, `${prefix}{sessions}:s:`), []);
    });

    it('admit without an entry only checks; with one, checks and records: maxSessions per route, maxPerClient per client', async () => {
      const s = store();
      const entry = (id: string) => ({ key: `${ROUTE}${id}`, value: `fp-${id}`, ttl: TTL });
      assert.equal(await s.admit(quota('alice', 3, 2)), 'ok');
      assert.equal(await s.size(), 0, 'a check stores nothing');
      assert.equal(await s.admit(quota('alice', 3, 2), entry('1')), 'ok');
      assert.equal(await s.admit(quota('alice', 3, 2), entry('1')), 'exists');
      assert.equal(await s.admit(quota('alice', 3, 2), entry('2')), 'ok');
      assert.equal(await s.admit(quota('alice', 3, 2)), 'client');
      assert.equal(await s.admit(quota('alice', 3, 2), entry('3')), 'client');
      assert.equal(await s.admit(quota('bob', 3, 2), entry('3')), 'ok');
      assert.equal(await s.admit(quota('carol', 3, 2)), 'sessions');
      assert.equal(await s.admit(quota('carol', 3, 2), entry('4')), 'sessions');
      assert.equal(await s.admit(quota('carol', 3, 2, 'http://other/mcp\n'), entry('4')), 'ok', 'another route counts apart');
      assert.equal(await s.get(`${ROUTE}3`), 'fp-3');
      assert.equal(await s.size(), 4);
      await s.delete(`${ROUTE}1`);
      assert.equal(await s.admit(quota('alice', 3, 2), entry('5')), 'ok', 'a deleted session frees its place in both counts');
    });

    it('an expired session frees its place: the counts follow Redis expiry', async () => {
      const s = store();
      const ttl = { idleMs: 200, absoluteMs: 60_000 };
      assert.equal(await s.admit(quota('alice', 1, 1), { key: `${ROUTE}x`, value: 'fp', ttl }), 'ok');
      assert.equal(await s.admit(quota('bob', 1, 1)), 'sessions');
      await sleep(300);
      assert.equal(await s.admit(quota('bob', 1, 1), { key: `${ROUTE}y`, value: 'fp', ttl }), 'ok');
      assert.equal(await s.size(), 1);
    });

    it('two connections (two replicas) racing 40 records at maxSessions 7 and a client share of 3: exactly 7 and 3 are stored', async () => {
      const other = await connectRedis(kind, redis.port);
      try {
        const prefix = freshPrefix();
        const replicas = [store(prefix), redisSessionStore({ sendCommand: other.sendCommand, prefix })];
        const race = (q: (i: number) => SessionQuota, tag: string) =>
          Promise.all(Array.from({ length: 40 }, (_, i) => replicas[i % 2]!.admit(q(i), { key: `${ROUTE}${tag}-${i}`, value: 'fp', ttl: TTL })));
        const sessions = await race((i) => quota(`client-${i}`, 7, 7), 'global');
        assert.equal(sessions.filter((a) => a === 'ok').length, 7);
        assert.equal(sessions.filter((a) => a === 'sessions').length, 33);
        assert.equal(await replicas[1]!.size(), 7);
        const shares = await race(() => quota('one-client', 1000, 3, 'http://shares/mcp\n'), 'share');
        assert.equal(shares.filter((a) => a === 'ok').length, 3);
        assert.equal(shares.filter((a) => a === 'client').length, 37);
      } finally {
        await other.close();
      }
    });

    it('after SCRIPT FLUSH (a restart or failover empties the script cache) EVALSHA falls back to EVAL once, then EVALSHA works again', async () => {
      const sent: string[] = [];
      const s = redisSessionStore({
        prefix: freshPrefix(),
        sendCommand: (args) => {
          sent.push(args[0]!);
          return client.sendCommand(args);
        },
      });
      assert.equal(await s.set(`${ROUTE}f`, 'fp', TTL), true);
      assert.deepEqual(sent.splice(0), ['EVAL'], 'a record is sent as EVAL at once');
      await s.delete(`${ROUTE}never-stored`);
      assert.deepEqual(sent.splice(0), ['EVAL'], 'so is a delete');
      await client.sendCommand(['SCRIPT', 'FLUSH']);
      assert.equal(await s.get(`${ROUTE}f`), 'fp');
      assert.deepEqual(sent.splice(0), ['EVALSHA', 'EVAL']);
      assert.equal(await s.get(`${ROUTE}f`), 'fp');
      assert.deepEqual(sent.splice(0), ['EVALSHA']);
    });

    it("works as a Redis user with only docs/deployment.md's ACL: the store's scripts, their commands, and keys under the prefix", async () => {
      assert.ok(DOCUMENTED_ACL, 'docs/deployment.md gives the ACL');
      const username = `relay-${kind}`;
      const rules = DOCUMENTED_ACL.replace('~mcp-relay:*', `~acl-${kind}:*`).split(' ');
      await client.sendCommand(['ACL', 'SETUSER', username, 'reset', 'on', '>acl-test-password', ...rules]);
      const limited = await connectRedis(kind, redis.port, { username, password: 'acl-test-password' });
      try {
        const s = redisSessionStore({ sendCommand: limited.sendCommand, prefix: `acl-${kind}:` });
        assert.equal(await s.admit(quota('c', 2, 2)), 'ok');
        assert.equal(await s.admit(quota('c', 2, 2), { key: `${ROUTE}1`, value: 'fp', ttl: TTL }), 'ok');
        assert.equal(await s.get(`${ROUTE}1`), 'fp');
        assert.equal(await s.size(), 1);
        await s.delete(`${ROUTE}1`);
        assert.equal(await s.get(`${ROUTE}1`), undefined);
        const elsewhere = redisSessionStore({ sendCommand: limited.sendCommand, prefix: 'not-granted:' });
        await assert.rejects(elsewhere.get(`${ROUTE}1`), /NOPERM/, 'keys outside the pattern are refused');
      } finally {
        await limited.close();
      }
    });

    it('every command carries a key of the store at args[3], for a cluster client that routes by key', async () => {
      const seen: string[][] = [];
      const prefix = freshPrefix();
      const s = redisSessionStore({
        prefix,
        sendCommand: (args) => {
          seen.push(args);
          return client.sendCommand(args);
        },
      });
      await s.admit(quota('c'));
      await s.admit(quota('c'), { key: `${ROUTE}k`, value: 'fp', ttl: TTL });
      await s.get(`${ROUTE}k`);
      await s.size();
      await s.delete(`${ROUTE}k`);
      assert.deepEqual(new Set(seen.map((args) => args[0])), new Set(['EVALSHA', 'EVAL']));
      for (const args of seen) assert.ok(args[3]?.startsWith(`${prefix}{sessions}:`), `${args[0]} ${args[3]}`);
    });
  });

  describe(`redisSessionStore on a Redis Cluster with ${kind}'s cluster client`, () => {
    let client: ConnectedClient;
    before(async () => {
      client = await connectRedisCluster(kind, (await (cluster ??= startRedis({ cluster: true }))).port);
    });
    after(async () => {
      await client.close();
    });

    it('records, counts, looks up and deletes through the sendCommand the docs give for a cluster', async () => {
      const s = redisSessionStore({ sendCommand: client.sendCommand, prefix: `cluster-${kind}:` });
      assert.equal(await s.admit(quota('c', 2, 2), { key: `${ROUTE}1`, value: 'fp-1', ttl: TTL }), 'ok');
      assert.equal(await s.admit(quota('c', 2, 2), { key: `${ROUTE}2`, value: 'fp-2', ttl: TTL }), 'ok');
      assert.equal(await s.admit(quota('d', 2, 2)), 'sessions');
      assert.equal(await s.get(`${ROUTE}2`), 'fp-2');
      assert.equal(await s.size(), 2);
      await s.delete(`${ROUTE}2`);
      assert.equal(await s.get(`${ROUTE}2`), undefined);
      assert.equal(await s.size(), 1);
    });

    it("all of a store's keys hash to one slot, so its scripts may touch several keys on one node", async () => {
      const s = redisSessionStore({ sendCommand: client.sendCommand, prefix: `slots-${kind}:` });
      assert.equal(await s.admit(quota('c'), { key: `${ROUTE}1`, value: 'fp', ttl: TTL }), 'ok');
      const keys = [...(await dumpRedis(client.sendCommand, `slots-${kind}:*`)).keys()];
      assert.equal(keys.length, 4);
      const slots = new Set(await Promise.all(keys.map(async (k) => String(await client.sendCommand(['CLUSTER', 'KEYSLOT', k])))));
      assert.equal(slots.size, 1);
    });
  });
}

describe('redisSessionStore options', () => {
  const sendCommand: SendCommand = () => Promise.resolve(null);
  const cases: [string, unknown, RegExp][] = [
    ['no options', undefined, /^\(options\): redisSessionStore\(\) takes an options object/],
    ['no sendCommand', {}, /^sendCommand: must be a function/],
    ['a client instead of a function', { sendCommand: { sendCommand } }, /^sendCommand: must be a function/],
    ['an unknown option', { sendCommand, url: 'redis://x' }, /^url: unknown option of redisSessionStore\(\); it takes sendCommand, prefix/],
    ['a prefix with a hash tag of its own', { sendCommand, prefix: 'app:{x}:' }, /^prefix: must be 1-64 visible ASCII characters without '\{' or '\}'/],
    ['an empty prefix', { sendCommand, prefix: '' }, /^prefix: /],
    ['a prefix with a space', { sendCommand, prefix: 'my app:' }, /^prefix: /],
    ['a prefix of 65 characters', { sendCommand, prefix: 'p'.repeat(65) }, /^prefix: /],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what} at construction (ERR_INVALID_OPTION)`, () => {
      assert.throws(
        () => redisSessionStore(options as Parameters<typeof redisSessionStore>[0]),
        (err: unknown) => err instanceof HeaderConfigError && err.code === 'ERR_INVALID_OPTION' && message.test(err.message),
      );
    });
  }

  it('a reply it cannot read is a failure, never a wrong answer', async () => {
    const s = redisSessionStore({ sendCommand: () => Promise.resolve(['unexpected']) });
    await assert.rejects(s.get('k'), TypeError);
    await assert.rejects(s.size(), TypeError);
    await assert.rejects(s.admit(quota('c')), TypeError);
  });
});
