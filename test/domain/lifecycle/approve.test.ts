import type { AccessRequest } from '../../../src/domain/access-request';
import { approve, deny, describeState } from '../../../src/domain/lifecycle/approve';
import { cancel, timeOut } from '../../../src/domain/lifecycle/end-request';
import { markGranted } from '../../../src/domain/lifecycle/grant';
import { openRequest } from '../../../src/domain/lifecycle/open-request';
import { beginRevocation, completeRevocation } from '../../../src/domain/lifecycle/revoke';
import { expectRequestFacts, loadPolicy, maxDurationOf, pendingRequest, people, POLICY_YAML, refused, requestId, requestInput, succeeded } from '../fixtures';

const loaded = loadPolicy();
const policy = loaded.policy;
const T1 = new Date('2026-03-03T10:05:00Z');
const T2 = new Date('2026-03-03T10:07:00Z');

/** dave's break-glass db-admin access, opened at 10:00Z and granted at 10:01Z. */
function liveBreakGlass(): AccessRequest {
  const opened = succeeded(openRequest(requestInput({ breakGlass: true }), requestId('BG000001'), loaded, new Date('2026-03-03T10:00:00Z')));
  return succeeded(markGranted(opened.request, maxDurationOf(policy, 'db-admin'), new Date('2026-03-03T10:01:00Z'))).request;
}

