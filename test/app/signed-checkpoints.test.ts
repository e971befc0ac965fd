import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import { publishDigest } from '../../src/app/publish-digest';
import { requestAccess } from '../../src/app/request-access';
import { signCheckpointNow } from '../../src/app/sign-checkpoint';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import { verifyCheckpoints } from '../../src/app/verify-checkpoints';
import { chainHash, GENESIS_HASH } from '../../src/domain/audit-chain';
import { email } from '../../src/domain/email';
import { chatOrigin, cliOrigin, createHarness, rawSql, type Harness } from '../support/app-harness';
import { testSigningKey } from '../support/signing';
import { storeBackends } from '../support/test-database';

const dave = email('dave@example.com');
const scheduler = { via: 'scheduler' } as const;
const week = { since: new Date('2026-02-23T08:00:00.000Z'), until: new Date('2026-03-02T08:00:00.000Z') };

describe.each(storeBackends)('signed checkpoints on $name', ({ open }) => {
  let database: Database;
  let h: Harness;
  const { signer, key } = testSigningKey();

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
    // Given a week with two requests, one approved, then the week's digest with its checkpoint
    h.clock.set(new Date('2026-02-25T10:00:00.000Z'));
    for (const ticket of ['OPS-1', 'OPS-2']) {
      const opened = await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket, reason: 'look at the payouts queue' }, cliOrigin);
      if (!opened.ok) throw new Error(opened.refusal.message);
      h.clock.advance(5);
    }
    const [first] = await h.ctx.store.listRequests({ requester: dave });
    if (first) await approveRequest(h.ctx, first.id, email('alice@example.com'), chatOrigin);
    h.clock.set(new Date(week.until.getTime() + 1000));
    await publishDigest(h.ctx, week, signer, scheduler);
  });
  afterEach(async () => {
    await database.close();
  });

  /**
   * What someone with database access can do: change one event, and recompute the hash of it and of
   * every event after it, with the append-only trigger switched off. The chain then verifies.
   */
  async function rewriteHistory(seq: number, data: (old: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    const events = await h.ctx.store.readAudit(1, 10_000);
    let prevHash = events.find((e) => e.seq === seq - 1)?.hash ?? GENESIS_HASH;
    const updates: string[] = [];
    for (const event of events.filter((e) => e.seq >= seq)) {
      const rewritten = { ...event, prevHash, data: event.seq === seq ? data({ ...event.data }) : event.data };
      const hash = chainHash(prevHash, rewritten);
      const json = JSON.stringify(rewritten.data).replace(/'/g, "''");
      updates.push(`UPDATE audit_events SET data = '${json}'::jsonb, prev_hash = '${prevHash}', hash = '${hash}' WHERE seq = ${event.seq}`);
      prevHash = hash;
    }
    await rawSql(database, `ALTER TABLE audit_events DISABLE TRIGGER USER; ${updates.join('; ')}; ALTER TABLE audit_events ENABLE TRIGGER USER;`);
  }

  it('verifies the chain and every stored checkpoint with the public key', async () => {
    await signCheckpointNow(h.ctx, signer, cliOrigin);
    const report = await verifyCheckpoints(h.ctx.store, [key]);
    expect(report.ok).toBe(true);
    expect(report.message).toContain('2 signed checkpoints verified with key');
    expect(report.message).toContain('The latest is checkpoint #2 made on demand at 2026-03-02T08:00:01.000Z');
  });

  it('catches a rewritten history with every hash recomputed, which the chain alone does not, naming the checkpoint', async () => {
    // Given the week's checkpoint signed the head at the end of the week
    const [checkpoint] = await h.ctx.store.checkpoints();
    if (!checkpoint) throw new Error('the digest stored no checkpoint');

    // When the first request's reason is rewritten and every later hash recomputed, trigger off
    await rewriteHistory(1, (data) => ({ ...data, reason: 'nothing to see here, routine check' }));

    // Then the chain verifies on its own
    const chainOnly = await verifyAuditLog(h.ctx.store);
    expect(chainOnly.ok).toBe(true);
    // But with the checkpoints it fails, naming the checkpoint whose head is gone
    const report = await verifyCheckpoints(h.ctx.store, [key]);
    expect(report.ok).toBe(false);
    const rewritten = await h.ctx.store.auditEventAt(checkpoint.seq);
    expect(report.message).toContain(
      `checkpoint #1 of period 2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z (head ${checkpoint.seq}:${checkpoint.hash.slice(0, 12)}…, key ${key.keyId}) is not in the chain: ` +
        `event ${checkpoint.seq} now has hash ${rewritten?.hash.slice(0, 12) ?? '?'}…: the history up to it was rewritten`,
    );
  });

  it('catches the log cut off at a checkpoint, which verifying the chain and state alone does not', async () => {
    // Given a checkpoint made on demand after the digest: its head is the digest's event
    await signCheckpointNow(h.ctx, signer, cliOrigin);
    const checkpoint = (await h.ctx.store.checkpoints()).at(-1);
    if (!checkpoint) throw new Error('no checkpoint was stored');

    // When every event from that head on is deleted, trigger off
    await rawSql(database, `ALTER TABLE audit_events DISABLE TRIGGER USER; DELETE FROM audit_events WHERE seq >= ${checkpoint.seq}; ALTER TABLE audit_events ENABLE TRIGGER USER;`);

    // Then the shorter log verifies on its own
    expect(await verifyAuditLog(h.ctx.store)).toMatchObject({ ok: true, count: checkpoint.seq - 1 });
    // But with the checkpoints it fails, saying events were cut off
    const report = await verifyCheckpoints(h.ctx.store, [key]);
    expect(report.ok).toBe(false);
    expect(report.message).toContain(`is not in the chain: the log ends at event ${checkpoint.seq - 1}; events were cut off`);
  });

  it('catches a checkpoint row altered to fit the rewritten chain, which nobody without the key can sign', async () => {
    // Given the rewrite, and the checkpoint's hash set to the new one
    const [checkpoint] = await h.ctx.store.checkpoints();
    await rewriteHistory(1, (data) => ({ ...data, reason: 'nothing to see here, routine check' }));
    const now = await h.ctx.store.auditEventAt(checkpoint?.seq ?? 0);
    await rawSql(database, `UPDATE checkpoints SET hash = '${now?.hash ?? ''}' WHERE id = 1`);
    // Then
    const report = await verifyCheckpoints(h.ctx.store, [key]);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('does not match its signature: the row was altered, or was never signed with that key');
  });

  it('names a checkpoint signed with another key, and passes when that public key is given too', async () => {
    const other = testSigningKey();
    await signCheckpointNow(h.ctx, other.signer, cliOrigin);
    const report = await verifyCheckpoints(h.ctx.store, [key]);
    expect(report.ok).toBe(false);
    expect(report.message).toContain(`checkpoint #2 made on demand at 2026-03-02T08:00:01.000Z`);
    expect(report.message).toContain(`was signed with key ${other.key.keyId}, not with ${key.keyId}: give that key's public key too (--public-key)`);
    expect((await verifyCheckpoints(h.ctx.store, [key, other.key])).ok).toBe(true);
  });

  it('fails when there is no checkpoint to check', async () => {
    await rawSql(database, 'DELETE FROM checkpoints');
    const report = await verifyCheckpoints(h.ctx.store, [key]);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('but there is no signed checkpoint to check');
  });

  it('signs the head of an on-demand checkpoint in the same transaction as its event, which follows it', async () => {
    const before = await h.ctx.store.auditHead();
    const made = await signCheckpointNow(h.ctx, signer, cliOrigin);
    expect(made.checkpoint).toMatchObject({ period: 'on-demand', seq: before?.seq, hash: before?.hash, keyId: key.keyId });
    expect(made.eventSeq).toBe((before?.seq ?? 0) + 1);
    expect((await h.ctx.store.auditEventAt(made.eventSeq))?.data).toMatchObject({ checkpoint: { seq: before?.seq, signature: made.checkpoint.signature }, origin: { via: 'cli', osUser: 'tester' } });
  });
});
