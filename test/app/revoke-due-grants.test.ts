import type { Database } from '../../src/adapters/store/open-database';
import { commitTransition } from '../../src/app/commit-transition';
import { ProviderError } from '../../src/app/errors';
import { revokeDueGrants, type RevocationWorker } from '../../src/app/revoke-due-grants';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import { beginRevocation } from '../../src/domain/lifecycle/revoke';
import type { RequestId } from '../../src/domain/request-id';
import { createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { actionsFor, activeGrant, flakyRole, grantBookkeeping } from '../support/revocation-fixtures';
import { storeBackends } from '../support/test-database';

const worker: RevocationWorker = { owner: 'host-a:1:aaaa', leaseMs: 60_000, batchSize: 10, concurrency: 2, random: { next: () => 0.5 } };

describe.each(storeBackends)('revokeDueGrants on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database, examplePolicyText + flakyRole);
  });
  afterEach(async () => {
    await database.close();
  });

  /** What a crash right after the first transaction leaves: `revoking`, provider never asked. */
  async function beginOnly(id: RequestId): Promise<void> {
    const loaded = h.ctx.policy.current();
    await h.ctx.store.transaction(async (tx) => {
      const request = await tx.lockRequest(id);
      if (!request) throw new Error(`no request ${id}`);
      const now = h.clock.now();
      return commitTransition(tx, beginRevocation(request, 'expired', undefined, loaded.policy, now), { via: 'scheduler' }, loaded.sha256, now);
    });
  }

  it('revokes an expired grant: revoked, membership gone, audited with cause expired', async () => {
    // Given 1h of access, and the clock one second past its expiry
    const granted = await activeGrant(h, 'prod-readonly', '1h');
    expect(await h.local.memberships()).toHaveLength(1);
    h.clock.advance(60 + 1 / 60);

    // When the due grants are revoked
    const batch = await revokeDueGrants(h.ctx, worker);

    // Then it is revoked at the provider and in the store, with the reason in the audit trail
    expect(batch).toEqual({ claimed: 1, revoked: 1, failed: 0, released: 0, deferred: 0 });
    const after = await h.ctx.store.findRequest(granted.id);
    expect(after).toMatchObject({ state: 'revoked', endCause: 'expired' });
    expect(await h.local.memberships()).toEqual([]);
    expect(await actionsFor(h, granted.id)).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'access_granted', 'revocation_started', 'access_revoked']);
    const events = await h.ctx.store.readAudit(1, 100);
    expect(events.find((e) => e.action === 'revocation_started')?.data).toMatchObject({ cause: 'expired', origin: { via: 'scheduler' } });
    expect(events.find((e) => e.action === 'access_revoked')?.data).toMatchObject({ cause: 'expired', accessRemoved: true });
    expect(await grantBookkeeping(database, granted.id)).toMatchObject({ revokedAt: h.clock.now(), accessRemoved: true, leaseOwner: null, leaseUntil: null });
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);

    // And a second sweep finds nothing to do
    expect(await revokeDueGrants(h.ctx, worker)).toMatchObject({ claimed: 0 });
  });

  it('leaves a grant that has not expired alone', async () => {
    // Given 1h of access, 59 minutes in
    const granted = await activeGrant(h, 'prod-readonly', '1h');
    h.clock.advance(59);

    // When the due grants are revoked
    const batch = await revokeDueGrants(h.ctx, worker);

    // Then nothing was claimed and the access is still live
    expect(batch.claimed).toBe(0);
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('active');
    expect(await h.local.memberships()).toHaveLength(1);
    expect(await grantBookkeeping(database, granted.id)).toMatchObject({ leaseOwner: null, revokeAttempts: 0 });
  });

  it('completes a revocation left unconfirmed by a crash, exactly once', async () => {
    // Given expired access whose revocation was started, then the process died
    const granted = await activeGrant(h, 'flaky-admin', '1h');
    h.clock.advance(61);
    await beginOnly(granted.id);
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoking');

    // When a fresh process sweeps, twice
    const first = await revokeDueGrants(h.ctx, worker);
    const second = await revokeDueGrants(h.ctx, worker);

    // Then the provider was asked once, and the trail has one start and one revocation
    expect(first).toMatchObject({ claimed: 1, revoked: 1 });
    expect(second.claimed).toBe(0);
    expect(h.flaky.calls.filter((c) => c.op === 'revoke')).toHaveLength(1);
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoked');
    expect(await actionsFor(h, granted.id)).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'access_granted', 'revocation_started', 'access_revoked']);
  });

  it('keeps a grant due through a provider outage, backing off, and completes it when the provider recovers', async () => {
    // Given expired access on a provider that is down
    const granted = await activeGrant(h, 'flaky-admin', '1h');
    h.clock.advance(61);
    const outage = () => {
      h.flaky.failNext = new ProviderError('unavailable', 'flaky', 'connection reset');
    };

    // When the first attempt fails
    outage();
    const failedAt = h.clock.now();
    expect(await revokeDueGrants(h.ctx, worker)).toMatchObject({ claimed: 1, revoked: 0, failed: 1 });

    // Then it stays revoking, with the attempt counted and the next one 3.75 s later (5 s, jitter 0.5)
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoking');
    const first = await grantBookkeeping(database, granted.id);
    expect(first).toMatchObject({ revokeAttempts: 1, leaseOwner: null, revokedAt: null });
    expect(first.lastError).toContain('connection reset');
    expect(first.nextAttemptAt?.getTime()).toBe(failedAt.getTime() + 3_750);

    // And it is not retried before then
    expect((await revokeDueGrants(h.ctx, worker)).claimed).toBe(0);

    // When the second attempt, after the backoff, fails too, the wait doubles (10 s, jitter 0.5)
    h.clock.set(new Date(failedAt.getTime() + 3_750));
    outage();
    expect(await revokeDueGrants(h.ctx, worker)).toMatchObject({ claimed: 1, failed: 1 });
    const second = await grantBookkeeping(database, granted.id);
    expect(second.revokeAttempts).toBe(2);
    expect(second.nextAttemptAt?.getTime()).toBe(h.clock.now().getTime() + 7_500);
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoking');

    // When the provider is back and the backoff has passed
    h.clock.advance(1);
    const batch = await revokeDueGrants(h.ctx, worker);

    // Then it is revoked, once, and the trail shows both failures
    expect(batch).toMatchObject({ claimed: 1, revoked: 1, failed: 0 });
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoked');
    expect(await actionsFor(h, granted.id)).toEqual([
      'request_opened',
      'approval_recorded',
      'request_approved',
      'access_granted',
      'revocation_started',
      'revocation_failed',
      'revocation_failed',
      'access_revoked',
    ]);
    expect(await grantBookkeeping(database, granted.id)).toMatchObject({ revokeAttempts: 2, accessRemoved: true, nextAttemptAt: null });
    expect(h.flaky.calls.filter((c) => c.op === 'revoke')).toHaveLength(3);
  });

  it('keeps a revocation the provider deferred (Azure\'s first 5 minutes) due for exactly then, without counting it as a failure or alerting', async () => {
    // Given expired access on a provider that cannot remove it for another 4 minutes
    const granted = await activeGrant(h, 'flaky-admin', '1h');
    h.clock.advance(61);
    let until = new Date(0);
    const defer = () => {
      until = new Date(h.clock.now().getTime() + 4 * 60_000);
      h.flaky.failNext = new ProviderError('deferred', 'flaky', 'an assignment cannot be removed within 5 minutes of its start', { retryAt: until });
    };

    // When the engine tries, more often than the alert threshold of failures, deferred each time
    const first = new Date(h.clock.now().getTime() + 4 * 60_000);
    for (let i = 0; i < h.ctx.work.revocationAlertAfter + 1; i++) {
      defer();
      expect(await revokeDueGrants(h.ctx, worker)).toMatchObject({ claimed: 1, revoked: 0, failed: 0, deferred: 1 });
      // Then it is due again at exactly that time, the attempt is not counted, and nothing is retried before
      const kept = await grantBookkeeping(database, granted.id);
      expect(kept).toMatchObject({ revokeAttempts: 0, leaseOwner: null, revokedAt: null });
      expect(kept.nextAttemptAt?.getTime()).toBe(until.getTime());
      expect((await revokeDueGrants(h.ctx, worker)).claimed).toBe(0);
      h.clock.set(until);
    }

    // And no alert was raised; the trail says it was deferred and until when
    const events = await h.ctx.store.readAudit(1, 1000);
    expect(events.filter((e) => e.action === 'alert_raised')).toEqual([]);
    const deferred = events.filter((e) => e.action === 'revocation_deferred');
    expect(deferred).toHaveLength(h.ctx.work.revocationAlertAfter + 1);
    expect(deferred[0]?.data).toMatchObject({ retryAt: first.toISOString() });
    expect(events.filter((e) => e.action === 'revocation_failed')).toEqual([]);

    // When the provider allows it, it is revoked
    expect(await revokeDueGrants(h.ctx, worker)).toMatchObject({ claimed: 1, revoked: 1 });
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoked');
  });

  it("honours a throttling answer's Retry-After when it is longer than the backoff", async () => {
    // Given expired access on a provider that answers "throttled, try again in 30 s"
    const granted = await activeGrant(h, 'flaky-admin', '1h');
    h.clock.advance(61);
    const retryAt = new Date(h.clock.now().getTime() + 30_000);
    h.flaky.failNext = new ProviderError('unavailable', 'flaky', 'throttled', { retryAt });

    // When the attempt fails
    expect(await revokeDueGrants(h.ctx, worker)).toMatchObject({ failed: 1 });

    // Then the next attempt waits for the provider's time, not the 3.75 s backoff, and counts as a failure
    const kept = await grantBookkeeping(database, granted.id);
    expect(kept.nextAttemptAt?.getTime()).toBe(retryAt.getTime());
    expect(kept.revokeAttempts).toBe(1);
  });

  it('leaves a grant leased by another engine alone until the lease lapses', async () => {
    // Given an expired grant that another engine claimed, then died
    const granted = await activeGrant(h, 'prod-readonly', '1h');
    h.clock.advance(61);
    const taken = await h.ctx.store.claimDueRevocations(h.clock.now(), 'host-b:2:bbbb', 30_000, 10);
    expect(taken).toEqual([{ requestId: granted.id, attempts: 0 }]);

    // When this engine sweeps during the lease, and after it
    const during = await revokeDueGrants(h.ctx, worker);
    h.clock.advance(0.5);
    const after = await revokeDueGrants(h.ctx, worker);

    // Then it takes the grant over only once the lease has lapsed
    expect(during.claimed).toBe(0);
    expect(after).toMatchObject({ claimed: 1, revoked: 1 });
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoked');
  });

  it('claims the oldest expiries first, a batch at a time', async () => {
    // Given three expired grants, expiring at 11:00, 10:30 and 11:30
    const late = await activeGrant(h, 'prod-readonly', '1h');
    const early = await activeGrant(h, 'prod-readonly', '30m');
    const last = await activeGrant(h, 'prod-readonly', '90m');
    h.clock.advance(120);

    // When claims are made two at a time
    const first = await h.ctx.store.claimDueRevocations(h.clock.now(), 'x', 60_000, 2);
    const second = await h.ctx.store.claimDueRevocations(h.clock.now(), 'y', 60_000, 2);

    // Then they come in expiry order, never twice
    expect(first.map((c) => c.requestId)).toEqual([early.id, late.id]);
    expect(second.map((c) => c.requestId)).toEqual([last.id]);
  });
});
