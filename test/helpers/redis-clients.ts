/**
 * The two Redis clients the store is tested with, connected the way docs/deployment.md shows, each
 * reduced to the `sendCommand` the store takes. Both keep their defaults: they queue commands while
 * the server is away and reconnect by themselves, which is what the failure tests must survive.
 */
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import type { SendCommand } from '../../lib/redis/index.js';

export type RedisClientKind = 'node-redis' | 'ioredis';
export const REDIS_CLIENT_KINDS: readonly RedisClientKind[] = ['node-redis', 'ioredis'];

export interface ConnectedClient {
  readonly kind: RedisClientKind;
  readonly sendCommand: SendCommand;
  /** Errors the client emitted (a connection lost, a reconnect refused): it must not crash the process. */
  readonly errors: unknown[];
  close(): Promise<void>;
}

/** An ACL user to log in as. */
export interface RedisUser {
  username: string;
  password: string;
}

/** A client of `kind` for the server at `port` on 127.0.0.1, connected (as `user`, when given). */
export async function connectRedis(kind: RedisClientKind, port: number, user?: RedisUser): Promise<ConnectedClient> {
  const errors: unknown[] = [];
  if (kind === 'node-redis') {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, ...user });
    // node-redis: an 'error' without a listener is thrown, and ends the process.
    client.on('error', (err: unknown) => errors.push(err));
    await client.connect();
    return { kind, errors, sendCommand: (args) => client.sendCommand(args), close: () => Promise.resolve(client.destroy()) };
  }
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, ...user });
  client.on('error', (err: unknown) => errors.push(err));
  await client.connect();
  return {
    kind,
    errors,
    sendCommand: (args) => client.call(args[0]!, ...args.slice(1)),
    close: () => Promise.resolve(client.disconnect()),
  };
}

/** A cluster client of `kind` for the cluster whose one node listens on `port`. */
export async function connectRedisCluster(kind: RedisClientKind, port: number): Promise<ConnectedClient> {
  const errors: unknown[] = [];
  if (kind === 'node-redis') {
    const cluster = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${port}` }] });
    cluster.on('error', (err: unknown) => errors.push(err));
    await cluster.connect();
    return { kind, errors, sendCommand: (args) => cluster.sendCommand(args[3], false, args), close: () => Promise.resolve(cluster.destroy()) };
  }
  const cluster = new Cluster([{ host: '127.0.0.1', port }], { lazyConnect: true });
  cluster.on('error', (err: unknown) => errors.push(err));
  await cluster.connect();
  return { kind, errors, sendCommand: (args) => cluster.call(args[0]!, ...args.slice(1)), close: () => Promise.resolve(cluster.disconnect()) };
}

/** Every key under `pattern` and what it holds, as text: for checking that Redis holds no value it must not. */
export async function dumpRedis(send: SendCommand, pattern = '*'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = (await send(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
    cursor = next;
    for (const key of keys) {
      const type = String(await send(['TYPE', key]));
      const content =
        type === 'hash'
          ? await send(['HGETALL', key])
          : type === 'zset'
            ? await send(['ZRANGE', key, '0', '-1', 'WITHSCORES'])
            : type === 'set'
              ? await send(['SMEMBERS', key])
              : await send(['DUMP', key]);
      out.set(key, `${type} ${JSON.stringify(content, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v))}`);
    }
  } while (cursor !== '0');
  return out;
}
