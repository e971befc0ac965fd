const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

// NB: Slack has no escape for `*`, `_`, `~` and `` ` ``. An invisible character beside them only
// helps if Slack's parser counts it as a word character or as a space, and Slack does not say which
// (counted as punctuation, `*\u200dbold*\u200d` is still bold). A look-alike that is not markup
// cannot pair up under any rule, so user text is shown with ∗ ˍ ∼ ˋ instead (as jsx-slack's
// <Escape> does); the audit log keeps what was typed.
const LOOK_ALIKES: Readonly<Record<string, string>> = { '*': '\u2217', _: '\u02cd', '~': '\u223c', '`': '\u02cb' };

/** A URL Slack auto-links, or an emoji code (`:rotating_light:`): kept as typed so both still work. */
const KEPT = /(https?:\/\/[^\s<>]+|:[a-z0-9_+'-]+:)/;

/**
 * User text inside Slack `mrkdwn`, made harmless. Slack's own escaping covers `&`, `<` and `>`:
 * with them escaped, `<!channel>`, `<!here>`, `<@U123>`, `<#C123>` and `<https://x|click>` stay
 * literal text and never become mentions or links. Formatting characters become look-alikes, so
 * they cannot turn into bold, italics, strike-through or code that changes what a reason appears
 * to say; a `>` that starts a line cannot quote. Control characters are dropped; line breaks and
 * emoji codes (`:fire:`, harmless) are kept.
 */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(CONTROL, '')
    .split(KEPT)
    .map((part, i) => {
      const escaped = part.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      // NB: split() with a capturing group puts the kept parts at the odd indexes.
      return i % 2 === 1 ? escaped : escaped.replace(/[*_~`]/g, (c) => LOOK_ALIKES[c] ?? c);
    })
    .join('')
    // NB: an escaped `>` at the start of a line still quotes (jsx-slack escapes it so too); an
    // invisible soft hyphen before it does not.
    .replace(/^&gt;/gm, '\u00ad&gt;');
}

/**
 * Text for a Block Kit `plain_text` object (never parsed for mentions or links), cut to Slack's
 * limit for the field with an ellipsis.
 */
export function plainText(text: string, max: number): string {
  const cleaned = text.replace(CONTROL, '').trim();
  return cleaned.length > max ? `${cutBefore(cleaned, max - 1)}…` : cleaned;
}

/** An instant Slack shows in each reader's own time zone, with a UTC fallback for old clients. */
export function slackDate(at: Date): string {
  const seconds = Math.floor(at.getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${at.toISOString().replace('T', ' ').slice(0, 16)} UTC>`;
}

/** Cuts mrkdwn that is already escaped to a section's limit (3,000) without splitting an entity. */
export function fitSection(mrkdwn: string, max = 3000): string {
  if (mrkdwn.length <= max) return mrkdwn;
  return `${cutBefore(mrkdwn, max - 1).replace(/&[a-z]*$/, '')}…`;
}

// NB: never ends on the first half of a surrogate pair (an emoji cut in two): a lone surrogate is
// not valid UTF-8, and Slack shows it as garbage or refuses the blocks.
function cutBefore(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}