describe('approve', () => {
  it('records the first of two approvals and keeps the request pending', () => {
    // Given dave's db-admin request, which needs two approvals
    const request = pendingRequest();
    // When alice approves
    const { request: next, events } = succeeded(approve(request, people.alice, policy, T1));
    // Then
    expect(next.state).toBe('pending');
    expect(next.approvals).toEqual([{ approver: people.alice, at: T1 }]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'approval_recorded', actor: people.alice, data: { approvals: 1, approvalsRequired: 2 } });
    expectRequestFacts(events[0], next);
  });

  it('approves the request when the second distinct approver approves', () => {
    // Given alice has approved
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    // When bob approves
    const { request: next, events } = succeeded(approve(once, people.bob, policy, T2));
    // Then
    expect(next.state).toBe('approved');
    expect(next.approvals).toEqual([
      { approver: people.alice, at: T1 },
      { approver: people.bob, at: T2 },
    ]);
    expect(events.map((e) => e.action)).toEqual(['approval_recorded', 'request_approved']);
    expect(events[0]?.data).toMatchObject({ approvals: 2, approvalsRequired: 2 });
    expect(events[1]).toMatchObject({ actor: people.bob, data: { approvers: [people.alice, people.bob] } });
    for (const event of events) expectRequestFacts(event, next);
  });

  it('counts approvals against the policy in force when they are given, not when the request opened', () => {
    // Given a readonly request opened when one approval was enough, and a policy that now asks two
    const request = pendingRequest({ role: 'readonly' });
    const stricter = loadPolicy(POLICY_YAML.replace('approvals: 1', 'approvals: 2')).policy;
    // When carol approves
    const { request: next, events } = succeeded(approve(request, people.carol, stricter, T1));
    // Then it still waits for a second approver, and the trail says the rule changed
    expect(next).toMatchObject({ state: 'pending', approvalsRequired: 2 });
    expect(events.map((e) => e.action)).toEqual(['approval_recorded']);
    expect(events[0]?.data).toMatchObject({ approvals: 1, approvalsRequired: 2, approvalsRequiredWas: 1 });

    // And a db-admin request (two approvals) is approved at the first once the policy asks one
    const laxer = loadPolicy(POLICY_YAML.replace('approvals: 2', 'approvals: 1')).policy;
    const approved = succeeded(approve(pendingRequest(), people.alice, laxer, T1));
    expect(approved.request).toMatchObject({ state: 'approved', approvalsRequired: 1 });
    expect(approved.events.map((e) => e.action)).toEqual(['approval_recorded', 'request_approved']);
  });

  it('approves a one-approval request at the first approval', () => {
    // Given a readonly request, which needs one approval
    const request = pendingRequest({ role: 'readonly' });
    // When
    const { request: next, events } = succeeded(approve(request, people.carol, policy, T1));
    // Then
    expect(next.state).toBe('approved');
    expect(events.map((e) => e.action)).toEqual(['approval_recorded', 'request_approved']);
  });

  it('does not change the request it was given', () => {
    // Given
    const request = pendingRequest();
    // When
    succeeded(approve(request, people.alice, policy, T1));
    // Then
    expect(request.approvals).toEqual([]);
    expect(request.state).toBe('pending');
  });

  it('refuses when the approver is the requester', () => {
    // Given alice, a lead, asks for db-admin herself
    const request = pendingRequest({ requester: people.alice });
    // When she approves it
    const refusal = refused(approve(request, people.alice, policy, T1));
    // Then
    expect(refusal).toEqual({ code: 'self_approval', message: 'You cannot approve your own request REQ00001; it needs 2 other approvers.' });
  });

  it('refuses when the approver is not an approver of the role', () => {
    // Given frank, an engineer but not a lead
    // When
    const refusal = refused(approve(pendingRequest(), people.frank, policy, T1));
    // Then
    expect(refusal).toEqual({ code: 'not_approver', message: 'You are not an approver for db-admin, so you cannot approve request REQ00001.' });
  });

  it('refuses an admin who is not an approver of the role', () => {
    // Given erin, a policy admin, who may revoke but not approve
    // When / Then
    expect(refused(approve(pendingRequest(), people.erin, policy, T1)).code).toBe('not_approver');
  });

  it('treats a repeated approval as an outcome with no event', () => {
    // Given alice has approved
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    // When she clicks again
    const again = succeeded(approve(once, people.alice, policy, T2));
    // Then
    expect(again.events).toEqual([]);
    expect(again.request).toBe(once);
  });

  it('treats a repeated approval on an approved request as an outcome with no event', () => {
    // Given alice and bob have approved
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    const approved = succeeded(approve(once, people.bob, policy, T1)).request;
    // When bob's click is redelivered
    const again = succeeded(approve(approved, people.bob, policy, T2));
    // Then
    expect(again.events).toEqual([]);
    expect(again.request).toBe(approved);
  });

  it('treats a third approval of an approved, not yet granted request as a repeat, so the grant can be retried', () => {
    // Given alice and bob have approved, and the grant has not happened yet
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    const approved = succeeded(approve(once, people.bob, policy, T1)).request;
    // When carol approves too
    const again = succeeded(approve(approved, people.carol, policy, T2));
    // Then nothing is recorded and the request is unchanged
    expect(again.events).toEqual([]);
    expect(again.request).toBe(approved);
  });

  it('refuses an approval once access is live', () => {
    // Given an approved request that was granted
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    const active = succeeded(markGranted(succeeded(approve(once, people.bob, policy, T1)).request, maxDurationOf(policy, 'db-admin'), T1)).request;
    // When carol approves
    const refusal = refused(approve(active, people.carol, policy, T2));
    // Then
    expect(refusal).toEqual({ code: 'not_pending', message: 'Request REQ00001 is already active; there is nothing left to approve.' });
  });

  it('refuses an approval after the decision deadline', () => {
    // Given a pending request whose window has passed
    const request = pendingRequest();
    const late = new Date(request.decisionDeadline.getTime() + 1);
    // When alice approves late
    const refusal = refused(approve(request, people.alice, policy, late));
    // Then it is refused as timed out, and deny is too
    expect(refusal.code).toBe('not_pending');
    expect(refusal.message).toContain('timed out');
    expect(refused(deny(request, people.alice, 'too late anyway', policy, late)).message).toContain('timed out');
  });

  it('refuses an approval on a denied request', () => {
    // Given alice denied the request
    const denied = succeeded(deny(pendingRequest(), people.alice, 'use the read-only role', policy, T1)).request;
    // When bob approves
    const refusal = refused(approve(denied, people.bob, policy, T2));
    // Then
    expect(refusal).toEqual({
      code: 'not_pending',
      message: 'Request REQ00001 is denied by alice@example.com; there is nothing left to approve.',
    });
  });

  it('refuses an approval on a cancelled or timed-out request', () => {
    // Given
    const cancelled = succeeded(cancel(pendingRequest(), people.dave, T1)).request;
    const timedOut = succeeded(timeOut(pendingRequest(), new Date('2026-03-03T10:30:00Z'))).request;
    // When / Then
    expect(refused(approve(cancelled, people.alice, policy, T2)).code).toBe('not_pending');
    expect(refused(approve(timedOut, people.alice, policy, T2)).code).toBe('not_pending');
  });

  it('refuses when the role has left the policy', () => {
    // Given a policy without db-admin
    const without = loadPolicy(POLICY_YAML.replace(/\n {2}db-admin:[\s\S]*?(?=\n {2}readonly:)/, '')).policy;
    expect(without.roles.has('db-admin')).toBe(false);
    // When
    const refusal = refused(approve(pendingRequest(), people.alice, without, T1));
    // Then it says what can still happen to the request
    expect(refusal.code).toBe('unknown_role');
    expect(refusal.message).toBe(
      'Role db-admin is no longer in the policy, so request REQ00001 cannot be approved. It can still be cancelled by dave@example.com or denied by an admin; otherwise it times out at 2026-03-03T10:30:00.000Z.',
    );
  });

  it('records break-glass approvals as the review after the fact, leaving the access live', () => {
    // Given dave's live break-glass access, which needs two reviewers
    const live = liveBreakGlass();
    // When alice, then bob, approve
    const first = succeeded(approve(live, people.alice, policy, T1));
    const second = succeeded(approve(first.request, people.bob, policy, T2));
    // Then
    expect(first.request.state).toBe('active');
    expect(first.events.map((e) => e.action)).toEqual(['approval_recorded']);
    expect(second.request.state).toBe('active');
    expect(second.request.grant).toEqual(live.grant);
    expect(second.events.map((e) => e.action)).toEqual(['approval_recorded', 'break_glass_reviewed']);
    expect(second.events[1]).toMatchObject({ actor: people.bob, data: { breakGlass: true, reviewers: [people.alice, people.bob] } });
    for (const event of [...first.events, ...second.events]) expectRequestFacts(event, second.request);
  });

  it('refuses a further review once break-glass access has been reviewed', () => {
    // Given alice and bob reviewed dave's break-glass access
    const reviewed = succeeded(approve(succeeded(approve(liveBreakGlass(), people.alice, policy, T1)).request, people.bob, policy, T1)).request;
    // When carol approves too
    const refusal = refused(approve(reviewed, people.carol, policy, T2));
    // Then
    expect(refusal).toEqual({ code: 'not_pending', message: 'Break-glass request BG000001 has already been reviewed.' });
  });

  it('still accepts the review after break-glass access has ended', () => {
    // Given dave gave the break-glass access back before anyone reviewed it
    const revoking = succeeded(beginRevocation(liveBreakGlass(), 'revoked_early', people.dave, policy, T1)).request;
    const revoked = succeeded(completeRevocation(revoking, true, T1)).request;
    // When alice reviews it
    const { request: next, events } = succeeded(approve(revoked, people.alice, policy, T2));
    // Then
    expect(next.state).toBe('revoked');
    expect(events.map((e) => e.action)).toEqual(['approval_recorded']);
  });

  it('refuses the break-glass requester reviewing their own access', () => {
    // Given / When
    const refusal = refused(approve(liveBreakGlass(), people.dave, policy, T1));
    // Then
    expect(refusal.code).toBe('self_approval');
  });
});

