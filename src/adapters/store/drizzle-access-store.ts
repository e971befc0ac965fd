import { and, asc, desc, eq, gt, inArray, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { StoreError } from '../../app/errors';
import type { AccessRequest, Approval, GrantWindow } from '../../domain/access-request';
import { chainHash, GENESIS_HASH } from '../../domain/audit-chain';
import type { AuditEvent, ChainedAuditEvent, StoredAuditEvent } from '../../domain/audit-event';
import type { Minutes } from '../../domain/duration';
import type { Email } from '../../domain/email';
import type { RequestId } from '../../domain/request-id';
import type { Alert, Finding } from '../../domain/alert';
import type { Decision, LiveGrant as GrantNeedingAttention, Opening } from '../../domain/anomalies/history';
import type { Checkpoint } from '../../domain/checkpoint';
import type { DigestFigures } from '../../domain/digest';
import type { Period } from '../../domain/digest-schedule';
import type { LiveGrant } from '../../domain/drift';
import type { DriftRun } from '../../domain/drift-run';
import type {
  AccessStore,
  AuditStateGap,
  ClaimedGrant,
  ClaimedRevocation,
  DriftClaim,
  DriftRunRecord,
  NotificationCursor,
  NotificationCursorUpdate,
  PostedDigest,
  PreviousDriftRun,
  RequestFilter,
  StoredCheckpoint,
  StoreTransaction,
} from '../../ports/access-store';
import {
  insertCheckpoint,
  insertDigestClaim,
  selectAuditHeadBefore,
  selectCheckpoints,
  selectDigestFigures,
  selectFirstAuditAt,
  selectLatestDigestUntil,
  selectPostedDigest,
} from './digest-queries';
import {
  claimDriftRun,
  endDriftRun,
  markDriftRunApproved,
  selectAuditEventsOfRequests,
  selectDriftRun,
  selectDriftRuns,
  selectLiveGrants,
  selectPreviousDriftRun,
  selectRequestsOpenedBetween,
  writeDriftRun,
} from './drift-store';
import {
  insertAlert,
  insertAlertMessage,
  selectAccessRequestsBefore,
  selectAccessRequestsOpened,
  selectAlert,
  selectAlertMessage,
  selectAlerts,
  selectFirstGrants,
  selectLiveGrantsNeedingAttention,
  selectRaisedKeys,
  selectDecisions,
  setAcknowledged,
} from './anomaly-queries';
import { asStoreFailure, type StoreDatabase } from './open-database';
import * as schema from './schema';
import { accessRequests, activePolicy, approvals, auditEvents, chatDeliveries, chatMessages, grants, notificationCursors, policies } from './schema';

type StoreTx = PgTransaction<PgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;
type RequestRow = typeof accessRequests.$inferSelect;
type RequestInsert = typeof accessRequests.$inferInsert;

// NB: arbitrary, fixed, and distinct from the migration lock key in open-database.ts.
const AUDIT_APPEND_LOCK_KEY = 7_041_960_002;
const DEFAULT_LIST_LIMIT = 50;
// NB: a bind parameter per column per row; PostgreSQL allows 65,535 parameters per statement.
const AUDIT_INSERT_BATCH = 4_000;
// NB: the last error is for people reading the row; a provider's error text has no bound.
const MAX_LAST_ERROR_LENGTH = 2_000;

/**
 * `AccessStore` on Drizzle, for PGlite and PostgreSQL alike. Rows are mapped to domain types here
 * and never leave this file.
 */
export class DrizzleAccessStore implements AccessStore {
  private readonly closeDatabase: () => Promise<void>;

  /** `close` is what `close()` calls: usually the `close` of the `Database` that `db` came from. */
  constructor(
    private readonly db: StoreDatabase,
    options: { close?: () => Promise<void> } = {},
  ) {
    this.closeDatabase = options.close ?? (async () => undefined);
  }

  async transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    let thrownByWork: { error: unknown } | undefined;
    try {
      return await this.db.transaction(async (tx) => {
        try {
          return await work(new DrizzleStoreTransaction(tx));
        } catch (error) {
          thrownByWork = { error };
          throw error;
        }
      });
    } catch (error) {
      // NB: what the work throws comes back unchanged (its store calls already translate their own
      // failures); only BEGIN, COMMIT, ROLLBACK and getting a connection are translated here, so an
      // IAM provider's ECONNREFUSED inside a transaction is never mistaken for the database's.
      if (thrownByWork && thrownByWork.error === error) throw error;
      throw asStoreFailure(error, 'transaction');
    }
  }

  findRequest(id: RequestId): Promise<AccessRequest | undefined> {
    return guard('findRequest', async () => {
      const [row] = await this.db.select().from(accessRequests).where(eq(accessRequests.id, id));
      return row ? (await withDetails(this.db, [row]))[0] : undefined;
    });
  }

  listRequests(filter: RequestFilter): Promise<AccessRequest[]> {
    return guard('listRequests', () => selectRequests(this.db, filter));
  }

  auditHead(): Promise<{ seq: number; hash: string } | undefined> {
    return guard('auditHead', async () => {
      const head = await lastLink(this.db);
      return head && { seq: head.seq, hash: head.hash };
    });
  }

  readAudit(fromSeq: number, limit: number): Promise<ChainedAuditEvent[]> {
    return guard('readAudit', () => readAuditRange(this.db, fromSeq, fromSeq + Math.max(0, limit)));
  }

  readStoredAudit(fromSeq: number, limit: number): Promise<StoredAuditEvent[]> {
    return guard('readStoredAudit', () => readStoredAuditRange(this.db, fromSeq, fromSeq + Math.max(0, Math.floor(limit))));
  }

  readAuditBetween(range: { since?: Date; until?: Date }, afterSeq: number, limit: number): Promise<ChainedAuditEvent[]> {
    return guard('readAuditBetween', () => selectAudit(this.db, afterSeq, timeWindow(range), limit));
  }

  countAuditBetween(range: { since?: Date; until?: Date }): Promise<number> {
    return guard('countAuditBetween', async () => {
      const result = await this.db.execute(sql`SELECT count(*) AS n FROM audit_events WHERE ${timeWindow(range)}`);
      return Number((result as unknown as { rows: { n: number | string }[] }).rows[0]?.n ?? 0);
    });
  }

  auditEventAt(seq: number): Promise<ChainedAuditEvent | undefined> {
    return guard('auditEventAt', async () => (await selectAudit(this.db, seq - 1, sql`seq = ${seq}`, 1))[0]);
  }

  auditStateGaps(limit: number): Promise<{ total: number; first: AuditStateGap[] }> {
    return guard('auditStateGaps', () => selectAuditStateGaps(this.db, limit));
  }

  policyText(sha256: string): Promise<string | undefined> {
    return guard('policyText', () => readPolicyText(this.db, sha256));
  }

  activePolicySha(): Promise<string | undefined> {
    return guard('activePolicySha', () => readActivePolicySha(this.db));
  }

  digestFigures(period: Period, asOf: Date, bucketDays: number): Promise<DigestFigures> {
    // NB: one read-only snapshot, so the figures agree with each other while requests go on.
    return guard('digestFigures', () =>
      this.db.transaction((tx) => selectDigestFigures(tx, period, asOf, bucketDays), { isolationLevel: 'repeatable read', accessMode: 'read only' }),
    );
  }

  auditHeadBefore(until: Date): Promise<{ seq: number; hash: string } | undefined> {
    return guard('auditHeadBefore', () => selectAuditHeadBefore(this.db, until));
  }

  firstAuditAt(): Promise<Date | undefined> {
    return guard('firstAuditAt', () => selectFirstAuditAt(this.db));
  }

  postedDigest(period: string): Promise<PostedDigest | undefined> {
    return guard('postedDigest', () => selectPostedDigest(this.db, period));
  }

  latestDigestUntil(): Promise<Date | undefined> {
    return guard('latestDigestUntil', () => selectLatestDigestUntil(this.db));
  }

  checkpoints(): Promise<StoredCheckpoint[]> {
    return guard('checkpoints', () => selectCheckpoints(this.db));
  }

  claimDueRevocations(now: Date, owner: string, leaseMs: number, limit: number): Promise<ClaimedRevocation[]> {
    return guard('claimDueRevocations', async () => {
      const at = instantParam(now);
      const leaseUntil = instantParam(new Date(now.getTime() + Math.max(0, leaseMs)));
      // NB: one statement, so claiming is atomic. Rows another replica is claiming are skipped, not
      // waited for; a row it claimed and committed after our snapshot is re-checked against its new
      // version (lease taken) and dropped. Every condition that decides "already done or taken" is on
      // `grants` (the locked table), because only its columns are re-read after the lock: completing a
      // revocation sets `revoked_at` there in the same transaction as the request's `revoked` state.
      const result = await this.db.execute(sql`
        UPDATE grants SET lease_owner = ${owner}, lease_until = ${leaseUntil}
        WHERE request_id IN (
          SELECT g.request_id FROM grants g JOIN access_requests r ON r.id = g.request_id
          WHERE ((r.state = 'active' AND g.expires_at <= ${at}) OR r.state = 'revoking')
            AND g.revoked_at IS NULL
            AND (g.lease_until IS NULL OR g.lease_until <= ${at})
            AND (g.next_attempt_at IS NULL OR g.next_attempt_at <= ${at})
          ORDER BY g.expires_at, g.request_id
          LIMIT ${Math.max(0, Math.floor(limit))}
          FOR UPDATE OF g SKIP LOCKED
        )
        RETURNING request_id, revoke_attempts, expires_at`);
      const rows = (result as unknown as { rows: { request_id: string; revoke_attempts: number | string; expires_at: string | Date }[] }).rows;
      // NB: RETURNING comes back in no particular order; the oldest expiry goes first.
      return rows
        .map((row) => ({ requestId: row.request_id as RequestId, attempts: Number(row.revoke_attempts), expiresAt: new Date(row.expires_at).getTime() }))
        .sort((a, b) => a.expiresAt - b.expiresAt || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0))
        .map(({ requestId, attempts }) => ({ requestId, attempts }));
    });
  }

  releaseLease(id: RequestId, owner: string): Promise<void> {
    return guard('releaseLease', async () => {
      await this.db
        .update(grants)
        .set({ leaseOwner: null, leaseUntil: null })
        .where(and(eq(grants.requestId, id), eq(grants.leaseOwner, owner)));
    });
  }

  leaseOwners(): Promise<string[]> {
    return guard('leaseOwners', async () => {
      const result = await this.db.execute(sql`
        SELECT lease_owner AS owner FROM grants WHERE lease_owner IS NOT NULL
        UNION SELECT grant_lease_owner FROM access_requests WHERE grant_lease_owner IS NOT NULL
        UNION SELECT lease_owner FROM notification_cursors WHERE lease_owner IS NOT NULL`);
      return (result as unknown as { rows: { owner: string }[] }).rows.map((row) => row.owner);
    });
  }

  releaseLeasesOf(owners: readonly string[]): Promise<number> {
    return guard('releaseLeasesOf', async () => {
      if (owners.length === 0) return 0;
      const list = [...owners];
      const released = await this.db.transaction(async (tx) => {
        const a = await tx.update(grants).set({ leaseOwner: null, leaseUntil: null }).where(inArray(grants.leaseOwner, list)).returning({ id: grants.requestId });
        const b = await tx
          .update(accessRequests)
          .set({ grantLeaseOwner: null, grantLeaseUntil: null })
          .where(inArray(accessRequests.grantLeaseOwner, list))
          .returning({ id: accessRequests.id });
        const c = await tx
          .update(notificationCursors)
          .set({ leaseOwner: null, leaseUntil: null })
          .where(inArray(notificationCursors.leaseOwner, list))
          .returning({ id: notificationCursors.notifier });
        return a.length + b.length + c.length;
      });
      return released;
    });
  }

  recordRevocationFailure(id: RequestId, owner: string, error: string, nextAttemptAt: Date, options?: { readonly countAttempt?: boolean }): Promise<number> {
    return guard('recordRevocationFailure', () => recordFailedAttempt(this.db, REVOCATION_WORK, id, owner, error, nextAttemptAt, options?.countAttempt ?? true));
  }

  claimDueGrants(now: Date, owner: string, leaseMs: number, limit: number): Promise<ClaimedGrant[]> {
    return guard('claimDueGrants', async () => {
      const at = instantParam(now);
      const leaseUntil = instantParam(new Date(now.getTime() + Math.max(0, leaseMs)));
      // NB: as in claimDueRevocations, every condition is on the locked row itself, so a row granted
      // or claimed by another replica after our snapshot is re-checked and dropped.
      const result = await this.db.execute(sql`
        UPDATE access_requests SET grant_lease_owner = ${owner}, grant_lease_until = ${leaseUntil}
        WHERE id IN (
          SELECT id FROM access_requests
          WHERE state = 'approved' AND kind = 'access'
            AND (grant_lease_until IS NULL OR grant_lease_until <= ${at})
            AND (next_grant_at IS NULL OR next_grant_at <= ${at})
          ORDER BY created_at, id
          LIMIT ${Math.max(0, Math.floor(limit))}
          FOR UPDATE SKIP LOCKED
        )
        AND state = 'approved'
        RETURNING id, grant_attempts`);
      const rows = (result as unknown as { rows: { id: string; grant_attempts: number | string }[] }).rows;
      return rows.map((row) => ({ requestId: row.id as RequestId, attempts: Number(row.grant_attempts) }));
    });
  }

  releaseGrantLease(id: RequestId, owner: string): Promise<void> {
    return guard('releaseGrantLease', async () => {
      await this.db
        .update(accessRequests)
        .set({ grantLeaseOwner: null, grantLeaseUntil: null })
        .where(and(eq(accessRequests.id, id), eq(accessRequests.grantLeaseOwner, owner)));
    });
  }

  recordGrantFailure(id: RequestId, owner: string, error: string, nextAttemptAt: Date): Promise<number> {
    return guard('recordGrantFailure', () => recordFailedAttempt(this.db, GRANT_WORK, id, owner, error, nextAttemptAt));
  }

  unreviewedBreakGlass(now: Date, limit: number): Promise<RequestId[]> {
    return guard('unreviewedBreakGlass', async () => {
      const result = await this.db.execute(sql`
        SELECT r.id FROM access_requests r
        WHERE r.break_glass AND r.decision_deadline <= ${instantParam(now)}
          AND r.state IN ('active', 'revoking', 'revoked')
          AND (SELECT count(*) FROM approvals a WHERE a.request_id = r.id) < r.approvals_required
          AND NOT EXISTS (SELECT 1 FROM alerts x WHERE x.dedupe_key = 'break_glass_unreviewed:' || r.id)
        ORDER BY r.decision_deadline, r.id
        LIMIT ${Math.max(0, Math.floor(limit))}`);
      return (result as unknown as { rows: { id: string }[] }).rows.map((row) => row.id as RequestId);
    });
  }

  claimNotificationCursor(notifier: string, owner: string, now: Date, leaseMs: number): Promise<NotificationCursor | undefined> {
    return guard('claimNotificationCursor', async () => {
      const at = instantParam(now);
      const leaseUntil = instantParam(new Date(now.getTime() + Math.max(0, leaseMs)));
      // NB: a new notifier starts at the end of the log; ON CONFLICT leaves an existing cursor alone.
      await this.db.execute(sql`
        INSERT INTO notification_cursors (notifier, last_seq)
        VALUES (${notifier}, COALESCE((SELECT max(seq) FROM audit_events), 0))
        ON CONFLICT (notifier) DO NOTHING`);
      const result = await this.db.execute(sql`
        UPDATE notification_cursors SET lease_owner = ${owner}, lease_until = ${leaseUntil}
        WHERE notifier = ${notifier}
          AND (lease_until IS NULL OR lease_until <= ${at} OR lease_owner = ${owner})
          AND (next_attempt_at IS NULL OR next_attempt_at <= ${at})
        RETURNING last_seq, attempts`);
      const [row] = (result as unknown as { rows: { last_seq: number | string; attempts: number | string }[] }).rows;
      return row && { lastSeq: Number(row.last_seq), attempts: Number(row.attempts) };
    });
  }

  startNotificationCursor(notifier: string, since: Date): Promise<void> {
    return guard('startNotificationCursor', async () => {
      // NB: the NOT EXISTS keeps the look-up off every later call; OFFSET 0 keeps min(seq) a range
      // scan of the recent events by time (as a "first by seq" plan it walks the whole log).
      await this.db.execute(sql`
        INSERT INTO notification_cursors (notifier, last_seq)
        SELECT ${notifier}, COALESCE(
          (SELECT min(seq) - 1 FROM (SELECT seq FROM audit_events WHERE occurred_at >= ${instantParam(since)} OFFSET 0) recent),
          (SELECT max(seq) FROM audit_events),
          0)
        WHERE NOT EXISTS (SELECT 1 FROM notification_cursors WHERE notifier = ${notifier})
        ON CONFLICT (notifier) DO NOTHING`);
    });
  }

  saveNotificationCursor(notifier: string, owner: string, cursor: NotificationCursorUpdate): Promise<void> {
    return guard('saveNotificationCursor', async () => {
      await this.db
        .update(notificationCursors)
        .set({
          lastSeq: cursor.lastSeq,
          attempts: cursor.attempts,
          nextAttemptAt: cursor.nextAttemptAt ?? null,
          lastError: cursor.lastError?.slice(0, MAX_LAST_ERROR_LENGTH) ?? null,
          leaseOwner: null,
          leaseUntil: null,
        })
        .where(and(eq(notificationCursors.notifier, notifier), eq(notificationCursors.leaseOwner, owner)));
    });
  }

  claimTimedOutRequests(now: Date, limit: number): Promise<RequestId[]> {
    return guard('claimTimedOutRequests', async () => {
      const rows = await this.db
        .select({ id: accessRequests.id })
        .from(accessRequests)
        .where(and(eq(accessRequests.state, 'pending'), lte(accessRequests.decisionDeadline, now)))
        .orderBy(asc(accessRequests.decisionDeadline), asc(accessRequests.id))
        .limit(Math.max(0, Math.floor(limit)))
        .for('update', { skipLocked: true });
      return rows.map((row) => row.id as RequestId);
    });
  }

  nextExpiry(after: Date): Promise<Date | undefined> {
    return guard('nextExpiry', async () => {
      const [row] = await this.db
        .select({ expiresAt: grants.expiresAt })
        .from(grants)
        .innerJoin(accessRequests, eq(accessRequests.id, grants.requestId))
        .where(and(eq(accessRequests.state, 'active'), gt(grants.expiresAt, after)))
        .orderBy(asc(grants.expiresAt))
        .limit(1);
      return row?.expiresAt;
    });
  }

  chatCard(platform: string, id: RequestId): Promise<{ channel: string; messageId: string } | undefined> {
    return guard('chatCard', async () => {
      const [row] = await this.db
        .select({ channel: chatMessages.channel, messageId: chatMessages.messageId })
        .from(chatMessages)
        .where(and(eq(chatMessages.platform, platform), eq(chatMessages.requestId, id)));
      return row;
    });
  }

  recordChatCard(platform: string, id: RequestId, ref: { channel: string; messageId: string }, at: Date): Promise<void> {
    return guard('recordChatCard', async () => {
      await this.db.insert(chatMessages).values({ platform, requestId: id, channel: ref.channel, messageId: ref.messageId, postedAt: at }).onConflictDoNothing();
    });
  }

  recordChatDelivery(key: string, at: Date, forgetBefore: Date): Promise<boolean> {
    return guard('recordChatDelivery', async () => {
      // NB: the old rows go first, in their own statement: a key seen before the window may be
      // recorded again (the platform's signature check refuses payloads that old anyway). Only
      // rows of the key's own platform (`slack:…`, `teams:…`): each platform has its own window.
      const platform = key.slice(0, key.indexOf(':') + 1);
      await this.db.delete(chatDeliveries).where(and(lt(chatDeliveries.receivedAt, forgetBefore), sql`starts_with(${chatDeliveries.key}, ${platform})`));
      const inserted = await this.db.insert(chatDeliveries).values({ key, receivedAt: at }).onConflictDoNothing().returning({ key: chatDeliveries.key });
      return inserted.length === 1;
    });
  }

  requestsOpenedBetween(range: { since: Date; until: Date }, after: { createdAt: Date; id: RequestId } | undefined, limit: number): Promise<AccessRequest[]> {
    return guard('requestsOpenedBetween', () => selectRequestsOpenedBetween(this.db, range, after, limit, (rows) => withDetails(this.db, rows)));
  }

  auditEventsOfRequests(ids: readonly RequestId[]): Promise<ChainedAuditEvent[]> {
    return guard('auditEventsOfRequests', () => selectAuditEventsOfRequests(this.db, ids));
  }

  liveGrants(): Promise<LiveGrant[]> {
    return guard('liveGrants', () => selectLiveGrants(this.db));
  }

  claimDriftRun(claim: DriftClaim): Promise<{ claimed: number } | { busy: { id: number; startedAt: Date } } | { duplicate: true }> {
    return guard('claimDriftRun', () => claimDriftRun(this.db, claim));
  }

  endDriftRun(id: number, owner: string, at: Date): Promise<void> {
    return guard('endDriftRun', () => endDriftRun(this.db, id, owner, at));
  }

  driftRun(id: number): Promise<DriftRun | undefined> {
    return guard('driftRun', () => selectDriftRun(this.db, id));
  }

  listDriftRuns(limit: number): Promise<DriftRun[]> {
    return guard('listDriftRuns', () => selectDriftRuns(this.db, limit));
  }

  previousDriftRun(id: number): Promise<PreviousDriftRun | undefined> {
    return guard('previousDriftRun', () => selectPreviousDriftRun(this.db, id));
  }

  findAlert(id: number): Promise<Alert | undefined> {
    return guard('findAlert', () => selectAlert(this.db, id, false));
  }

  listAlerts(filter: { readonly open?: boolean; readonly limit?: number }): Promise<Alert[]> {
    return guard('listAlerts', () => selectAlerts(this.db, filter));
  }

  raisedAlertKeys(keys: readonly string[]): Promise<Set<string>> {
    return guard('raisedAlertKeys', () => selectRaisedKeys(this.db, keys));
  }

  alertMessage(platform: string, id: number): Promise<{ channel: string; messageId: string } | undefined> {
    return guard('alertMessage', () => selectAlertMessage(this.db, platform, id));
  }

  recordAlertMessage(platform: string, id: number, ref: { channel: string; messageId: string }, at: Date): Promise<void> {
    return guard('recordAlertMessage', () => insertAlertMessage(this.db, platform, id, ref, at));
  }

  accessRequestsOpened(match: { readonly requesters?: readonly Email[]; readonly roles?: readonly string[]; readonly tickets?: readonly string[] }, since: Date, until: Date): Promise<Opening[]> {
    return guard('accessRequestsOpened', () => selectAccessRequestsOpened(this.db, match, since, until));
  }

  accessRequestsBefore(people: readonly { readonly person: Email; readonly before: Date }[], count: number): Promise<Opening[]> {
    return guard('accessRequestsBefore', () => selectAccessRequestsBefore(this.db, people, count));
  }

  decisionsBy(people: readonly Email[], since: Date, until: Date): Promise<Decision[]> {
    return guard('decisionsBy', () => selectDecisions(this.db, people, since, until));
  }

  firstGrantsOf(pairs: readonly { readonly person: Email; readonly role: string }[]): Promise<{ person: Email; role: string; requestId: RequestId }[]> {
    return guard('firstGrantsOf', () => selectFirstGrants(this.db, pairs));
  }

  liveGrantsNeedingAttention(expiredBefore: Date): Promise<GrantNeedingAttention[]> {
    return guard('liveGrantsNeedingAttention', () => selectLiveGrantsNeedingAttention(this.db, withDetails, expiredBefore));
  }

  ping(): Promise<void> {
    return guard('ping', async () => {
      await this.db.execute(sql`SELECT 1`);
    });
  }

  close(): Promise<void> {
    return this.closeDatabase();
  }
}

