import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { AccessRequest } from '../../domain/access-request';
import type { ChainedAuditEvent } from '../../domain/audit-event';
import type { LiveGrant } from '../../domain/drift';
import type { DriftRun, ProviderResult, StoredFinding } from '../../domain/drift-run';
import type { Email } from '../../domain/email';
import type { RequestId } from '../../domain/request-id';
import type { DriftClaim, DriftRunRecord, PreviousDriftRun } from '../../ports/access-store';
import type { StoreDatabase } from './open-database';
import { accessRequests, auditEvents, driftRuns } from './schema';

// NB: arbitrary, fixed, and distinct from the audit append and migration lock keys.
const DRIFT_CLAIM_LOCK_KEY = 7_041_960_003;

type DriftRow = typeof driftRuns.$inferSelect;

/** The database or a transaction on it: both run the same queries. */
type Db = Pick<StoreDatabase, 'select' | 'insert' | 'update' | 'execute'>;

export async function selectLiveGrants(db: Db): Promise<LiveGrant[]> {
  const result = await db.execute(sql`
    SELECT r.id AS request_id, r.requester, r.role, r.provider, r.state, g.granted_at, g.expires_at
    FROM access_requests r LEFT JOIN grants g ON g.request_id = r.id
    WHERE (r.state IN ('active', 'revoking') AND g.request_id IS NOT NULL AND g.revoked_at IS NULL)
       OR (r.state = 'approved' AND r.kind = 'access')
    ORDER BY r.id`);
  type Row = { request_id: string; requester: string; role: string; provider: string; state: 'active' | 'revoking' | 'approved'; granted_at: string | Date | null; expires_at: string | Date | null };
  return (result as unknown as { rows: Row[] }).rows.map((row): LiveGrant => {
    const common = { requestId: row.request_id as RequestId, requester: row.requester as Email, role: row.role, provider: row.provider };
    if (row.state === 'approved' || row.granted_at === null || row.expires_at === null) return { ...common, state: 'approved' };
    return { ...common, state: row.state, grantedAt: new Date(row.granted_at), expiresAt: new Date(row.expires_at) };
  });
}

export async function claimDriftRun(db: StoreDatabase, claim: DriftClaim): Promise<{ claimed: number } | { busy: { id: number; startedAt: Date } } | { duplicate: true }> {
  return db.transaction(async (tx) => {
    // NB: claims are serialised, so "is one running?" and "start mine" cannot interleave between replicas.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${DRIFT_CLAIM_LOCK_KEY})`);
    await tx
      .update(driftRuns)
      .set({ state: 'abandoned', finishedAt: claim.now, leaseOwner: null, leaseUntil: null })
      .where(and(eq(driftRuns.state, 'running'), lt(driftRuns.leaseUntil, claim.now)));
    // NB: a lease that lapsed is free whatever the run's state (a process that died while revoking).
    const [holder] = await tx
      .select({ id: driftRuns.id, startedAt: driftRuns.startedAt })
      .from(driftRuns)
      .where(sql`${driftRuns.leaseUntil} > ${claim.now.toISOString()}::timestamptz`)
      .orderBy(asc(driftRuns.id))
      .limit(1);
    if (holder) return { busy: holder };
    const inserted = await tx
      .insert(driftRuns)
      .values({
        trigger: claim.trigger,
        scheduledFor: claim.scheduledFor ?? null,
        state: 'running',
        startedAt: claim.now,
        leaseOwner: claim.owner,
        leaseUntil: new Date(claim.now.getTime() + claim.leaseMs),
        approvesRun: claim.approvesRun ?? null,
      })
      .onConflictDoNothing({ target: driftRuns.scheduledFor })
      .returning({ id: driftRuns.id });
    const [row] = inserted;
    return row ? { claimed: row.id } : { duplicate: true as const };
  });
}

export async function endDriftRun(db: Db, id: number, owner: string, at: Date): Promise<void> {
  await db
    .update(driftRuns)
    .set({ state: sql`CASE WHEN ${driftRuns.state} = 'running' THEN 'failed'::drift_run_state ELSE ${driftRuns.state} END`, finishedAt: sql`COALESCE(${driftRuns.finishedAt}, ${at.toISOString()}::timestamptz)`, leaseOwner: null, leaseUntil: null })
    .where(and(eq(driftRuns.id, id), eq(driftRuns.leaseOwner, owner)));
}

export async function selectDriftRun(db: Db, id: number, lock = false): Promise<DriftRun | undefined> {
  const query = db.select().from(driftRuns).where(eq(driftRuns.id, id));
  const [row] = lock ? await query.for('update') : await query;
  return row && toDriftRun(row);
}

