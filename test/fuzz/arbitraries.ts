/**
 * Generators shared by both properties: random casing, and the characters a header value can be
 * made of. Every generated value starts with VALUE_SENTINEL, so "no value in the message" can be
 * checked even for values too short or too common to search for on their own.
 */
import fc from 'fast-check';

/** Marks every generated value. Generated names are kept free of it, because names may be printed. */
export const VALUE_SENTINEL = 'Zq7V4L';

export const withoutSentinel = (name: string): boolean => !name.toLowerCase().includes(VALUE_SENTINEL.toLowerCase());

/** `name` in a random casing; shrinks towards all lower-case. */
export function casing(name: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(name, fc.nat())
    .map(([n, bits]) => (bits === 0 ? n : [...n].map((ch, i) => ((bits >> (i % 31)) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join('')));
}

const range = (min: number, max: number): fc.Arbitrary<number> => fc.integer({ min, max });

/**
 * One character code of a header value, weighted towards the legal ones so that valid values are
 * common: visible ASCII, space, tab, then CR, LF, NUL, other C0 controls, DEL and latin1.
 */
export const valueCharCode: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: range(0x21, 0x7e), weight: 40 },
  { arbitrary: fc.constantFrom(0x20, 0x09), weight: 4 },
  { arbitrary: fc.constantFrom(0x0d, 0x0a, 0x00), weight: 2 },
  { arbitrary: range(0x01, 0x1f), weight: 1 },
  { arbitrary: fc.constant(0x7f), weight: 1 },
  { arbitrary: range(0x80, 0xff), weight: 1 },
);

/** A JS string value: the characters above plus full Unicode (astral, lone surrogates). */
export const valueString: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { arbitrary: valueCharCode.map((c) => String.fromCharCode(c)), weight: 12 },
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 1 },
    ),
    { maxLength: 12 },
  )
  .map((chars) => chars.join(''));