describe('deny', () => {
  it('ends a pending request with one deny, keeping the reason', () => {
    // Given dave's pending request
    const request = pendingRequest();
    // When alice denies it
    const { request: next, events } = succeeded(deny(request, people.alice, 'use the read-only role', policy, T1));
    // Then
    expect(next.state).toBe('denied');
    expect(next.denial).toEqual({ by: people.alice, at: T1, reason: 'use the read-only role' });
    expect(next.endedAt).toEqual(T1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'request_denied', actor: people.alice, data: { denialReason: 'use the read-only role' } });
    expectRequestFacts(events[0], next);
  });

  it('ends a request that already has one of two approvals', () => {
    // Given alice approved
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    // When bob denies
    const { request: next } = succeeded(deny(once, people.bob, 'not during the freeze', policy, T2));
    // Then
    expect(next.state).toBe('denied');
  });

  it('refuses when the requester denies their own request', () => {
    // Given alice's own request
    const request = pendingRequest({ requester: people.alice });
    // When
    const refusal = refused(deny(request, people.alice, 'never mind', policy, T1));
    // Then
    expect(refusal).toEqual({ code: 'self_approval', message: 'You cannot decide on your own request REQ00001; to withdraw it, cancel it.' });
  });

  it('refuses when the person is not an approver of the role', () => {
    // Given / When
    const refusal = refused(deny(pendingRequest(), people.frank, 'no', policy, T1));
    // Then
    expect(refusal).toEqual({ code: 'not_approver', message: 'You are not an approver for db-admin, so you cannot deny request REQ00001.' });
  });

  it('treats a repeated deny by the same person as an outcome with no event', () => {
    // Given alice denied
    const denied = succeeded(deny(pendingRequest(), people.alice, 'no ticket context', policy, T1)).request;
    // When her click is redelivered
    const again = succeeded(deny(denied, people.alice, 'no ticket context', policy, T2));
    // Then
    expect(again.events).toEqual([]);
    expect(again.request).toBe(denied);
  });

  it('refuses a second deny by someone else', () => {
    // Given alice denied
    const denied = succeeded(deny(pendingRequest(), people.alice, 'no ticket context', policy, T1)).request;
    // When bob denies too
    const refusal = refused(deny(denied, people.bob, 'agreed', policy, T2));
    // Then
    expect(refusal).toEqual({ code: 'not_pending', message: 'Request REQ00001 is denied by alice@example.com; it can no longer be denied.' });
  });

  it('refuses to deny an approved request', () => {
    // Given a readonly request approved by carol
    const approved = succeeded(approve(pendingRequest({ role: 'readonly' }), people.carol, policy, T1)).request;
    // When alice denies it
    const refusal = refused(deny(approved, people.alice, 'too late', policy, T2));
    // Then
    expect(refusal.code).toBe('not_pending');
  });

  it('lets only an admin deny a request whose role has left the policy', () => {
    // Given a policy without db-admin
    const without = loadPolicy(POLICY_YAML.replace(/\n {2}db-admin:[\s\S]*?(?=\n {2}readonly:)/, '')).policy;
    const request = pendingRequest();
    // When a lead and then an admin deny
    const byLead = refused(deny(request, people.alice, 'role gone', without, T1));
    const byAdmin = succeeded(deny(request, people.erin, 'role gone', without, T1));
    // Then
    expect(byLead).toEqual({ code: 'not_approver', message: 'Role db-admin is no longer in the policy; only an admin can deny request REQ00001.' });
    expect(byAdmin.request.state).toBe('denied');
  });
});