class DrizzleStoreTransaction implements StoreTransaction {
  constructor(private readonly tx: StoreTx) {}

  lockRequest(id: RequestId): Promise<AccessRequest | undefined> {
    return guard('lockRequest', async () => (await this.lock([id]))[0]);
  }

  lockRequests(ids: readonly RequestId[]): Promise<AccessRequest[]> {
    return guard('lockRequests', () => this.lock(ids));
  }

  listRequests(filter: RequestFilter): Promise<AccessRequest[]> {
    return guard('listRequests', () => selectRequests(this.tx, filter));
  }

  insertRequest(request: AccessRequest): Promise<void> {
    return guard('insertRequest', () => this.insert(request));
  }

  saveRequest(request: AccessRequest): Promise<AccessRequest> {
    return guard('saveRequest', async () => (await this.save([request]))[0] as AccessRequest);
  }

  saveRequests(requests: readonly AccessRequest[]): Promise<AccessRequest[]> {
    return guard('saveRequests', () => this.save(requests));
  }

  appendAudit(events: readonly AuditEvent[], at: Date): Promise<ChainedAuditEvent[]> {
    return guard('appendAudit', () => this.append(events, at));
  }

  recordPolicy(sha256: string, text: string, at: Date): Promise<void> {
    return guard('recordPolicy', () => this.record(sha256, text, at));
  }

