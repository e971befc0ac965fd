/**
 * ISO-8601 durations as AWS writes a permission set's `SessionDuration` (`PT1H`, `PT12H`, `PT90M`).
 * Pure: no SDK.
 */

// NB: days are accepted (P1D) but years, months and weeks are not: their length in minutes depends on
// the calendar, and AWS never uses them for a session (its range is PT1H to PT12H).
const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** The duration in minutes (seconds rounded up, so a session is never reported shorter than it is); undefined when it is not one. */
export function isoDurationMinutes(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const [, days, hours, minutes, seconds] = match;
  if (days === undefined && hours === undefined && minutes === undefined && seconds === undefined) return undefined;
  const total = Number(days ?? 0) * 24 * 60 + Number(hours ?? 0) * 60 + Number(minutes ?? 0) + Number(seconds ?? 0) / 60;
  return Math.ceil(total);
}

/** `90` → `1h30m`, `240` → `4h`, `45` → `45m`: how a person reads a duration in a message. */
export function formatMinutes(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest}m`;
  return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
}
