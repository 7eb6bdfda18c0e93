/**
 * The credential cache on its own, against sources written in the test: TTL and expiresIn, single
 * flight, the deadline, the LRU bound, every failure path, the synchronous hit, and that no value
 * reaches inspect, JSON or an error. Time is an injected clock; only the deadline tests use timers.
 */
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { CredentialResolveError, HeaderConfigError, type CredentialCacheOptions, type CredentialSource, type ResolvedCredential } from '../../lib/index.js';
import { CredentialCache, parseCredentialCacheOptions } from '../../lib/credential-cache.js';
import { describeCredentialProblem, lifetime, type CredentialOutcome } from '../../lib/credential-outcome.js';

const SENTINEL = 'S3NT1NEL-credential-7c41d0';
const MAX = 8192;
const DEFAULTS: Required<CredentialCacheOptions> = { ttl: 300_000, timeout: 5000, maxEntries: 10_000, negativeTtl: 0, failureTtl: 1000 };

type Answer = string | ResolvedCredential | undefined;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A request whose `x-user` header is the cache key. */
function request(user: string | undefined): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  if (user !== undefined) req.headers['x-user'] = user;
  return req;
}

interface Call {
  key: string;
  req: IncomingMessage;
  signal: AbortSignal;
}

/** A source keyed by `x-user` that answers with `answer(key, n)` (n: the call count) and records its calls. */
function source(answer: (key: string, n: number) => Answer | Promise<Answer>): CredentialSource & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    description: 'test source',
    key: (req) => req.headers['x-user'] as string | undefined,
    resolve: (key, req, signal) => {
      calls.push({ key, req, signal });
      return answer(key, calls.length);
    },
  };
}

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function cacheOf(src: CredentialSource, options: Partial<CredentialCacheOptions> = {}, now = clock().now): CredentialCache {
  return new CredentialCache(src, { ...DEFAULTS, ...options }, MAX, now);
}

async function outcome(result: CredentialOutcome | Promise<CredentialOutcome>): Promise<CredentialOutcome> {
  return result;
}

function assertValue(result: CredentialOutcome, value: string | undefined): void {
  assert.equal(result.ok, true, JSON.stringify(result));
  if (result.ok) assert.equal(result.value, value);
}

function assertProblem(result: CredentialOutcome, problem: 'failed' | 'timeout' | 'invalid'): string {
  assert.equal(result.ok, false, 'expected a failure');
  if (result.ok) return '';
  assert.equal(result.problem, problem, result.detail);
  const detail = result.detail ?? '';
  assert.ok(!detail.includes(SENTINEL), `detail leaks a value: ${detail}`);
  return detail;
}

describe('CredentialCache: hits', () => {
  it('the first get resolves through a promise; the next one answers synchronously from the cache, with no second call', async () => {
    const src = source(() => `Bearer ${SENTINEL}`);
    const cache = cacheOf(src);
    const first = cache.get(request('alice'));
    assert.ok(first instanceof Promise);
    assertValue(await first, `Bearer ${SENTINEL}`);
    const second = cache.get(request('alice'));
    assert.ok(!(second instanceof Promise), 'a hit must not allocate a promise');
    assertValue(second, `Bearer ${SENTINEL}`);
    assert.equal(src.calls.length, 1);
  });

  it('resolve gets the key and the request that missed', async () => {
    const src = source(() => 'v');
    const req = request('alice');
    await cacheOf(src).get(req);
    assert.equal(src.calls[0]!.key, 'alice');
    assert.equal(src.calls[0]!.req, req);
  });

  it('a synchronous string or { value } answer is accepted like an async one', async () => {
    const sync = source(() => 'plain');
    assertValue(await outcome(cacheOf(sync).get(request('a'))), 'plain');
    const object = source(() => ({ value: 'object', expiresIn: 3600 }));
    assertValue(await outcome(cacheOf(object).get(request('a'))), 'object');
  });

  it('key(req) undefined: no credential, answered synchronously, resolve never called', () => {
    const src = source(() => 'v');
    const result = cacheOf(src).get(request(undefined));
    assert.ok(!(result instanceof Promise));
    assertValue(result, undefined);
    assert.equal(src.calls.length, 0);
  });

  it('two keys get their own values', async () => {
    const src = source((key) => `Bearer ${key}`);
    const cache = cacheOf(src);
    assertValue(await outcome(cache.get(request('alice'))), 'Bearer alice');
    assertValue(await outcome(cache.get(request('bob'))), 'Bearer bob');
    assertValue(await outcome(cache.get(request('alice'))), 'Bearer alice');
    assert.equal(src.calls.length, 2);
    assert.equal(cache.size, 2);
  });
});