  activePolicySha(): Promise<string | undefined> {
    return guard('activePolicySha', () => readActivePolicySha(this.tx));
  }

  policyText(sha256: string): Promise<string | undefined> {
    return guard('policyText', () => readPolicyText(this.tx, sha256));
  }

  recordGrantsRevoked(revoked: readonly { id: RequestId; accessRemoved: boolean }[], at: Date): Promise<void> {
    return guard('recordGrantsRevoked', async () => {
      if (revoked.length === 0) return;
      const rows = JSON.stringify(revoked.map((r) => ({ id: r.id, removed: r.accessRemoved })));
      await this.tx.execute(sql`
        UPDATE grants AS g SET revoked_at = ${instantParam(at)}, access_removed = v.removed,
          lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL
        FROM jsonb_to_recordset(${rows}::jsonb) AS v(id text, removed boolean)
        WHERE g.request_id = v.id AND g.revoked_at IS NULL`);
    });
  }

  leaseGrant(id: RequestId, owner: string, until: Date): Promise<void> {
    return guard('leaseGrant', async () => {
      await this.tx.update(accessRequests).set({ grantLeaseOwner: owner, grantLeaseUntil: until }).where(eq(accessRequests.id, id));
    });
  }

  raiseAlert(finding: Finding, at: Date): Promise<Alert | undefined> {
    return guard('raiseAlert', () => insertAlert(this.tx, finding, at));
  }

