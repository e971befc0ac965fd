import { cleanText, printable, quoteInput } from '../../src/domain/text';

describe('cleanText', () => {
  it('leaves ordinary text alone', () => {
    // Given / When / Then
    expect(cleanText('payouts stuck since 09:00, need the queue (INC-4211) — ü ß 漢字')).toBe(
      'payouts stuck since 09:00, need the queue (INC-4211) — ü ß 漢字',
    );
  });

  it('folds newlines and tabs into single spaces', () => {
    // Given a reason pasted over several lines
    const text = 'line one\nline two\r\n\tline three';
    // When
    const cleaned = cleanText(text);
    // Then
    expect(cleaned).toBe('line one line two line three');
  });

  it('removes C0 and C1 control characters and DEL', () => {
    // Given text with a NUL, a bell, an escape sequence, DEL and a C1 control
    const text = 'a\u0000b\u0007c\u001b[31md\u007fe\u0085f\u009fg';
    // When
    const cleaned = cleanText(text);
    // Then
    expect(cleaned).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(cleaned.replace(/ /g, '')).toBe('abc[31mdefg');
  });

  it('removes bidi overrides and isolates that could disguise text', () => {
    // Given a right-to-left override that would display "txt.exe" as "exe.txt"
    const text = 'see \u202eexe.txt\u202c and \u2066x\u2069 \u200e\u200f';
    // When
    const cleaned = cleanText(text);
    // Then
    expect(cleaned).not.toMatch(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(cleaned).toBe('see exe.txt and x');
  });

  it('removes zero-width spaces and the byte-order mark without splitting the word', () => {
    // Given
    const text = '\ufeffpay\u200bouts stuck\u200b';
    // When
    const cleaned = cleanText(text);
    // Then
    expect(cleaned).toBe('payouts stuck');
  });

  it('keeps the zero-width joiners that scripts and emoji need', () => {
    // Given a Persian word with ZWNJ and a family emoji joined with ZWJ
    const text = 'می\u200cخواهم \u{1F468}\u200d\u{1F469}';
    // When / Then
    expect(cleanText(text)).toBe(text);
  });

  it('removes the word joiner, a zero-width character', () => {
    // Given "admin" with an invisible U+2060 inside it
    const text = 'ad\u2060min';
    // When
    const cleaned = cleanText(text);
    // Then
    expect(cleaned).not.toContain('\u2060');
  });

  it('removes the Arabic letter mark, a bidi control', () => {
    // Given U+061C, which is in Unicode's Bidi_Control set with the overrides above
    const text = 'ok\u061c done';
    // When
    const cleaned = cleanText(text);
    // Then
    expect(cleaned).not.toContain('\u061c');
  });

  it('folds Unicode line and paragraph separators', () => {
    // Given
    const text = 'a\u2028b\u2029c\u00a0d';
    // When / Then
    expect(cleanText(text)).toBe('a b c d');
  });

  it('trims and returns an empty string for text that is only control characters', () => {
    // Given / When / Then
    expect(cleanText('\u0000\n\u202e\u200b ')).toBe('');
  });
});

describe('quoteInput', () => {
  it('quotes cleaned text as JSON', () => {
    // Given / When / Then
    expect(quoteInput('prod\n"db"')).toBe('"prod \\"db\\""');
  });

  it('cuts text after 40 characters by default, with an ellipsis', () => {
    // Given
    const text = 'r'.repeat(41);
    // When / Then
    expect(quoteInput(text)).toBe(`"${'r'.repeat(40)}…"`);
    expect(quoteInput('r'.repeat(40))).toBe(`"${'r'.repeat(40)}"`);
  });

  it('honours a shorter limit', () => {
    // Given / When / Then
    expect(quoteInput('abcdefghij', 4)).toBe('"abcd…"');
  });

  it('never echoes a control character back', () => {
    // Given a hostile value
    const text = '\u202e<!channel>\u0000';
    // When
    const quoted = quoteInput(text);
    // Then
    expect(quoted).toBe('"<!channel>"');
  });
});

describe('cleanText and surrogates', () => {
  it('drops lone surrogates, which PostgreSQL refuses in jsonb, and keeps real pairs', () => {
    expect(cleanText('a\ud800b \udc00c \u{1F600}')).toBe('ab c \u{1F600}');
  });
});

describe('printable', () => {
  it('shows control characters and separators as escapes, and keeps tabs, line feeds and everything else', () => {
    expect(printable('pa_x\u001b[2K\u001b[1Aok\u0007\u009b\u0085\u2028\u007f')).toBe('pa_x\\x1b[2K\\x1b[1Aok\\x07\\x9b\\x85\\u2028\\x7f');
    expect(printable('a\tb\nc – ü 💥')).toBe('a\tb\nc – ü 💥');
  });
});
