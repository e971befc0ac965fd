import { asc, desc, sql, type SQL } from 'drizzle-orm';
import type { Checkpoint } from '../../domain/checkpoint';
import type { DigestFigures, Holding, LongGrant } from '../../domain/digest';
import { bucketCount } from '../../domain/digest';
import type { Period } from '../../domain/digest-schedule';
import type { PostedDigest, StoredCheckpoint } from '../../ports/access-store';
import type { StoreDatabase } from './open-database';
import { checkpoints, digests } from './schema';

/**
 * The digest's and the checkpoints' SQL, for `DrizzleAccessStore`. Every figure is an aggregate
 * computed by the database over the period's rows (indexed ranges on `audit_events.occurred_at`
 * and `access_requests.created_at`; one pass over the grants live in the period), never rows
 * carried into Node: the digest is benchmarked over 1,000,000 events and 100,000 requests.
 */

/** How many of the longest grants the digest names. */
const LONGEST = 5;

type Rows<T> = { rows: T[] };
const rowsOf = <T>(result: unknown): T[] => (result as Rows<T>).rows;
const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

function at(instant: Date): SQL {
  return sql`${instant.toISOString()}::timestamptz`;
}

/** Reads every figure; call it inside one transaction so that they come from one snapshot. */
export async function selectDigestFigures(db: StoreDatabase, period: Period, asOf: Date, bucketDays: number): Promise<DigestFigures> {
  const since = at(period.since);
  const until = at(period.until);
  const now = at(asOf);

  const [opened] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      SELECT count(*) FILTER (WHERE kind = 'access') AS opened,
             count(*) FILTER (WHERE kind = 'access' AND break_glass) AS break_glass,
             count(*) FILTER (WHERE kind = 'extension') AS extensions
      FROM access_requests WHERE created_at >= ${since} AND created_at < ${until}`),
  );

  // NB: one range scan of the period's events gives every count the log is the record of, and the
  // time each approved request waited (joined to its request for those rows only). Measured on
  // 1,000,000 events: a correlated subquery here instead made PostgreSQL JIT-compile the plan on its
  // cost estimate, which took longer than the scan itself (350 ms against 100 ms).
  const [events] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      SELECT count(*) FILTER (WHERE e.action = 'request_approved') AS approved,
             count(*) FILTER (WHERE e.action = 'request_denied') AS denied,
             count(*) FILTER (WHERE e.action = 'request_cancelled') AS cancelled,
             count(*) FILTER (WHERE e.action = 'request_timed_out') AS timed_out,
             count(*) FILTER (WHERE e.action = 'approval_recorded') AS approvals_given,
             count(*) FILTER (WHERE e.action = 'revocation_failed') AS revocation_failures,
             count(DISTINCT e.request_id) FILTER (WHERE e.action = 'revocation_failed') AS failing_grants,
             count(r.created_at) AS waits,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.occurred_at - r.created_at) * 1000) AS median,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM e.occurred_at - r.created_at) * 1000) AS p95
      FROM audit_events e
      LEFT JOIN access_requests r ON e.action = 'request_approved' AND r.id = e.request_id
      WHERE e.occurred_at >= ${since} AND e.occurred_at < ${until}`),
  );

  // NB: grants held at any time in the period: made before its end, and not revoked before its
  // start (a live grant runs until `asOf`). Hours count only the part inside the period. A grant's
  // principal is its requester's address (the store writes it so), which spares a join.
  const held = sql`
    SELECT g.request_id, g.principal AS requester, g.role, g.granted_at, g.revoked_at,
           coalesce(g.revoked_at, ${now}) AS ended_at
    FROM grants g
    WHERE g.granted_at < ${until} AND coalesce(g.revoked_at, ${now}) > ${since} AND g.granted_at < ${now}`;
  const holdings = rowsOf<{ role: string | null; requester: string | null; level: number | string; grants: unknown; hours: unknown }>(
    await db.execute(sql`
      WITH held AS (${held})
      SELECT role, requester, grouping(role, requester) AS level,
             count(*) FILTER (WHERE granted_at >= ${since}) AS grants,
             coalesce(sum(extract(epoch FROM least(ended_at, ${until}) - greatest(granted_at, ${since})) / 3600.0), 0) AS hours
      FROM held
      GROUP BY GROUPING SETS ((role), (requester), ())`),
  );
  const holding = (name: string | null, row: { grants: unknown; hours: unknown }): Holding => ({ name: name ?? '', grants: num(row.grants), hours: num(row.hours) });
  const byHours = (a: Holding, b: Holding) => b.hours - a.hours || b.grants - a.grants || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  // NB: grouping() sets a bit per column left out of the set: 1 = grouped by role, 2 = by requester, 3 = total.
  const byRole = holdings.filter((h) => num(h.level) === 1).map((h) => holding(h.role, h)).sort(byHours);
  const byPerson = holdings.filter((h) => num(h.level) === 2).map((h) => holding(h.requester, h)).sort(byHours);
  const total = holdings.find((h) => num(h.level) === 3);
  // NB: with nothing held the grand total row still comes back, with zero grants and no hours.
  const madeInPeriod = num(total?.grants);

  const longest = rowsOf<{ request_id: string; requester: string; role: string; granted_at: string | Date; hours: unknown; live: boolean }>(
    await db.execute(sql`
      WITH held AS (${held})
      SELECT request_id, requester, role, granted_at, revoked_at IS NULL AS live,
             extract(epoch FROM ended_at - granted_at) / 3600.0 AS hours
      FROM held ORDER BY ended_at - granted_at DESC, request_id LIMIT ${LONGEST}`),
  );
  const longestGrants: LongGrant[] = longest.map((row) => ({
    requestId: row.request_id,
    requester: row.requester,
    role: row.role,
    grantedAt: new Date(row.granted_at),
    hours: num(row.hours),
    live: row.live,
  }));

  const bucketSeconds = bucketDays * 86_400;
  const perBucket = rowsOf<{ bucket: number | string; grants: unknown }>(
    await db.execute(sql`
      SELECT floor(extract(epoch FROM granted_at - ${since}) / ${bucketSeconds})::int AS bucket, count(*) AS grants
      FROM grants WHERE granted_at >= ${since} AND granted_at < ${until}
      GROUP BY 1`),
  );
  const counts = new Array<number>(bucketCount(period, bucketDays)).fill(0);
  for (const row of perBucket) {
    const i = num(row.bucket);
    if (i >= 0 && i < counts.length) counts[i] = num(row.grants);
  }

  const alerts = await selectAlertFigures(db, since, until);
  const head = await selectAuditHeadBefore(db, period.until);

  const r = opened ?? {};
  const e = events ?? {};
  const approvedCount = num(e.waits);
  return {
    period,
    asOf,
    requests: {
      opened: num(r.opened),
      breakGlass: num(r.break_glass),
      extensions: num(r.extensions),
      approved: num(e.approved),
      denied: num(e.denied),
      cancelled: num(e.cancelled),
      timedOut: num(e.timed_out),
      approvalsGiven: num(e.approvals_given),
    },
    grants: { count: madeInPeriod, accessHours: num(total?.hours), byRole, byPerson },
    ...(approvedCount > 0 ? { timeToApprove: { count: approvedCount, medianMs: Math.round(num(e.median)), p95Ms: Math.round(num(e.p95)) } } : {}),
    longestGrants,
    alerts,
    revocationFailures: { attempts: num(e.revocation_failures), grants: num(e.failing_grants) },
    grantsPerDay: { bucketDays, counts },
    ...(head ? { head } : {}),
  };
}

