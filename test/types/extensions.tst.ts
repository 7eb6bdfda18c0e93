/**
 * What users implement themselves: a SecretProvider (a vault cache), a SessionStore (in memory or
 * Redis-like, sync or async) and a RelayLogger (console, pino). Each must fit where the options take it.
 */
import { describe, expect, test } from 'tstyche';
import { SecretReadError, mcpProxy } from '../../lib/index.js';
import type { AdmitAnswer, LogFields, RelayLogger, SecretProvider, SessionEntry, SessionQuota, SessionStore, SessionTtl } from '../../lib/index.js';

const target = 'http://127.0.0.1:9001/mcp';

describe('SecretProvider', () => {
  test('an object with a description and a synchronous read', () => {
    const cache = new Map<string, string>();
    const vault: SecretProvider = {
      description: 'vault cache',
      read(name) {
        if (cache.size === 0) throw new SecretReadError('cache has not been filled');
        return cache.get(name);
      },
    };
    expect(mcpProxy).type.toBeCallableWith({ target, headers: { fromSecret: { 'X-Api-Key': 'KEY' } }, secrets: vault });
  });

  test('a class implementing it', () => {
    class Fixed implements SecretProvider {
      readonly description = 'fixed';
      read(name: string): string | undefined {
        return name === 'KEY' ? 'value' : undefined;
      }
    }
    expect(mcpProxy).type.toBeCallableWith({ target, secrets: new Fixed() });
  });

  test('read runs on the request path, so it cannot be async', () => {
    // @ts-expect-error Type 'Promise<string>' is not assignable to type 'string'
    const provider: SecretProvider = { description: 'remote', read: () => Promise.resolve('value') };
    expect(provider).type.toBe<SecretProvider>();
  });

  test('description is required', () => {
    // @ts-expect-error Property 'description' is missing
    const provider: SecretProvider = { read: () => undefined };
    expect(provider).type.toBe<SecretProvider>();
  });
});

describe('SessionStore', () => {
  test('a synchronous store', () => {
    class MapStore implements SessionStore {
      readonly #map = new Map<string, string>();
      get(key: string): string | undefined {
        return this.#map.get(key);
      }
      set(key: string, value: string, _ttl: SessionTtl): boolean {
        if (this.#map.has(key)) return false;
        this.#map.set(key, value);
        return true;
      }
      delete(key: string): void {
        this.#map.delete(key);
      }
      size(): number {
        return this.#map.size;
      }
    }
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'bind', store: new MapStore(), sessionKey: 'k'.repeat(32) } });
  });

  test('an asynchronous store, the shape of a Redis client', () => {
    interface Redis {
      getex(key: string, px: 'PX', ms: number): Promise<string | null>;
      set(key: string, value: string, nx: 'NX', px: 'PX', ms: number): Promise<'OK' | null>;
      del(key: string): Promise<number>;
      dbsize(): Promise<number>;
    }
    const redisStore = (redis: Redis): SessionStore => ({
      get: async (key) => (await redis.getex(key, 'PX', 60_000)) ?? undefined,
      set: async (key, value, ttl) => (await redis.set(key, value, 'NX', 'PX', ttl.idleMs)) === 'OK',
      delete: async (key) => {
        await redis.del(key);
      },
      size: () => redis.dbsize(),
    });
    const redis = {
      getex: () => Promise.resolve(null),
      set: () => Promise.resolve('OK'),
      del: () => Promise.resolve(1),
      dbsize: () => Promise.resolve(0),
    } satisfies Redis;
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'bind', store: redisStore(redis), sessionKey: 'k'.repeat(32) } });
  });

  test('a store that counts sessions itself (optional admit)', () => {
    const counting: SessionStore = {
      get: () => undefined,
      set: () => true,
      delete: () => {},
      size: () => 0,
      admit: (quota: SessionQuota, entry?: SessionEntry): Promise<AdmitAnswer> =>
        Promise.resolve(entry === undefined && quota.maxSessions > 0 ? 'ok' : 'sessions'),
    };
    expect(mcpProxy).type.toBeCallableWith({ target, session: { mode: 'bind', store: counting, sessionKey: 'k'.repeat(32) } });
    // @ts-expect-error Type '"full"' is not assignable to type 'AdmitAnswer | PromiseLike<AdmitAnswer>'
    const wrong: SessionStore = { get: () => undefined, set: () => true, delete: () => {}, size: () => 0, admit: () => 'full' };
    expect(wrong).type.toBe<SessionStore>();
  });

  test('values are strings (fingerprints), and every method is required', () => {
    // @ts-expect-error Type 'Promise<number>' is not assignable to type 'string | PromiseLike<string | undefined> | undefined'
    const numbers: SessionStore = { get: () => Promise.resolve(1), set: () => true, delete: () => {}, size: () => 0 };
    // @ts-expect-error Property 'size' is missing
    const sizeless: SessionStore = { get: () => undefined, set: () => true, delete: () => {} };
    expect([numbers, sizeless]).type.toBe<SessionStore[]>();
  });
});

describe('RelayLogger', () => {
  test('console fits', () => {
    expect(console).type.toBeAssignableTo<RelayLogger>();
    expect(mcpProxy).type.toBeCallableWith({ target, logger: console });
  });

  test('a pino-style (fields, message) logger fits', () => {
    const lines: string[] = [];
    const pinoLike = {
      warn: (fields: object, message: string) => void lines.push(message, JSON.stringify(fields)),
      error: (fields: object, message: string) => void lines.push(message, JSON.stringify(fields)),
      info: (fields: LogFields, message: string) => void lines.push(message, String(fields.reason)),
    };
    expect(pinoLike).type.toBeAssignableTo<RelayLogger>();
  });

  test('warn and error are required', () => {
    expect({ warn: () => {} }).type.not.toBeAssignableTo<RelayLogger>();
    // @ts-expect-error Property 'error' is missing
    mcpProxy({ target, logger: { warn: () => {} } });
  });
});
