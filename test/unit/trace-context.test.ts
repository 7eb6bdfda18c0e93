/**
 * W3C Trace Context validation for `forwardTraceContext` (lib/trace-context.ts), one vector per test:
 * the examples of the specification (§3.2, §3.3) and the cases of its test suite
 * (w3c/trace-context test/test.py) that a forwarder must drop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { traceContextToForward, traceparentProblem, tracestateProblem } from '../../lib/trace-context.js';

/** The specification's own example (§3.2.2.5). */
const SPEC_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('traceparentProblem: valid values', () => {
  const valid: [string, string][] = [
    ['the specification example, sampled', SPEC_TRACEPARENT],
    ['not sampled (flags 00)', `00-${TRACE_ID}-${PARENT_ID}-00`],
    ['unknown flags are kept as sent (flags ff)', `00-${TRACE_ID}-${PARENT_ID}-ff`],
    ['a later version, 55 characters', `01-${TRACE_ID}-${PARENT_ID}-01`],
    ['a later version with a further field after a dash', `cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`],
  ];
  for (const [label, value] of valid) {
    it(`${label}: forwarded`, () => assert.equal(traceparentProblem(value), undefined));
  }
});

describe('traceparentProblem: invalid values', () => {
  const invalid: [string, string, string][] = [
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`, 'zero_trace_id'],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`, 'zero_parent_id'],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`, 'invalid_version'],
    ['version 00 longer than 55 characters', `${SPEC_TRACEPARENT}-extra`, 'invalid_version'],
    ['upper-case hex in the trace id', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, 'malformed'],
    ['upper-case hex in the version', `0A-${TRACE_ID}-${PARENT_ID}-01`, 'malformed'],
    ['upper-case hex in the flags', `00-${TRACE_ID}-${PARENT_ID}-0A`, 'malformed'],
    ['a trace id one character short', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`, 'malformed'],
    ['a parent id one character long', `00-${TRACE_ID}-${PARENT_ID}0-01`, 'malformed'],
    ['a non-hex character', `00-${TRACE_ID.slice(0, 31)}g-${PARENT_ID}-01`, 'malformed'],
    ['a version of one digit', `0-${TRACE_ID}-${PARENT_ID}-01`, 'malformed'],
    ['underscores instead of dashes', `00_${TRACE_ID}_${PARENT_ID}_01`, 'malformed'],
    ['a later version whose 56th character is not a dash', `01-${TRACE_ID}-${PARENT_ID}-01.extra`, 'malformed'],
    ['leading white space', ` ${SPEC_TRACEPARENT}`, 'malformed'],
    ['trailing white space', `${SPEC_TRACEPARENT} `, 'malformed'],
    ['two lines, as Node joins them', `${SPEC_TRACEPARENT}, ${SPEC_TRACEPARENT}`, 'malformed'],
    ['the empty string', '', 'malformed'],
    ['a CR LF and a header smuggled after it', `${SPEC_TRACEPARENT}\r\nx-injected: 1`, 'malformed'],
    ['a later version with a CR LF in its tail', `01-${TRACE_ID}-${PARENT_ID}-01-\r\nx-injected: 1`, 'malformed'],
    ['a later version with a space in its tail', `01-${TRACE_ID}-${PARENT_ID}-01-a b`, 'malformed'],
    ['a later version of 257 characters', `01-${TRACE_ID}-${PARENT_ID}-01-${'a'.repeat(201)}`, 'too_long'],
  ];
  for (const [label, value, reason] of invalid) {
    it(`${label}: dropped (${reason})`, () => assert.equal(traceparentProblem(value), reason));
  }
});