  lockAlert(id: number): Promise<Alert | undefined> {
    return guard('lockAlert', () => selectAlert(this.tx, id, true));
  }

  acknowledgeAlert(id: number, by: Email, at: Date, origin: Readonly<Record<string, unknown>>): Promise<Alert> {
    return guard('acknowledgeAlert', () => setAcknowledged(this.tx, id, by, at, origin));
  }

  claimDigest(digest: PostedDigest): Promise<boolean> {
    return guard('claimDigest', () => insertDigestClaim(this.tx, digest));
  }

  digestFigures(period: Period, asOf: Date, bucketDays: number): Promise<DigestFigures> {
    return guard('digestFigures', () => selectDigestFigures(this.tx, period, asOf, bucketDays));
  }

  auditHead(): Promise<{ seq: number; hash: string } | undefined> {
    return guard('auditHead', async () => {
      const head = await lastLink(this.tx);
      return head && { seq: head.seq, hash: head.hash };
    });
  }

  auditHeadBefore(until: Date): Promise<{ seq: number; hash: string } | undefined> {
    return guard('auditHeadBefore', () => selectAuditHeadBefore(this.tx, until));
  }

  recordCheckpoint(checkpoint: Checkpoint): Promise<number> {
    return guard('recordCheckpoint', () => insertCheckpoint(this.tx, checkpoint));
  }