describe('describeState', () => {
  it.each([
    ['pending', 'waiting for approval'],
    ['approved', 'already approved'],
    ['active', 'already active'],
    ['revoking', 'being revoked'],
    ['revoked', 'already over'],
    ['cancelled', 'cancelled'],
    ['timed_out', 'timed out without a decision'],
    ['failed', 'failed'],
    ['denied', 'denied'],
  ] as const)('describes %s as %j', (state, words) => {
    // Given a request in that state (without a recorded denial)
    const request: AccessRequest = { ...pendingRequest(), state };
    // When / Then
    expect(describeState(request)).toBe(words);
  });
});

describe('approve and deny through a chat platform user group', () => {
  // Given leads mapped to a Slack user group as well as listed by address
  const withUsergroup = loadPolicy(POLICY_YAML.replace('leads: { members: [alice@example.com, bob@example.com, carol@example.com] }', 'leads: { members: [alice@example.com], slackUsergroup: S0LEADS }')).policy;
  const request = pendingRequest();

  it('counts someone the platform vouches is in the group, and says so in the audit event', () => {
    const { events } = succeeded(approve(request, people.frank, withUsergroup, T1, new Set(['leads'])));
    expect(events[0]?.data).toMatchObject({ approverVia: { platformGroups: ['leads'] } });
  });

  it('refuses the same person without the platform vouching, and ignores groups that have no platform mapping', () => {
    expect(refused(approve(request, people.frank, withUsergroup, T1)).code).toBe('not_approver');
    expect(refused(approve(request, people.frank, policy, T1, new Set(['leads']))).code).toBe('not_approver');
  });

  it('never lets the group make the requester an approver of their own request', () => {
    expect(refused(approve(request, people.dave, withUsergroup, T1, new Set(['leads']))).code).toBe('self_approval');
  });

  it('notes nothing extra for a member listed by address', () => {
    const { events } = succeeded(approve(request, people.alice, withUsergroup, T1, new Set(['leads'])));
    expect(events[0]?.data).not.toHaveProperty('approverVia');
  });

  it('lets a vouched member deny, and records how they counted', () => {
    const { events } = succeeded(deny(request, people.frank, 'not during the freeze', withUsergroup, T1, new Set(['leads'])));
    expect(events[0]?.data).toMatchObject({ denialReason: 'not during the freeze', approverVia: { platformGroups: ['leads'] } });
  });
});
