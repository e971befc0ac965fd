/**
 * One piece of a sentence the bot says. The kind says whose words these are, so every renderer
 * (Slack mrkdwn, Teams markdown, the CLI's plain text) can format the bot's own words and show
 * people's words exactly as typed, never as markup:
 * - `plain`: the bot's own words, unformatted;
 * - `code`: the bot's own words shown as code (a command to type);
 * - `bold`: the bot's own words, emphasised;
 * - `verbatim`: anything the bot did not write (what a person typed, a role name, an e-mail, an
 *   error from a provider): shown as it is, never read as formatting, links or mentions.
 */
export type RichSegment = { readonly kind: 'plain' | 'code' | 'bold' | 'verbatim'; readonly text: string };

/** A sentence as segments; see `say`. */
export type RichText = readonly RichSegment[];

/** The bot's words shown as code, e.g. say`Type ${code('/prod-access roles')}`. */
export function code(text: string): RichSegment {
  return { kind: 'code', text };
}

/** The bot's words in bold. */
export function bold(text: string): RichSegment {
  return { kind: 'bold', text };
}

/** Text the bot did not write, kept apart from its words: shown as typed, never formatted. */
export function verbatim(text: string): RichSegment {
  return { kind: 'verbatim', text };
}

/**
 * Builds a sentence: the literal parts are the bot's own words; what is interpolated is
 * `verbatim` unless it is already a segment or a `RichText`.
 * NB: the safe choice is the default one: a value spliced in as a plain string (a reason, a role,
 * a name) can never become markup by accident; only `code()` and `bold()` format.
 */
export function say(strings: TemplateStringsArray, ...values: readonly (string | number | RichSegment | RichText)[]): RichText {
  const out: RichSegment[] = [];
  strings.forEach((literal, i) => {
    if (literal !== '') out.push({ kind: 'plain', text: literal });
    if (i >= values.length) return;
    const value = values[i];
    if (value === undefined) return;
    if (typeof value === 'number') out.push({ kind: 'plain', text: String(value) });
    else if (typeof value === 'string') {
      if (value !== '') out.push(verbatim(value));
    } else if (isSegment(value)) out.push(value);
    else out.push(...value);
  });
  return out;
}

/** Joins sentences with a separator of the bot's (a line break, by default). */
export function joinRich(parts: readonly RichText[], separator = '\n'): RichText {
  return parts.flatMap((part, i) => (i === 0 ? part : [{ kind: 'plain' as const, text: separator }, ...part]));
}

/**
 * The same sentence as plain text, for the CLI, logs and Slack's plain-text fields: code in
 * backticks (as the CLI's own messages write commands), everything else as it is.
 */
export function toPlainText(text: RichText): string {
  return text.map((s) => (s.kind === 'code' ? `\`${s.text}\`` : s.text)).join('');
}

function isSegment(value: RichSegment | RichText): value is RichSegment {
  return !Array.isArray(value);
}