export async function selectDriftRuns(db: Db, limit: number): Promise<DriftRun[]> {
  const rows = await db.select().from(driftRuns).orderBy(desc(driftRuns.id)).limit(Math.max(0, Math.floor(limit)));
  return rows.map(toDriftRun);
}

export async function selectPreviousDriftRun(db: Db, id: number): Promise<PreviousDriftRun | undefined> {
  const [row] = await db
    .select({ findings: driftRuns.findings, held: driftRuns.held })
    .from(driftRuns)
    .where(and(lt(driftRuns.id, id), inArray(driftRuns.state, ['done', 'held', 'approved'])))
    .orderBy(desc(driftRuns.id))
    .limit(1);
  if (!row) return undefined;
  const findings = row.findings as StoredFinding[];
  return {
    keys: new Set(findings.map((f) => f.key)),
    failedKeys: new Set(findings.flatMap((f) => (f.kind === 'unexpected' && f.outcome === 'revoke_failed' ? [f.key] : []))),
    held: row.held,
  };
}

export async function writeDriftRun(db: Db, id: number, record: DriftRunRecord): Promise<void> {
  await db
    .update(driftRuns)
    .set({
      state: record.state,
      finishedAt: record.finishedAt,
      listed: record.listed,
      unexpected: record.unexpected,
      missing: record.missing,
      revoked: record.revoked,
      revokeFailed: record.revokeFailed,
      held: record.held,
      heldReason: record.heldReason ?? null,
      providers: { ...record.providers },
      findings: [...record.findings],
    })
    .where(eq(driftRuns.id, id));
}

export async function markDriftRunApproved(db: Db, id: number, by: Email, osUser: string | undefined, at: Date): Promise<boolean> {
  const updated = await db
    .update(driftRuns)
    .set({ state: 'approved', approvedBy: by, approvedAt: at, approvedOsUser: osUser ?? null })
    .where(and(eq(driftRuns.id, id), eq(driftRuns.state, 'held')))
    .returning({ id: driftRuns.id });
  return updated.length > 0;
}

function toDriftRun(row: DriftRow): DriftRun {
  return {
    id: row.id,
    trigger: row.trigger,
    ...(row.scheduledFor !== null ? { scheduledFor: row.scheduledFor } : {}),
    state: row.state,
    startedAt: row.startedAt,
    ...(row.finishedAt !== null ? { finishedAt: row.finishedAt } : {}),
    listed: row.listed,
    unexpected: row.unexpected,
    missing: row.missing,
    revoked: row.revoked,
    revokeFailed: row.revokeFailed,
    held: row.held,
    ...(row.heldReason !== null ? { heldReason: row.heldReason } : {}),
    ...(row.approvesRun !== null ? { approvesRun: row.approvesRun } : {}),
    ...(row.approvedBy !== null ? { approvedBy: row.approvedBy as Email } : {}),
    ...(row.approvedAt !== null ? { approvedAt: row.approvedAt } : {}),
    ...(row.approvedOsUser !== null ? { approvedOsUser: row.approvedOsUser } : {}),
    providers: row.providers as Record<string, ProviderResult>,
    findings: row.findings as StoredFinding[],
  };
}

/** Requests opened in [since, until), oldest first, after `after` (keyset on created_at, id). */
export async function selectRequestsOpenedBetween(
  db: Db,
  range: { since: Date; until: Date },
  after: { createdAt: Date; id: RequestId } | undefined,
  limit: number,
  withDetails: (rows: (typeof accessRequests.$inferSelect)[]) => Promise<AccessRequest[]>,
): Promise<AccessRequest[]> {
  const from = after ? sql`(${accessRequests.createdAt}, ${accessRequests.id}) > (${after.createdAt.toISOString()}::timestamptz, ${after.id})` : sql`${accessRequests.createdAt} >= ${range.since.toISOString()}::timestamptz`;
  const rows = await db
    .select()
    .from(accessRequests)
    .where(and(from, sql`${accessRequests.createdAt} >= ${range.since.toISOString()}::timestamptz`, sql`${accessRequests.createdAt} < ${range.until.toISOString()}::timestamptz`))
    .orderBy(asc(accessRequests.createdAt), asc(accessRequests.id))
    .limit(Math.max(0, Math.floor(limit)));
  return withDetails(rows);
}

export async function selectAuditEventsOfRequests(db: Db, ids: readonly RequestId[]): Promise<ChainedAuditEvent[]> {
  if (ids.length === 0) return [];
  const rows = await db.select().from(auditEvents).where(inArray(auditEvents.requestId, [...ids])).orderBy(asc(auditEvents.seq));
  return rows.map((row) => ({ ...row, data: row.data }));
}
