/**
 * The in-memory session store on its own: insert-only set, sliding idle and absolute expiry (on lookup
 * and by the sweep timer), onRemove bookkeeping, and no allocation on a miss. Time is mocked, so the
 * TTLs are the real defaults and nothing sleeps.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { memorySessionStore } from '../../lib/index.js';
import { MemorySessionStore } from '../../lib/session-store.js';

const MINUTE = 60_000;
const TTL = { idleMs: 30 * MINUTE, absoluteMs: 24 * 60 * MINUTE };

describe('MemorySessionStore', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date', 'setInterval'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('set is insert-only: an existing key keeps its value and set answers false', () => {
    const store = new MemorySessionStore();
    assert.equal(store.set('s1', 'a', TTL), true);
    assert.equal(store.set('s1', 'b', TTL), false);
    assert.equal(store.get('s1'), 'a');
    assert.equal(store.size(), 1);
  });

  it('keys are exact: no case folding or trimming', () => {
    const store = new MemorySessionStore();
    store.set('Session-A', 'a', TTL);
    assert.equal(store.get('session-a'), undefined);
    assert.equal(store.get('Session-A '), undefined);
    assert.equal(store.get('Session-A'), 'a');
  });

  it('idle TTL slides on every hit, and ends an unused entry on lookup', () => {
    const store = new MemorySessionStore();
    store.set('s', 'v', TTL);
    for (let i = 0; i < 5; i++) {
      mock.timers.tick(29 * MINUTE);
      assert.equal(store.get('s'), 'v', `hit ${i} within the idle TTL`);
    }
    mock.timers.tick(30 * MINUTE);
    assert.equal(store.get('s'), undefined);
    assert.equal(store.size(), 0);
  });

  it('the absolute TTL ends an entry however active it is', () => {
    const store = new MemorySessionStore();
    store.set('s', 'v', { idleMs: 10 * MINUTE, absoluteMs: 60 * MINUTE });
    for (let t = 0; t < 59; t += 5) {
      mock.timers.tick(5 * MINUTE);
      if (t + 5 < 60) assert.equal(store.get('s'), 'v', `active at ${t + 5} min`);
    }
    mock.timers.tick(5 * MINUTE);
    assert.equal(store.get('s'), undefined);
  });

  it('an expired key can be set again (a new session may reuse nothing, but the store must not refuse it)', () => {
    const store = new MemorySessionStore();
    store.set('s', 'old', { idleMs: 100, absoluteMs: 1000 });
    mock.timers.tick(100);
    assert.equal(store.set('s', 'new', TTL), true);
    assert.equal(store.get('s'), 'new');
  });

  it('the sweep timer removes expired entries without any lookup', () => {
    const removed: string[] = [];
    const store = new MemorySessionStore<string>({ onRemove: (v) => removed.push(v) });
    store.set('short', 'short', { idleMs: 1000, absoluteMs: 5000 });
    store.set('long', 'long', TTL);
    mock.timers.tick(1000);
    assert.deepEqual(removed, ['short']);
    assert.equal(store.size(), 1);
  });

  it('onRemove sees deletes and expiries once each; deleting a missing key does nothing', () => {
    const removed: string[] = [];
    const store = new MemorySessionStore<string>({ onRemove: (v) => removed.push(v) });
    store.set('a', 'A', TTL);
    store.set('b', 'B', { idleMs: 500, absoluteMs: 500 });
    store.delete('a');
    store.delete('a');
    store.delete('never');
    mock.timers.tick(500);
    assert.equal(store.get('b'), undefined);
    assert.deepEqual(removed, ['A', 'B']);
  });

  it('100 000 lookups of unknown keys leave the store empty', () => {
    const store = memorySessionStore();
    store.set('known', 'v', TTL);
    for (let i = 0; i < 100_000; i++) assert.equal(store.get(`unknown-${i}`), undefined);
    assert.equal(store.size(), 1);
  });
});

describe('MemorySessionStore.clear', () => {
  it('drops every entry (onRemove sees each) and clears the sweep timer it started, so a closed route holds no timer', () => {
    const started: unknown[] = [];
    const cleared: unknown[] = [];
    const setSpy = mock.method(globalThis, 'setInterval', (fn: () => void, ms: number) => {
      const handle = setTimeout(fn, ms).unref();
      started.push(handle);
      return handle;
    });
    const clearSpy = mock.method(globalThis, 'clearInterval', (handle: unknown) => void cleared.push(handle));
    try {
      const removed: string[] = [];
      const store = new MemorySessionStore<string>({ onRemove: (_v, key) => removed.push(key) });
      store.set('a', 'v', TTL);
      store.set('b', 'v', TTL);
      assert.equal(started.length, 1);
      store.clear();
      assert.equal(store.size(), 0);
      assert.deepEqual(removed.sort(), ['a', 'b']);
      assert.ok(cleared.includes(started[0]), 'the sweep timer was cleared');
    } finally {
      setSpy.mock.restore();
      clearSpy.mock.restore();
    }
  });
});
