import type { Database } from '../../src/adapters/store/open-database';
import { alertUnreviewedBreakGlass } from '../../src/app/alert-unreviewed-break-glass';
import { approveRequest } from '../../src/app/approve-request';
import type { AppContext } from '../../src/app/app-context';
import { enforcePolicy } from '../../src/app/enforce-policy';
import { ProviderError } from '../../src/app/errors';
import { extendAccess } from '../../src/app/extend-access';
import { grantDueRequests } from '../../src/app/grant-due-requests';
import { noticeExpiringGrants } from '../../src/app/notice-expiring-grants';
import { requestAccess } from '../../src/app/request-access';
import { revokeDueGrants, type RevocationWorker } from '../../src/app/revoke-due-grants';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import { email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';
import { chatOrigin, cliOrigin, createHarness, examplePolicyText, queryRows, type Harness } from '../support/app-harness';
import { actionsFor, activeGrant, alice, dave, flakyRole, value } from '../support/revocation-fixtures';
import { storeBackends } from '../support/test-database';

const bob = email('bob@example.com');
const worker: RevocationWorker = { owner: 'replica-a', leaseMs: 60_000, batchSize: 10, concurrency: 2, random: { next: () => 0.5 } };

describe.each(storeBackends)('scheduled work on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database, examplePolicyText + flakyRole);
  });
  afterEach(async () => {
    await database.close();
  });

  const withWork = (overrides: Partial<AppContext['work']>): AppContext => ({ ...h.ctx, work: { ...h.ctx.work, ...overrides } });
  const unavailable = () => new ProviderError('unavailable', 'flaky', 'connection reset');

  async function alertRows(): Promise<{ rule: string; severity: string; key: string; request_id: string; message: string }[]> {
    return queryRows(database, 'SELECT rule, severity, dedupe_key AS key, request_id, message FROM alerts ORDER BY id');
  }

  async function openFlaky(): Promise<RequestId> {
    return value(await requestAccess(h.ctx, { requester: dave, role: 'flaky-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin)).id;
  }

  describe('grants the approval could not make', () => {
    it('retries after the backoff, and grants once with the clock starting then', async () => {
      // Given the provider is down at the approval
      const id = await openFlaky();
      h.flaky.failNext = unavailable();
      expect(value(await approveRequest(h.ctx, id, alice, cliOrigin)).state).toBe('approved');

      // When the scheduler looks before the backoff (2.5 s: 5 s with jitter 0.5) has passed
      expect(await grantDueRequests(h.ctx, 'replica-a', 10)).toEqual({ claimed: 0, granted: 0, failed: 0 });

      // Then nothing happens; after it, the grant is made, with the clock starting at that moment
      h.clock.set(new Date(h.clock.now().getTime() + 3_750));
      expect(await grantDueRequests(h.ctx, 'replica-a', 10)).toEqual({ claimed: 1, granted: 1, failed: 0 });
      const granted = await h.ctx.store.findRequest(id);
      expect(granted?.state).toBe('active');
      expect(granted?.grant?.grantedAt).toEqual(h.clock.now());
      expect(h.flaky.calls.filter((c) => c.op === 'grant')).toHaveLength(2);
      expect((await actionsFor(h, id)).filter((a) => a === 'access_granted')).toHaveLength(1);
      expect(await grantDueRequests(h.ctx, 'replica-a', 10)).toMatchObject({ claimed: 0 });
    });

    it('caps a retried grant at the maximum in force when it is finally made', async () => {
      // Given dave's 3h request, approved while the provider is down
      const id = value(await requestAccess(h.ctx, { requester: dave, role: 'flaky-admin', duration: '3h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin)).id;
      h.flaky.failNext = unavailable();
      expect(value(await approveRequest(h.ctx, id, alice, cliOrigin)).state).toBe('approved');

      // When the maximum drops to 1h, and the scheduler retries two hours later
      h.setPolicy(examplePolicyText + flakyRole.replace('maxDuration: 4h', 'maxDuration: 1h'));
      h.clock.advance(120);
      expect(await grantDueRequests(h.ctx, 'replica-a', 10)).toMatchObject({ granted: 1 });

      // Then the provider and the record both get one hour from then, and the event says why
      const oneHourOn = new Date(h.clock.now().getTime() + 60 * 60_000);
      expect(h.flaky.calls.at(-1)).toMatchObject({ op: 'grant', spec: { expiresAt: oneHourOn } });
      expect((await h.ctx.store.findRequest(id))?.grant?.expiresAt).toEqual(oneHourOn);
      const event = (await h.ctx.store.readAudit(1, 100)).find((e) => e.action === 'access_granted');
      expect(event?.data).toMatchObject({ capped: { requested: '3h', maxDuration: '1h' }, policySha: h.ctx.policy.current().sha256, origin: { via: 'scheduler' } });
    });

    it('does not grant a retried request whose role left the policy meanwhile, and ends it', async () => {
      // Given an approval while the provider is down
      const id = await openFlaky();
      h.flaky.failNext = unavailable();
      expect(value(await approveRequest(h.ctx, id, alice, cliOrigin)).state).toBe('approved');

      // When the policy drops flaky-admin before the scheduler retries
      h.setPolicy(examplePolicyText);
      h.clock.advance(10);
      expect(await grantDueRequests(h.ctx, 'replica-a', 10)).toMatchObject({ claimed: 1, granted: 0, failed: 1 });

      // Then the provider is not asked again, the request has ended, and the trail says why
      expect(h.flaky.calls.filter((c) => c.op === 'grant')).toHaveLength(1);
      expect(await h.ctx.store.findRequest(id)).toMatchObject({ state: 'failed', endCause: 'policy_changed' });
      const event = (await h.ctx.store.readAudit(1, 100)).find((e) => e.action === 'grant_failed');
      expect(event?.data).toMatchObject({ error: 'role flaky-admin is no longer in the policy, so nothing was granted', cause: 'policy_changed', policySha: h.ctx.policy.current().sha256 });
      expect(await grantDueRequests(h.ctx, 'replica-a', 10)).toMatchObject({ claimed: 0 });
    });

    it('leaves the first attempt to the approving process until its lease lapses (a crash between approval and grant)', async () => {
      // Given an approval whose process died before it called the provider: approved, leased to it
      const id = await openFlaky();
      const loaded = h.ctx.policy.current();
      await h.ctx.store.transaction(async (tx) => {
        const request = await tx.lockRequest(id);
        if (!request) throw new Error('missing');
        await tx.saveRequest({ ...request, state: 'approved', approvals: [{ approver: alice, at: h.clock.now() }] });
        await tx.leaseGrant(id, 'dead-process', new Date(h.clock.now().getTime() + 60_000));
        await tx.appendAudit([{ action: 'request_approved', actor: alice, requestId: id, data: { policySha: loaded.sha256 } }], h.clock.now());
      });

      // When the scheduler sweeps during the lease, nothing; after it, the grant is made once
      expect((await grantDueRequests(h.ctx, 'replica-a', 10)).claimed).toBe(0);
      h.clock.advance(1.1);
      expect(await grantDueRequests(h.ctx, 'replica-a', 10)).toEqual({ claimed: 1, granted: 1, failed: 0 });
      expect(h.flaky.calls.filter((c) => c.op === 'grant')).toHaveLength(1);
    });

    it('gives up after the configured number of failures: failed, the requester told, security alerted once', async () => {
      // Given a provider that stays down, and two attempts allowed
      const ctx = withWork({ grantMaxAttempts: 2 });
      const id = await openFlaky();
      h.flaky.failNext = unavailable();
      expect(value(await approveRequest(ctx, id, alice, cliOrigin)).state).toBe('approved');

      // When the scheduler's retry fails too
      h.clock.advance(1);
      h.flaky.failNext = unavailable();
      expect(await grantDueRequests(ctx, 'replica-a', 10)).toEqual({ claimed: 1, granted: 0, failed: 1 });

      // Then the request is failed, with one grant_failed event and one alert
      expect((await h.ctx.store.findRequest(id))?.state).toBe('failed');
      expect(await actionsFor(h, id)).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'grant_failed', 'alert_raised']);
      const alerts = await alertRows();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ rule: 'grantFailed', severity: 'high', key: `grant_failed:${id}`, request_id: id });
      expect(alerts[0]?.message).toContain('failed 2 times');
      expect(alerts[0]?.message).toContain('connection reset');

      // And it is never tried again
      h.clock.advance(60);
      expect((await grantDueRequests(ctx, 'replica-a', 10)).claimed).toBe(0);
      expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
    });

    it('fails at once and alerts when the provider refuses for good', async () => {
      const id = await openFlaky();
      h.flaky.failNext = new ProviderError('refused', 'flaky', 'no such principal');
      expect(value(await approveRequest(h.ctx, id, alice, cliOrigin)).state).toBe('failed');
      expect(await alertRows()).toEqual([expect.objectContaining({ rule: 'grantFailed', key: `grant_failed:${id}`, request_id: id })]);
    });
  });

  describe('revocations that keep failing', () => {
    it('alerts security once after the configured number of failures and keeps retrying until confirmed', async () => {
      // Given expired access on a provider that is down, alerting after 2 failures
      const ctx = withWork({ revocationAlertAfter: 2 });
      const granted = await activeGrant(h, 'flaky-admin', '1h');
      h.clock.advance(61);

      // When three attempts fail
      for (let attempt = 1; attempt <= 3; attempt++) {
        h.flaky.failNext = unavailable();
        expect(await revokeDueGrants(ctx, worker)).toMatchObject({ claimed: 1, failed: 1 });
        h.clock.advance(10);
      }

      // Then there is one alert, raised at the second failure, and the access is still due
      expect(await alertRows()).toEqual([expect.objectContaining({ rule: 'revocationFailing', severity: 'high', key: `revocation_failing:${granted.id}`, request_id: granted.id })]);
      const actions = await actionsFor(h, granted.id);
      expect(actions.slice(actions.indexOf('revocation_started'))).toEqual([
        'revocation_started',
        'revocation_failed',
        'revocation_failed',
        'alert_raised',
        'revocation_failed',
      ]);
      expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoking');

      // When the provider recovers, it is revoked
      expect(await revokeDueGrants(ctx, worker)).toMatchObject({ revoked: 1 });
      expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoked');
    });

    it("raises the alert at the policy's severity for the revocationFailing rule, and none when the policy turns it off", async () => {
      // Given a policy that makes revocationFailing medium, and a failing revocation
      h.setPolicy(`${examplePolicyText}${flakyRole}\ndetection:\n  rules:\n    revocationFailing: { severity: medium }\n`);
      const ctx = withWork({ revocationAlertAfter: 1 });
      const first = await activeGrant(h, 'flaky-admin', '1h');
      h.clock.advance(61);
      h.flaky.failNext = unavailable();
      await revokeDueGrants(ctx, worker);
      expect(await alertRows()).toEqual([expect.objectContaining({ rule: 'revocationFailing', severity: 'medium', key: `revocation_failing:${first.id}` })]);

      // When the policy turns the rule off and another revocation fails
      h.setPolicy(`${examplePolicyText}${flakyRole}\ndetection:\n  rules:\n    revocationFailing: { enabled: false }\n`);
      h.clock.advance(1);
      expect(await revokeDueGrants(ctx, worker)).toMatchObject({ revoked: 1 });
      const second = await activeGrant(h, 'flaky-admin', '1h');
      h.clock.advance(61);
      h.flaky.failNext = unavailable();
      await revokeDueGrants(ctx, worker);

      // Then no second alert is raised
      expect((await h.ctx.store.findRequest(second.id))?.state).toBe('revoking');
      expect(await alertRows()).toHaveLength(1);
    });
  });

  describe('expiring-soon notices', () => {
    it('records one notice per expiry, ten minutes before it, and a new one after an extension', async () => {
      // Given 1h of access
      const granted = await activeGrant(h, 'prod-readonly', '1h');

      // When the scheduler looks 49 minutes in, nothing is due; at 50 minutes, one notice
      h.clock.advance(49);
      expect(await noticeExpiringGrants(h.ctx, 10)).toBe(0);
      h.clock.advance(1);
      expect(await noticeExpiringGrants(h.ctx, 10)).toBe(1);

      // Then it is not repeated
      h.clock.advance(5);
      expect(await noticeExpiringGrants(h.ctx, 10)).toBe(0);
      const notices = (await h.ctx.store.readAudit(1, 100)).filter((e) => e.action === 'access_expiring_soon');
      expect(notices).toHaveLength(1);
      expect(notices[0]?.data).toMatchObject({ expiresAt: granted.grant?.expiresAt.toISOString(), requester: dave, role: 'prod-readonly' });

      // When the grant is extended by an hour, the new expiry gets its own notice
      const extension = value(await extendAccess(h.ctx, granted.id, { requester: dave, duration: '1h', reason: 'the migration needs longer' }, cliOrigin));
      value(await approveRequest(h.ctx, extension.id, alice, chatOrigin));
      expect(await noticeExpiringGrants(h.ctx, 10)).toBe(0);
      h.clock.advance(55);
      expect(await noticeExpiringGrants(h.ctx, 10)).toBe(1);
      expect((await actionsFor(h, granted.id)).filter((a) => a === 'access_expiring_soon')).toHaveLength(2);
    });
  });

  describe('break-glass review', () => {
    it('alerts once when break-glass access is not reviewed within its window, and not when it is', async () => {
      // Given two break-glass grants (24h review window, 2 reviews); one gets both reviews
      const breakGlass = { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-9', reason: 'sandbox is down for everyone', breakGlass: true };
      const unreviewed = value(await requestAccess(h.ctx, breakGlass, cliOrigin));
      const reviewed = value(await requestAccess(h.ctx, breakGlass, cliOrigin));
      value(await approveRequest(h.ctx, reviewed.id, alice, cliOrigin));
      value(await approveRequest(h.ctx, reviewed.id, bob, cliOrigin));

      // When the window has not passed, nothing; when it has, one alert
      h.clock.advance(23 * 60);
      expect(await alertUnreviewedBreakGlass(h.ctx, 10)).toBe(0);
      h.clock.advance(61);
      expect(await alertUnreviewedBreakGlass(h.ctx, 10)).toBe(1);
      expect(await alertUnreviewedBreakGlass(h.ctx, 10)).toBe(0);

      // Then only the unreviewed one is alerted about, naming its reviews
      const alerts = await alertRows();
      expect(alerts).toEqual([expect.objectContaining({ rule: 'breakGlassUnreviewed', key: `break_glass_unreviewed:${unreviewed.id}`, request_id: unreviewed.id })]);
      expect(alerts[0]?.message).toContain('0 of 2 reviews');
    });
  });

  describe('policy changes', () => {
    it('revokes grants of a removed role and shortens grants past a lowered maximum', async () => {
      // Given live grants: 6h of prod-readonly (max 8h) and 1h of flaky-admin
      const long = await activeGrant(h, 'prod-readonly', '6h');
      const flaky = await activeGrant(h, 'flaky-admin', '1h');
      h.clock.advance(60);

      // When the policy drops flaky-admin and lowers prod-readonly's maximum to 2h
      h.setPolicy(examplePolicyText.replace('maxDuration: 8h', 'maxDuration: 2h'));
      const result = await enforcePolicy(h.ctx, { via: 'service' });

      // Then flaky-admin is revoked with cause policy_changed, and prod-readonly ends 2h after its grant
      expect(result).toEqual({ revoked: [flaky.id], shortened: [long.id] });
      expect(await h.ctx.store.findRequest(flaky.id)).toMatchObject({ state: 'revoked', endCause: 'policy_changed' });
      const shortened = await h.ctx.store.findRequest(long.id);
      expect(shortened?.grant?.expiresAt).toEqual(new Date((long.grant?.grantedAt.getTime() ?? 0) + 2 * 3_600_000));
      const event = (await h.ctx.store.readAudit(1, 100)).find((e) => e.action === 'grant_shortened');
      expect(event?.data).toMatchObject({ maxDuration: '2h', previousExpiresAt: long.grant?.expiresAt.toISOString(), cause: 'policy_changed' });

      // And running it again changes nothing
      expect(await enforcePolicy(h.ctx, { via: 'service' })).toEqual({ revoked: [], shortened: [] });
    });

    it('makes a grant already past the new maximum due at once', async () => {
      // Given 6h of prod-readonly, 3h in
      const long = await activeGrant(h, 'prod-readonly', '6h');
      h.clock.advance(180);

      // When the maximum drops to 2h
      h.setPolicy(examplePolicyText.replace('maxDuration: 8h', 'maxDuration: 2h'));
      await enforcePolicy(h.ctx, { via: 'service' });

      // Then it expires now, and the next sweep revokes it
      expect((await h.ctx.store.findRequest(long.id))?.grant?.expiresAt).toEqual(h.clock.now());
      expect(await revokeDueGrants(h.ctx, worker)).toMatchObject({ claimed: 1, revoked: 1 });
      expect(await h.local.memberships()).toEqual([]);
    });
  });

});
