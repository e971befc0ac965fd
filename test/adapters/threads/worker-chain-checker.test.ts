import { sql } from 'drizzle-orm';
import { DrizzleAccessStore } from '../../../src/adapters/store/drizzle-access-store';
import { ChainCheckerError, WorkerChainChecker } from '../../../src/adapters/threads/worker-chain-checker';
import { StoreError } from '../../../src/app/errors';
import { chainHash, checkSegment, GENESIS_HASH, type ChainSegment } from '../../../src/domain/audit-chain';
import type { StoredAuditEvent } from '../../../src/domain/audit-event';
import { createPostgresDatabase } from '../../support/test-database';

/** A valid chain of `count` events in their stored form. */
function storedChain(count: number): StoredAuditEvent[] {
  const events: StoredAuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const fields = { seq, occurredAt: new Date(Date.UTC(2026, 2, 3, 10, 0, seq)), actor: 'alice@example.com', action: 'approval_recorded', requestId: 'REQ00001', data: { role: 'db-admin', n: seq, note: 'zoë' } };
    const hash = chainHash(prevHash, fields);
    events.push({ ...fields, occurredAt: fields.occurredAt.toISOString(), data: JSON.stringify(fields.data), prevHash, hash });
    prevHash = hash;
  }
  return events;
}

/** The chain cut into segments of `size`, each started from the stored hash before it. */
function segments(events: readonly StoredAuditEvent[], size: number): ChainSegment[] {
  const out: ChainSegment[] = [];
  for (let i = 0; i < events.length; i += size) out.push({ start: { seq: i + 1, prevHash: events[i - 1]?.hash ?? GENESIS_HASH }, events: events.slice(i, i + size) });
  return out;
}

describe('WorkerChainChecker', () => {
  let checker: WorkerChainChecker | undefined;
  afterEach(async () => {
    await checker?.close();
    checker = undefined;
  });

  it('checks segments in worker threads with the same results as in this thread', async () => {
    // Given a chain of 60 events with event 37 altered, in segments of 7
    const events = storedChain(60).map((e) => (e.seq === 37 ? { ...e, actor: 'mallory@example.com' } : e));
    const parts = segments(events, 7);
    checker = new WorkerChainChecker(2);

    // When every segment is sent at once
    const checks = await Promise.all(parts.map((part) => (checker as WorkerChainChecker).check(part)));

    // Then each answer belongs to its own segment, and equals what checkSegment says here
    expect(checks).toEqual(parts.map(checkSegment));
    expect(checks[5]).toMatchObject({ count: 1, break: { kind: 'hash_mismatch', seq: 37 } });
    expect(checks[0]).toEqual({ count: 7, last: { seq: 7, hash: events[6]?.hash } });
  });

  it('reports a thread that fails instead of waiting for it', async () => {
    // Given a checker whose thread is sent something it cannot check
    checker = new WorkerChainChecker(1);
    const broken = { start: { seq: 1, prevHash: GENESIS_HASH }, events: null } as unknown as ChainSegment;

    // When / Then: the check fails with the thread's error, and so does every later one
    await expect(checker.check(broken)).rejects.toThrow(ChainCheckerError);
    await expect(checker.check(segments(storedChain(2), 2)[0] as ChainSegment)).rejects.toThrow(/hashing thread failed/);
  });

  it('refuses checks once closed', async () => {
    // Given a checker that checked one segment and was closed
    checker = new WorkerChainChecker(1);
    const [part] = segments(storedChain(3), 3);
    if (!part) throw new Error('no segment');
    expect(await checker.check(part)).toMatchObject({ count: 3 });
    await checker.close();

    // When / Then
    await expect(checker.check(part)).rejects.toThrow('the chain checker was closed');
  });

  it('refuses a number of threads that is not a positive whole number', () => {
    // Given / When / Then
    expect(() => new WorkerChainChecker(0)).toThrow('parallelism must be a whole number of threads, not 0');
    expect(() => new WorkerChainChecker(1.5)).toThrow(RangeError);
  });
});

describe('WorkerChainChecker reading PostgreSQL itself', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let store: DrizzleAccessStore;
  let checker: WorkerChainChecker;

  beforeAll(async () => {
    // Given 25 events in a PostgreSQL database, and threads that may read it
    database = await createPostgresDatabase();
    store = new DrizzleAccessStore(database.db);
    for (let i = 0; i < 5; i++) {
      await store.transaction((tx) => tx.appendAudit(Array.from({ length: 5 }, (_, k) => ({ action: 'approval_recorded' as const, actor: 'alice@example.com', data: { i, k, note: 'zoë' } })), new Date(Date.UTC(2026, 2, 3, 10, i))));
    }
    checker = new WorkerChainChecker(2, { databaseUrl: database.url });
  });
  afterAll(async () => {
    await checker?.close();
    await database?.close();
  });

  it('reads and checks each page in the threads, linking it to the stored hash before it', async () => {
    // When pages of 7 are checked by the threads, all at once
    const checkStored = checker.checkStored;
    if (!checkStored) throw new Error('a checker given a database URL reads');
    const pages = await Promise.all([1, 8, 15, 22].map((from) => checkStored(from, Math.min(7, 25 - from + 1))));

    // Then each is what checkSegment says of the same rows read here
    const expected = [1, 8, 15, 22].map(async (from) => {
      const rows = await store.readStoredAudit(from, 7);
      const before = from > 1 ? await store.auditEventAt(from - 1) : undefined;
      return { check: checkSegment({ start: { seq: from, prevHash: before?.hash ?? GENESIS_HASH }, events: rows }), read: rows.length };
    });
    expect(pages).toEqual(await Promise.all(expected));
    expect(pages.map((p) => p.check.count)).toEqual([7, 7, 7, 4]);
  });

  it('has no reading without a database URL', () => {
    // Given / When / Then
    expect(new WorkerChainChecker(1).checkStored).toBeUndefined();
  });

  it('reports a database it cannot reach as the store being unavailable', async () => {
    // Given threads pointed at a port where no database answers
    const lost = new WorkerChainChecker(1, { databaseUrl: 'postgres://postgres@127.0.0.1:1/prod_access' });
    try {
      // When / Then
      const error = await (lost.checkStored as NonNullable<typeof lost.checkStored>)(1, 5).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'unavailable', message: expect.stringContaining('the database is unavailable') });
    } finally {
      await lost.close();
    }
  });

  it('closes the connections its threads opened', async () => {
    // Given threads that have read
    const count = async () => Number(((await database.db.execute(sql`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()`)) as unknown as { rows: { n: string }[] }).rows[0]?.n);
    const before = await count();
    const readers = new WorkerChainChecker(2, { databaseUrl: database.url });
    await Promise.all([1, 8].map((from) => (readers.checkStored as NonNullable<typeof readers.checkStored>)(from, 7)));
    expect(await count()).toBeGreaterThan(before);

    // When it is closed, then their connections are gone
    await readers.close();
    for (let i = 0; i < 50 && (await count()) > before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await count()).toBe(before);
  });
});
