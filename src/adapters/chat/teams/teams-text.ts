import type { RichText } from '../../../domain/rich-text';

/**
 * How text reaches a Teams user safely. Every message the bot sends is an Adaptive Card, and any text
 * the bot did not write (a reason, a role, an e-mail, a provider's error) goes into a `TextRun`
 * inside a `RichTextBlock`, never into a `TextBlock` or a `Fact`:
 * - a TextRun is never parsed as markdown (Adaptive Cards schema, TextRun.text: "Markdown is not
 *   supported"), so `**x**`, `_x_`, `[label](https://evil)` and `# x` show as typed;
 * - a card has no HTML, and a mention exists only when the card lists it in `msteams.entities`,
 *   which the bot never does: a typed `<at>Alice</at>` is just text and notifies nobody;
 * - what is left is removed here: control characters (which could fake line structure) and
 *   `{{`, which starts a renderer's date/time function (`{{DATE(…)}}`) in some clients.
 * The bot's own words use TextRun styles (bold, monospace) instead of markup.
 */

/** An Adaptive Card `TextRun`. */
export interface TextRun {
  readonly type: 'TextRun';
  readonly text: string;
  readonly weight?: 'Bolder';
  readonly fontType?: 'Monospace';
  readonly color?: 'Attention' | 'Good' | 'Warning';
  readonly size?: 'Large' | 'Medium';
  readonly isSubtle?: boolean;
}

/** An Adaptive Card `RichTextBlock`: runs shown one after the other, wrapped. */
export interface RichTextBlock {
  readonly type: 'RichTextBlock';
  readonly inlines: readonly TextRun[];
  readonly spacing?: 'Small' | 'Medium';
}

const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/** The longest text one run carries; cards stay far below Teams' 28 KB message limit. */
export const MAX_RUN_LENGTH = 2_000;

/**
 * Text for a TextRun, whoever wrote it: control characters dropped (line breaks kept), `{{`
 * broken by a zero-width space so no renderer reads a function into it, cut to `max` characters
 * with an ellipsis (never inside a surrogate pair).
 */
export function cardText(text: string, max = MAX_RUN_LENGTH): string {
  const cleaned = text.replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(/\{(?=\{)/g, '{\u200b');
  return cleaned.length > max ? `${cutBefore(cleaned, max - 1)}…` : cleaned;
}

/**
 * Text for fields Teams shows as plain text (an input's value or label, a choice's title, an
 * action's title, the message of an invoke response): control characters and line breaks
 * dropped, trimmed, cut to `max`.
 */
export function plainText(text: string, max: number): string {
  const cleaned = text.replace(/[\r\n]+/g, ' ').replace(CONTROL, '').trim();
  return cleaned.length > max ? `${cutBefore(cleaned, max - 1)}…` : cleaned;
}

/**
 * What someone typed, put back into an input for them to correct (never evaluated or parsed):
 * control characters dropped, line breaks kept, cut to the input's maximum length.
 */
export function inputValue(text: string, max: number): string {
  const cleaned = text.replace(/\r\n?/g, '\n').replace(CONTROL, '');
  return cleaned.length > max ? cutBefore(cleaned, max) : cleaned;
}

/** One TextRun of text the bot did not write (or wrote without style). */
export function run(text: string, style: Omit<TextRun, 'type' | 'text'> = {}): TextRun {
  return { type: 'TextRun', text: cardText(text), ...style };
}

/**
 * A sentence (`say`…``) as RichTextBlocks, one per line: the bot's `bold` and `code` words styled,
 * everything else (`plain`, `verbatim`) as plain runs. Empty lines are dropped.
 */
export function richBlocks(text: RichText, style: Omit<TextRun, 'type' | 'text'> = {}): RichTextBlock[] {
  const lines: TextRun[][] = [[]];
  for (const segment of text) {
    const segmentStyle = segment.kind === 'bold' ? { weight: 'Bolder' as const } : segment.kind === 'code' ? { fontType: 'Monospace' as const } : {};
    segment.text.split('\n').forEach((part, i) => {
      if (i > 0) lines.push([]);
      if (part !== '') lines[lines.length - 1]?.push(run(part, { ...style, ...segmentStyle }));
    });
  }
  return lines.filter((inlines) => inlines.length > 0).map((inlines) => ({ type: 'RichTextBlock', inlines }));
}

/** A plain string (the bot's words and others' together, like a notice's summary line) as RichTextBlocks, one per line. */
export function plainBlocks(text: string, style: Omit<TextRun, 'type' | 'text'> = {}): RichTextBlock[] {
  return richBlocks([{ kind: 'verbatim', text }], style);
}

/**
 * An instant as Adaptive Cards' date and time functions, which each client shows in its reader's
 * own time zone (Teams). Only ever built from a Date, so nothing typed can reach a function.
 */
export function localTime(at: Date): string {
  const iso = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `{{DATE(${iso}, SHORT)}} {{TIME(${iso})}}`;
}

/** The same instant in UTC, as plain text beside the local one (and for clients without the functions). */
export function utcTime(at: Date): string {
  return `${at.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

// NB: never ends on the first half of a surrogate pair (an emoji cut in two): a lone surrogate is
// not valid UTF-8, and Teams refuses or garbles the card.
function cutBefore(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}
