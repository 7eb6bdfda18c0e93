/**
 * mcp-header-relay/redis against the main package's types and the two clients the docs show: the
 * store is what a `bind` route's `store` takes, and the docs' `sendCommand` for node-redis and ioredis
 * (single node and cluster) is what the store takes.
 */
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { describe, expect, test } from 'tstyche';
import { mcpProxy, type AdmitAnswer, type BindSessionOptions, type SessionStore } from '../../lib/index.js';
import { redisSessionStore, type RedisSessionStore, type RedisSessionStoreOptions, type SendCommand } from '../../lib/redis/index.js';

const sendCommand: SendCommand = () => Promise.resolve(null);

describe('redisSessionStore', () => {
  test('returns a SessionStore that counts (admit) and answers with promises', () => {
    const store = redisSessionStore({ sendCommand });
    expect(store).type.toBe<RedisSessionStore>();
    expect(store).type.toBeAssignableTo<SessionStore>();
    expect(store).type.toBeAssignableTo<NonNullable<BindSessionOptions['store']>>();
    expect(store.admit({ scope: 's', client: 'c', maxSessions: 1, maxPerClient: 1 })).type.toBe<Promise<AdmitAnswer>>();
    expect(store.get('k')).type.toBe<Promise<string | undefined>>();
    expect<ReturnType<RedisSessionStore['admit']>>().type.toBe<Promise<AdmitAnswer>>();
  });

  test("is a bind route's store, with the replicas' shared sessionKey; pin takes no store", () => {
    const store = redisSessionStore({ sendCommand, prefix: 'gw:' });
    expect(mcpProxy).type.toBeCallableWith({ target: 'http://b/mcp', session: { mode: 'bind', store, sessionKey: 'k'.repeat(32) } });
    expect(mcpProxy).type.not.toBeCallableWith({ target: 'http://b/mcp', session: { mode: 'pin', principal: () => 'p', store } });
  });

  test('takes node-redis as the docs show, single node and cluster', () => {
    const client = createClient({ url: 'redis://redis:6379' });
    expect(redisSessionStore).type.toBeCallableWith({ sendCommand: (args: string[]) => client.sendCommand(args) });
    const cluster = createCluster({ rootNodes: [{ url: 'redis://redis-1:6379' }] });
    expect(redisSessionStore).type.toBeCallableWith({ sendCommand: (args: string[]) => cluster.sendCommand(args[3], false, args) });
  });

  test('takes ioredis as the docs show, single node and cluster', () => {
    const client = new Redis('redis://redis:6379');
    expect(redisSessionStore).type.toBeCallableWith({ sendCommand: (args: string[]) => client.call(args[0]!, ...args.slice(1)) });
    const cluster = new Cluster([{ host: 'redis-1', port: 6379 }]);
    expect(redisSessionStore).type.toBeCallableWith({ sendCommand: (args: string[]) => cluster.call(args[0]!, ...args.slice(1)) });
  });

  test('refuses what is not its options', () => {
    expect(redisSessionStore).type.not.toBeCallableWith({});
    expect(redisSessionStore).type.not.toBeCallableWith({ sendCommand, prefix: 1 });
    expect(redisSessionStore).type.not.toBeCallableWith({ sendCommand, url: 'redis://redis:6379' });
    expect(redisSessionStore).type.not.toBeCallableWith({ sendCommand: (args: number[]) => Promise.resolve(args) });
    expect<RedisSessionStoreOptions>().type.toBe<{ sendCommand: SendCommand; prefix?: string }>();
  });
});
