/** The keyed hashes of session binding as a table: what makes two fingerprints equal, and what never does. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionDigests, UNKNOWN_DIGEST, sameDigest } from '../../lib/session-digests.js';

const KEY = Buffer.alloc(32, 7);
const bind = new SessionDigests(KEY, 'bind');
const hex = (d: Buffer): string => d.toString('hex');

describe('SessionDigests', () => {
  const same: [string, [string, Record<string, string>], [string, Record<string, string>]][] = [
    ['the same pairs in another order', ['', { a: '1', b: '2' }], ['', { b: '2', a: '1' }]],
    ['the same scope and pairs', ['p', { a: '1' }], ['p', { a: '1' }]],
  ];
  for (const [label, [s1, h1], [s2, h2]] of same) {
    it(`equal: ${label}`, () => assert.equal(hex(bind.fingerprint(s1, h1)), hex(bind.fingerprint(s2, h2))));
  }

  const different: [string, [string, Record<string, string>], [string, Record<string, string>]][] = [
    ['another value', ['', { a: '1' }], ['', { a: '2' }]],
    ['another name', ['', { a: '1' }], ['', { b: '1' }]],
    ['a pair added', ['', { a: '1' }], ['', { a: '1', b: '' }]],
    ['another scope (principal)', ['alice', { a: '1' }], ['bob', { a: '1' }]],
    ['no scope against a scope', ['', { a: '1' }], ['x', { a: '1' }]],
    ['name and value boundaries moved', ['', { ab: 'c' }], ['', { a: 'bc' }]],
    ['a pair moved into the scope', ['a1', {}], ['', { a: '1' }]],
    ['a separator inside a value', ['', { a: '1|2:b1:2' }], ['', { a: '1', b: '2' }]],
  ];
  for (const [label, [s1, h1], [s2, h2]] of different) {
    it(`differ: ${label}`, () => assert.notEqual(hex(bind.fingerprint(s1, h1)), hex(bind.fingerprint(s2, h2))));
  }

  it('differ: another mode or another key', () => {
    const headers = { a: '1' };
    assert.notEqual(hex(bind.fingerprint('', headers)), hex(new SessionDigests(KEY, 'pin').fingerprint('', headers)));
    assert.notEqual(hex(bind.fingerprint('', headers)), hex(new SessionDigests(Buffer.alloc(32, 8), 'bind').fingerprint('', headers)));
  });

  it('a tag is 12 hex characters, keyed, and holds nothing of the id', () => {
    const id = '3f9c2d1e-0000-4000-8000-000000000000';
    assert.match(bind.tag(id), /^[0-9a-f]{12}$/);
    assert.notEqual(bind.tag(id), new SessionDigests(Buffer.alloc(32, 8), 'bind').tag(id));
    assert.ok(!id.includes(bind.tag(id)));
  });

  it('a principal hash is stable, keyed, and not the principal', () => {
    assert.equal(bind.principal('alice'), bind.principal('alice'));
    assert.notEqual(bind.principal('alice'), bind.principal('bob'));
    assert.ok(!bind.principal('alice').includes('alice'));
  });
});

describe('sameDigest', () => {
  const digest = bind.fingerprint('', { a: '1' });
  it('equal digests match', () => assert.equal(sameDigest(digest, digest.toString('base64url')), true));
  it('another digest of the same length does not', () => assert.equal(sameDigest(digest, bind.fingerprint('', { a: '2' }).toString('base64url')), false));
  it('a stored value of another length (a corrupt record) does not, and does not throw', () => {
    assert.equal(sameDigest(digest, digest.subarray(0, 16).toString('base64url')), false);
    assert.equal(sameDigest(digest, ''), false);
  });
  it('the unknown-id stand-in has a digest’s length and matches no fingerprint', () => {
    assert.equal(Buffer.from(UNKNOWN_DIGEST, 'base64url').length, digest.length);
    assert.equal(sameDigest(digest, UNKNOWN_DIGEST), false);
  });
});

describe('session records: what is stored, and which requests match it', () => {
  const pin = new SessionDigests(KEY, 'pin');
  const alice = pin.principal('alice');
  const headers = { 'x-tenant': 'acme', 'x-mcp-api-key': 'k1' };

  it('bind stores a fingerprint only: no value, no principal', () => {
    const record = bind.record(alice, headers);
    assert.ok(typeof record === 'string', `a fingerprint string, got ${typeof record}`);
    assert.doesNotMatch(record, /acme|k1|alice/);
  });
  it('pin without a principal stores nothing', () => assert.equal(pin.record(undefined, headers), undefined));
  it('pin stores the values, frozen, with the principal hash', () => {
    const record = pin.record(alice, headers);
    assert.ok(record !== undefined && typeof record !== 'string');
    assert.deepEqual(record.values, headers);
    assert.equal(record.principal, alice);
    assert.ok(Object.isFrozen(record));
  });

  const rows: [string, SessionDigests, string | undefined, Record<string, string>, boolean, Record<string, string> | undefined][] = [
    // [case, mode, request principal, request headers, matches, pinned values added]
    ['bind: the same headers', bind, undefined, headers, true, undefined],
    ['bind: another value', bind, undefined, { ...headers, 'x-tenant': 'other' }, false, undefined],
    ['bind: a header omitted', bind, undefined, { 'x-tenant': 'acme' }, false, undefined],
    ['bind: another principal', bind, alice, headers, false, undefined],
    ['pin: the same headers', pin, alice, headers, true, headers],
    ['pin: headers omitted (filled from the pin)', pin, alice, {}, true, headers],
    ['pin: a value changed', pin, alice, { 'x-tenant': 'other' }, false, undefined],
    ['pin: a header added', pin, alice, { ...headers, 'x-extra': '1' }, false, undefined],
    ['pin: another principal', pin, pin.principal('bob'), headers, false, undefined],
    ['pin: no principal', pin, undefined, headers, false, undefined],
  ];
  for (const [label, digests, principal, sent, matches, pinned] of rows) {
    it(label, () => {
      const record = digests.record(digests === bind ? undefined : alice, headers);
      assert.deepEqual(digests.match(record, principal, sent), pinned ? { matches, pinned } : { matches });
    });
  }
  it('an unknown session (no record) matches nothing, in either mode', () => {
    assert.deepEqual(bind.match(undefined, undefined, headers), { matches: false });
    assert.deepEqual(pin.match(undefined, alice, headers), { matches: false });
  });
});
