import { checkpointText, type Checkpoint } from './checkpoint';
import type { Period } from './digest-schedule';

/**
 * The weekly digest's figures for a period [since, until), as the store counts them (SQL
 * aggregates), and the plain text the security channel gets (the chat platforms escape it).
 */

/** Grants made and access held, for one role or one person. */
export interface Holding {
  /** The role, or the person's e-mail. */
  readonly name: string;
  /** Grants made in the period. */
  readonly grants: number;
  /** Hours of access held within the period, by grants made in it or before. */
  readonly hours: number;
}

/** One of the longest grants held during the period. */
export interface LongGrant {
  readonly requestId: string;
  readonly requester: string;
  readonly role: string;
  readonly grantedAt: Date;
  /** From the grant to its revocation, or to `now` while it is live: its whole length, not only the part inside the period. */
  readonly hours: number;
  readonly live: boolean;
}

export interface DigestFigures {
  readonly period: Period;
  /** The time the figures were read: live grants count up to it, and alerts are "open" as of it. */
  readonly asOf: Date;
  readonly requests: {
    /** Access requests opened in the period (break-glass included). */
    readonly opened: number;
    readonly breakGlass: number;
    /** Extensions asked for. */
    readonly extensions: number;
    /** Requests (and extensions) that got their last approval in the period. */
    readonly approved: number;
    readonly denied: number;
    readonly cancelled: number;
    readonly timedOut: number;
    /** Single approvals recorded, break-glass reviews included. */
    readonly approvalsGiven: number;
  };
  readonly grants: {
    /** Grants made in the period. */
    readonly count: number;
    /** Hours of access held within the period (a grant across an edge counts its part inside). */
    readonly accessHours: number;
    /** Most hours first. */
    readonly byRole: readonly Holding[];
    readonly byPerson: readonly Holding[];
  };
  /** From a request being opened to its last approval, over the approvals in the period; absent when there were none. */
  readonly timeToApprove?: { readonly count: number; readonly medianMs: number; readonly p95Ms: number };
  /** Longest first. */
  readonly longestGrants: readonly LongGrant[];
  readonly alerts: {
    readonly raised: number;
    readonly byKind: readonly { readonly kind: string; readonly count: number }[];
    /** Of those raised in the period, how many are acknowledged now; absent where alerts cannot be acknowledged. */
    readonly acknowledged?: number;
    /** Alerts of any period not acknowledged as of `asOf`; absent where alerts cannot be acknowledged. */
    readonly openNow?: number;
  };
  /** `revocation_failed` events in the period, and the grants they were about. */
  readonly revocationFailures: { readonly attempts: number; readonly grants: number };
  /** Grants made per bucket of `bucketDays` days from `since` (the last bucket may be shorter). */
  readonly grantsPerDay: { readonly bucketDays: number; readonly counts: readonly number[] };
  /** The audit chain's head at the end of the period: the last event that occurred before `until`. */
  readonly head?: { readonly seq: number; readonly hash: string };
}

const DAY_MS = 86_400_000;
/** At most this many bars in the per-day picture; longer windows get buckets of several days. */
const MAX_BARS = 62;

/** How many days each bar of the per-day picture covers, so that a long window stays one line. */
export function bucketDaysFor(period: Period): number {
  const days = Math.max(1, Math.ceil((period.until.getTime() - period.since.getTime()) / DAY_MS));
  return Math.max(1, Math.ceil(days / MAX_BARS));
}

/** The number of bars for a period and bucket size. */
export function bucketCount(period: Period, bucketDays: number): number {
  return Math.max(1, Math.ceil((period.until.getTime() - period.since.getTime()) / (bucketDays * DAY_MS)));
}

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/** `▁▃█`: zero is the lowest bar; any grant at all shows at least the second, the busiest the highest. */
export function sparkline(counts: readonly number[]): string {
  const max = Math.max(0, ...counts);
  return counts.map((n) => BARS[n <= 0 ? 0 : Math.min(7, Math.ceil((n / max) * 7))]).join('');
}

/** `45s`, `4m 10s`, `2h 5m`, `1d 3h`: two units at most, rounded down. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m, sec] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return sec > 0 ? `${m}m ${sec}s` : `${m}m`;
  return `${sec}s`;
}

export interface DigestTextOptions {
  /** The policy's time zone, for the period's edges and the day names. */
  readonly timezone: string;
  /** Posted after its time (the bot was down): when it is posted. */
  readonly lateAt?: Date;
  /** The signed checkpoint of `figures.head`, appended as the auditor copies it. */
  readonly checkpoint?: Checkpoint;
  /** Why the head is not signed (no key configured), said in place of the checkpoint. */
  readonly unsigned?: string;
  /**
   * Longest text: the lists are shortened until it fits (a Slack section holds 3,000 characters), and
   * the head and checkpoint are never cut.
   */
  readonly maxLength?: number;
}

