import type { MrkdwnElement } from '@slack/types';
import type { RichText } from '../../../domain/rich-text';

const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

// NB: Slack has no escape for `*`, `_`, `~` and `` ` ``. An invisible character beside them only
// helps if Slack's parser counts it as a word character or as a space, and Slack does not say which
// (counted as punctuation, `*\u200dbold*\u200d` is still bold). A look-alike that is not markup
// cannot pair up under any rule, so user text is shown with ∗ ˍ ∼ ˋ instead (as jsx-slack's
// <Escape> does); the audit log keeps what was typed.
const LOOK_ALIKES: Readonly<Record<string, string>> = { '*': '\u2217', _: '\u02cd', '~': '\u223c', '`': '\u02cb' };

// NB: a typed URL becomes an explicit link `<url>`: it points exactly where the characters typed
// point, shows those characters, and Slack formats nothing inside it (so `https://host/*x*` is
// neither bold nor cut short). It stops at a space, `<`, `>` and `|` (which would start a label
// that hides the target), and leaves trailing punctuation to the sentence, as Slack's own linker does.
const URL = /https?:\/\/[^\s<>|]*[^\s<>|.,:;!?'")\]]/;
// NB: an emoji code is kept as typed only where none of its `_` can start or end italics: inside a
// word, between letters or digits (`:rotating_light:`). `:_x_:` is not an emoji Slack knows and
// would italicise the x, so it is escaped like any other text.
// Signs (`+`, `-`, `'`) may stand in a code (`:+1:`, `:flag-us:`) but never beside an `_`: `:-_x:`
// would open italics as surely as `:_x:`.
const EMOJI = /:[a-z0-9+'-]+(?:(?<=[a-z0-9])_(?=[a-z0-9])[a-z0-9+'-]+)*:/;
const KEPT = new RegExp(`(${URL.source}|${EMOJI.source})`);

/**
 * User text inside Slack `mrkdwn`, made harmless. Slack's own escaping covers `&`, `<` and `>`:
 * with them escaped, `<!channel>`, `<!here>`, `<@U123>`, `<#C123>` and `<https://x|click>` stay
 * literal text and never become mentions or links. Formatting characters become look-alikes, so
 * they cannot turn into bold, italics, strike-through or code that changes what a reason appears
 * to say; a `>` that starts a line cannot quote. A URL becomes a link to exactly what was typed.
 * Control characters are dropped; line breaks and emoji codes (`:fire:`, harmless) are kept.
 * Use it in text objects made by `mrkdwn()`, whose `verbatim` stops Slack linking anything else.
 */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(CONTROL, '')
    .split(KEPT)
    .map((part, i) => {
      const escaped = escapeEntities(part);
      // NB: split() with a capturing group puts the kept parts at the odd indexes.
      if (i % 2 === 0) return escaped.replace(/[*_~`]/g, (c) => LOOK_ALIKES[c] ?? c);
      return URL.test(part) ? `<${escaped}>` : escaped;
    })
    .join('')
    // NB: an escaped `>` at the start of a line still quotes (jsx-slack escapes it so too); an
    // invisible soft hyphen before it does not.
    .replace(/^&gt;/gm, '\u00ad&gt;');
}

/**
 * A sentence as Slack mrkdwn: the bot's own words with real formatting (`code`, *bold*), and
 * everything it did not write escaped by `escapeMrkdwn`.
 */
export function richMrkdwn(text: RichText): string {
  return text
    .map((segment) => {
      switch (segment.kind) {
        case 'plain':
          return escapeEntities(segment.text.replace(CONTROL, ''));
        case 'code':
          // NB: nothing formats inside code but a backtick, which would end it early.
          return `\`${escapeEntities(segment.text.replace(CONTROL, '')).replace(/`/g, LOOK_ALIKES['`'] ?? '')}\``;
        case 'bold':
          return `*${escapeMrkdwn(segment.text)}*`;
        case 'verbatim':
          return escapeMrkdwn(segment.text);
      }
    })
    .join('');
}

/**
 * A Block Kit `mrkdwn` text object for text made by `escapeMrkdwn`/`richMrkdwn`. `verbatim: true`
 * stops Slack's automatic parsing (bare URLs, channel names, some mentions): it links only what we
 * wrote as `<…>` (our dates and the links of typed URLs), and still formats (Slack text object docs).
 */
export function mrkdwn(text: string): MrkdwnElement {
  return { type: 'mrkdwn', text, verbatim: true };
}

function escapeEntities(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
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

/** Cuts mrkdwn that is already escaped to a section's limit (3,000) without splitting an entity or a `<…>` link. */
export function fitSection(mrkdwn: string, max = 3000): string {
  if (mrkdwn.length <= max) return mrkdwn;
  // NB: every raw `<` is ours (user text has `&lt;`), so an unclosed one is a link or date cut in two.
  return `${cutBefore(mrkdwn, max - 1).replace(/&[a-z]*$/, '').replace(/<[^>]*$/, '')}…`;
}

/**
 * Escaped mrkdwn in as many sections as it needs (Slack allows 3,000 characters in one), cut at line
 * breaks, so a long message (the weekly digest, whose last lines are the signed checkpoint) keeps
 * every line. Only a single line longer than a section is shortened (`fitSection`). At most `most`.
 */
export function splitSections(mrkdwn: string, max = 3000, most = 50): string[] {
  const sections: string[] = [];
  let current = '';
  for (const line of mrkdwn.split('\n')) {
    const piece = fitSection(line, max);
    if (current && current.length + 1 + piece.length > max) {
      sections.push(current);
      current = piece;
    } else {
      current = current ? `${current}\n${piece}` : piece;
    }
  }
  if (current || sections.length === 0) sections.push(current);
  return sections.slice(0, most);
}

// NB: never ends on the first half of a surrogate pair (an emoji cut in two): a lone surrogate is
// not valid UTF-8, and Slack shows it as garbage or refuses the blocks.
function cutBefore(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}
