/**
 * mcpProxy's `session` option resolved (lib/parse-session.ts), as a table: each accepted form and the
 * configuration it becomes, every default spelled out; each refused form with its code, its path and
 * what the message says.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { memorySessionStore, type SessionOptions } from '../../lib/index.js';
import type { SessionModeConfig } from '../../lib/config.js';
import { parseSessionOptions } from '../../lib/parse-session.js';
import {
  DEFAULT_ABSOLUTE_TTL_MS,
  DEFAULT_IDLE_TTL_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
  MIN_SESSION_KEY_BYTES,
} from '../../lib/session-options.js';
import { expectConfigError } from '../helpers/config-errors.js';

const BACKEND = 'http://127.0.0.1:9/mcp';
const KEY = 'k'.repeat(MIN_SESSION_KEY_BYTES);
const principal = (req: IncomingMessage): string | undefined => req.headers['x-user'] as string | undefined;

/** The resolved mode configuration, its key and principal function replaced by what can be compared. */
function resolved(option: unknown): Record<string, unknown> {
  const config = parseSessionOptions(option, BACKEND);
  if (config.mode === 'request') return { ...config };
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.ttl), 'frozen');
  const { key, principal: fn, ...rest } = config;
  return { ...rest, key: key.length, principal: fn === undefined ? undefined : 'function' };
}

const bindDefaults = {
  mode: 'bind',
  store: undefined,
  namespace: '',
  key: MIN_SESSION_KEY_BYTES,
  ttl: { idleMs: DEFAULT_IDLE_TTL_MS, absoluteMs: DEFAULT_ABSOLUTE_TTL_MS },
  maxSessions: DEFAULT_MAX_SESSIONS,
  maxPerClient: DEFAULT_MAX_SESSIONS / 10,
  principal: undefined,
  allowLegacySse: false,
};

describe('session: what each accepted form becomes', () => {
  const store = memorySessionStore();
  const admitting = Object.assign(memorySessionStore(), { admit: () => 'ok' as const });
  const cases: [string, unknown, Record<string, unknown>][] = [
    ['not set', undefined, { mode: 'request' }],
    ["'request'", 'request', { mode: 'request' }],
    ["{ mode: 'request' }", { mode: 'request' }, { mode: 'request' }],
    ["'bind': every default", 'bind', bindDefaults],
    ["{ mode: 'bind' }: the same", { mode: 'bind' }, bindDefaults],
    [
      'bind with maxSessions 25: each client may hold a tenth, rounded up (3)',
      { mode: 'bind', maxSessions: 25 },
      { ...bindDefaults, maxSessions: 25, maxPerClient: 3 },
    ],
    [
      "bind with maxSessions 1: its one session is every client's share",
      { mode: 'bind', maxSessions: 1 },
      { ...bindDefaults, maxSessions: 1, maxPerClient: 1 },
    ],
    [
      'bind with maxSessionsPerClient equal to maxSessions',
      { mode: 'bind', maxSessions: 5, maxSessionsPerClient: 5 },
      { ...bindDefaults, maxSessions: 5, maxPerClient: 5 },
    ],
    [
      'bind with TTLs, the absolute one equal to the idle one, and allowLegacySse',
      { mode: 'bind', idleTtl: 1000, absoluteTtl: 1000, allowLegacySse: true },
      { ...bindDefaults, ttl: { idleMs: 1000, absoluteMs: 1000 }, allowLegacySse: true },
    ],
    [
      'bind with a shared store: keys are namespaced by the backend',
      { mode: 'bind', store, sessionKey: KEY, principal },
      { ...bindDefaults, store, namespace: `${BACKEND}\n`, principal: 'function' },
    ],
    [
      'bind with a store that counts its own sessions (admit)',
      { mode: 'bind', store: admitting, sessionKey: KEY },
      { ...bindDefaults, store: admitting, namespace: `${BACKEND}\n` },
    ],
    [
      'pin: 20 sessions per principal by default',
      { mode: 'pin', principal },
      { ...bindDefaults, mode: 'pin', maxPerClient: DEFAULT_MAX_SESSIONS_PER_PRINCIPAL, principal: 'function' },
    ],
    [
      'pin with maxSessionsPerPrincipal and maxSessions',
      { mode: 'pin', principal, maxSessionsPerPrincipal: 3, maxSessions: 7 },
      { ...bindDefaults, mode: 'pin', maxSessions: 7, maxPerClient: 3, principal: 'function' },
    ],
  ];
  for (const [name, option, expected] of cases) {
    it(name, () => assert.deepEqual(resolved(option), expected));
  }

  it('the session key given is the key used; without one, each route gets 32 random bytes of its own', () => {
    const given = parseSessionOptions({ mode: 'bind', sessionKey: KEY }, BACKEND) as SessionModeConfig;
    assert.deepEqual(given.key, Buffer.from(KEY));
    const bytes = new Uint8Array(40).fill(7);
    assert.deepEqual((parseSessionOptions({ mode: 'bind', sessionKey: bytes }, BACKEND) as SessionModeConfig).key, Buffer.from(bytes));
    const a = parseSessionOptions('bind', BACKEND) as SessionModeConfig;
    const b = parseSessionOptions('bind', BACKEND) as SessionModeConfig;
    assert.notDeepEqual(a.key, b.key);
  });

  it("the principal function is the host app's, called as a plain function", () => {
    const calls: { receiver: unknown; user: unknown }[] = [];
    const option: SessionOptions = {
      mode: 'pin',
      principal(this: unknown, req) {
        calls.push({ receiver: this, user: req.headers['x-user'] });
        return 'alice';
      },
    };
    const config = parseSessionOptions(option, BACKEND) as SessionModeConfig;
    assert.equal(config.principal!({ headers: { 'x-user': 'u1' } } as unknown as IncomingMessage), 'alice');
    assert.deepEqual(calls, [{ receiver: undefined, user: 'u1' }]);
  });
});