/**
 * Alerts raised in the period by rule, how many of them are acknowledged, and how many of all are
 * open now.
 */
async function selectAlertFigures(db: StoreDatabase, since: SQL, until: SQL): Promise<DigestFigures['alerts']> {
  const kinds = rowsOf<{ kind: string; raised: unknown; acknowledged: unknown }>(
    await db.execute(sql`
      SELECT rule::text AS kind, count(*) AS raised, count(*) FILTER (WHERE acknowledged_at IS NOT NULL) AS acknowledged
      FROM alerts WHERE raised_at >= ${since} AND raised_at < ${until}
      GROUP BY rule ORDER BY count(*) DESC, rule::text`),
  );
  const byKind = kinds.map((k) => ({ kind: k.kind, count: num(k.raised) }));
  const raised = byKind.reduce((sum, k) => sum + k.count, 0);
  const [open] = rowsOf<{ open: unknown }>(await db.execute(sql`SELECT count(*) AS open FROM alerts WHERE acknowledged_at IS NULL`));
  return { raised, byKind, acknowledged: kinds.reduce((sum, k) => sum + num(k.acknowledged), 0), openNow: num(open?.open) };
}

/**
 * NB: by time, newest first, on the `occurred_at` index: one row read however long the log. Appends
 * never stamp an event earlier than the one before it, so this is also the highest seq before `until`.
 */
