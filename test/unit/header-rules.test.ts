import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONNECTION_OPTIONS,
  CREDENTIAL_HEADERS,
  DEFAULT_MAX_VALUE_LENGTH,
  HOP_BY_HOP_HEADERS,
  MAX_NAME_LENGTH,
  PROTOCOL_HEADERS,
  PROTOCOL_HEADER_PREFIX,
  PROTOCOL_LISTS,
  connectionTokens,
  displayName,
  invalidNameReason,
  invalidValueReason,
  isProtocolHeader,
  isStandardHeader,
  restrictedReason,
  TRACE_CONTEXT_HEADERS,
} from '../../lib/header-rules.js';
import { casings } from '../helpers/casings.js';
import { HOP_BY_HOP_NAMES, PROTOCOL_NAMES, RESTRICTED_NAMES } from '../helpers/spec-names.js';

/**
 * The restricted names as the brief specifies them, written out independently of the implementation
 * so that dropping one from lib/ fails here. Prefix families are represented by several members.
 */
const SPEC_RESTRICTED = [
  ...RESTRICTED_NAMES,
  // Members of each restricted family.
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-client-cert',
  'x-forwarded-',
  'x-envoy-internal',
  'x-envoy-original-path',
  'x-envoy-external-address',
  'x-envoy-',
  'mcp-param-region',
  'mcp-param-x',
  'mcp-param-',
];

/** Every restricted name: the spec list plus whatever the exported sets hold now (later additions). */
const ALL_RESTRICTED = [...new Set([...SPEC_RESTRICTED, ...HOP_BY_HOP_HEADERS, ...PROTOCOL_HEADERS, ...TRACE_CONTEXT_HEADERS])];

describe('restrictedReason', () => {
  for (const name of ALL_RESTRICTED) {
    it(`"${name}" is restricted in every casing (lower, UPPER, Mixed, aLtErNaTiNg, lower-cased first)`, () => {
      for (const variant of casings(name)) {
        const reason = restrictedReason(variant.toLowerCase());
        assert.equal(typeof reason, 'string', `${variant} must be restricted`);
        assert.ok(reason!.length > 0);
      }
    });
  }

  it('every hop-by-hop name is reported as hop-by-hop, every protocol header as protocol', () => {
    for (const name of HOP_BY_HOP_HEADERS) assert.match(restrictedReason(name)!, /hop-by-hop/);
    for (const name of PROTOCOL_HEADERS) assert.match(restrictedReason(name)!, /protocol/);
    for (const name of TRACE_CONTEXT_HEADERS) assert.match(restrictedReason(name)!, /forwardTraceContext/);
    assert.match(restrictedReason('x-forwarded-for')!, /x-forwarded-\*/);
    assert.match(restrictedReason('x-envoy-internal')!, /x-envoy-\*/);
    assert.match(restrictedReason(`${PROTOCOL_HEADER_PREFIX}foo`)!, /mcp-param-\*/);
  });

  it('the exported sets contain at least what the brief lists', () => {
    assert.deepEqual(
      HOP_BY_HOP_NAMES.filter((name) => !HOP_BY_HOP_HEADERS.has(name)),
      [],
      'missing from HOP_BY_HOP_HEADERS',
    );
    assert.deepEqual(
      PROTOCOL_NAMES.filter((name) => !PROTOCOL_HEADERS.has(name)),
      [],
      'missing from PROTOCOL_HEADERS',
    );
    assert.deepEqual([...CREDENTIAL_HEADERS].sort(), ['authorization', 'cookie']);
  });

  // Credential names and ordinary custom names: no over-broad prefix match.
  const unrestricted = [
    'authorization',
    'cookie',
    'x-mcp-api-key',
    'x-tenant',
    'x-api-key',
    'hostname',
    'x-host',
    'x-forwarded',
    'forwarded-for',
    'x-envoyish',
    'accept-language',
    'content-typo',
    'mcp-params',
    'mcp-parameter',
    'x-mcp-param-a',
    'user-agent',
    'traceparent-x',
    'x-traceparent',
    'x_forwarded_for',
  ];
  for (const name of unrestricted) {
    it(`"${name}" is not restricted (no over-broad prefix match)`, () => {
      assert.equal(restrictedReason(name), undefined);
    });
  }
});

