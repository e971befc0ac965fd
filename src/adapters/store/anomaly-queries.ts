import { and, desc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { Alert, Finding } from '../../domain/alert';
import type { Decision, LiveGrant, Opening } from '../../domain/anomalies/history';
import type { Minutes } from '../../domain/duration';
import type { Email } from '../../domain/email';
import type { RequestId } from '../../domain/request-id';
import type { StoreDatabase } from './open-database';
import { accessRequests, alertMessages, alerts } from './schema';

/**
 * The store's queries for alerts and for the anomaly rules' history windows. Each window is one
 * statement over an index (see schema.ts): the detection pass reads what is around what is new,
 * never a whole table.
 */

type AlertRow = typeof alerts.$inferSelect;
type RequestRow = typeof accessRequests.$inferSelect;
/** Maps request rows to requests with approvals, denial and grant (the store's own mapper). */
export type WithDetails = (db: StoreDatabase, rows: readonly RequestRow[]) => Promise<import('../../domain/access-request').AccessRequest[]>;

const DEFAULT_ALERT_LIMIT = 50;

export function toAlert(row: AlertRow): Alert {
  const origin = (row.acknowledgedOrigin ?? {}) as { via?: unknown; osUser?: unknown };
  return {
    id: row.id,
    rule: row.rule,
    severity: row.severity,
    key: row.dedupeKey,
    message: row.message,
    raisedAt: row.raisedAt,
    ...(row.requestId !== null && { requestId: row.requestId as RequestId }),
    ...(row.acknowledgedBy !== null &&
      row.acknowledgedAt !== null && {
        acknowledged: {
          by: row.acknowledgedBy as Email,
          at: row.acknowledgedAt,
          via: typeof origin.via === 'string' ? origin.via : 'unknown',
          ...(typeof origin.osUser === 'string' && { osUser: origin.osUser }),
        },
      }),
  };
}

export async function insertAlert(db: StoreDatabase, finding: Finding, at: Date): Promise<Alert | undefined> {
  // NB: ON CONFLICT DO NOTHING on the key: a second replica inserting the same key waits for the
  // first one's transaction and then inserts nothing (no error to abort the caller's transaction).
  const [row] = await db
    .insert(alerts)
    .values({ rule: finding.rule, severity: finding.severity, dedupeKey: finding.key, requestId: finding.requestId ?? null, raisedAt: at, message: finding.message })
    .onConflictDoNothing({ target: alerts.dedupeKey })
    .returning();
  return row ? toAlert(row) : undefined;
}

export async function selectAlert(db: StoreDatabase, id: number, lock: boolean): Promise<Alert | undefined> {
  const query = db.select().from(alerts).where(eq(alerts.id, id));
  const [row] = lock ? await query.for('update') : await query;
  return row ? toAlert(row) : undefined;
}

export async function setAcknowledged(db: StoreDatabase, id: number, by: Email, at: Date, origin: Readonly<Record<string, unknown>>): Promise<Alert> {
  const [row] = await db
    .update(alerts)
    .set({ acknowledgedBy: by, acknowledgedAt: at, acknowledgedOrigin: { ...origin } })
    .where(and(eq(alerts.id, id), isNull(alerts.acknowledgedAt)))
    .returning();
  if (row) return toAlert(row);
  const current = await selectAlert(db, id, false);
  if (!current) throw new Error(`bug: alert ${id} was acknowledged but does not exist`);
  return current;
}

export async function selectAlerts(db: StoreDatabase, filter: { readonly open?: boolean; readonly limit?: number }): Promise<Alert[]> {
  const rows = await db
    .select()
    .from(alerts)
    .where(filter.open ? isNull(alerts.acknowledgedAt) : undefined)
    .orderBy(desc(alerts.raisedAt), desc(alerts.id))
    .limit(Math.max(0, Math.floor(filter.limit ?? DEFAULT_ALERT_LIMIT)));
  return rows.map(toAlert);
}

export async function selectRaisedKeys(db: StoreDatabase, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db.select({ key: alerts.dedupeKey }).from(alerts).where(inArray(alerts.dedupeKey, [...new Set(keys)]));
  return new Set(rows.map((r) => r.key));
}

export async function selectAlertMessage(db: StoreDatabase, platform: string, id: number): Promise<{ channel: string; messageId: string } | undefined> {
  const [row] = await db
    .select({ channel: alertMessages.channel, messageId: alertMessages.messageId })
    .from(alertMessages)
    .where(and(eq(alertMessages.platform, platform), eq(alertMessages.alertId, id)));
  return row;
}

export async function insertAlertMessage(db: StoreDatabase, platform: string, id: number, ref: { channel: string; messageId: string }, at: Date): Promise<void> {
  await db.insert(alertMessages).values({ platform, alertId: id, channel: ref.channel, messageId: ref.messageId, postedAt: at }).onConflictDoNothing();
}

// NB: the window rules need only these facts of a request, read in one statement without its
// approvals and grant: the windows can hold thousands of requests.
const OPENING = sql.raw('r.id, r.kind, r.requester, r.role, r.ticket, r.duration_minutes, r.created_at');

interface OpeningRow {
  id: string;
  kind: 'access' | 'extension';
  requester: string;
  role: string;
  ticket: string;
  duration_minutes: number | string;
  created_at: string | Date;
}

function toOpening(row: OpeningRow): Opening {
  return {
    id: row.id as RequestId,
    kind: row.kind,
    requester: row.requester as Email,
    role: row.role,
    ticket: row.ticket,
    duration: Number(row.duration_minutes) as Minutes,
    createdAt: new Date(row.created_at),
  };
}

const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

export async function selectAccessRequestsOpened(
  db: StoreDatabase,
  match: { readonly requesters?: readonly Email[]; readonly roles?: readonly string[]; readonly tickets?: readonly string[] },
  since: Date,
  until: Date,
): Promise<Opening[]> {
  const any: SQL[] = [];
  // NB: each condition has its index ((requester|role|upper(ticket)), created_at); the planner ORs them.
  if (match.requesters?.length) any.push(sql`r.requester IN ${[...new Set(match.requesters)]}`);
  if (match.roles?.length) any.push(sql`r.role IN ${[...new Set(match.roles)]}`);
  if (match.tickets?.length) any.push(sql`upper(r.ticket) IN ${[...new Set(match.tickets.map((t) => t.trim().toUpperCase()))]}`);
  if (any.length === 0) return [];
  const result = await db.execute(sql`
    SELECT ${OPENING} FROM access_requests r
    WHERE r.kind = 'access' AND r.created_at > ${since.toISOString()}::timestamptz AND r.created_at <= ${until.toISOString()}::timestamptz
      AND (${sql.join(any, sql` OR `)})
    ORDER BY r.created_at, r.id`);
  return rowsOf<OpeningRow>(result).map(toOpening);
}

export async function selectAccessRequestsBefore(db: StoreDatabase, people: readonly { readonly person: Email; readonly before: Date }[], count: number): Promise<Opening[]> {
  if (people.length === 0 || count <= 0) return [];
  const pairs = JSON.stringify(people.map((p) => ({ person: p.person, before: p.before.toISOString() })));
  // NB: one index scan backwards per person (requester, created_at), however long their history.
  const result = await db.execute(sql`
    SELECT ${OPENING} FROM jsonb_to_recordset(${pairs}::jsonb) AS p(person text, before timestamptz)
    CROSS JOIN LATERAL (
      SELECT * FROM access_requests
      WHERE requester = p.person AND kind = 'access' AND created_at < p.before
      ORDER BY created_at DESC, id DESC
      LIMIT ${Math.floor(count)}
    ) r
    ORDER BY r.created_at, r.id`);
  return rowsOf<OpeningRow>(result).map(toOpening);
}

export async function selectDecisions(db: StoreDatabase, people: readonly Email[], since: Date, until: Date): Promise<Decision[]> {
  if (people.length === 0) return [];
  const who = [...new Set(people)];
  const from = since.toISOString();
  const to = until.toISOString();
  // NB: approvals by (approver, approved_at), denials by (denied_by, denied_at): two range scans.
  // Each approval finds its request by primary key; the LIMIT keeps it a probe per approval (as a
  // plain join the planner hashes the whole requests table for a few hundred rows).
  const result = await db.execute(sql`
    SELECT a.approver AS by, a.approved_at AS at, true AS approved, ${OPENING}
      FROM approvals a CROSS JOIN LATERAL (SELECT * FROM access_requests WHERE id = a.request_id LIMIT 1) r
      WHERE a.approver IN ${who} AND a.approved_at > ${from}::timestamptz AND a.approved_at <= ${to}::timestamptz
    UNION ALL
    SELECT r.denied_by, r.denied_at, false, ${OPENING}
      FROM access_requests r
      WHERE r.denied_by IN ${who} AND r.denied_at > ${from}::timestamptz AND r.denied_at <= ${to}::timestamptz
    ORDER BY at, id`);
  return rowsOf<OpeningRow & { by: string; at: string | Date; approved: boolean }>(result).map((row) => ({
    by: row.by as Email,
    at: new Date(row.at),
    approved: row.approved,
    request: toOpening(row),
  }));
}

export async function selectFirstGrants(
  db: StoreDatabase,
  pairs: readonly { readonly person: Email; readonly role: string }[],
): Promise<{ person: Email; role: string; requestId: RequestId }[]> {
  if (pairs.length === 0) return [];
  const wanted = JSON.stringify(pairs.map((p) => ({ person: p.person, role: p.role })));
  // NB: the first row of (principal, role, granted_at) per pair: one index probe each.
  const result = await db.execute(sql`
    SELECT p.person, p.role, g.request_id FROM (SELECT DISTINCT person, role FROM jsonb_to_recordset(${wanted}::jsonb) AS x(person text, role text)) p
    CROSS JOIN LATERAL (
      SELECT request_id FROM grants WHERE principal = p.person AND role = p.role ORDER BY granted_at, request_id LIMIT 1
    ) g`);
  return (result as unknown as { rows: { person: string; role: string; request_id: string }[] }).rows.map((row) => ({
    person: row.person as Email,
    role: row.role,
    requestId: row.request_id as RequestId,
  }));
}

export async function selectLiveGrantsNeedingAttention(db: StoreDatabase, withDetails: WithDetails, expiredBefore: Date): Promise<LiveGrant[]> {
  // NB: live grants are few (the state index finds them); among them, the overdue and the failing.
  const result = await db.execute(sql`
    SELECT g.request_id, g.revoke_attempts, g.last_error FROM grants g JOIN access_requests r ON r.id = g.request_id
    WHERE r.state IN ('active', 'revoking') AND g.revoked_at IS NULL
      AND (g.expires_at < ${expiredBefore.toISOString()}::timestamptz OR g.revoke_attempts > 0)
    ORDER BY g.expires_at, g.request_id`);
  const facts = (result as unknown as { rows: { request_id: string; revoke_attempts: number | string; last_error: string | null }[] }).rows;
  if (facts.length === 0) return [];
  const rows = await db.select().from(accessRequests).where(inArray(accessRequests.id, facts.map((f) => f.request_id)));
  const byId = new Map((await withDetails(db, rows)).map((r) => [r.id as string, r]));
  return facts.flatMap((f) => {
    const request = byId.get(f.request_id);
    return request ? [{ request, revokeAttempts: Number(f.revoke_attempts), ...(f.last_error !== null && { lastError: f.last_error }) }] : [];
  });
}