  recordDriftRun(id: number, record: DriftRunRecord): Promise<void> {
    return guard('recordDriftRun', () => writeDriftRun(this.tx, id, record));
  }

  lockDriftRun(id: number): Promise<DriftRun | undefined> {
    return guard('lockDriftRun', () => selectDriftRun(this.tx, id, true));
  }

  approveDriftRun(id: number, by: Email, osUser: string | undefined, at: Date): Promise<boolean> {
    return guard('approveDriftRun', () => markDriftRunApproved(this.tx, id, by, osUser, at));
  }

  claimExpiryNotices(now: Date, until: Date, limit: number): Promise<RequestId[]> {
    return guard('claimExpiryNotices', async () => {
      const result = await this.tx.execute(sql`
        UPDATE grants SET expiry_notice_at = ${instantParam(now)}
        WHERE request_id IN (
          SELECT g.request_id FROM grants g JOIN access_requests r ON r.id = g.request_id
          WHERE r.state = 'active' AND g.revoked_at IS NULL AND g.expiry_notice_at IS NULL
            AND g.expires_at > ${instantParam(now)} AND g.expires_at <= ${instantParam(until)}
          ORDER BY g.expires_at, g.request_id
          LIMIT ${Math.max(0, Math.floor(limit))}
          FOR UPDATE OF g SKIP LOCKED
        )
        AND expiry_notice_at IS NULL
        RETURNING request_id`);
      return (result as unknown as { rows: { request_id: string }[] }).rows.map((row) => row.request_id as RequestId);
    });
  }

  private async insert(request: AccessRequest): Promise<void> {
    // NB: ON CONFLICT instead of catching 23505: an error would abort the whole transaction, and
    // the caller may want to retry with a fresh id inside it.
    const inserted = await this.tx
      .insert(accessRequests)
      .values(requestColumns(request))
      .onConflictDoNothing({ target: accessRequests.id })
      .returning({ id: accessRequests.id });
    if (inserted.length === 0) throw new StoreError('duplicate_id', `request id ${request.id} is already taken`);
    await this.writeDetails([request]);
  }