describe('session: refused forms', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["'pin' without its principal", 'pin', 'session', /pin needs a principal/],
    ['a number', 5, 'session', /must be 'request', 'bind' or \{ mode: 'pin', principal \}/],
    ['an unknown mode', { mode: 'sticky' }, 'session.mode', /must be 'request', 'bind' or 'pin'/],
    ['request with a limit', { mode: 'request', idleTtl: 5 }, 'session.idleTtl', /^unknown option of mcpProxy\(\)$/],
    ['bind with a misspelt option', { mode: 'bind', idleTTL: 5 }, 'session.idleTTL', /^unknown option of mcpProxy\(\); did you mean "idleTtl"\?$/],
    ['pin with a misspelt option', { mode: 'pin', principle: principal }, 'session.principle', /^unknown option of mcpProxy\(\); did you mean "principal"\?$/],
    ['bind with an idleTtl that is no number of milliseconds', { mode: 'bind', idleTtl: 'long' }, 'session.idleTtl', /whole milliseconds/],
    ['pin with a principal that is no function', { mode: 'pin', principal: 'alice' }, 'session.principal', /pin needs a principal: a function/],
    ['pin with a store', { mode: 'pin', principal, store: memorySessionStore() }, 'session.store', /shared store is for bind/],
    ['bind with a store and no session key', { mode: 'bind', store: memorySessionStore() }, 'session.sessionKey', /every replica sharing the store/],
    [
      'bind with a store whose admit is no function',
      { mode: 'bind', store: Object.assign(memorySessionStore(), { admit: 'yes' }), sessionKey: KEY },
      'session.store',
      /must be a session store with get\(\), set\(\), delete\(\) and size\(\) \(and, optionally, admit\(\)\)/,
    ],
    [
      'bind with maxSessionsPerClient above maxSessions',
      { mode: 'bind', maxSessions: 5, maxSessionsPerClient: 6 },
      'session.maxSessionsPerClient',
      /is larger than maxSessions \(5\)/,
    ],
    [
      'bind with maxSessionsPerClient above the default maxSessions',
      { mode: 'bind', maxSessionsPerClient: DEFAULT_MAX_SESSIONS + 1 },
      'session.maxSessionsPerClient',
      /is larger than maxSessions \(10000\)/,
    ],
    [
      'an absolute TTL shorter than the idle TTL',
      { mode: 'bind', idleTtl: 1001, absoluteTtl: 1000 },
      'session.absoluteTtl',
      /the absolute TTL \(1000 ms\) is shorter than the idle TTL \(1001 ms\)/,
    ],
    [
      'an idle TTL longer than the default absolute TTL',
      { mode: 'pin', principal, idleTtl: DEFAULT_ABSOLUTE_TTL_MS + 1 },
      'session.idleTtl',
      /is shorter than the idle TTL/,
    ],
  ];
  for (const [name, option, path, rule] of cases) {
    it(`${name}: ERR_INVALID_OPTION at ${path}`, () => {
      const error = expectConfigError(() => parseSessionOptions(option, BACKEND), 'ERR_INVALID_OPTION', path);
      assert.match(error.rule, rule);
    });
  }
});
