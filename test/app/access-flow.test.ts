import { approveRequest } from '../../src/app/approve-request';
import { cancelRequest } from '../../src/app/cancel-request';
import { denyRequest } from '../../src/app/deny-request';
import { ProviderError } from '../../src/app/errors';
import { extendAccess } from '../../src/app/extend-access';
import { listAwaitingMyApproval, listLiveGrants, listMyRequests } from '../../src/app/list-requests';
import { requestAccess } from '../../src/app/request-access';
import { revokeAccess } from '../../src/app/revoke-access';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import type { AccessRequest } from '../../src/domain/access-request';
import { email } from '../../src/domain/email';
import { cliOrigin, createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { flakyRole, value } from '../support/revocation-fixtures';
import { storeBackends } from '../support/test-database';
import type { Database } from '../../src/adapters/store/open-database';

const dave = email('dave@example.com');
const alice = email('alice@example.com');
const bob = email('bob@example.com');
const carol = email('carol@example.com');
const erin = email('erin@example.com');
const mallory = email('mallory@evil.test');

async function auditActions(h: Harness): Promise<string[]> {
  const head = await h.ctx.store.auditHead();
  const events = await h.ctx.store.readAudit(1, head?.seq ?? 0);
  return events.map((e) => e.action);
}

describe.each(storeBackends)('access flow on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database, examplePolicyText + flakyRole);
  });
  afterEach(async () => {
    await database.close();
  });

  async function openSandboxRequest(duration = '2h'): Promise<AccessRequest> {
    return value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration, ticket: 'OPS-1', reason: 'rotate the sandbox signing keys' }, cliOrigin));
  }

  it('lists what waits for an approver: pending, not theirs, on a role they approve, not yet approved by them', async () => {
    // Given dave's sandbox request approved by alice, and frank, a lead only through the chat platform's user group
    h.setPolicy(examplePolicyText.replace('members: [alice@example.com, bob@example.com, carol@example.com]', 'members: [alice@example.com, bob@example.com, carol@example.com]\n    slackUsergroup: S0LEADS'));
    const opened = await openSandboxRequest();
    await approveRequest(h.ctx, opened.id, alice, cliOrigin);
    const frank = email('frank@example.com');
    // When / Then
    expect((await listAwaitingMyApproval(h.ctx, bob)).map((r) => r.id)).toEqual([opened.id]);
    expect(await listAwaitingMyApproval(h.ctx, alice)).toEqual([]);
    expect(await listAwaitingMyApproval(h.ctx, dave)).toEqual([]);
    expect(await listAwaitingMyApproval(h.ctx, frank)).toEqual([]);
    expect((await listAwaitingMyApproval(h.ctx, frank, new Set(['leads']))).map((r) => r.id)).toEqual([opened.id]);
    // And a role gone from the policy leaves nothing to decide
    h.setPolicy(examplePolicyText.replace(/  sandbox-admin:[\s\S]*?(?=\n  # No `cli` block)/, ''));
    expect(await listAwaitingMyApproval(h.ctx, bob)).toEqual([]);
  });

  it('grants after two distinct approvals, with the clock starting at grant time', async () => {
    // Given a pending request opened at 10:00
    const opened = await openSandboxRequest('2h');
    expect(opened.state).toBe('pending');

    // When alice approves at 10:05 and bob at 10:20
    h.clock.advance(5);
    const first = value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
    h.clock.advance(15);
    const granted = value(await approveRequest(h.ctx, opened.id, bob, cliOrigin));

    // Then it is active from 10:20 until 12:20, not 12:00
    expect(first.state).toBe('pending');
    expect(granted.state).toBe('active');
    expect(granted.grant?.grantedAt.toISOString()).toBe('2026-03-03T10:20:00.000Z');
    expect(granted.grant?.expiresAt.toISOString()).toBe('2026-03-03T12:20:00.000Z');
    expect(await h.local.memberships()).toEqual([{ principal: 'dave@example.com', role: 'sandbox-admin', target: { environment: 'sandbox' } }]);
    expect((await listLiveGrants(h.ctx)).map((r) => r.id)).toEqual([opened.id]);
    expect(await auditActions(h)).toEqual(['request_opened', 'approval_recorded', 'approval_recorded', 'request_approved', 'access_granted']);
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
  });

  it('stamps every event with its origin, the policy hash, role, ticket and reason', async () => {
    // Given a request
    const opened = await openSandboxRequest();

    // When it is read back from the chain
    const [event] = await h.ctx.store.readAudit(1, 1);

    // Then the event says who, where from, under which policy, and about what
    expect(event?.requestId).toBe(opened.id);
    expect(event?.actor).toBe('dave@example.com');
    expect(event?.data).toMatchObject({
      role: 'sandbox-admin',
      resource: { provider: 'local', target: { environment: 'sandbox' } },
      ticket: 'OPS-1',
      reason: 'rotate the sandbox signing keys',
      policySha: h.ctx.policy.current().sha256,
      origin: { via: 'cli', osUser: 'tester' },
    });
  });

  it('refuses self-approval and non-approvers and writes nothing', async () => {
    // Given a pending request
    const opened = await openSandboxRequest();
    const before = await h.ctx.store.auditHead();

    // When the requester and an outsider try to approve
    const self = await approveRequest(h.ctx, opened.id, dave, cliOrigin);
    const outsider = await approveRequest(h.ctx, opened.id, erin, cliOrigin);

    // Then both are refused with their reason and the log is unchanged
    expect(self).toMatchObject({ ok: false, refusal: { code: 'self_approval' } });
    expect(outsider).toMatchObject({ ok: false, refusal: { code: 'not_approver' } });
    expect(await h.ctx.store.auditHead()).toEqual(before);
    expect((await h.ctx.store.findRequest(opened.id))?.approvals).toEqual([]);
  });

  it('counts a repeated approval once and records no second event', async () => {
    // Given alice approved
    const opened = await openSandboxRequest();
    await approveRequest(h.ctx, opened.id, alice, cliOrigin);
    const before = await h.ctx.store.auditHead();

    // When her click arrives again
    const again = await approveRequest(h.ctx, opened.id, alice, cliOrigin);

    // Then nothing changes
    expect(again).toMatchObject({ ok: true, changed: false });
    expect(await h.ctx.store.auditHead()).toEqual(before);
    expect((await h.ctx.store.findRequest(opened.id))?.state).toBe('pending');
  });

  it('resolves two approvers clicking at the same instant to exactly one grant', async () => {
    // Given a request needing 2 approvals, one already given
    const opened = await openSandboxRequest();
    await approveRequest(h.ctx, opened.id, alice, cliOrigin);

    // When bob and carol approve concurrently, and bob's click is delivered twice
    const results = await Promise.all([
      approveRequest(h.ctx, opened.id, bob, cliOrigin),
      approveRequest(h.ctx, opened.id, carol, cliOrigin),
      approveRequest(h.ctx, opened.id, bob, cliOrigin),
    ]);

    // Then exactly one approval completes the request and it is granted once
    const actions = await auditActions(h);
    expect(actions.filter((a) => a === 'request_approved')).toHaveLength(1);
    expect(actions.filter((a) => a === 'access_granted')).toHaveLength(1);
    const final = await h.ctx.store.findRequest(opened.id);
    expect(final?.state).toBe('active');
    expect(final?.approvals).toHaveLength(2);
    expect(results.filter((r) => r.ok && r.changed && r.value.state === 'active')).toHaveLength(1);
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
  });

  it('ends a request at the first deny and keeps the reason', async () => {
    // Given a pending request with one approval
    const opened = await openSandboxRequest();
    await approveRequest(h.ctx, opened.id, alice, cliOrigin);

    // When bob denies it
    const denied = value(await denyRequest(h.ctx, opened.id, bob, 'use the read-only role for this', cliOrigin));

    // Then it is over: no further approval can grant it
    expect(denied.state).toBe('denied');
    expect(denied.denial).toMatchObject({ by: bob, reason: 'use the read-only role for this' });
    expect(await approveRequest(h.ctx, opened.id, carol, cliOrigin)).toMatchObject({ ok: false, refusal: { code: 'not_pending' } });
    expect(await h.local.memberships()).toEqual([]);
  });

  it('refuses a deny without a reason', async () => {
    const opened = await openSandboxRequest();
    expect(await denyRequest(h.ctx, opened.id, bob, ' . ', cliOrigin)).toMatchObject({ ok: false, refusal: { code: 'bad_reason' } });
    expect((await h.ctx.store.findRequest(opened.id))?.state).toBe('pending');
  });

  it('lets only the requester cancel a pending request', async () => {
    const opened = await openSandboxRequest();
    expect(await cancelRequest(h.ctx, opened.id, alice, cliOrigin)).toMatchObject({ ok: false, refusal: { code: 'not_requester' } });
    expect(value(await cancelRequest(h.ctx, opened.id, dave, cliOrigin)).state).toBe('cancelled');
    expect((await listMyRequests(h.ctx, dave)).map((r) => r.state)).toEqual(['cancelled']);
  });

  it('revokes early: removes the membership and records who and why', async () => {
    // Given active access
    const opened = await openSandboxRequest();
    await approveRequest(h.ctx, opened.id, alice, cliOrigin);
    await approveRequest(h.ctx, opened.id, bob, cliOrigin);

    // When an outsider tries, then the admin erin revokes it
    const outsider = await revokeAccess(h.ctx, opened.id, mallory, 'revoked_early', cliOrigin);
    h.clock.advance(10);
    const revoked = value(await revokeAccess(h.ctx, opened.id, erin, 'revoked_early', cliOrigin));

    // Then the outsider is refused, and the access is gone
    expect(outsider).toMatchObject({ ok: false, refusal: { code: 'not_authorised' } });
    expect(revoked).toMatchObject({ state: 'revoked', endCause: 'revoked_early', endedBy: erin });
    expect(await h.local.memberships()).toEqual([]);
    const events = await h.ctx.store.readAudit(1, 100);
    expect(events.find((e) => e.action === 'access_revoked')?.data).toMatchObject({ accessRemoved: true, cause: 'revoked_early' });
    expect(await listLiveGrants(h.ctx)).toEqual([]);
  });

  it('does not cut a live grant short when an overlapping grant of the same role ends', async () => {
    // Given dave holds sandbox-admin through two live grants, A and then B
    const a = await openSandboxRequest('1h');
    await approveRequest(h.ctx, a.id, alice, cliOrigin);
    await approveRequest(h.ctx, a.id, bob, cliOrigin);
    h.clock.advance(30);
    const b = await openSandboxRequest('2h');
    await approveRequest(h.ctx, b.id, alice, cliOrigin);
    await approveRequest(h.ctx, b.id, bob, cliOrigin);

    // When A ends
    value(await revokeAccess(h.ctx, a.id, dave, 'revoked_early', cliOrigin));

    // Then the membership stays for B, and the audit trail says why
    expect(await h.local.memberships()).toHaveLength(1);
    const revokedA = (await h.ctx.store.readAudit(1, 100)).find((e) => e.action === 'access_revoked' && e.requestId === a.id);
    expect(revokedA?.data).toMatchObject({ accessRemoved: false, note: `access kept: live grant ${b.id} covers the same role and target` });

    // When B ends too, the access is removed
    value(await revokeAccess(h.ctx, b.id, dave, 'revoked_early', cliOrigin));
    expect(await h.local.memberships()).toEqual([]);
    const revokedB = (await h.ctx.store.readAudit(1, 100)).find((e) => e.action === 'access_revoked' && e.requestId === b.id);
    expect(revokedB?.data).toMatchObject({ accessRemoved: true });
  });

  it('keeps the approval when the provider is down at the last one, and leaves the grant to the scheduler', async () => {
    // Given the provider is down when the only approval arrives
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'flaky-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
    h.flaky.failNext = new ProviderError('unavailable', 'flaky', 'connection reset');

    // When alice approves
    const approved = await approveRequest(h.ctx, opened.id, alice, cliOrigin);

    // Then her approval counted, the request is approved and not active, and the grant is not in the log
    expect(approved).toMatchObject({ ok: true, changed: true, value: { state: 'approved' } });
    expect((await h.ctx.store.findRequest(opened.id))?.state).toBe('approved');
    expect(await auditActions(h)).not.toContain('access_granted');

    // And a second click changes nothing and does not call the provider again
    const calls = h.flaky.calls.length;
    expect(await approveRequest(h.ctx, opened.id, bob, cliOrigin)).toMatchObject({ ok: true, changed: false, value: { state: 'approved' } });
    expect(h.flaky.calls).toHaveLength(calls);
  });

  it('keeps access due for revocation when the provider fails, and says so', async () => {
    // Given active access on the flaky provider
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'flaky-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
    const granted = value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
    expect(granted.state).toBe('active');

    // When revocation fails at the provider
    h.flaky.failNext = new ProviderError('unavailable', 'flaky', 'connection reset');
    await expect(revokeAccess(h.ctx, opened.id, dave, 'revoked_early', cliOrigin)).rejects.toThrow('connection reset');

    // Then it is not recorded as revoked, and the failure is in the audit log
    expect((await h.ctx.store.findRequest(opened.id))?.state).toBe('revoking');
    expect(await auditActions(h)).toContain('revocation_failed');

    // And a retry completes it
    expect(value(await revokeAccess(h.ctx, opened.id, undefined, 'revoked_early', { via: 'scheduler' })).state).toBe('revoked');
  });

  it('fails a request whose grant the provider refuses for good', async () => {
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'flaky-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
    h.flaky.failNext = new ProviderError('refused', 'flaky', 'principal dave does not exist');
    const outcome = value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
    expect(outcome.state).toBe('failed');
    expect((await h.ctx.store.readAudit(1, 100)).find((e) => e.action === 'grant_failed')?.data).toMatchObject({ error: 'principal dave does not exist' });
  });

  it('grants break-glass at once, flagged, with a review deadline', async () => {
    const granted = value(
      await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-9', reason: 'sandbox is down for everyone', breakGlass: true }, cliOrigin),
    );
    expect(granted).toMatchObject({ state: 'active', breakGlass: true });
    expect(granted.decisionDeadline.toISOString()).toBe('2026-03-04T10:00:00.000Z');
    expect(await h.local.memberships()).toHaveLength(1);
  });

  it('refuses break-glass where the policy does not allow it', async () => {
    const outcome = await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '30m', ticket: 'INC-9', reason: 'sandbox is down for everyone', breakGlass: true }, cliOrigin);
    expect(outcome).toMatchObject({ ok: false, refusal: { code: 'break_glass_not_allowed' } });
  });

  it('extends live access after a new approval round, never past the maximum', async () => {
    // Given 2h of access granted at 10:00 on a role with a 4h maximum
    const opened = await openSandboxRequest('2h');
    await approveRequest(h.ctx, opened.id, alice, cliOrigin);
    await approveRequest(h.ctx, opened.id, bob, cliOrigin);

    // When dave asks for 3h more, then for 1h more
    const tooLong = await extendAccess(h.ctx, opened.id, { requester: dave, duration: '3h', reason: 'migration is taking longer' }, cliOrigin);
    const extension = value(await extendAccess(h.ctx, opened.id, { requester: dave, duration: '1h', reason: 'migration is taking longer' }, cliOrigin));
    const second = await extendAccess(h.ctx, opened.id, { requester: dave, duration: '30m', reason: 'migration is taking longer' }, cliOrigin);

    // Then the first is refused with the room left, the second waits for approval, a third is refused
    expect(tooLong).toMatchObject({ ok: false, refusal: { code: 'extension_too_long' } });
    expect(!tooLong.ok && tooLong.refusal.message).toContain('at most 2h more');
    expect(extension).toMatchObject({ kind: 'extension', parentId: opened.id, state: 'pending' });
    expect(second).toMatchObject({ ok: false, refusal: { code: 'already_extending' } });

    // When two approvers approve the extension
    await approveRequest(h.ctx, extension.id, alice, cliOrigin);
    await approveRequest(h.ctx, extension.id, carol, cliOrigin);

    // Then the live grant runs an hour longer
    const parent = await h.ctx.store.findRequest(opened.id);
    expect(parent?.grant?.expiresAt.toISOString()).toBe('2026-03-03T13:00:00.000Z');
    expect((await h.ctx.store.findRequest(extension.id))?.state).toBe('approved');
    expect(await auditActions(h)).toContain('grant_extended');
  });

  describe('a decision obeys the policy in force when it is made', () => {
    /** The example policy without sandbox-admin, plus the flaky role. */
    const withoutSandbox = examplePolicyText.replace(/ {2}# The tour in the README[\s\S]*?(?= {2}# No `cli` block)/, '') + flakyRole;

    it('grants a request approved after the maximum was lowered for the new maximum only, under the new policy', async () => {
      // Given dave's 3h request, opened at 10:00 under a 4h maximum
      const opened = await openSandboxRequest('3h');

      // When the maximum drops to 1h, and alice and bob approve at 10:05
      h.setPolicy(examplePolicyText.replace('maxDuration: 4h', 'maxDuration: 1h') + flakyRole);
      const newSha = h.ctx.policy.current().sha256;
      h.clock.advance(5);
      value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
      const granted = value(await approveRequest(h.ctx, opened.id, bob, cliOrigin));

      // Then the grant lasts 1h, not 3h
      expect(granted.state).toBe('active');
      expect(granted.grant?.expiresAt.toISOString()).toBe('2026-03-03T11:05:00.000Z');
      expect((await h.ctx.store.findRequest(opened.id))?.grant?.expiresAt.toISOString()).toBe('2026-03-03T11:05:00.000Z');

      // And the grant's event carries the policy it was made under and says it was capped
      const event = (await h.ctx.store.readAudit(1, 100)).find((e) => e.action === 'access_granted');
      expect(newSha).not.toBe(opened.policySha);
      expect(event?.data).toMatchObject({ policySha: newSha, duration: '1h', capped: { requested: '3h', maxDuration: '1h' }, expiresAt: '2026-03-03T11:05:00.000Z' });
    });

    it('refuses to approve a request whose role left the policy, saying what can still happen to it', async () => {
      // Given dave's pending request, and then a policy without its role
      const opened = await openSandboxRequest('1h');
      h.setPolicy(withoutSandbox);

      // When alice approves
      const outcome = await approveRequest(h.ctx, opened.id, alice, cliOrigin);

      // Then she is refused with what remains possible, nothing is written, and dave can still cancel it
      expect(outcome).toMatchObject({ ok: false, refusal: { code: 'unknown_role' } });
      expect(!outcome.ok && outcome.refusal.message).toBe(
        `Role sandbox-admin is no longer in the policy, so request ${opened.id} cannot be approved. It can still be cancelled by dave@example.com or denied by an admin; otherwise it times out at 2026-03-03T10:30:00.000Z.`,
      );
      expect(await auditActions(h)).toEqual(['request_opened']);
      expect(value(await cancelRequest(h.ctx, opened.id, dave, cliOrigin)).state).toBe('cancelled');
      expect(await h.local.memberships()).toEqual([]);
    });
  });

  it.each([
    ['an unknown role', { role: 'root' }, 'unknown_role'],
    ['a negative duration', { duration: '-1h' }, 'bad_duration'],
    ['an absurd duration (past the role maximum, whatever the unit)', { duration: '99999d' }, 'duration_too_long'],
    ['a duration over the maximum', { duration: '5h' }, 'duration_too_long'],
    ['a ticket with a newline', { ticket: 'OPS-1\nINC-2' }, 'bad_ticket'],
    ['a 10 kB reason', { reason: 'x'.repeat(10_000) }, 'bad_reason'],
    ['"." as a reason', { reason: '.' }, 'bad_reason'],
    ['someone outside the requesters', { requester: mallory }, 'not_eligible'],
  ])('refuses %s and changes nothing', async (_name, override, code) => {
    // Given an empty log
    const before = await h.ctx.store.auditHead();

    // When a bad request arrives
    const outcome = await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '1h', ticket: 'OPS-1', reason: 'rotate the sandbox signing keys', ...override }, cliOrigin);

    // Then it is refused with a message, and nothing is stored
    expect(outcome).toMatchObject({ ok: false, refusal: { code } });
    expect(!outcome.ok && outcome.refusal.message.length).toBeGreaterThan(10);
    expect(await h.ctx.store.auditHead()).toEqual(before);
    expect(await listMyRequests(h.ctx, dave)).toEqual([]);
  });
});
