/**
 * Removes control characters (C0, DEL, C1, and the Unicode bidi overrides and zero-width
 * characters that can disguise text), folds runs of white space into one space, and trims.
 * Used on every free-text field a person types before it is validated or stored.
 */
export function cleanText(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** For echoing a bad value back inside an error message: quoted, cleaned and cut short. */
export function quoteInput(text: string, max = 40): string {
  const cleaned = cleanText(text);
  return JSON.stringify(cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned);
}
