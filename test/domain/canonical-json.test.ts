import canonicalize from 'canonicalize';
import { canonicalJson } from '../../src/domain/canonical-json';
import { prng } from '../support/prng';

// NB: characters that stress escaping and ordering: quotes, backslash, controls, DEL, Latin-1,
// the euro sign, a character above the surrogates (U+FB33), an emoji (a surrogate pair) and a
// lone surrogate, which JSON.stringify escapes.
const ALPHABET = ['a', 'b', 'Z', '1', '0', ' ', '"', '\\', '/', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', 'é', 'ö', '€', '\ufb33', '😀', '\ud800', '_', '$'];
const KEYS = ['', 'a', 'b', 'aa', 'B', '1', '10', '2', '__proto__', 'constructor', 'toString', 'é', '€', '\ufb33', '😀', 'reason', 'role'];
const NUMBERS = [0, -0, 1, -1, 42, 1.5, -2.25, 0.1, 1e21, 1e-7, 123456789012345680000, 333333333.33333329, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_VALUE];

function randomString(next: () => number): string {
  let s = '';
  const length = Math.floor(next() * 8);
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

function randomJson(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return NUMBERS[Math.floor(next() * NUMBERS.length)];
    case 3:
    case 4:
      return randomString(next);
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomJson(next, depth + 1));
    default: {
      const entries = Array.from({ length: Math.floor(next() * 6) }, () => [next() < 0.5 ? KEYS[Math.floor(next() * KEYS.length)] : randomString(next), randomJson(next, depth + 1)]);
      return Object.fromEntries(entries);
    }
  }
}

describe('canonicalJson', () => {
  it('writes the RFC 8785 example (section 3.2.2) as the RFC does', () => {
    // Given the RFC's example, parsed as JSON
    const input = JSON.parse('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}') as unknown;
    // When / Then: the RFC's own output
    expect(canonicalJson(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts keys by UTF-16 code units, as in RFC 8785 section 3.2.3', () => {
    // Given the RFC's sorting example
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    // When
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // Then: the emoji's surrogates (U+D83D…) sort before U+FB33, unlike by code point
    expect(canonicalJson(input).startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":')).toBe(true);
    expect(keys.slice(-3)).toEqual(['\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('writes the same text as the canonicalize package for 5,000 random JSON values', () => {
    // Given values parsed from JSON (as the audit log's data always is), in random key orders
    const next = prng(8785);
    const values = Array.from({ length: 5_000 }, () => JSON.parse(JSON.stringify(randomJson(next, 0) ?? null)) as unknown);
    // When
    const differing = values.flatMap((value, i) => (canonicalJson(value) === canonicalize(value) ? [] : [`case ${i}: ${JSON.stringify(value)}`]));
    // Then: none differs, and the cases did include nested objects with several keys
    expect(differing).toEqual([]);
    expect(values.filter((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 2).length).toBeGreaterThan(200);
  });

  it('agrees with the package whether the keys come sorted or not', () => {
    // Given the same object with keys in sorted, reversed and jsonb (length-first) order
    const sorted = { a: 1, approvals: 2, b: { c: [1, { y: 1, x: 2 }] }, role: 'db' };
    const reversed = { role: 'db', b: { c: [1, { x: 2, y: 1 }] }, approvals: 2, a: 1 };
    const lengthFirst = JSON.parse('{"a": 1, "b": {"c": [1, {"x": 2, "y": 1}]}, "role": "db", "approvals": 2}') as unknown;
    // When / Then
    for (const value of [sorted, reversed, lengthFirst]) expect(canonicalJson(value)).toBe(canonicalize(value));
    expect(canonicalJson(reversed)).toBe('{"a":1,"approvals":2,"b":{"c":[1,{"x":2,"y":1}]},"role":"db"}');
  });

  it('treats what JSON cannot hold as JSON.stringify does, and refuses non-finite numbers', () => {
    // Given / When / Then
    expect(canonicalJson({ b: undefined, a: new Date('2026-03-03T10:00:00Z'), c: [undefined, () => 1] })).toBe('{"a":"2026-03-03T10:00:00.000Z","c":[null,null]}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow('NaN is not allowed');
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow('Infinity is not allowed');
    expect(() => canonicalJson(undefined)).toThrow('undefined cannot be written as JSON');
    expect(() => canonicalJson({ n: BigInt(1) })).toThrow('BigInt');
  });
});