describe('CredentialCache: TTL and expiresIn', () => {
  it('a plain string is reused for ttl ms, then resolved again', async () => {
    const time = clock();
    const src = source((_key, n) => `v${n}`);
    const cache = cacheOf(src, { ttl: 10_000 }, time.now);
    assertValue(await outcome(cache.get(request('a'))), 'v1');
    time.advance(9_999);
    assertValue(await outcome(cache.get(request('a'))), 'v1');
    time.advance(1);
    assertValue(await outcome(cache.get(request('a'))), 'v2');
    assert.equal(src.calls.length, 2);
  });

  for (const [expiresIn, keptMs] of [
    [3600, 300_000], // the ttl is shorter than the token's life minus the skew
    [300, 270_000], // 300 s token: 30 s before it expires
    [60, 30_000], // 60 s token: halfway (the 30 s skew and half the life coincide)
    [10, 5_000], // short-lived token: halfway, not 30 s before (which would be never)
    [1, 500],
  ] as const) {
    it(`expiresIn ${expiresIn} s with ttl 300 s: kept ${keptMs} ms`, async () => {
      const time = clock();
      const src = source((_key, n) => ({ value: `v${n}`, expiresIn }));
      const cache = cacheOf(src, {}, time.now);
      assertValue(await outcome(cache.get(request('a'))), 'v1');
      time.advance(keptMs - 1);
      assertValue(await outcome(cache.get(request('a'))), 'v1');
      time.advance(1);
      assertValue(await outcome(cache.get(request('a'))), 'v2');
    });
  }

  it('expiresIn 0: the value answers its own flight but is not kept', async () => {
    const src = source((_key, n) => ({ value: `v${n}`, expiresIn: 0 }));
    const cache = cacheOf(src);
    assertValue(await outcome(cache.get(request('a'))), 'v1');
    assertValue(await outcome(cache.get(request('a'))), 'v2');
    assert.equal(cache.size, 0);
  });

  it('ttl 0: never reused', async () => {
    const src = source((_key, n) => `v${n}`);
    const cache = cacheOf(src, { ttl: 0 });
    await cache.get(request('a'));
    assertValue(await outcome(cache.get(request('a'))), 'v2');
  });

  it('lifetime(): ttl, capped by expiresIn minus min(30 s, half of it)', () => {
    assert.equal(lifetime(300_000, undefined), 300_000);
    assert.equal(lifetime(300_000, 3600), 300_000);
    assert.equal(lifetime(10_000_000, 3600), 3_570_000);
    assert.equal(lifetime(300_000, 40), 20_000);
    assert.equal(lifetime(300_000, 0), 0);
  });

  it('undefined answers are not kept by default (negativeTtl 0)', async () => {
    const src = source(() => undefined);
    const cache = cacheOf(src);
    assertValue(await outcome(cache.get(request('a'))), undefined);
    assertValue(await outcome(cache.get(request('a'))), undefined);
    assert.equal(src.calls.length, 2);
  });

  it('undefined answers are kept for negativeTtl when set', async () => {
    const time = clock();
    const src = source(() => undefined);
    const cache = cacheOf(src, { negativeTtl: 2000 }, time.now);
    await cache.get(request('a'));
    const hit = cache.get(request('a'));
    assert.ok(!(hit instanceof Promise));
    assertValue(hit, undefined);
    time.advance(2000);
    await cache.get(request('a'));
    assert.equal(src.calls.length, 2);
  });
});

