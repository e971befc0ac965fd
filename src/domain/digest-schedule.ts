import { parse, type ParsedFields } from 'node-cron';

/**
 * The periods of the weekly digest: a digest posted at a fire time of the policy's cron schedule
 * (`detection.digest.schedule`, in the policy's time zone) covers [the fire before, this fire). The
 * default `0 9 * * 1` makes each period Monday 09:00 to the next Monday 09:00, local time.
 * NB: node-cron only looks forward; periods need the fires before an instant, so they are found here,
 * with node-cron's own parser and its rules (every field must match: day of month AND day of week).
 */

/** A half-open window [since, until) of time. */
export interface Period {
  readonly since: Date;
  readonly until: Date;
}

/** A schedule in a time zone, parsed once. */
export interface DigestSchedule {
  readonly expression: string;
  readonly timezone: string;
  readonly fields: NumericFields;
}

interface NumericFields {
  readonly second: readonly number[];
  readonly minute: readonly number[];
  readonly hour: readonly number[];
  readonly dayOfMonth: ReadonlySet<number>;
  readonly month: ReadonlySet<number>;
  readonly dayOfWeek: ReadonlySet<number>;
}

/** How far back a fire is looked for: a schedule with no fire in five years is not a digest schedule. */
const MAX_DAYS_BACK = 5 * 366;

/**
 * Why an expression cannot be a digest schedule (node-cron's `L`, `W` and `#` day tokens, which
 * the period computation does not support), or undefined when it can. Assumes node-cron validated it.
 */
export function digestScheduleProblem(expression: string): string | undefined {
  let fields: ParsedFields;
  try {
    fields = parse(expression);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const tokens = [...fields.dayOfMonth, ...fields.dayOfWeek].filter((v) => typeof v !== 'number');
  if (tokens.length > 0) return `uses ${tokens.map((t) => JSON.stringify(t)).join(', ')}: the digest schedule takes plain fields (numbers, ranges, lists, steps, names), not L, W or #`;
  return undefined;
}

/** Parses a schedule validated by the policy (see `digestScheduleProblem`); throws on anything else. */
export function digestSchedule(expression: string, timezone: string): DigestSchedule {
  const problem = digestScheduleProblem(expression);
  if (problem) throw new Error(`bug: digest schedule ${JSON.stringify(expression)} ${problem}`);
  const f = parse(expression);
  const desc = (values: readonly (number | string)[]) => [...(values as number[])].sort((a, b) => b - a);
  return {
    expression,
    timezone,
    fields: {
      second: desc(f.second),
      minute: desc(f.minute),
      hour: desc(f.hour),
      dayOfMonth: new Set(f.dayOfMonth as number[]),
      month: new Set(f.month),
      dayOfWeek: new Set(f.dayOfWeek as number[]),
    },
  };
}

/** The latest fire time at or before `at`, or undefined when there is none within five years. */
export function previousFire(schedule: DigestSchedule, at: Date): Date | undefined {
  const { fields, timezone } = schedule;
  const limit = Math.floor(at.getTime() / 1000) * 1000;
  // NB: wall-clock times later than `at`'s own (plus an hour, for the hour repeated when summer time
  // ends) cannot be at or before it, and are skipped without converting them.
  const now = localTime(new Date(limit), timezone);
  const ceiling = Date.UTC(now.year, now.month - 1, now.day, now.hour, now.minute, now.second) + 3_600_000;
  let day: LocalDate = { year: now.year, month: now.month, day: now.day };
  for (let i = 0; i < MAX_DAYS_BACK; i++, day = previousDay(day)) {
    if (!fields.month.has(day.month) || !fields.dayOfMonth.has(day.day) || !fields.dayOfWeek.has(weekday(day))) continue;
    for (const hour of fields.hour) {
      for (const minute of fields.minute) {
        for (const second of fields.second) {
          if (Date.UTC(day.year, day.month - 1, day.day, hour, minute, second) > ceiling) continue;
          const ts = localToInstant({ ...day, hour, minute, second }, timezone);
          if (ts !== undefined && ts <= limit) return new Date(ts);
        }
      }
    }
  }
  return undefined;
}

/** The period that ends at the latest fire at or before `at`: the last full period. */
export function lastFullPeriod(schedule: DigestSchedule, at: Date): Period | undefined {
  const until = previousFire(schedule, at);
  const since = until && previousFire(schedule, new Date(until.getTime() - 1000));
  return until && since ? { since, until } : undefined;
}

/**
 * The last `count` full periods at `at`, oldest first (fewer when the schedule runs out within five
 * years). Each ends where the next begins.
 */
export function recentPeriods(schedule: DigestSchedule, at: Date, count: number): Period[] {
  const periods: Period[] = [];
  let end = at;
  while (periods.length < count) {
    const period = lastFullPeriod(schedule, end);
    if (!period) break;
    periods.unshift(period);
    end = period.since;
  }
  return periods;
}

/** A period's key, the same on every replica: the ISO 8601 interval `since/until` in UTC. */
export function periodKey(period: Period): string {
  return `${period.since.toISOString()}/${period.until.toISOString()}`;
}

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

interface LocalTime extends LocalDate {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

// NB: building an Intl.DateTimeFormat costs far more than using one; one per time zone is kept.
const formats = new Map<string, Intl.DateTimeFormat>();
function formatIn(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formats.set(timeZone, format);
  }
  return format;
}

/** The wall-clock time of `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatIn(timeZone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

function previousDay(d: LocalDate): LocalDate {
  const prev = new Date(Date.UTC(d.year, d.month - 1, d.day - 1));
  return { year: prev.getUTCFullYear(), month: prev.getUTCMonth() + 1, day: prev.getUTCDate() };
}

function weekday(d: LocalDate): number {
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
}

/**
 * The instant (ms) at which `timeZone`'s clocks show `t`, or undefined when they never do (the hour
 * skipped when summer time starts). In the hour repeated when it ends, the first one.
 */
function localToInstant(t: LocalTime, timeZone: string): number | undefined {
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  const offsetAt = (ms: number) => {
    const l = localTime(new Date(ms), timeZone);
    return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - ms;
  };
  // NB: the offset a few hours either side covers both readings of a repeated hour; the earlier wins.
  const candidates = [...new Set([offsetAt(asUtc - 3 * 3_600_000), offsetAt(asUtc), offsetAt(asUtc + 3 * 3_600_000)])]
    .map((offset) => asUtc - offset)
    .filter((ms) => {
      const l = localTime(new Date(ms), timeZone);
      return l.year === t.year && l.month === t.month && l.day === t.day && l.hour === t.hour && l.minute === t.minute && l.second === t.second;
    })
    .sort((a, b) => a - b);
  return candidates[0];
}
