/**
 * The per-request slot that holds captured headers and relay state: readable through the slot only,
 * invisible to everything a host app might do with `req` (inspect, JSON, spread, reflection).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { describe, it } from 'node:test';
import util from 'node:util';
import { requestSlot } from '../../lib/request-slot.js';

const SECRET = 'S3NT1NEL-slot-value';
const request = (): http.IncomingMessage => new http.IncomingMessage(null as unknown as net.Socket);

describe('requestSlot', () => {
  it('reads back what was set, per request and per slot, and undefined before', () => {
    const a = requestSlot<{ v: string }>();
    const b = requestSlot<string>();
    const r1 = request();
    const r2 = request();
    assert.equal(a.get(r1), undefined);
    a.set(r1, { v: 'one' });
    b.set(r1, 'other slot');
    a.set(r2, { v: 'two' });
    assert.deepEqual(a.get(r1), { v: 'one' });
    assert.equal(b.get(r1), 'other slot');
    assert.deepEqual(a.get(r2), { v: 'two' });
    assert.equal(b.get(r2), undefined);
    a.set(r1, { v: 'replaced' });
    assert.deepEqual(a.get(r1), { v: 'replaced' });
  });

  it('adds no key to the request and shows its value to no inspect, JSON, spread or reflection', () => {
    const slot = requestSlot<{ key: string }>();
    const req = request();
    const keysBefore = Reflect.ownKeys(req);
    slot.set(req, { key: SECRET });
    assert.deepEqual(Reflect.ownKeys(req), keysBefore);
    assert.ok(!util.inspect(req, { showHidden: true, depth: 4 }).includes(SECRET));
    assert.ok(!JSON.stringify({ ...req }).includes(SECRET));
    assert.ok(!util.inspect({ ...req }, { showHidden: true }).includes(SECRET));
    assert.equal(slot.get(req)?.key, SECRET, 'control: the value is there');
  });
});
