/**
 * mcp-header-relay/redis: a SessionStore in Redis, for `bind` routes on several replicas of a gateway
 * (docs/deployment.md). The user brings the client: the store only needs a function that sends one
 * command, so node-redis and ioredis, single-node or cluster, all work, and the package imports neither.
 *
 * What Redis holds: per session a fingerprint (HMAC of the captured headers under the replicas' shared
 * `sessionKey`) and its deadlines; per route and per client the sessions counted against the limits.
 * Never a header value, a session id or a principal (docs/sessions.md). TTLs are Redis's own expiry;
 * the limits are checked and a session inserted in one Lua script, so replicas cannot both pass a limit.
 */
import { createHash } from 'node:crypto';
import { HeaderConfigError } from '../config-error.js';
import type { AdmitAnswer, SessionEntry, SessionQuota, SessionStore, SessionTtl } from '../session-store.js';
import { integerReply, ScriptRunner, stringReply, type SendCommand } from './commands.js';
import { ADMIT, CHECK, DELETE, GET, SIZE } from './scripts.js';

export type { SendCommand } from './commands.js';

/** Options of {@link redisSessionStore}. */
export interface RedisSessionStoreOptions {
  /**
   * Sends one command to Redis and resolves with its reply (rejects with the server's error). Every
   * command the store sends is `EVALSHA` or `EVAL` with its first key at `args[3]`:
   * - node-redis: `(args) => client.sendCommand(args)`; its cluster: `(args) => cluster.sendCommand(args[3], false, args)`
   * - ioredis (and its `Cluster`): `(args) => client.call(args[0]!, ...args.slice(1))`
   */
  sendCommand: SendCommand;
  /**
   * Start of every key the store writes. Replicas that share sessions use the same prefix; routes
   * that share a prefix still count their sessions apart. Visible ASCII without `{` or `}`, up to 64
   * characters. @default 'mcp-relay:'
   */
  prefix?: string;
}

/** A Redis session store: a SessionStore that also counts sessions (`admit`), and answers asynchronously. */
export interface RedisSessionStore extends SessionStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttl: SessionTtl): Promise<boolean>;
  delete(key: string): Promise<void>;
  size(): Promise<number>;
  admit(quota: SessionQuota, entry?: SessionEntry): Promise<AdmitAnswer>;
}

export const DEFAULT_REDIS_PREFIX = 'mcp-relay:';
/** Every key carries this Redis Cluster hash tag after the prefix: a store's keys share one slot, so its scripts may touch several. */
export const HASH_TAG = '{sessions}';

const OPTION_NAMES = ['sendCommand', 'prefix'];
const PREFIX = /^[\x21-\x7a\x7c\x7e]{1,64}$/; // visible ASCII except { (0x7b) and } (0x7d)
/** What `set()` counts against: no limit. */
const UNLIMITED = String(Number.MAX_SAFE_INTEGER);
const ANSWERS: readonly string[] = ['ok', 'exists', 'sessions', 'client'] satisfies AdmitAnswer[];

/**
 * A session store in Redis for mcpProxy's `bind` mode: pass it as `session.store`, with the same
 * `session.sessionKey` on every replica.
 *
 * ```ts
 * const client = await createClient({ url: 'redis://redis:6379' }).on('error', log).connect();
 * const store = redisSessionStore({ sendCommand: (args) => client.sendCommand(args) });
 * ```
 */
export function redisSessionStore(options: RedisSessionStoreOptions): RedisSessionStore {
  const { sendCommand, prefix } = parseOptions(options);
  return new RedisStore(new ScriptRunner(sendCommand), `${prefix}${HASH_TAG}:`);
}

function parseOptions(options: unknown): { sendCommand: SendCommand; prefix: string } {
  if (typeof options !== 'object' || options === null) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', '(options)', 'redisSessionStore() takes an options object: { sendCommand }');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new HeaderConfigError('ERR_INVALID_OPTION', key, `unknown option of redisSessionStore(); it takes ${OPTION_NAMES.join(', ')}`);
    }
  }
  const { sendCommand, prefix = DEFAULT_REDIS_PREFIX } = options as Record<string, unknown>;
  if (typeof sendCommand !== 'function') {
    throw new HeaderConfigError(
      'ERR_INVALID_OPTION',
      'sendCommand',
      'must be a function sending one command to Redis, e.g. (args) => client.sendCommand(args) with node-redis (see docs/deployment.md)',
    );
  }
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new HeaderConfigError('ERR_INVALID_OPTION', 'prefix', "must be 1-64 visible ASCII characters without '{' or '}', e.g. 'mcp-relay:'");
  }
  return { sendCommand: sendCommand as SendCommand, prefix };
}

/** 128 bits of SHA-256, base64url: how a session, scope or client is named in Redis. */
function digest(kind: string, value: string): string {
  return createHash('sha256').update(`${kind}:${value}`).digest().subarray(0, 16).toString('base64url');
}

class RedisStore implements RedisSessionStore {
  readonly #scripts: ScriptRunner;
  /** `<prefix>{sessions}:`, the start of every key. */
  readonly #base: string;

  constructor(scripts: ScriptRunner, base: string) {
    this.#scripts = scripts;
    this.#base = base;
  }

  async get(key: string): Promise<string | undefined> {
    const session = digest('session', key);
    return stringReply(await this.#scripts.run(GET, [this.#session(session)], [this.#base, session]));
  }

  async set(key: string, value: string, ttl: SessionTtl): Promise<boolean> {
    const quota = { scope: '', client: '', maxSessions: Number.MAX_SAFE_INTEGER, maxPerClient: Number.MAX_SAFE_INTEGER };
    return (await this.admit(quota, { key, value, ttl })) === 'ok';
  }

  async delete(key: string): Promise<void> {
    const session = digest('session', key);
    // EVAL at once, as a record: the relay passes the DELETE's answer on without waiting for this.
    await this.#scripts.run(DELETE, [this.#session(session)], [this.#base, session], true);
  }

  async size(): Promise<number> {
    return integerReply(await this.#scripts.run(SIZE, [`${this.#base}scopes`], [this.#base]));
  }

  async admit(quota: SessionQuota, entry?: SessionEntry): Promise<AdmitAnswer> {
    const scope = digest('scope', quota.scope);
    const client = digest('client', `${quota.scope}\n${quota.client}`);
    const counts = [`${this.#base}scope:${scope}`, `${this.#base}client:${client}`];
    const limits = [limit(quota.maxSessions), limit(quota.maxPerClient)];
    if (!entry) return admitAnswer(await this.#scripts.run(CHECK, counts, limits));
    const session = digest('session', entry.key);
    const keys = [this.#session(session), ...counts, `${this.#base}scopes`];
    const { idleMs, absoluteMs } = entry.ttl;
    const args = [...limits, entry.value, String(idleMs), String(absoluteMs), session, scope, client];
    // EVAL at once: the relay passes the initialize's answer on without waiting, and a follow-up on
    // another replica must not overtake this write while a NOSCRIPT answer is sent back and forth.
    return admitAnswer(await this.#scripts.run(ADMIT, keys, args, true));
  }

  #session(digest: string): string {
    return `${this.#base}s:${digest}`;
  }
}

function limit(n: number): string {
  return Number.isSafeInteger(n) ? String(Math.max(0, n)) : UNLIMITED;
}

function admitAnswer(reply: unknown): AdmitAnswer {
  const answer = stringReply(reply);
  if (answer !== undefined && ANSWERS.includes(answer)) return answer as AdmitAnswer;
  throw new TypeError('unexpected reply from Redis to the admit script');
}
