import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { StoreError } from '../../app/errors';
import type { AccessRequest, Approval, GrantWindow } from '../../domain/access-request';
import { chainHash, GENESIS_HASH } from '../../domain/audit-chain';
import type { AuditEvent, ChainedAuditEvent } from '../../domain/audit-event';
import type { Minutes } from '../../domain/duration';
import type { Email } from '../../domain/email';
import type { RequestId } from '../../domain/request-id';
import type { AccessStore, RequestFilter, StoreTransaction } from '../../ports/access-store';
import { asStoreFailure, type StoreDatabase } from './open-database';
import * as schema from './schema';
import { accessRequests, activePolicy, approvals, auditEvents, grants, policies } from './schema';

type StoreTx = PgTransaction<PgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;
type RequestRow = typeof accessRequests.$inferSelect;
type RequestInsert = typeof accessRequests.$inferInsert;

// NB: arbitrary, fixed, and distinct from the migration lock key in open-database.ts.
const AUDIT_APPEND_LOCK_KEY = 7_041_960_002;
const DEFAULT_LIST_LIMIT = 50;
// NB: a bind parameter per column per row; PostgreSQL allows 65,535 parameters per statement.
const AUDIT_INSERT_BATCH = 4_000;

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
    return guard('auditHead', () => lastLink(this.db));
  }

  readAudit(fromSeq: number, limit: number): Promise<ChainedAuditEvent[]> {
    return guard('readAudit', () => readAuditRange(this.db, fromSeq, fromSeq + Math.max(0, limit)));
  }

  readAuditBetween(range: { since?: Date; until?: Date }, afterSeq: number, limit: number): Promise<ChainedAuditEvent[]> {
    const conditions: SQL[] = [];
    if (range.since) conditions.push(sql`occurred_at >= ${range.since.toISOString()}::timestamptz`);
    if (range.until) conditions.push(sql`occurred_at < ${range.until.toISOString()}::timestamptz`);
    return guard('readAuditBetween', () => selectAudit(this.db, afterSeq, sql.join([sql`TRUE`, ...conditions], sql` AND `), limit));
  }

  auditEventAt(seq: number): Promise<ChainedAuditEvent | undefined> {
    return guard('auditEventAt', async () => (await selectAudit(this.db, seq - 1, sql`seq = ${seq}`, 1))[0]);
  }

  policyText(sha256: string): Promise<string | undefined> {
    return guard('policyText', () => readPolicyText(this.db, sha256));
  }

  activePolicySha(): Promise<string | undefined> {
    return guard('activePolicySha', () => readActivePolicySha(this.db));
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
    return guard('lockRequest', async () => {
      // NB: details are read by later statements: in READ COMMITTED each statement sees what was
      // committed before it started, so after waiting for the lock they include the holder's writes
      // (a join in the locking statement would keep its pre-lock snapshot of the joined tables).
      const [row] = await this.tx.select().from(accessRequests).where(eq(accessRequests.id, id)).for('update');
      return row ? (await withDetails(this.tx, [row]))[0] : undefined;
    });
  }

  listRequests(filter: RequestFilter): Promise<AccessRequest[]> {
    return guard('listRequests', () => selectRequests(this.tx, filter));
  }

  insertRequest(request: AccessRequest): Promise<void> {
    return guard('insertRequest', () => this.insert(request));
  }

  saveRequest(request: AccessRequest): Promise<AccessRequest> {
    return guard('saveRequest', () => this.save(request));
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

  private async insert(request: AccessRequest): Promise<void> {
    // NB: ON CONFLICT instead of catching 23505: an error would abort the whole transaction, and
    // the caller may want to retry with a fresh id inside it.
    const inserted = await this.tx
      .insert(accessRequests)
      .values(requestColumns(request))
      .onConflictDoNothing({ target: accessRequests.id })
      .returning({ id: accessRequests.id });
    if (inserted.length === 0) throw new StoreError('duplicate_id', `request id ${request.id} is already taken`);
    await this.writeDetails(request);
  }

  private async save(request: AccessRequest): Promise<AccessRequest> {
    const version = request.version + 1;
    const { id: _id, kind: _kind, parentId: _parentId, requester: _requester, createdAt: _createdAt, ...changes } =
      requestColumns(request);
    const updated = await this.tx
      .update(accessRequests)
      .set({ ...changes, version })
      .where(and(eq(accessRequests.id, request.id), eq(accessRequests.version, request.version)))
      .returning({ version: accessRequests.version });
    if (updated.length === 0) {
      throw new StoreError(
        'version_conflict',
        `request ${request.id} was changed by someone else (expected version ${request.version})`,
      );
    }
    await this.writeDetails(request);
    return { ...request, version };
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
    const occurredAt = new Date(at.getTime());
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

  /** New approvals (existing ones are left alone) and the grant window. */
  private async writeDetails(request: AccessRequest): Promise<void> {
    if (request.approvals.length > 0) {
      await this.tx
        .insert(approvals)
        .values(request.approvals.map((a) => ({ requestId: request.id, approver: a.approver, approvedAt: a.at })))
        .onConflictDoNothing({ target: [approvals.requestId, approvals.approver] });
    }
    if (request.grant) {
      await this.tx
        .insert(grants)
        .values({
          requestId: request.id,
          provider: request.resource.provider,
          target: { ...request.resource.target },
          principal: request.requester,
          role: request.role,
          grantedAt: request.grant.grantedAt,
          expiresAt: request.grant.expiresAt,
        })
        .onConflictDoUpdate({
          target: grants.requestId,
          set: { expiresAt: request.grant.expiresAt },
          setWhere: sql`${grants.expiresAt} IS DISTINCT FROM ${request.grant.expiresAt.toISOString()}::timestamptz`,
        });
    }
  }
}

/** Runs a store call, turning connection failures into `StoreError('unavailable')`. */
async function guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStoreFailure(error, operation);
  }
}

function requestColumns(request: AccessRequest): RequestInsert {
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
    policySha: request.policySha,
    version: request.version,
  };
}

/** Newest first, with approvals and grant windows. */
async function selectRequests(db: StoreDatabase, filter: RequestFilter): Promise<AccessRequest[]> {
  const conditions: SQL[] = [];
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
    .select({ requestId: approvals.requestId, approver: approvals.approver, at: approvals.approvedAt })
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
    list.push({ approver: a.approver as Email, at: a.at });
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
      row.deniedAt !== null && { denial: { by: row.deniedBy as Email, at: row.deniedAt, reason: row.denialReason ?? '' } }),
    createdAt: row.createdAt,
    decisionDeadline: row.decisionDeadline,
    ...(grant !== undefined && { grant }),
    ...(row.endedAt !== null && { endedAt: row.endedAt }),
    ...(row.endCause !== null && { endCause: row.endCause }),
    ...(row.endedBy !== null && { endedBy: row.endedBy as Email }),
    policySha: row.policySha,
    version: row.version,
  };
}

async function lastLink(db: StoreDatabase): Promise<{ seq: number; hash: string } | undefined> {
  const [head] = await db
    .select({ seq: auditEvents.seq, hash: auditEvents.hash })
    .from(auditEvents)
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  return head;
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
