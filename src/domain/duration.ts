import type { Brand } from './brand';

/** A length of time in whole minutes, at least one. */
export type Minutes = Brand<number, 'Minutes'>;

export const MAX_DURATION_MINUTES = 366 * 24 * 60;

const PART = /(\d+)\s*([dhm])/g;
const WHOLE = /^(?:\d+\s*[dhm]\s*)+$/;
const UNIT: Record<string, number> = { d: 24 * 60, h: 60, m: 1 };

/**
 * `problem` says which rule failed: `shape` (not a duration), `too_short`, or `too_long` (over a
 * year: then a role's own maximum says more, and `typed` is the input without its spaces).
 */
export type DurationParse =
  | { ok: true; minutes: Minutes }
  | { ok: false; problem: 'shape' | 'too_short'; message: string }
  | { ok: false; problem: 'too_long'; message: string; typed: string };

/**
 * Parses `30m`, `2h`, `1d`, `1h30m` into minutes. Refuses zero, negatives, bare numbers and
 * anything over a year, with a message that says what a duration looks like.
 */
export function parseDuration(text: string): DurationParse {
  const input = text.trim().toLowerCase();
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  if (!WHOLE.test(input)) {
    return { ok: false, problem: 'shape', message: `${shown} is not a duration like 30m, 2h or 1d` };
  }
  let total = 0;
  for (const match of input.matchAll(PART)) {
    total += Number(match[1]) * (UNIT[match[2] ?? 'm'] ?? 1);
    if (total > MAX_DURATION_MINUTES) break;
  }
  if (total < 1) return { ok: false, problem: 'too_short', message: `${shown} is too short: the shortest duration is 1m` };
  if (total > MAX_DURATION_MINUTES) {
    // NB: only digits, units and spaces get this far, so the input can be shown without quotes.
    const plain = input.replace(/\s+/g, '');
    return { ok: false, problem: 'too_long', message: `${shown} is too long: the longest duration is 366d`, typed: plain.length > 40 ? `${plain.slice(0, 40)}…` : plain };
  }
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