describe('isProtocolHeader and singletons', () => {
  it('protocol headers and the mcp-param-* family are protocol headers', () => {
    assert.deepEqual(
      [...PROTOCOL_HEADERS].filter((name) => !isProtocolHeader(name)),
      [],
      'PROTOCOL_HEADERS members not recognised',
    );
    assert.equal(isProtocolHeader('mcp-param-region'), true);
  });

  for (const name of ['x-mcp-api-key', 'authorization', 'host', 'mcp-params', 'content-length']) {
    it(`"${name}" is not a protocol header`, () => {
      assert.equal(isProtocolHeader(name), false);
    });
  }

  it('the 2026-07-28 standard headers (forwarded even when empty) are mcp-method, mcp-name and the mcp-param-* family, no other protocol header', () => {
    assert.deepEqual([...PROTOCOL_HEADERS, 'mcp-param-region', 'mcp-param-'].filter(isStandardHeader), [
      'mcp-method',
      'mcp-name',
      'mcp-param-region',
      'mcp-param-',
    ]);
  });

  it('accept is the only protocol header allowed to repeat', () => {
    for (const name of PROTOCOL_HEADERS) {
      assert.equal(!PROTOCOL_LISTS.has(name), name !== 'accept', name);
    }
  });
});

describe('invalidNameReason', () => {
  const valid = ['x-mcp-api-key', 'X-MCP-API-KEY', 'x.m', '1', 'x_y', 'a', "x!#$%&'+-.^_`|~m", 'authorization', 'a'.repeat(MAX_NAME_LENGTH)];
  for (const name of valid) {
    it(`accepts the token ${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}…(${name.length})` : name)}`, () => {
      assert.equal(invalidNameReason(name), undefined);
    });
  }

  const invalid: [string, string][] = [
    ['', 'empty'],
    [' x', 'leading space'],
    ['x ', 'trailing space'],
    ['x y', 'interior space'],
    ['x:y', 'colon'],
    ['x\r\ny', 'CRLF'],
    ['x\ny', 'LF'],
    ['x\ty', 'tab'],
    ['x\u0000y', 'NUL'],
    ['x\u007fy', 'DEL'],
    ['é', 'non-ASCII'],
    ['ключ', 'Cyrillic'],
    ['x😀', 'emoji'],
    ['a'.repeat(MAX_NAME_LENGTH + 1), `${MAX_NAME_LENGTH + 1} chars`],
    ['*', 'wildcard'],
    ['x-*', 'prefix wildcard'],
    ['*-key', 'suffix wildcard'],
    ['__proto__', 'prototype accessor'],
    ['constructor', 'constructor'],
    ['toString', 'toString'],
    ['hasOwnProperty', 'hasOwnProperty'],
    ['prototype', 'prototype'],
    ['valueOf', 'valueOf'],
    ['isPrototypeOf', 'isPrototypeOf'],
    ['__defineGetter__', '__defineGetter__'],
  ];
  for (const [name, label] of invalid) {
    it(`rejects ${label} (${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}…` : name)})`, () => {
      const reason = invalidNameReason(name);
      assert.equal(typeof reason, 'string');
      assert.ok(reason!.length > 0);
    });
  }

  for (const c of '"(),/:;<=>?@[\\]{} \t') {
    it(`rejects the RFC 9110 delimiter ${JSON.stringify(c)} inside a name`, () => {
      assert.notEqual(invalidNameReason(`x${c}y`), undefined);
    });
  }

  /** Code points whose character inside a name (`x?y`) is accepted: for sweeps that report every one. */
  const acceptedInside = (codes: number[]): string[] =>
    codes.filter((code) => invalidNameReason(`x${String.fromCharCode(code)}y`) === undefined).map((code) => `0x${code.toString(16)}`);

  it('rejects every control character (0x00–0x1f) inside a name', () => {
    assert.deepEqual(acceptedInside(Array.from({ length: 0x20 }, (_, code) => code)), []);
  });

  for (const code of [0x7f, 0x80, 0xe9, 0xff, 0x100]) {
    it(`rejects 0x${code.toString(16)} inside a name`, () => {
      assert.deepEqual(acceptedInside([code]), []);
    });
  }

  it('rejects every Object.prototype member name and "prototype", in any casing (A5/C7 shape)', () => {
    const names = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];
    assert.ok(names.length > 10, names.join(', '));
    assert.deepEqual(
      names.flatMap(casings).filter((variant) => invalidNameReason(variant) === undefined),
      [],
      'accepted',
    );
  });

  it('says why: length, token, wildcard and reserved names have distinct reasons', () => {
    assert.match(invalidNameReason('')!, /1-256/);
    assert.match(invalidNameReason('a'.repeat(257))!, /1-256/);
    assert.match(invalidNameReason('x:y')!, /token/);
    assert.match(invalidNameReason('x-*')!, /wildcard/);
    assert.match(invalidNameReason('constructor')!, /reserved/);
  });
});

