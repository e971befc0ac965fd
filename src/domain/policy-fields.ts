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

/** The one way to let every OS user on the host decide from the CLI: loud on purpose. */
export const ANY_OS_USER = '*any-os-user*';

// NB: POSIX portable user and group names (letters, digits, dot, underscore, dash; not starting with
// a dash), plus the trailing $ of machine accounts. Never "*": it would be easy to write by mistake.
const OS_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\$?$/;

/** A CLI operator: an OS user name, `group:<os group>`, or every OS user (`*any-os-user*`). */
export const operatorRef = z.string().transform((text, ctx): CliOperatorRef => {
  const trimmed = text.trim();
  if (trimmed === ANY_OS_USER) return { anyOsUser: true };
  if (trimmed === '*') {
    ctx.addIssue({
      code: 'custom',
      message: `"*" is not allowed: name OS users or group:<os group>; to let every OS user on the host decide (a sandbox, never production) write "${ANY_OS_USER}"`,
    });
    return z.NEVER;
  }
  if (trimmed.startsWith('group:') && OS_NAME.test(trimmed.slice('group:'.length))) return { group: trimmed.slice('group:'.length) };
  if (!trimmed.startsWith('group:') && OS_NAME.test(trimmed)) return { user: trimmed };
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not an OS user name, group:<os group> or "${ANY_OS_USER}"` });
  return z.NEVER;
});

export type CliOperatorRef =
  | { readonly user: string; readonly group?: undefined; readonly anyOsUser?: undefined }
  | { readonly group: string; readonly user?: undefined; readonly anyOsUser?: undefined }
  | { readonly anyOsUser: true; readonly user?: undefined; readonly group?: undefined };

