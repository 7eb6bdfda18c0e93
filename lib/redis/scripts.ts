/**
 * The Lua scripts of the Redis session store: every operation is one script, so each is atomic and
 * one round trip, and reads the clock of the Redis server (TIME), never a replica's.
 *
 * Keys (all under `<prefix>{sessions}:`, one Redis Cluster hash tag, so every script stays on one slot):
 * - `s:<session>`: a hash per session: `v` the value (a fingerprint), `a` its absolute deadline (ms since
 *   the epoch), `i` its idle TTL (ms), `n` its scope's and `c` its client's digest. Its PEXPIREAT is the
 *   earlier of the idle and the absolute deadline, moved on every hit: Redis itself drops a session
 *   that is idle or too old, whether or not a relay ever looks at it again.
 * - `scope:<scope>` and `client:<client>`: sorted sets of the live sessions of a route and of one client
 *   on it, scored by the same deadline as the session's hash. A count first drops the members whose
 *   deadline has passed (ZREMRANGEBYSCORE), so it counts exactly the sessions Redis still holds. Each
 *   set expires with its last member.
 * - `scopes`: the routes' digests, for `size()`; it too expires with the last session.
 * `<session>`, `<scope>` and `<client>` are digests (SHA-256, 128 bits, base64url): no session id, route
 * or client hash appears in Redis as such.
 */
import { createHash } from 'node:crypto';

export interface Script {
  readonly source: string;
  /** SHA-1 of the source: what EVALSHA names it by. */
  readonly sha: string;
}

function script(body: string): Script {
  const source = `${PRELUDE}\n${body.trim()}\n`;
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') });
}

/** The server's clock in ms, and raising a key's expiry to at least a deadline. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function outlive(key, deadline)
  local left = redis.call('PTTL', key)
  if left < 0 or now + left < deadline then redis.call('PEXPIREAT', key, deadline) end
end
local function live(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  return redis.call('ZCARD', key)
end`.trim();

/**
 * A lookup. KEYS[1] the session's hash; ARGV[1] the key base, ARGV[2] the session's digest. A hit moves
 * the session's deadline (idle TTL from now, never past the absolute deadline) in its hash and both
 * counts; a miss writes nothing.
 */
export const GET = script(`
local f = redis.call('HMGET', KEYS[1], 'v', 'a', 'i', 'n', 'c')
if not f[1] then return false end
local scope = ARGV[1] .. 'scope:' .. f[4]
local client = ARGV[1] .. 'client:' .. f[5]
local deadline = math.min(now + tonumber(f[3]), tonumber(f[2]))
if deadline <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', scope, ARGV[2])
  redis.call('ZREM', client, ARGV[2])
  return false
end
redis.call('PEXPIREAT', KEYS[1], deadline)
redis.call('ZADD', scope, deadline, ARGV[2])
outlive(scope, deadline)
redis.call('ZADD', client, deadline, ARGV[2])
outlive(client, deadline)
outlive(ARGV[1] .. 'scopes', deadline)
return f[1]
`);

/** Whether a new session fits. KEYS[1] the scope's count, KEYS[2] the client's; ARGV[1] maxSessions, ARGV[2] maxPerClient. */
export const CHECK = script(`
if live(KEYS[1]) >= tonumber(ARGV[1]) then return 'sessions' end
if live(KEYS[2]) >= tonumber(ARGV[2]) then return 'client' end
return 'ok'
`);

/**
 * Check and insert in one step. KEYS: the session's hash, the scope's count, the client's count, the
 * scopes. ARGV: maxSessions, maxPerClient, value, idle TTL (ms), absolute TTL (ms), the session's,
 * scope's and client's digests.
 */
export const ADMIT = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if live(KEYS[2]) >= tonumber(ARGV[1]) then return 'sessions' end
if live(KEYS[3]) >= tonumber(ARGV[2]) then return 'client' end
local absolute = now + tonumber(ARGV[5])
local deadline = math.min(now + tonumber(ARGV[4]), absolute)
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'a', string.format('%d', absolute), 'i', ARGV[4], 'n', ARGV[7], 'c', ARGV[8])
redis.call('PEXPIREAT', KEYS[1], deadline)
redis.call('ZADD', KEYS[2], deadline, ARGV[6])
outlive(KEYS[2], deadline)
redis.call('ZADD', KEYS[3], deadline, ARGV[6])
outlive(KEYS[3], deadline)
redis.call('SADD', KEYS[4], ARGV[7])
outlive(KEYS[4], deadline)
return 'ok'
`);

/** KEYS[1] the session's hash; ARGV[1] the key base, ARGV[2] the session's digest. */
export const DELETE = script(`
local f = redis.call('HMGET', KEYS[1], 'n', 'c')
if not f[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[1] .. 'scope:' .. f[1], ARGV[2])
redis.call('ZREM', ARGV[1] .. 'client:' .. f[2], ARGV[2])
return 1
`);

/** Live sessions of every scope. KEYS[1] the scopes; ARGV[1] the key base. */
export const SIZE = script(`
local total = 0
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local n = live(ARGV[1] .. 'scope:' .. s)
  if n == 0 then redis.call('SREM', KEYS[1], s) end
  total = total + n
end
return total
`);
