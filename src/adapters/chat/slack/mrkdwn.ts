/**
 * User text inside Slack `mrkdwn`, made harmless. Slack's own escaping covers `&`, `<` and `>`:
 * with them escaped, `<!channel>`, `<!here>`, `<@U123>`, `<#C123>` and `<https://x|click>` stay
 * literal text and never become mentions or links. Formatting characters (`*`, `_`, `~`, `` ` ``)
 * have no escape in mrkdwn; a zero-width joiner after each keeps them from pairing up into bold,
 * italics, strike-through or code that could change what a reason appears to say, and still
 * shows the character. Control characters are dropped; line breaks are kept.
 */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_~`])/g, '$1\u200d');
}

/**
 * Text for a Block Kit `plain_text` object (never parsed for mentions or links), cut to Slack's
 * limit for the field with an ellipsis.
 */
export function plainText(text: string, max: number): string {
  const cleaned = text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '').trim();
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

/** An instant Slack shows in each reader's own time zone, with a UTC fallback for old clients. */
export function slackDate(at: Date): string {
  const seconds = Math.floor(at.getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${at.toISOString().replace('T', ' ').slice(0, 16)} UTC>`;
}

/** Cuts mrkdwn that is already escaped to a section's limit (3,000) without splitting an entity. */
export function fitSection(mrkdwn: string, max = 3000): string {
  if (mrkdwn.length <= max) return mrkdwn;
  const cut = mrkdwn.slice(0, max - 1);
  return `${cut.replace(/&[a-z]*$/, '')}…`;
}
