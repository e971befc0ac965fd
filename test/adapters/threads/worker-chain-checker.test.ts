import { ChainCheckerError, WorkerChainChecker } from '../../../src/adapters/threads/worker-chain-checker';
import { chainHash, checkSegment, GENESIS_HASH, type ChainSegment } from '../../../src/domain/audit-chain';
import type { StoredAuditEvent } from '../../../src/domain/audit-event';

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
