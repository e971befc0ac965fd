import { z } from 'zod';
import { parseDuration, type Minutes } from './duration';

/** A policy field holding a duration like `30m`, `2h` or `1d`, parsed to minutes; the message says what is wrong. */
export const durationField = z.string().transform((text, ctx): Minutes => {
  const parsed = parseDuration(String(text));
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.minutes;
});