  /**
   * Locks the rows in id order (so two lockers of overlapping sets cannot deadlock), then reads their
   * details. NB: details are read by later statements: in READ COMMITTED each statement sees what was
   * committed before it started, so after waiting for the locks they include the holders' writes (a
   * join in the locking statement would keep its pre-lock snapshot of the joined tables).
   */
  private async lock(ids: readonly RequestId[]): Promise<AccessRequest[]> {
    if (ids.length === 0) return [];
    const rows = await this.tx
      .select()
      .from(accessRequests)
      .where(inArray(accessRequests.id, [...ids]))
      .orderBy(asc(accessRequests.id))
      .for('update');
    const byId = new Map((await withDetails(this.tx, rows)).map((r) => [r.id as string, r]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** One UPDATE for all the rows, each checked against its version; then their details. */
  private async save(requests: readonly AccessRequest[]): Promise<AccessRequest[]> {
    if (requests.length === 0) return [];
    const rows = JSON.stringify(
      requests.map((request) => {
        const c = requestColumns(request);
        return {
          id: c.id,
          version: c.version,
          role: c.role,
          provider: c.provider,
          target: c.target,
          duration_minutes: c.durationMinutes,
          ticket: c.ticket,
          reason: c.reason,
          break_glass: c.breakGlass,
          state: c.state,
          approvals_required: c.approvalsRequired,
          decision_deadline: iso(c.decisionDeadline),
          denied_by: c.deniedBy,
          denied_at: iso(c.deniedAt),
          denial_reason: c.denialReason,
          ended_at: iso(c.endedAt),
          end_cause: c.endCause,
          ended_by: c.endedBy,
          denied_os_user: c.deniedOsUser,
          ended_os_user: c.endedOsUser,
          policy_sha: c.policySha,
        };
      }),
    );
    const result = await this.tx.execute(sql`
      UPDATE access_requests AS r SET
        role = v.role, provider = v.provider, target = v.target, duration_minutes = v.duration_minutes,
        ticket = v.ticket, reason = v.reason, break_glass = v.break_glass, state = v.state::request_state,
        approvals_required = v.approvals_required, decision_deadline = v.decision_deadline,
        denied_by = v.denied_by, denied_at = v.denied_at, denial_reason = v.denial_reason,
        ended_at = v.ended_at, end_cause = v.end_cause::end_cause, ended_by = v.ended_by,
        denied_os_user = v.denied_os_user, ended_os_user = v.ended_os_user,
        policy_sha = v.policy_sha, version = r.version + 1
      FROM jsonb_to_recordset(${rows}::jsonb) AS v(
        id text, version integer, role text, provider text, target jsonb, duration_minutes integer,
        ticket text, reason text, break_glass boolean, state text, approvals_required integer,
        decision_deadline timestamptz, denied_by text, denied_at timestamptz, denial_reason text,
        ended_at timestamptz, end_cause text, ended_by text, denied_os_user text, ended_os_user text, policy_sha text)
      WHERE r.id = v.id AND r.version = v.version
      RETURNING r.id`);
    const saved = new Set((result as unknown as { rows: { id: string }[] }).rows.map((row) => row.id));
    const conflict = requests.find((request) => !saved.has(request.id));
    if (conflict) {
      throw new StoreError('version_conflict', `request ${conflict.id} was changed by someone else (expected version ${conflict.version})`);
    }
    await this.writeDetails(requests);
    return requests.map((request) => ({ ...request, version: request.version + 1 }));
  }

  private async append(events: readonly AuditEvent[], at: Date): Promise<ChainedAuditEvent[]> {
    if (events.length === 0) return [];
    // NB: the lock and the read of the head are separate statements: in READ COMMITTED a statement's
    // snapshot is taken when it starts, so a read in the locking statement could miss the head that
    // the previous lock holder committed while we waited.
    await this.tx.execute(sql`SELECT pg_advisory_xact_lock(${AUDIT_APPEND_LOCK_KEY})`);
    const head = await lastLink(this.tx);
    let seq = head?.seq ?? 0;
    let prevHash = head?.hash ?? GENESIS_HASH;
    // NB: time never runs backwards along the chain: `at` was read before the lock was taken, so a
    // writer that waited could otherwise follow an event stamped later than its own. Exports by
    // time window then stay contiguous in seq, and verify.
    const occurredAt = new Date(Math.max(at.getTime(), head?.occurredAt.getTime() ?? 0));
    const chained = events.map((event): ChainedAuditEvent => {
      seq += 1;
      // NB: hash exactly what jsonb will give back (drops `undefined`, turns Dates into strings, …).
      const data = JSON.parse(JSON.stringify(event.data)) as Record<string, unknown>;
      const fields = { seq, occurredAt, actor: event.actor, action: event.action, requestId: event.requestId ?? null, data };
      const hash = chainHash(prevHash, fields);
      const link = { ...fields, prevHash, hash };
      prevHash = hash;
      return link;
    });
    for (let i = 0; i < chained.length; i += AUDIT_INSERT_BATCH) {
      await this.tx.insert(auditEvents).values(chained.slice(i, i + AUDIT_INSERT_BATCH));
    }
    return chained;
  }

  private async record(sha256: string, text: string, at: Date): Promise<void> {
    await this.tx.insert(policies).values({ sha256, text, firstActivatedAt: at }).onConflictDoNothing();
    await this.tx
      .insert(activePolicy)
      .values({ id: 1, sha256, activatedAt: at })
      .onConflictDoUpdate({
        target: activePolicy.id,
        set: { sha256, activatedAt: at },
        // NB: re-recording the policy already in force keeps the time it was activated.
        setWhere: sql`${activePolicy.sha256} <> ${sha256}`,
      });
  }

  /** New approvals (existing ones are left alone) and grant windows, for all the requests at once. */
  private async writeDetails(requests: readonly AccessRequest[]): Promise<void> {
    const approvalRows = requests.flatMap((request) =>
      request.approvals.map((a) => ({ requestId: request.id, approver: a.approver, approvedAt: a.at, osUser: a.osUser ?? null })),
    );
    if (approvalRows.length > 0) {
      await this.tx.insert(approvals).values(approvalRows).onConflictDoNothing({ target: [approvals.requestId, approvals.approver] });
    }
    const grantRows = requests.flatMap((request) =>
      request.grant
        ? [
            {
              requestId: request.id,
              provider: request.resource.provider,
              target: { ...request.resource.target },
              principal: request.requester,
              role: request.role,
              grantedAt: request.grant.grantedAt,
              expiresAt: request.grant.expiresAt,
            },
          ]
        : [],
    );
    if (grantRows.length > 0) {
      await this.tx
        .insert(grants)
        .values(grantRows)
        .onConflictDoUpdate({
          target: grants.requestId,
          // NB: a moved expiry (an extension, a shortening) is due its own expiring-soon notice.
          set: { expiresAt: sql`excluded.expires_at`, expiryNoticeAt: null },
          setWhere: sql`${grants.expiresAt} IS DISTINCT FROM excluded.expires_at`,
        });
    }
  }
}

function iso(at: Date | null | undefined): string | null {
  return at ? at.toISOString() : null;
}

/** Where a kind of leased work keeps its retry bookkeeping. */
interface LeasedWork {
  readonly table: string;
  readonly key: string;
  readonly attempts: string;
  readonly lastError: string;
  readonly nextAttemptAt: string;
  readonly leaseOwner: string;
  readonly leaseUntil: string;
}

const REVOCATION_WORK: LeasedWork = {
  table: 'grants',
  key: 'request_id',
  attempts: 'revoke_attempts',
  lastError: 'last_error',
  nextAttemptAt: 'next_attempt_at',
  leaseOwner: 'lease_owner',
  leaseUntil: 'lease_until',
};

const GRANT_WORK: LeasedWork = {
  table: 'access_requests',
  key: 'id',
  attempts: 'grant_attempts',
  lastError: 'last_grant_error',
  nextAttemptAt: 'next_grant_at',
  leaseOwner: 'grant_lease_owner',
  leaseUntil: 'grant_lease_until',
};

/**
 * Counts a failed attempt at leased work, keeps its error, and (when `owner` still holds the lease,
 * or nobody does) schedules the next attempt and frees the lease. Returns the attempts so far.
 * NB: every SET expression sees the row as it was, so "ours" is evaluated before the lease is
 * cleared; a replica that took a lapsed lease over keeps it and its own schedule.
 */
async function recordFailedAttempt(db: StoreDatabase, work: LeasedWork, id: RequestId, owner: string, error: string, nextAttemptAt: Date, countAttempt = true): Promise<number> {
  const c = (name: string) => sql.identifier(name);
  const ours = sql`(${c(work.leaseOwner)} IS NULL OR ${c(work.leaseOwner)} = ${owner})`;
  const result = await db.execute(sql`
    UPDATE ${c(work.table)} SET
      ${c(work.attempts)} = ${c(work.attempts)} + ${countAttempt ? 1 : 0},
      ${c(work.lastError)} = ${error.slice(0, MAX_LAST_ERROR_LENGTH)},
      ${c(work.nextAttemptAt)} = CASE WHEN ${ours} THEN ${instantParam(nextAttemptAt)} ELSE ${c(work.nextAttemptAt)} END,
      ${c(work.leaseUntil)} = CASE WHEN ${ours} THEN NULL ELSE ${c(work.leaseUntil)} END,
      ${c(work.leaseOwner)} = CASE WHEN ${ours} THEN NULL ELSE ${c(work.leaseOwner)} END
    WHERE ${c(work.key)} = ${id}
    RETURNING ${c(work.attempts)} AS attempts`);
  const [row] = (result as unknown as { rows: { attempts: number | string }[] }).rows;
  return row ? Number(row.attempts) : 0;
}

/** A Date as a bind parameter for raw SQL (Drizzle's query builder maps Dates itself). */
function instantParam(at: Date): SQL {
  return sql`${at.toISOString()}::timestamptz`;
}

/** Runs a store call, turning connection failures into `StoreError('unavailable')`. */
async function guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStoreFailure(error, operation);
  }
}

/** The `access_requests` row of a request (also what bench/seed-history.ts writes in bulk). */
export function requestColumns(request: AccessRequest): RequestInsert {
  return {
    id: request.id,
    kind: request.kind,
    parentId: request.parentId ?? null,
    requester: request.requester,
    role: request.role,
    provider: request.resource.provider,
    target: { ...request.resource.target },
    durationMinutes: request.duration,
    ticket: request.ticket,
    reason: request.reason,
    breakGlass: request.breakGlass,
    state: request.state,
    approvalsRequired: request.approvalsRequired,
    createdAt: request.createdAt,
    decisionDeadline: request.decisionDeadline,
    deniedBy: request.denial?.by ?? null,
    deniedAt: request.denial?.at ?? null,
    denialReason: request.denial?.reason ?? null,
    endedAt: request.endedAt ?? null,
    endCause: request.endCause ?? null,
    endedBy: request.endedBy ?? null,
    osUser: request.osUser ?? null,
    deniedOsUser: request.denial?.osUser ?? null,
    endedOsUser: request.endedByOsUser ?? null,
    policySha: request.policySha,
    version: request.version,
  };
}

/** Newest first, with approvals and grant windows. */
async function selectRequests(db: StoreDatabase, filter: RequestFilter): Promise<AccessRequest[]> {
  const conditions: SQL[] = [];
  if (filter.ids !== undefined) conditions.push(inArray(accessRequests.id, [...filter.ids]));
  if (filter.requester !== undefined) conditions.push(eq(accessRequests.requester, filter.requester));
  if (filter.states !== undefined) conditions.push(inArray(accessRequests.state, [...filter.states]));
  if (filter.role !== undefined) conditions.push(eq(accessRequests.role, filter.role));
  const rows = await db
    .select()
    .from(accessRequests)
    .where(and(...conditions))
    .orderBy(desc(accessRequests.createdAt), desc(accessRequests.id))
    .limit(Math.max(0, Math.floor(filter.limit ?? DEFAULT_LIST_LIMIT)));
  return withDetails(db, rows);
}

/** Loads approvals and grant windows for a page of rows in two queries, then maps each row. */
async function withDetails(db: StoreDatabase, rows: readonly RequestRow[]): Promise<AccessRequest[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const approvalRows = await db
    .select({ requestId: approvals.requestId, approver: approvals.approver, at: approvals.approvedAt, osUser: approvals.osUser })
    .from(approvals)
    .where(inArray(approvals.requestId, ids))
    .orderBy(asc(approvals.approvedAt), asc(approvals.id));
  const grantRows = await db
    .select({ requestId: grants.requestId, grantedAt: grants.grantedAt, expiresAt: grants.expiresAt })
    .from(grants)
    .where(inArray(grants.requestId, ids));
  const approvalsById = new Map<string, Approval[]>();
  for (const a of approvalRows) {
    const list = approvalsById.get(a.requestId) ?? [];
    list.push({ approver: a.approver as Email, at: a.at, ...(a.osUser !== null && { osUser: a.osUser }) });
    approvalsById.set(a.requestId, list);
  }
  const grantsById = new Map<string, GrantWindow>(
    grantRows.map((g) => [g.requestId, { grantedAt: g.grantedAt, expiresAt: g.expiresAt }]),
  );
  return rows.map((row) => toAccessRequest(row, approvalsById.get(row.id) ?? [], grantsById.get(row.id)));
}

function toAccessRequest(row: RequestRow, approvalList: readonly Approval[], grant: GrantWindow | undefined): AccessRequest {
  return {
    id: row.id as RequestId,
    kind: row.kind,
    ...(row.parentId !== null && { parentId: row.parentId as RequestId }),
    requester: row.requester as Email,
    role: row.role,
    resource: { provider: row.provider, target: row.target },
    duration: row.durationMinutes as Minutes,
    ticket: row.ticket,
    reason: row.reason,
    breakGlass: row.breakGlass,
    state: row.state,
    approvalsRequired: row.approvalsRequired,
    approvals: approvalList,
    ...(row.deniedBy !== null &&
      row.deniedAt !== null && {
        denial: { by: row.deniedBy as Email, at: row.deniedAt, reason: row.denialReason ?? '', ...(row.deniedOsUser !== null && { osUser: row.deniedOsUser }) },
      }),
    createdAt: row.createdAt,
    decisionDeadline: row.decisionDeadline,
    ...(grant !== undefined && { grant }),
    ...(row.endedAt !== null && { endedAt: row.endedAt }),
    ...(row.endCause !== null && { endCause: row.endCause }),
    ...(row.endedBy !== null && { endedBy: row.endedBy as Email }),
    ...(row.endedOsUser !== null && { endedByOsUser: row.endedOsUser }),
    ...(row.osUser !== null && { osUser: row.osUser }),
    policySha: row.policySha,
    ...(row.lastGrantError !== null && (row.state === 'approved' || row.state === 'failed') && { grantError: row.lastGrantError }),
    version: row.version,
  };
}

async function lastLink(db: StoreDatabase): Promise<{ seq: number; hash: string; occurredAt: Date } | undefined> {
  const [head] = await db
    .select({ seq: auditEvents.seq, hash: auditEvents.hash, occurredAt: auditEvents.occurredAt })
    .from(auditEvents)
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  return head;
}

const GAP_KINDS = ['request_without_event', 'approval_without_event', 'grant_without_event', 'events_without_request'] as const;

/**
 * NB: one pass over audit_events, grouped by request, then an anti-join per state table: set-based,
 * so `audit verify` stays one scan however many requests there are (no per-row lookups), and one
 * statement, so state and log are read in one snapshot. Which event creates which row:
 * access_requests ← request_opened, approvals ← approval_recorded (its actor is the approver),
 * grants ← access_granted (an extension moves the parent's grant, it creates none).
 */
async function selectAuditStateGaps(db: StoreDatabase, limit: number): Promise<{ total: number; first: AuditStateGap[] }> {
  const result = await db.execute(sql`
    WITH ev AS (
      SELECT request_id,
             bool_or(action = 'request_opened') AS opened,
             bool_or(action = 'access_granted') AS granted,
             array_agg(actor) FILTER (WHERE action = 'approval_recorded') AS approvers
      FROM audit_events WHERE request_id IS NOT NULL GROUP BY request_id
    ), gaps AS (
      SELECT 0 AS kind, r.id AS request_id, NULL::text AS approver
        FROM access_requests r LEFT JOIN ev ON ev.request_id = r.id WHERE ev.opened IS NOT TRUE
      UNION ALL
      SELECT 1, a.request_id, a.approver
        FROM approvals a LEFT JOIN ev ON ev.request_id = a.request_id WHERE NOT (a.approver = ANY (coalesce(ev.approvers, ARRAY[]::text[])))
      UNION ALL
      SELECT 2, g.request_id, NULL
        FROM grants g LEFT JOIN ev ON ev.request_id = g.request_id WHERE ev.granted IS NOT TRUE
      UNION ALL
      SELECT 3, ev.request_id, NULL
        FROM ev LEFT JOIN access_requests r ON r.id = ev.request_id WHERE r.id IS NULL
    )
    SELECT kind, request_id, approver, count(*) OVER () AS total FROM gaps ORDER BY kind, request_id, approver LIMIT ${Math.max(1, limit)}`);
  const rows = (result as unknown as { rows: { kind: number | string; request_id: string; approver: string | null; total: number | string }[] }).rows;
  return {
    total: Number(rows[0]?.total ?? 0),
    first: rows.map((row) => ({
      kind: GAP_KINDS[Number(row.kind)] ?? 'events_without_request',
      requestId: row.request_id,
      ...(row.approver ? { approver: row.approver } : {}),
    })),
  };
}

interface AuditRow {
  seq: number | string;
  occurred_at: string | Date;
  actor: string;
  action: string;
  request_id: string | null;
  data: Record<string, unknown> | string;
  prev_hash: string;
  hash: string;
}

// NB: measured on PostgreSQL: statements of up to 2,000 rows read 100k events about a third faster
// than one big statement (large results outlive the young generation and cost major GCs).
const AUDIT_READ_CHUNK = 2_000;
const AUDIT_COLUMNS = sql.raw('seq, occurred_at, actor, action, request_id, data, prev_hash, hash');

/**
 * The fast path `audit verify` walks: events with seq in [from, end), read in bounded primary-key
 * ranges (an index range scan whatever the table statistics say), mapped once per row (a Drizzle
 * select maps each row twice).
 */
async function readAuditRange(db: StoreDatabase, from: number, end: number): Promise<ChainedAuditEvent[]> {
  const events: ChainedAuditEvent[] = [];
  if (end <= from) return events;
  // NB: bounded by the head, so that a generous `limit` past the end costs no empty range scans.
  const stop = Math.min(end, ((await lastLink(db))?.seq ?? 0) + 1);
  for (let start = from; start < stop; start += AUDIT_READ_CHUNK) {
    const result = await db.execute(
      sql`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE seq >= ${start} AND seq < ${Math.min(start + AUDIT_READ_CHUNK, stop)} ORDER BY seq`,
    );
    appendAuditRows(events, result);
  }
  return events;
}

/**
 * Events with seq in [from, end) as the database holds them, in one statement: the time formatted
 * by PostgreSQL as the ISO 8601 text the hash covers, and data as jsonb's JSON text. NB: nothing is
 * parsed on the reading thread (no Date, no JSON.parse, which the drivers would otherwise do for
 * every row); `audit verify` hands the rows to worker threads as they are. `to_char` truncates to
 * milliseconds as `Date` does, so a time is the same text either way.
 */
async function readStoredAuditRange(db: StoreDatabase, from: number, end: number): Promise<StoredAuditEvent[]> {
  if (end <= from) return [];
  // NB: named and typed as StoredAuditEvent wants them (seq as float8, exact below 2^53, so both
  // drivers give a number), so the driver's row objects are the events: no second object per row.
  const result = await db.execute(sql`
    SELECT seq::float8 AS seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "occurredAt", actor, action,
      request_id AS "requestId", data::text AS data, prev_hash AS "prevHash", hash
    FROM audit_events WHERE seq >= ${from} AND seq < ${end} ORDER BY seq`);
  return (result as unknown as { rows: StoredAuditEvent[] }).rows;
}

/** `occurred_at` within [since, until), either end optional. */
function timeWindow(range: { since?: Date; until?: Date }): SQL {
  const conditions: SQL[] = [sql`TRUE`];
  if (range.since) conditions.push(sql`occurred_at >= ${range.since.toISOString()}::timestamptz`);
  if (range.until) conditions.push(sql`occurred_at < ${range.until.toISOString()}::timestamptz`);
  return sql.join(conditions, sql` AND `);
}

/** Up to `limit` events with seq > `afterSeq` matching `where`, in seq order, in keyset chunks. */
async function selectAudit(db: StoreDatabase, afterSeq: number, where: SQL, limit: number): Promise<ChainedAuditEvent[]> {
  const events: ChainedAuditEvent[] = [];
  let cursor = afterSeq;
  while (events.length < limit) {
    const chunk = Math.min(AUDIT_READ_CHUNK, limit - events.length);
    const result = await db.execute(
      sql`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE seq > ${cursor} AND ${where} ORDER BY seq LIMIT ${chunk}`,
    );
    if (appendAuditRows(events, result) < chunk) break;
    cursor = events[events.length - 1]?.seq ?? cursor;
  }
  return events;
}

/** Maps raw rows (both drivers: int8 as string or number, jsonb parsed or not) onto `events`. */
function appendAuditRows(events: ChainedAuditEvent[], result: unknown): number {
  const rows = (result as { rows: AuditRow[] }).rows;
  for (const row of rows) {
    events.push({
      seq: Number(row.seq),
      occurredAt: typeof row.occurred_at === 'string' ? new Date(row.occurred_at) : row.occurred_at,
      actor: row.actor,
      action: row.action,
      requestId: row.request_id,
      data: typeof row.data === 'string' ? (JSON.parse(row.data) as Record<string, unknown>) : row.data,
      prevHash: row.prev_hash,
      hash: row.hash,
    });
  }
  return rows.length;
}

async function readActivePolicySha(db: StoreDatabase): Promise<string | undefined> {
  const [row] = await db.select({ sha256: activePolicy.sha256 }).from(activePolicy).where(eq(activePolicy.id, 1));
  return row?.sha256;
}

async function readPolicyText(db: StoreDatabase, sha256: string): Promise<string | undefined> {
  const [row] = await db.select({ text: policies.text }).from(policies).where(eq(policies.sha256, sha256));
  return row?.text;
}
