import { performance } from 'node:perf_hooks';
import { DrizzleAccessStore } from '../src/adapters/store/drizzle-access-store';
import type { Database } from '../src/adapters/store/open-database';
import { WorkerChainChecker } from '../src/adapters/threads/worker-chain-checker';
import { verifyAuditLog } from '../src/app/verify-audit-log';
import type { AuditEvent } from '../src/domain/audit-event';
import { verifyPhases } from './history';

/** A realistic event: the facts a request event carries. */
function event(i: number): AuditEvent {
  return {
    action: 'approval_recorded',
    actor: 'alice@example.com',
    data: {
      kind: 'access',
      requester: 'dave@example.com',
      role: 'sandbox-admin',
      resource: { provider: 'local', target: { environment: 'sandbox' } },
      ticket: `OPS-${i}`,
      reason: 'rotate the sandbox signing keys after the incident',
      breakGlass: false,
      approvals: 1,
      approvalsRequired: 2,
      policySha: 'b322f4565f5f07e592b66a87efff42744ff30b6b607c95a06c6b583147b029a8',
      origin: { via: 'cli', osUser: 'bench' },
    },
  };
}

export interface AuditFigures {
  appendsPerSecondOneWriter: number;
  appendsPerSecondEightWriters: number;
  /** The floor: BEGIN; one plain INSERT into audit_events; COMMIT, with no lock and no hashing. */
  bareCommitsPerSecond: number;
  /** `audit verify` with worker threads (one per core) that hash; on PostgreSQL they also read. */
  verifyEventsPerSecond: number;
  /** The parts of verify, timed apart in CPU µs per event: reading every page, and parsing, canonicalising and hashing what was read. */
  readMicros: number;
  parseMicros: number;
  canonicaliseMicros: number;
  hashMicros: number;
  verifiedEvents: number;
}

/**
 * Appends one event per transaction (as the use cases do) from one writer, then from 8 concurrent
 * writers; then fills the log to `verifyCount` events and times `audit verify` over all of it.
 */
export async function benchAuditLog(database: Database, opts: { appends: number; verifyCount: number }): Promise<AuditFigures> {
  const store = new DrizzleAccessStore(database.db);
  const at = new Date('2026-03-03T10:00:00.000Z');
  const appendOne = (i: number) => store.transaction((tx) => tx.appendAudit([event(i)], at));

  let t0 = performance.now();
  for (let i = 0; i < opts.appends; i++) await appendOne(i);
  const one = opts.appends / ((performance.now() - t0) / 1000);

  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < opts.appends) await appendOne(next++);
    }),
  );
  const eight = opts.appends / ((performance.now() - t0) / 1000);

  // Fill up to verifyCount in large transactions (not what is measured).
  let total = (await store.auditHead())?.seq ?? 0;
  while (total < opts.verifyCount) {
    const batch = Math.min(2000, opts.verifyCount - total);
    await store.transaction((tx) => tx.appendAudit(Array.from({ length: batch }, (_, k) => event(total + k)), at));
    total += batch;
  }

  const parallel = new WorkerChainChecker(undefined, 'url' in database && typeof database.url === 'string' ? { databaseUrl: database.url } : {});
  let seconds: number;
  try {
    t0 = performance.now();
    const report = await verifyAuditLog(store, undefined, { parallel });
    seconds = (performance.now() - t0) / 1000;
    if (!report.ok || report.count !== total) throw new Error(`verify failed during the benchmark: ${report.message}`);
  } finally {
    await parallel.close();
  }
  const phases = await verifyPhases(database, store, total);

  const bare = await bareCommits(database, opts.appends, total);
  return {
    appendsPerSecondOneWriter: one,
    appendsPerSecondEightWriters: eight,
    bareCommitsPerSecond: bare,
    verifyEventsPerSecond: total / seconds,
    readMicros: phases.reading,
    parseMicros: phases.parsing,
    canonicaliseMicros: phases.canonicalising,
    hashMicros: phases.hashing,
    verifiedEvents: total,
  };
}

/** Plain durable transactions inserting one row each, on the driver, for comparison. */
async function bareCommits(database: Database, count: number, lastSeq: number): Promise<number> {
  const insert = (c: { query(text: string, values?: unknown[]): Promise<unknown> }, seq: number) =>
    c.query(
      `INSERT INTO audit_events (seq, occurred_at, actor, action, request_id, data, prev_hash, hash) VALUES ($1, now(), 'bench', 'bare', NULL, '{}', $2, $3)`,
      [seq, '0'.repeat(64), seq.toString(16).padStart(64, '0')],
    );
  const t0 = performance.now();
  if (database.dialect === 'postgres') {
    const client = await database.client.connect();
    try {
      for (let i = 1; i <= count; i++) {
        await client.query('BEGIN');
        await insert(client, lastSeq + i);
        await client.query('COMMIT');
      }
    } finally {
      client.release();
    }
  } else {
    for (let i = 1; i <= count; i++) await database.client.transaction((tx) => insert(tx, lastSeq + i));
  }
  return count / ((performance.now() - t0) / 1000);
}
