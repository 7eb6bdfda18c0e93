/**
 * Header names for configured lists and maps: the ordinary ones, and every kind the rules refuse
 * (restricted names and families, near misses, credentials, Object.prototype members, characters
 * outside the token grammar, lengths around the 256 limit). Never one containing the value sentinel.
 */
import fc from 'fast-check';
import { withoutSentinel } from './arbitraries.js';
import { CREDENTIAL_NAMES, NAME_CHARS, RESTRICTED_NAMES, RESTRICTED_PREFIXES } from './rules-model.js';

const nearMisses = ['x-forwarded', 'hosts', 'mcp-params', 'x-envoy', 'mcp-paramx', 'x-real-ips', 'te-', 'proxy-'];
const prototypeNames = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
const ordinary = ['x-mcp-api-key', 'x-tenant', 'x-api-key', 'x_api_key', 'x-static', 'x-mcp-toolsets'];

const tokenName = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 20 });
/** Characters no configured name may hold: RFC 9110 delimiters, `*`, controls, non-ASCII. */
const NON_TOKEN = [...' :"(),/;<=>?@[\\]{}*\t\r\n\0\x7f\u00e9\u2028'];
const junkName = fc.string({ unit: fc.constantFrom(...NAME_CHARS, ...NON_TOKEN), maxLength: 12 });
/** An ordinary name with one bad character in it: each character class gets its own chance. */
const oneBadChar = fc
  .tuple(fc.constantFrom(...ordinary), fc.constantFrom(...NON_TOKEN), fc.nat())
  .map(([n, bad, at]) => n.slice(0, at % (n.length + 1)) + bad + n.slice(at % (n.length + 1)));
const longName = fc.integer({ min: 250, max: 262 }).map((n) => `x-${'a'.repeat(n - 2)}`);
const familyName = fc.tuple(fc.constantFrom(...RESTRICTED_PREFIXES), fc.constantFrom('', 'for', 'x', 'a_b'));

/** A header name, before casing: ordinary, restricted, credential, prototype, invalid or very long. */
export const baseName: fc.Arbitrary<string> = fc
  .oneof(
    { arbitrary: fc.constantFrom(...ordinary), weight: 30 },
    { arbitrary: fc.constantFrom(...RESTRICTED_NAMES, ...nearMisses), weight: 8 },
    { arbitrary: familyName.map(([p, s]) => p + s), weight: 1 },
    { arbitrary: fc.constantFrom(...CREDENTIAL_NAMES), weight: 2 },
    { arbitrary: fc.constantFrom(...prototypeNames), weight: 2 },
    { arbitrary: tokenName, weight: 10 },
    { arbitrary: junkName, weight: 2 },
    { arbitrary: oneBadChar, weight: 3 },
    { arbitrary: longName, weight: 1 },
  )
  .filter(withoutSentinel);