export async function selectAuditHeadBefore(db: StoreDatabase, until: Date): Promise<{ seq: number; hash: string } | undefined> {
  const [row] = rowsOf<{ seq: number | string; hash: string }>(
    await db.execute(sql`SELECT seq, hash FROM audit_events WHERE occurred_at < ${at(until)} ORDER BY occurred_at DESC, seq DESC LIMIT 1`),
  );
  return row && { seq: Number(row.seq), hash: row.hash };
}

export async function selectFirstAuditAt(db: StoreDatabase): Promise<Date | undefined> {
  const [row] = rowsOf<{ occurred_at: string | Date }>(await db.execute(sql`SELECT occurred_at FROM audit_events ORDER BY seq LIMIT 1`));
  return row ? new Date(row.occurred_at) : undefined;
}

export async function selectPostedDigest(db: StoreDatabase, period: string): Promise<PostedDigest | undefined> {
  const [row] = await db.select().from(digests).where(sql`${digests.period} = ${period}`);
  return row && { period: row.period, since: row.since, until: row.until, postedAt: row.postedAt, late: row.late };
}

export async function selectLatestDigestUntil(db: StoreDatabase): Promise<Date | undefined> {
  const [row] = await db.select({ until: digests.until }).from(digests).orderBy(desc(digests.until)).limit(1);
  return row?.until;
}

/** True when this transaction inserted the period's row; false when it was there (or another transaction committed it first). */
export async function insertDigestClaim(db: StoreDatabase, digest: PostedDigest): Promise<boolean> {
  const inserted = await db
    .insert(digests)
    .values({ period: digest.period, since: digest.since, until: digest.until, postedAt: digest.postedAt, late: digest.late })
    .onConflictDoNothing({ target: digests.period })
    .returning({ period: digests.period });
  return inserted.length === 1;
}

export async function insertCheckpoint(db: StoreDatabase, c: Checkpoint): Promise<number> {
  const [row] = await db
    .insert(checkpoints)
    .values({ period: c.period, seq: c.seq, hash: c.hash, signedAt: c.signedAt, keyId: c.keyId, signature: c.signature })
    .returning({ id: checkpoints.id });
  if (!row) throw new Error('bug: the checkpoint insert returned no id');
  return row.id;
}

export async function selectCheckpoints(db: StoreDatabase): Promise<StoredCheckpoint[]> {
  const rows = await db.select().from(checkpoints).orderBy(asc(checkpoints.id));
  return rows.map((row) => ({ id: row.id, period: row.period, seq: row.seq, hash: row.hash, signedAt: row.signedAt, keyId: row.keyId, signature: row.signature }));
}