describe('CredentialCache: single flight', () => {
  it('50 concurrent gets for one key make exactly one resolve call, and all get its value', async () => {
    const answer = deferred<Answer>();
    const src = source(() => answer.promise);
    const cache = cacheOf(src);
    const pending = Array.from({ length: 50 }, () => cache.get(request('alice')));
    assert.equal(src.calls.length, 1);
    answer.resolve(`Bearer ${SENTINEL}`);
    for (const result of await Promise.all(pending.map(outcome))) assertValue(result, `Bearer ${SENTINEL}`);
    assert.equal(src.calls.length, 1);
  });

  it('concurrent gets for different keys do not wait for each other', async () => {
    const slow = deferred<Answer>();
    const src = source((key) => (key === 'slow' ? slow.promise : `v-${key}`));
    const cache = cacheOf(src);
    const waiting = cache.get(request('slow'));
    assertValue(await outcome(cache.get(request('fast'))), 'v-fast');
    slow.resolve('v-slow');
    assertValue(await waiting, 'v-slow');
  });

  it('concurrent gets share a failure too: one call, every waiter gets failed', async () => {
    const answer = deferred<Answer>();
    const src = source(() => answer.promise);
    const cache = cacheOf(src);
    const pending = Array.from({ length: 10 }, () => cache.get(request('a')));
    answer.reject(new Error(SENTINEL));
    for (const result of await Promise.all(pending.map(outcome))) assertProblem(result, 'failed');
    assert.equal(src.calls.length, 1);
  });
});

describe('CredentialCache: deadline', () => {
  it('a resolver that never answers: every waiter gets timeout within the deadline, and the signal is aborted', async () => {
    const src = source(() => new Promise<Answer>(() => {}));
    const cache = cacheOf(src, { timeout: 50 });
    const started = performance.now();
    const results = await Promise.all([cache.get(request('a')), cache.get(request('a'))].map(outcome));
    const elapsed = performance.now() - started;
    for (const result of results) assert.match(assertProblem(result, 'timeout'), /50 ms/);
    assert.ok(elapsed >= 45 && elapsed < 1000, `answered after ${elapsed} ms`);
    assert.equal(src.calls.length, 1);
    const { signal } = src.calls[0]!;
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as DOMException).name, 'TimeoutError');
  });

  it('the signal is not aborted when the resolver answers in time', async () => {
    const src = source(() => 'v');
    await cacheOf(src, { timeout: 50 }).get(request('a'));
    assert.equal(src.calls[0]!.signal.aborted, false);
  });

  it('a late answer after the deadline is not kept; the timeout is kept for failureTtl, then a new call is made', async () => {
    const time = clock();
    const late = deferred<Answer>();
    const src = source((_key, n) => (n === 1 ? late.promise : 'fresh'));
    const cache = cacheOf(src, { timeout: 20, failureTtl: 1000 }, time.now);
    assertProblem(await outcome(cache.get(request('a'))), 'timeout');
    late.resolve('late');
    await new Promise((resolve) => setImmediate(resolve));
    const cached = cache.get(request('a'));
    assert.ok(!(cached instanceof Promise), 'the timeout is kept for failureTtl');
    assertProblem(cached, 'timeout');
    time.advance(1000);
    assertValue(await outcome(cache.get(request('a'))), 'fresh');
  });

  it('a rejection after the deadline is swallowed (no unhandled rejection)', async () => {
    const late = deferred<Answer>();
    const src = source(() => late.promise);
    const cache = cacheOf(src, { timeout: 20 });
    assertProblem(await outcome(cache.get(request('a'))), 'timeout');
    late.reject(new Error(SENTINEL));
    await new Promise((resolve) => setImmediate(resolve));
  });
});

