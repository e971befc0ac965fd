import type { Brand } from './brand';

/** A length of time in whole minutes, at least one. */
export type Minutes = Brand<number, 'Minutes'>;

export const MAX_DURATION_MINUTES = 366 * 24 * 60;

const PART = /(\d+)\s*([dhm])/g;
const WHOLE = /^(?:\d+\s*[dhm]\s*)+$/;
const UNIT: Record<string, number> = { d: 24 * 60, h: 60, m: 1 };

export type DurationParse = { ok: true; minutes: Minutes } | { ok: false; message: string };

/**
 * Parses `30m`, `2h`, `1d`, `1h30m` into minutes. Refuses zero, negatives, bare numbers and
 * anything over a year, with a message that says what a duration looks like.
 */
export function parseDuration(text: string): DurationParse {
  const input = text.trim().toLowerCase();
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  if (!WHOLE.test(input)) {
    return { ok: false, message: `${shown} is not a duration like 30m, 2h or 1d` };
  }
  let total = 0;
  for (const match of input.matchAll(PART)) {
    total += Number(match[1]) * (UNIT[match[2] ?? 'm'] ?? 1);
    if (total > MAX_DURATION_MINUTES) break;
  }
  if (total < 1) return { ok: false, message: `${shown} is too short: the shortest duration is 1m` };
  if (total > MAX_DURATION_MINUTES) return { ok: false, message: `${shown} is too long: the longest duration is 366d` };
  return { ok: true, minutes: total as Minutes };
}

/** `90` → `1h30m`; `1440` → `1d`. */
export function formatDuration(minutes: number): string {
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : ''].filter(Boolean);
  return parts.length ? parts.join('') : '0m';
}

export function addMinutes(at: Date, minutes: number): Date {
  return new Date(at.getTime() + minutes * 60_000);
}
