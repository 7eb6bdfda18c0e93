/** ClientShares: per-client session counts with the store's TTLs mirrored, as pure logic. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientShares } from '../../lib/client-shares.js';
import { usesLegacySse } from '../../lib/protocol-era.js';

const TTL = { idleMs: 100, absoluteMs: 1000 };

describe('ClientShares', () => {
  it('a client is at its limit with that many sessions; removing one frees a place', () => {
    const shares = new ClientShares(TTL);
    shares.add('a', 'k1', 0);
    shares.add('a', 'k2', 0);
    shares.add('b', 'k3', 0);
    assert.equal(shares.atLimit('a', 2, 1), true);
    assert.equal(shares.atLimit('a', 3, 1), false);
    assert.equal(shares.atLimit('b', 1, 1), true);
    assert.equal(shares.atLimit('c', 1, 1), false);
    shares.remove('k1');
    shares.remove('k1');
    assert.equal(shares.atLimit('a', 2, 1), false);
    assert.equal(shares.size, 2);
  });

  it('a session past its idle TTL no longer counts, unless touched; the absolute TTL ends it anyway', () => {
    const shares = new ClientShares(TTL);
    shares.add('a', 'idle', 0);
    shares.add('a', 'busy', 0);
    for (let now = 50; now < 1000; now += 50) shares.touch('busy', now);
    assert.equal(shares.atLimit('a', 2, 120), false, 'the idle one expired at 100');
    assert.equal(shares.atLimit('a', 1, 999), true, 'touched every 50 ms');
    assert.equal(shares.atLimit('a', 1, 1000), false, 'absolute TTL');
    assert.equal(shares.size, 0);
  });

  it('re-adding a key moves it to the new client', () => {
    const shares = new ClientShares(TTL);
    shares.add('a', 'k', 0);
    shares.add('b', 'k', 0);
    assert.deepEqual([shares.atLimit('a', 1, 1), shares.atLimit('b', 1, 1)], [false, true]);
  });

  it('clients that never come back are swept when others add', () => {
    const shares = new ClientShares(TTL);
    for (let i = 0; i < 50; i++) shares.add(`gone-${i}`, `k${i}`, Date.now());
    shares.add('new', 'fresh', Date.now() + 10_000);
    assert.equal(shares.size, 1);
  });

  it('below the limit the check does not walk the client’s sessions (100 000 adds and checks stay linear)', () => {
    const shares = new ClientShares({ idleMs: 60_000, absoluteMs: 60_000 });
    const now = Date.now();
    for (let i = 0; i < 100_000; i++) {
      assert.equal(shares.atLimit('one', 1_000_000, now), false);
      shares.add('one', `k${i}`, now);
    }
    assert.equal(shares.size, 100_000);
  });
});

describe('usesLegacySse', () => {
  const legacy = ['/messages?sessionId=abc', '/?sessionId=', '/m?x=1&sessionId=a', '/m?session%49d=a'];
  const modern = ['/', '/mcp', '/mcp?session=a', '/mcp?sessionid=a', '/mcp?x=sessionId', undefined];
  for (const url of legacy) it(`${url}: the 2024-11-05 transport`, () => assert.equal(usesLegacySse(url), true));
  for (const url of modern) it(`${String(url)}: not`, () => assert.equal(usesLegacySse(url), false));
});
