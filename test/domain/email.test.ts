import { email, parseEmail } from '../../src/domain/email';

describe('parseEmail', () => {
  it('accepts a plain address unchanged', () => {
    // Given / When
    const parsed = parseEmail('alice@example.com');
    // Then
    expect(parsed).toBe('alice@example.com');
  });

  it('lower-cases the address so that one person has one identity', () => {
    // Given an address as a chat profile might spell it
    const text = 'Alice.Smith@Example.COM';
    // When
    const parsed = parseEmail(text);
    // Then
    expect(parsed).toBe('alice.smith@example.com');
  });

  it('trims surrounding white space', () => {
    // Given / When
    const parsed = parseEmail('  bob@example.com\n');
    // Then
    expect(parsed).toBe('bob@example.com');
  });

  it('accepts plus addressing and sub-domains', () => {
    // Given / When / Then
    expect(parseEmail('carol+prod@mail.eu.example.com')).toBe('carol+prod@mail.eu.example.com');
  });

  it.each([
    ['a space inside', 'alice smith@example.com'],
    ['angle brackets', '<alice@example.com>'],
    ['a display name', 'Alice <alice@example.com>'],
    ['a Slack broadcast mention', '<!channel>'],
    ['a Slack user mention', '<@U0123ABC>'],
    ['no @', 'alice.example.com'],
    ['no domain dot', 'alice@localhost'],
    ['two addresses on two lines', 'alice@example.com\nbob@example.com'],
    ['an empty string', ''],
    ['only white space', '   '],
    ['a quoted local part', '"alice"@example.com'],
    ['a domain label starting with a dash', 'alice@-example.com'],
  ])('refuses %s', (_what, text) => {
    // Given text that is not an address we accept
    // When
    const parsed = parseEmail(text);
    // Then
    expect(parsed).toBeUndefined();
  });

  it('refuses a Kelvin sign, which lower-cases to an ASCII k', () => {
    // Given an address spelled with U+212A KELVIN SIGN, which looks like K
    const text = '\u212Aim@example.com';
    // When
    const parsed = parseEmail(text);
    // Then it must not become kim@example.com, someone else's identity
    expect(parsed).not.toBe('kim@example.com');
    expect(parsed).toBeUndefined();
  });

  it('refuses non-ASCII letters', () => {
    // Given / When / Then
    expect(parseEmail('zoë@example.com')).toBeUndefined();
    expect(parseEmail('alice@exämple.com')).toBeUndefined();
  });

  it('accepts 254 characters and refuses 255', () => {
    // Given addresses of exactly the limit and one over it
    const domain = (last: number) => `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(last)}`;
    const atLimit = `${'a'.repeat(64)}@${domain(61)}`;
    const overLimit = `${'a'.repeat(64)}@${domain(62)}`;
    expect(atLimit).toHaveLength(254);
    expect(overLimit).toHaveLength(255);
    // When / Then
    expect(parseEmail(atLimit)).toBe(atLimit);
    expect(parseEmail(overLimit)).toBeUndefined();
  });
});

describe('email', () => {
  it('returns the parsed address for a trusted literal', () => {
    // Given / When / Then
    expect(email('Erin@Example.com')).toBe('erin@example.com');
  });

  it('throws on text that is not an address, naming it', () => {
    // Given / When / Then
    expect(() => email('<!channel>')).toThrow('not an e-mail address: "<!channel>"');
  });
});
