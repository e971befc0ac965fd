/**
 * Removes control characters (C0, DEL, C1, and the Unicode bidi overrides and zero-width
 * characters that can disguise text), folds runs of white space into one space, and trims.
 * Used on every free-text field a person types before it is validated or stored.
 */
export function cleanText(text: string): string {
  return text
    // NB: invisible characters that can disguise text go entirely (so "pay\u200bouts" stays one
    // word): zero-width space, word joiner and invisible operators, BOM, and the bidi marks,
    // embeddings, overrides and isolates. ZWJ/ZWNJ (U+200C/D) stay: scripts and emoji need them.
    .replace(/[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\u180e\ufeff]/g, '')
    // NB: a lone surrogate is not text (PostgreSQL refuses it in jsonb); drop it.
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    // Control characters (C0, DEL, C1), line and paragraph separators become spaces.
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** For echoing a bad value back inside an error message: quoted, cleaned and cut short. */
export function quoteInput(text: string, max = 40): string {
  const cleaned = cleanText(text);
  return JSON.stringify(cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned);
}

/**
 * Text that came from outside (a provider's principal names and errors) as it may be shown on a
 * terminal or in a message: each control character (C0 but tab and line feed, DEL, C1) and line or
 * paragraph separator is written as a visible escape (`\x1b`, `\u2028`), so an ESC sequence in a
 * PostgreSQL role name can neither move a security operator's cursor nor hide a line, and shows
 * for what it is. The value itself is kept as it is where it is acted on.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