describe('CredentialCache: bounds', () => {
  it('maxEntries: the least recently used key is evicted; a hit refreshes recency', async () => {
    const src = source((key) => `v-${key}`);
    const cache = cacheOf(src, { maxEntries: 3 });
    for (const user of ['a', 'b', 'c']) await cache.get(request(user));
    assert.ok(!(cache.get(request('a')) instanceof Promise), 'a is cached and becomes most recent');
    await cache.get(request('d'));
    assert.equal(cache.size, 3);
    assert.ok(cache.get(request('b')) instanceof Promise, 'b was the least recently used, so it was evicted');
    assert.ok(!(cache.get(request('a')) instanceof Promise));
  });

  it('10 000 keys through a cache of 100: size stays at 100', async () => {
    const src = source((key) => `v-${key}`);
    const cache = cacheOf(src, { maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) await cache.get(request(`user-${i}`));
    assert.equal(cache.size, 100);
  });

  it('expired entries are dropped: on lookup, and from the least recently used end when a value is stored', async () => {
    const time = clock();
    const src = source((key) => `v-${key}`);
    const cache = cacheOf(src, { ttl: 1000 }, time.now);
    for (const user of ['a', 'b', 'c']) await cache.get(request(user));
    time.advance(1000);
    await cache.get(request('d'));
    assert.equal(cache.size, 1, 'a, b and c expired and were swept when d was stored');
  });

  it('clear() empties the cache; an answer in flight still reaches its waiters but is not kept', async () => {
    const answer = deferred<Answer>();
    const src = source((_key, n) => (n === 1 ? 'v1' : answer.promise));
    const cache = cacheOf(src);
    await cache.get(request('a'));
    assert.equal(cache.size, 1);
    cache.clear();
    assert.equal(cache.size, 0);
    const waiting = cache.get(request('a'));
    cache.clear();
    answer.resolve('v2');
    assertValue(await waiting, 'v2');
    assert.equal(cache.size, 0);
  });
});

describe('CredentialCache: failures', () => {
  const invalid: [string, unknown][] = [
    ['a number', 42],
    ['null', null],
    ['an object without value', { expiresIn: 60 }],
    ['an object whose value is a number', { value: 42 }],
    ['an empty string', ''],
    ['CRLF (header injection)', `Bearer ${SENTINEL}\r\nX-Injected: 1`],
    ['a bare LF', `Bearer ${SENTINEL}\nX: 1`],
    ['NUL', `Bearer ${SENTINEL}\0`],
    ['non-ASCII', `Bearer ${SENTINEL}é`],
    ['a value longer than maxValueLength', `Bearer ${SENTINEL}${'x'.repeat(MAX)}`],
    ['leading whitespace', ` Bearer ${SENTINEL}`],
    ['trailing whitespace', `Bearer ${SENTINEL}\t`],
    ['a negative expiresIn', { value: `Bearer ${SENTINEL}`, expiresIn: -1 }],
    ['a NaN expiresIn', { value: `Bearer ${SENTINEL}`, expiresIn: Number.NaN }],
    ['a string expiresIn', { value: `Bearer ${SENTINEL}`, expiresIn: '60' }],
  ];
  for (const [name, answer] of invalid) {
    it(`resolve returns ${name}: invalid, and the detail holds no value`, async () => {
      const src = source(() => answer as Answer);
      assertProblem(await outcome(cacheOf(src).get(request('a'))), 'invalid');
    });
  }

  it('a value of exactly maxValueLength bytes is accepted', async () => {
    const value = 'x'.repeat(MAX);
    assertValue(await outcome(cacheOf(source(() => value)).get(request('a'))), value);
  });

  it('resolve throws synchronously: failed, the message is not shown', async () => {
    const src = source(() => {
      throw new Error(`token ${SENTINEL} rejected`);
    });
    const detail = assertProblem(await outcome(cacheOf(src).get(request('a'))), 'failed');
    assert.match(detail, /not shown/);
  });

  it('resolve rejects with an error carrying the value in its cause: failed, neither is shown', async () => {
    const src = source(() => Promise.reject(new TypeError('bad', { cause: { body: SENTINEL } })));
    assertProblem(await outcome(cacheOf(src).get(request('a'))), 'failed');
  });

  it('resolve rejects with a non-Error (a string): failed', async () => {
    // A non-Error rejection, as some libraries produce.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const src = source(() => Promise.reject(SENTINEL));
    assertProblem(await outcome(cacheOf(src).get(request('a'))), 'failed');
  });

  it('a CredentialResolveError message is passed on: it is value-free by contract', async () => {
    const src = source(() => Promise.reject(new CredentialResolveError('the token endpoint answered 400 with invalid_grant')));
    const detail = assertProblem(await outcome(cacheOf(src).get(request('a'))), 'failed');
    assert.equal(detail, 'resolve(): the token endpoint answered 400 with invalid_grant');
  });

  it('a failure is kept for failureTtl, so a failing issuer sees one call per key per failureTtl', async () => {
    const time = clock();
    const src = source(() => Promise.reject(new Error('down')));
    const cache = cacheOf(src, { failureTtl: 1000 }, time.now);
    assertProblem(await outcome(cache.get(request('a'))), 'failed');
    for (let i = 0; i < 100; i++) {
      const result = cache.get(request('a'));
      assert.ok(!(result instanceof Promise));
      assertProblem(result, 'failed');
    }
    assert.equal(src.calls.length, 1);
    time.advance(1000);
    await cache.get(request('a'));
    assert.equal(src.calls.length, 2);
  });

  it('failureTtl 0: the next request tries again', async () => {
    const src = source((_key, n) => (n === 1 ? Promise.reject(new Error('down')) : 'recovered'));
    const cache = cacheOf(src, { failureTtl: 0 });
    assertProblem(await outcome(cache.get(request('a'))), 'failed');
    assertValue(await outcome(cache.get(request('a'))), 'recovered');
  });

  it('an invalid value is kept for failureTtl like a failure', async () => {
    const src = source(() => 'bad\r\nvalue');
    const cache = cacheOf(src, { failureTtl: 1000 });
    await cache.get(request('a'));
    assertProblem(await outcome(cache.get(request('a'))), 'invalid');
    assert.equal(src.calls.length, 1);
  });

  it('key(req) throws: failed synchronously, the message not shown, resolve not called', () => {
    const src: CredentialSource = {
      description: 'throwing key',
      key: () => {
        throw new Error(SENTINEL);
      },
      resolve: () => assert.fail('resolve must not be called'),
    };
    const result = cacheOf(src).get(request('a'));
    assert.ok(!(result instanceof Promise));
    assert.match(assertProblem(result, 'failed'), /^key\(req\) threw/);
  });

  for (const [name, key] of [
    ['a number', 42],
    ['an empty string', ''],
    ['a string over 1024 characters', 'k'.repeat(1025)],
  ] as const) {
    it(`key(req) returns ${name}: failed`, () => {
      const src: CredentialSource = { description: 'bad key', key: () => key as unknown as string, resolve: () => 'v' };
      assertProblem(cacheOf(src).get(request('a')) as CredentialOutcome, 'failed');
    });
  }
});

describe('CredentialCache: no value in inspect, JSON or log words', () => {
  it('inspect, JSON.stringify and String of the cache name the source only', async () => {
    const src = source(() => `Bearer ${SENTINEL}`);
    const cache = cacheOf(src);
    await cache.get(request(`user-${SENTINEL}`));
    for (const text of [inspect(cache, { showHidden: true, depth: 10 }), JSON.stringify(cache), String(cache)]) {
      assert.ok(!text.includes(SENTINEL), `leaks: ${text}`);
    }
    assert.equal(inspect(cache), 'CredentialCache(test source, 1 entries)');
  });

  it('a value outcome does not print its value through inspect or JSON (it is not enumerable)', async () => {
    const result = await outcome(cacheOf(source(() => `Bearer ${SENTINEL}`)).get(request('a')));
    assertValue(result, `Bearer ${SENTINEL}`);
    for (const text of [inspect(result), JSON.stringify(result)]) assert.ok(!text.includes(SENTINEL), text);
  });

  it('describeCredentialProblem names the source and the problem', async () => {
    const src = source(() => new Promise<Answer>(() => {}));
    const result = await outcome(cacheOf(src, { timeout: 10 }).get(request('a')));
    assert.ok(!result.ok);
    assert.equal(describeCredentialProblem(result, src), 'credential from test source timed out: no answer within 10 ms; the call was aborted');
  });
});

describe('parseCredentialCacheOptions', () => {
  it('fills in the defaults', () => {
    assert.deepEqual({ ...parseCredentialCacheOptions(undefined, 'mcpProxy', 'cache') }, DEFAULTS);
    assert.deepEqual({ ...parseCredentialCacheOptions({ ttl: 0, failureTtl: 0 }, 'mcpProxy', 'cache') }, { ...DEFAULTS, ttl: 0, failureTtl: 0 });
  });

  for (const [options, path] of [
    [{ ttl: -1 }, 'cache.ttl'],
    [{ ttl: 1.5 }, 'cache.ttl'],
    [{ timeout: 0 }, 'cache.timeout'],
    [{ maxEntries: 0 }, 'cache.maxEntries'],
    [{ negativeTtl: '1' }, 'cache.negativeTtl'],
    [{ failureTtl: Number.POSITIVE_INFINITY }, 'cache.failureTtl'],
    [{ ttll: 1 }, 'cache.ttll'],
    [42, 'cache'],
  ] as const) {
    it(`refuses ${JSON.stringify(options)} at ${path}`, () => {
      assert.throws(
        () => parseCredentialCacheOptions(options as CredentialCacheOptions, 'mcpProxy', 'cache'),
        (error: unknown) => error instanceof HeaderConfigError && error.code === 'ERR_INVALID_OPTION' && error.path === path,
      );
    });
  }

  it('a near-miss key gets a did-you-mean hint', () => {
    assert.throws(() => parseCredentialCacheOptions({ tll: 1 } as CredentialCacheOptions, 'mcpProxy', 'cache'), /did you mean "ttl"/);
  });
});
