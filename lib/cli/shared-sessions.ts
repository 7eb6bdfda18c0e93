/**
 * The gateway file's `sessionStore`: every `bind` route keeps its sessions in Redis, so several `serve`
 * processes started with the same file share them (docs/deployment.md). The file names environment
 * variables, never the URL (it may hold a password) or the session key. `serve` connects with node-redis
 * (an optional peer dependency, loaded only for a file that asks for it); `check` and `explain` build the
 * same routes on a store that never connects.
 */
import { withDeadline } from '../deadline.js';
import type { RelayLogger } from '../logger.js';
import { redisSessionStore, type RedisSessionStore } from '../redis/index.js';
import { MIN_SESSION_KEY_BYTES } from '../session-options.js';
import type { SessionStore } from '../session-store.js';
import { ConfigFileError, within, type GatewayConfig } from './config-file.js';
import type { FileSessionStore } from './config-shape.js';
import { loadOptional } from './optional-peer.js';

/** The store and key every `bind` route of the gateway uses. */
export interface SharedSessions {
  readonly store: SessionStore;
  readonly sessionKey: string;
}

/** SharedSessions on a live Redis connection. */
export interface ConnectedSessions extends SharedSessions {
  /** Ends the connection once the commands under way are answered. */
  close(): Promise<void>;
}

/** `sessionStore` with its environment read: checked, but not connected. */
export interface StoreSettings {
  readonly file: string;
  readonly url: string;
  /** The variable the URL came from, for messages (never the URL itself). */
  readonly urlEnv: string;
  readonly sessionKey: string;
  readonly connectTimeout: number;
  /** A store that never connects: every command fails. Proves the prefix; used as is by check and explain. */
  readonly offline: RedisSessionStore;
  readonly prefix: string | undefined;
}

export const DEFAULT_STORE_CONNECT_MS = 5000;
const OFFLINE = 'check and explain do not connect to Redis';

/** Reads `sessionStore`'s environment variables; throws ConfigFileError naming the variable, never its value. */
export function storeSettings(config: GatewayConfig, env: NodeJS.ProcessEnv): StoreSettings | undefined {
  const spec = config.sessionStore;
  if (!spec) return undefined;
  const fail = (key: keyof FileSessionStore, rule: string): never => {
    throw new ConfigFileError(config.file, { path: `sessionStore.${key}`, rule });
  };
  const url = env[spec.urlEnv];
  if (!url) fail('urlEnv', `names ${spec.urlEnv}, which is not set: set it to the Redis URL`);
  if (!isRedisUrl(url!)) fail('urlEnv', `names ${spec.urlEnv}, which does not hold a redis:// or rediss:// URL`);
  const sessionKey = env[spec.sessionKeyEnv];
  if (!sessionKey) fail('sessionKeyEnv', `names ${spec.sessionKeyEnv}, which is not set: set it to the same key on every replica (openssl rand -hex 32)`);
  if (Buffer.byteLength(sessionKey!) < MIN_SESSION_KEY_BYTES)
    fail('sessionKeyEnv', `names ${spec.sessionKeyEnv}, which holds fewer than ${MIN_SESSION_KEY_BYTES} bytes: use a longer key (openssl rand -hex 32)`);
  const prefix = spec.prefix;
  const offline = within(config.file, 'sessionStore', () => redisSessionStore({ sendCommand: () => Promise.reject(new Error(OFFLINE)), prefix }));
  return {
    file: config.file,
    url: url!,
    urlEnv: spec.urlEnv,
    sessionKey: sessionKey!,
    connectTimeout: spec.connectTimeout ?? DEFAULT_STORE_CONNECT_MS,
    offline,
    prefix,
  };
}

function isRedisUrl(text: string): boolean {
  try {
    const { protocol, hostname } = new URL(text);
    return (protocol === 'redis:' || protocol === 'rediss:') && hostname !== '';
  } catch {
    return false;
  }
}

/**
 * `session: bind` (or `{ mode: bind, ... }`) of a route with the shared store and key added; other
 * modes as they are. The file may not set a route's own key or store beside the shared ones.
 */
export function withSharedSessions(
  options: Readonly<Record<string, unknown>>,
  shared: SharedSessions,
  file: string,
  at: string,
): Readonly<Record<string, unknown>> {
  const { session } = options;
  if (session === 'bind') return { ...options, session: { mode: 'bind', store: shared.store, sessionKey: shared.sessionKey } };
  if (typeof session !== 'object' || session === null || (session as { mode?: unknown }).mode !== 'bind') return options;
  for (const key of ['sessionKey', 'store'] as const) {
    if (Object.hasOwn(session, key)) {
      throw new ConfigFileError(file, { path: `${at}.session.${key}`, rule: 'is set by the top-level sessionStore for every bind route: remove it here' });
    }
  }
  return { ...options, session: { ...session, store: shared.store, sessionKey: shared.sessionKey } };
}

/** What serve needs of a node-redis client. */
interface RedisClient {
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}
type CreateClient = (options: { url: string; socket: { connectTimeout: number } }) => RedisClient;

/**
 * Connects to Redis with node-redis, waiting up to `connectTimeout` ms; throws (with the error's code, never
 * the URL) when Redis does not answer. Afterwards the client reconnects by itself: while it is away, bind
 * requests get 503 and one warning is logged per outage.
 */
export async function connectSharedSessions(settings: StoreSettings, logger: Required<RelayLogger>): Promise<ConnectedSessions> {
  const createClient = await loadNodeRedis();
  const client = createClient({ url: settings.url, socket: { connectTimeout: settings.connectTimeout } });
  let up = false;
  let lastCode = 'no answer';
  client.on('error', (error) => {
    lastCode = error.code ?? error.name;
    if (!up) return;
    up = false;
    logger.warn({ store: 'redis', code: lastCode }, 'mcp-header-relay serve: lost the connection to Redis; bind requests get 503 until it is back');
  });
  client.on('ready', () => {
    up = true;
    logger.info({ store: 'redis' }, 'mcp-header-relay serve: connected to Redis');
  });
  try {
    await withDeadline(client.connect(), settings.connectTimeout, () => {
      throw new Error('timeout');
    });
  } catch {
    client.destroy();
    throw new Error(
      `${settings.file}: sessionStore: Redis did not answer within ${settings.connectTimeout} ms (${lastCode}); check the URL in ${settings.urlEnv} and that Redis is up`,
    );
  }
  const store = redisSessionStore({ sendCommand: (args) => client.sendCommand(args), prefix: settings.prefix });
  return { store, sessionKey: settings.sessionKey, close: () => closeClient(client) };
}

/** How long a shutdown waits for Redis to answer the commands under way: node-redis's close() never settles while Redis is away. */
const CLOSE_WAIT_MS = 1000;

async function closeClient(client: RedisClient): Promise<void> {
  await withDeadline(
    client.close().catch(() => undefined),
    CLOSE_WAIT_MS,
    () => undefined,
  );
  client.destroy();
}

function loadNodeRedis(): Promise<CreateClient> {
  return loadOptional(
    async () => ((await import('redis')) as unknown as { createClient: CreateClient }).createClient,
    'a gateway file with sessionStore: { type: redis } needs node-redis (an optional peer dependency): npm install redis',
  );
}