// NB: 100 under Slack's 3,000 for what escaping adds (`&` in an address becomes `&amp;`).
const DEFAULT_MAX_LENGTH = 2_900;
const LIST_LENGTHS = [5, 3, 1, 0] as const;

/** The digest as plain text: one fact per line, lists shortened to fit `maxLength`. */
export function digestText(figures: DigestFigures, options: DigestTextOptions): string {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  let text = '';
  for (const limit of LIST_LENGTHS) {
    text = render(figures, options, limit);
    if (text.length <= maxLength) break;
  }
  return text;
}

function render(f: DigestFigures, o: DigestTextOptions, limit: number): string {
  const when = dateTime(o.timezone);
  const lines: string[] = [];
  const r = f.requests;
  lines.push(`Access digest for ${when(f.period.since)} to ${when(f.period.until)} (${o.timezone})${o.lateAt ? `, posted late (${when(o.lateAt)}): the bot was not running when it was due` : ''}`);
  lines.push(
    `Requests: ${r.opened} opened, ${r.extensions} extension${plural(r.extensions)} asked; ` +
      `${r.approved} approved (${r.approvalsGiven} approval${plural(r.approvalsGiven)} given), ${r.denied} denied, ${r.cancelled} cancelled, ${r.timedOut} timed out`,
  );
  lines.push(`Break-glass uses: ${r.breakGlass}`);
  lines.push(`Grants: ${f.grants.count} made, ${hours(f.grants.accessHours)} access-hours held in the period`);
  lines.push(...holdings('by role', f.grants.byRole, limit), ...holdings('by person', f.grants.byPerson, limit));
  const t = f.timeToApprove;
  lines.push(t ? `Time to approve: median ${formatSpan(t.medianMs)}, p95 ${formatSpan(t.p95Ms)} (${t.count} approval${plural(t.count)})` : 'Time to approve: nothing was approved');
  if (limit > 0 && f.longestGrants.length > 0) {
    lines.push('Longest grants:');
    for (const g of f.longestGrants.slice(0, limit)) {
      lines.push(`  ${g.requestId} ${g.role} for ${g.requester}: ${hours(g.hours)} h from ${when(g.grantedAt)}${g.live ? ', still live' : ''}`);
    }
  }
  const a = f.alerts;
  const kinds = a.byKind.map((k) => `${k.kind} ${k.count}`).join(', ');
  const acknowledged = a.acknowledged === undefined ? '' : `, ${a.acknowledged} of them acknowledged`;
  const open = a.openNow === undefined ? '' : `; ${a.openNow} open in all`;
  lines.push(`Alerts: ${a.raised} raised${kinds ? ` (${kinds})` : ''}${acknowledged}${open}`);
  const rf = f.revocationFailures;
  lines.push(`Revocation failures: ${rf.attempts} failed attempt${plural(rf.attempts)} on ${rf.grants} grant${plural(rf.grants)}`);
  const per = f.grantsPerDay;
  const day = weekday(o.timezone);
  const first = f.period.since;
  const lastBucketStart = new Date(first.getTime() + (per.counts.length - 1) * per.bucketDays * DAY_MS);
  const unit = per.bucketDays === 1 ? 'day' : `${per.bucketDays} days`;
  lines.push(`Grants per ${unit}, ${day(first)} to ${day(lastBucketStart)}: ${sparkline(per.counts)} (${per.counts.join(' ')})`);
  const head = f.head ? `${f.head.seq}:${f.head.hash}` : 'none (no event before the end of the period)';
  lines.push(`Audit chain head at the end of the period: ${head}`);
  if (o.checkpoint) lines.push(`Signed checkpoint (check it with openssl alone: README, "Signed checkpoints"):`, checkpointText(o.checkpoint).trimEnd());
  else if (o.unsigned) lines.push(`Not signed: ${o.unsigned}`);
  return lines.join('\n');
}

function holdings(label: string, list: readonly Holding[], limit: number): string[] {
  if (limit === 0 || list.length === 0) return [];
  const shown = list.slice(0, limit).map((h) => `${h.name} ${h.grants} grant${plural(h.grants)}, ${hours(h.hours)} h`);
  const more = list.length > limit ? `; and ${list.length - limit} more` : '';
  return [`  ${label}: ${shown.join('; ')}${more}`];
}

function hours(h: number): string {
  return (Math.round(h * 10) / 10).toFixed(1);
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}

function dateTime(timeZone: string): (at: Date) => string {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return (at) => format.format(at).replace(/,/g, '');
}

function weekday(timeZone: string): (at: Date) => string {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: 'numeric', month: 'short' });
  return (at) => format.format(at).replace(/,/g, '');
}
