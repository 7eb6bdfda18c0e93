/** ClientShares: per-client session counts with the store's TTLs mirrored, as pure logic. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientShares } from '../../lib/client-shares.js';
import { usesLegacySse } from '../../lib/session-guard.js';

const TTL = { idleMs: 100, absoluteMs: 1000 };

describe('ClientShares', () => {
  it('counts sessions per client and forgets removed ones', () => {
    const shares = new ClientShares(TTL);
    shares.add('a', 'k1', 0);
    shares.add('a', 'k2', 0);
    shares.add('b', 'k3', 0);
    assert.equal(shares.count('a', 1), 2);
    assert.equal(shares.count('b', 1), 1);
    assert.equal(shares.count('c', 1), 0);
    shares.remove('k1');
    shares.remove('k1');
    assert.equal(shares.count('a', 1), 1);
    assert.equal(shares.size, 2);
  });

  it('a session past its idle TTL leaves the count, unless touched; the absolute TTL ends it anyway', () => {
    const shares = new ClientShares(TTL);
    shares.add('a', 'idle', 0);
    shares.add('a', 'busy', 0);
    for (let now = 50; now < 1000; now += 50) shares.touch('busy', now);
    assert.equal(shares.count('a', 120), 1, 'the idle one expired at 100');
    assert.equal(shares.count('a', 999), 1, 'touched every 50 ms');
    assert.equal(shares.count('a', 1000), 0, 'absolute TTL');
    assert.equal(shares.size, 0);
  });

  it('re-adding a key moves it to the new client', () => {
    const shares = new ClientShares(TTL);
    shares.add('a', 'k', 0);
    shares.add('b', 'k', 0);
    assert.deepEqual([shares.count('a', 1), shares.count('b', 1)], [0, 1]);
  });

  it('clients that never come back are swept when others add', () => {
    const shares = new ClientShares(TTL);
    for (let i = 0; i < 50; i++) shares.add(`gone-${i}`, `k${i}`, Date.now());
    shares.add('new', 'fresh', Date.now() + 10_000);
    assert.equal(shares.size, 1);
  });
});

describe('usesLegacySse', () => {
  const legacy = ['/messages?sessionId=abc', '/?sessionId=', '/m?x=1&sessionId=a', '/m?session%49d=a'];
  const modern = ['/', '/mcp', '/mcp?session=a', '/mcp?sessionid=a', '/mcp?x=sessionId', undefined];
  for (const url of legacy) it(`${url}: the 2024-11-05 transport`, () => assert.equal(usesLegacySse(url), true));
  for (const url of modern) it(`${String(url)}: not`, () => assert.equal(usesLegacySse(url), false));
});