describe('invalidValueReason', () => {
  it('accepts every visible ASCII character, space and tab', () => {
    let all = '';
    for (let c = 0x21; c <= 0x7e; c++) all += String.fromCharCode(c);
    assert.equal(invalidValueReason(all, 1000), undefined);
    assert.equal(invalidValueReason('a b', 100), undefined);
    assert.equal(invalidValueReason('a\tb', 100), undefined);
    assert.equal(invalidValueReason('Bearer abc.def-ghi_jkl', 100), undefined);
  });

  const bad: [string, string][] = [
    ['a\rb', 'CR'],
    ['a\nb', 'LF'],
    ['a\r\nX-Evil: 1', 'CRLF injection'],
    ['a\u0000b', 'NUL'],
    ['a\u0001b', '0x01'],
    ['a\u001fb', '0x1f'],
    ['a\u007fb', 'DEL 0x7f'],
    ['caf\u00e9', 'é (latin1 0xe9)'],
    ['\u00ff', 'ÿ (0xff)'],
    ['\u0080', '0x80'],
    ['\u0100', 'U+0100'],
    ['ключ', 'Cyrillic'],
    ['😀', 'emoji'],
    ['a\u2028b', 'U+2028 line separator'],
  ];
  for (const [value, label] of bad) {
    it(`rejects ${label}`, () => {
      assert.equal(invalidValueReason(value, 100), 'bad_characters');
    });
  }

  it('rejects every C0 control except tab', () => {
    const wrong = Array.from({ length: 0x20 }, (_, code) => code)
      .filter((code) => invalidValueReason(`a${String.fromCharCode(code)}b`, 100) !== (code === 0x09 ? undefined : 'bad_characters'))
      .map((code) => `0x${code.toString(16)}`);
    assert.deepEqual(wrong, [], 'controls judged wrongly (tab must pass, the rest be bad_characters)');
  });

  for (const max of [1, 10, DEFAULT_MAX_VALUE_LENGTH]) {
    it(`the length boundary is inclusive at maxLength ${max}: ${max} characters pass, ${max + 1} are too_long`, () => {
      assert.equal(invalidValueReason('a'.repeat(max), max), undefined);
      assert.equal(invalidValueReason('a'.repeat(max + 1), max), 'too_long');
    });
  }

  it('the default maxValueLength is 8192', () => {
    assert.equal(DEFAULT_MAX_VALUE_LENGTH, 8192);
  });

  it('a value that is both too long and has bad characters is still refused', () => {
    assert.notEqual(invalidValueReason('\r\n'.repeat(10), 5), undefined);
  });
});

describe('CONNECTION_OPTIONS', () => {
  it('a client may nominate close and every hop-by-hop name in Connection, but not connection itself nor transfer-encoding', () => {
    assert.deepEqual(
      [...CONNECTION_OPTIONS].sort(),
      ['close', ...HOP_BY_HOP_NAMES.filter((name) => name !== 'connection' && name !== 'transfer-encoding')].sort(),
    );
  });
});

describe('connectionTokens', () => {
  it('D5: "close ,  X-Foo ,, " gives close and x-foo (trim, empty elements skipped, case folded)', () => {
    assert.deepEqual(connectionTokens(['close ,  X-Foo ,, ']), ['close', 'x-foo']);
  });

  it('D4: every line is parsed, an empty first line does not hide the second (CVE-2021-33197 shape)', () => {
    assert.deepEqual(connectionTokens(['', 'x-foo']), ['x-foo']);
    assert.deepEqual(connectionTokens(['keep-alive', 'X-MCP-API-Key, Upgrade']), ['keep-alive', 'x-mcp-api-key', 'upgrade']);
  });

  it('tabs are optional whitespace too; only-separator lines give nothing', () => {
    assert.deepEqual(connectionTokens(['\tX-A\t,\t x-b ']), ['x-a', 'x-b']);
    assert.deepEqual(connectionTokens([',,, ,']), []);
  });

  it('no Connection header gives no tokens', () => {
    assert.deepEqual(connectionTokens(undefined), []);
    assert.deepEqual(connectionTokens([]), []);
  });
});

describe('displayName', () => {
  it('keeps short names and truncates long client-supplied names to 64 characters plus an ellipsis', () => {
    assert.equal(displayName('x-mcp-api-key'), 'x-mcp-api-key');
    assert.equal(displayName('a'.repeat(64)), 'a'.repeat(64));
    assert.equal(displayName('a'.repeat(8000)), `${'a'.repeat(64)}…`);
  });
});