describe('tracestateProblem', () => {
  const valid: [string, string][] = [
    ['the specification example', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'],
    ['a multi-tenant key', 'fw529a3039@dt=00f067aa0ba902b7'],
    ['a tenant starting with a digit', '1tenant@sys=v'],
    ['white space around members and empty members', ' a=1 ,\t, b=2 ,'],
    ['the empty list', ''],
    ['a value with spaces inside', 'a=x y'],
    ['32 members', Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',')],
    ['512 characters', `a=${'v'.repeat(256)},b=${'v'.repeat(251)}`],
  ];
  for (const [label, value] of valid) {
    it(`${label}: forwarded`, () => assert.equal(tracestateProblem(value), undefined));
  }
  const invalid: [string, string, string][] = [
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), 'too_many_members'],
    ['513 characters', `a=${'v'.repeat(256)},b=${'v'.repeat(252)}`, 'too_long'],
    ['a duplicate key', 'a=1,b=2,a=3', 'duplicate_key'],
    ['an upper-case key', 'Congo=t61rcWkgMzE', 'invalid_member'],
    ['a key starting with a digit (not multi-tenant)', '1a=v', 'invalid_member'],
    ['a key of 257 characters', `a${'b'.repeat(256)}=v`, 'invalid_member'],
    ['a system id of 15 characters', `t@a${'b'.repeat(14)}=v`, 'invalid_member'],
    ['two @ in a key', 'a@b@c=v', 'invalid_member'],
    ['a member without =', 'a=1,b', 'invalid_member'],
    ['an empty value', 'a=', 'invalid_member'],
    ['a NUL in the value', 'a=x\u0000y', 'invalid_member'],
    ['a tab inside the value', 'a=x\ty', 'invalid_member'],
    ['an = in the value', 'a=b=c', 'invalid_member'],
    ['a value of 257 characters', `a=${'v'.repeat(257)}`, 'invalid_member'],
    ['a CR LF and a header smuggled after it', 'a=1\r\nx-injected: 1', 'invalid_member'],
    ['a non-ASCII character', 'a=caf\u00e9', 'invalid_member'],
  ];
  for (const [label, value, reason] of invalid) {
    it(`${label}: dropped (${reason})`, () => assert.equal(tracestateProblem(value), reason));
  }
});

describe('traceContextToForward: the pair', () => {
  it('a valid traceparent and tracestate are forwarded as sent', () => {
    assert.deepEqual(traceContextToForward({ traceparent: SPEC_TRACEPARENT, tracestate: 'rojo=1' }), {
      headers: { traceparent: SPEC_TRACEPARENT, tracestate: 'rojo=1' },
      dropped: [],
    });
  });

  it('nothing sent: nothing forwarded, nothing dropped', () => {
    assert.deepEqual(traceContextToForward({ 'x-other': '1' }), { headers: {}, dropped: [] });
  });

  it('a tracestate without a traceparent is dropped', () => {
    assert.deepEqual(traceContextToForward({ tracestate: 'rojo=1' }), { headers: {}, dropped: [{ header: 'tracestate', reason: 'without_traceparent' }] });
  });

  it('an invalid traceparent takes its valid tracestate with it', () => {
    assert.deepEqual(traceContextToForward({ traceparent: SPEC_TRACEPARENT.toUpperCase(), tracestate: 'rojo=1' }), {
      headers: {},
      dropped: [
        { header: 'traceparent', reason: 'malformed' },
        { header: 'tracestate', reason: 'without_traceparent' },
      ],
    });
  });

  it('an invalid tracestate is dropped; its valid traceparent still goes', () => {
    assert.deepEqual(traceContextToForward({ traceparent: SPEC_TRACEPARENT, tracestate: 'a=1,a=2' }), {
      headers: { traceparent: SPEC_TRACEPARENT },
      dropped: [{ header: 'tracestate', reason: 'duplicate_key' }],
    });
  });

  it('a list another middleware set counts as the lines joined: a traceparent list is dropped, a tracestate list is one list', () => {
    assert.deepEqual(traceContextToForward({ traceparent: [SPEC_TRACEPARENT, SPEC_TRACEPARENT] }).dropped, [{ header: 'traceparent', reason: 'malformed' }]);
    assert.deepEqual(traceContextToForward({ traceparent: SPEC_TRACEPARENT, tracestate: ['a=1', 'b=2'] }).headers, {
      traceparent: SPEC_TRACEPARENT,
      tracestate: 'a=1,b=2',
    });
  });
});
