import { CROCKFORD, parseExactRequestId, parseRequestId, requestIdFromBytes } from '../../src/domain/request-id';

/** Independent reference: write the 40 bits out and read them back five at a time. */
function reference(bytes: readonly number[]): string {
  const bits = bytes.map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < 40; i += 5) out += '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

describe('requestIdFromBytes', () => {
  it('uses the Crockford alphabet: no I, L, O or U', () => {
    // Given / When / Then
    expect(CROCKFORD).toBe('0123456789ABCDEFGHJKMNPQRSTVWXYZ');
  });

  it.each([
    [[0, 0, 0, 0, 0], '00000000'],
    [[0xff, 0xff, 0xff, 0xff, 0xff], 'ZZZZZZZZ'],
    [[0x08, 0x42, 0x10, 0x84, 0x21], '11111111'],
    [[0xff, 0, 0, 0, 0], 'ZW000000'],
    [[0, 0, 0, 0, 1], '00000001'],
  ])('encodes %j as %s', (bytes, id) => {
    // Given / When
    const encoded = requestIdFromBytes(Uint8Array.from(bytes));
    // Then
    expect(encoded).toBe(id);
  });

  it('is deterministic for given bytes and matches an independent encoding', () => {
    // Given a spread of byte patterns
    const samples = [
      [1, 2, 3, 4, 5],
      [0xde, 0xad, 0xbe, 0xef, 0x42],
      [0x80, 0x7f, 0x01, 0xfe, 0x10],
    ];
    for (const bytes of samples) {
      // When
      const first = requestIdFromBytes(Uint8Array.from(bytes));
      const second = requestIdFromBytes(Uint8Array.from(bytes));
      // Then
      expect(first).toBe(second);
      expect(first).toBe(reference(bytes));
      expect(first).toMatch(/^[0-9A-HJKMNP-TV-Z]{8}$/);
    }
  });

  it('uses only the first 5 bytes', () => {
    // Given / When / Then
    expect(requestIdFromBytes(Uint8Array.from([1, 2, 3, 4, 5, 6, 7]))).toBe(reference([1, 2, 3, 4, 5]));
  });

  it('throws on fewer than 5 bytes (a bug in the id generator)', () => {
    // Given / When / Then
    expect(() => requestIdFromBytes(Uint8Array.from([1, 2, 3, 4]))).toThrow('a request id needs 5 random bytes');
  });

  it('produces ids that parse back to themselves', () => {
    // Given
    const id = requestIdFromBytes(Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a]));
    // When / Then
    expect(parseRequestId(id)).toBe(id);
  });
});

describe('parseRequestId', () => {
  it.each([
    ['7KQ2M9XD', '7KQ2M9XD'],
    ['7kq2m9xd', '7KQ2M9XD'],
    ['7KQ2-M9XD', '7KQ2M9XD'],
    [' 7KQ2 M9XD ', '7KQ2M9XD'],
    ['IiLl0000', '11110000'],
    ['OoOo1234', '00001234'],
    ['o-i-l-o-1-2-3-4', '01101234'],
  ])('reads %j as %s', (text, id) => {
    // Given / When / Then
    expect(parseRequestId(text)).toBe(id);
  });

  it.each([
    ['seven characters', '7KQ2M9X'],
    ['nine characters', '7KQ2M9XDA'],
    ['a U, which Crockford leaves out', 'U7Q2M9XD'],
    ['punctuation', '7KQ2M9X!'],
    ['nothing', ''],
    ['only dashes', '--------'],
  ])('refuses %s', (_what, text) => {
    // Given / When / Then
    expect(parseRequestId(text)).toBeUndefined();
  });
});

describe('parseExactRequestId', () => {
  it('accepts an id exactly as the bot writes it', () => {
    expect(parseExactRequestId('7KQ2M9XD')).toBe('7KQ2M9XD');
  });

  it.each([['lower case', '7kq2m9xd'], ['spaces', ' 7KQ2M9XD '], ['a dash', '7KQ2-M9XD'], ['an I for a 1', 'I1110000'], ['not a string', 42], ['nothing', undefined]])(
    'refuses %s, which only a person types',
    (_what, value) => {
      expect(parseExactRequestId(value)).toBeUndefined();
    },
  );
});
