import { approve } from '../../../src/domain/lifecycle/approve';
import { cancel, timeOut } from '../../../src/domain/lifecycle/end-request';
import { activeRequest, expectRequestFacts, loadPolicy, pendingRequest, people, refused, succeeded } from '../fixtures';

const policy = loadPolicy().policy;
const T1 = new Date('2026-03-03T10:05:00Z');

describe('cancel', () => {
  it('lets the requester withdraw a pending request', () => {
    // Given dave's pending request
    const request = pendingRequest();
    // When dave cancels it
    const { request: next, events } = succeeded(cancel(request, people.dave, T1));
    // Then
    expect(next.state).toBe('cancelled');
    expect(next.endedAt).toEqual(T1);
    expect(next.endedBy).toBe(people.dave);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'request_cancelled', actor: people.dave });
    expectRequestFacts(events[0], next);
  });

  it('refuses anyone but the requester, even an approver', () => {
    // Given / When
    const refusal = refused(cancel(pendingRequest(), people.alice, T1));
    // Then
    expect(refusal).toEqual({ code: 'not_requester', message: 'Only dave@example.com can cancel request REQ00001.' });
  });

  it('refuses to cancel an approved request', () => {
    // Given a readonly request approved by carol
    const approved = succeeded(approve(pendingRequest({ role: 'readonly' }), people.carol, policy, T1)).request;
    // When / Then
    expect(refused(cancel(approved, people.dave, T1))).toEqual({
      code: 'not_pending',
      message: 'Request REQ00001 is already approved; only a pending request can be cancelled.',
    });
  });

  it('points to revoke when the access is already live', () => {
    // Given / When
    const refusal = refused(cancel(activeRequest(), people.dave, T1));
    // Then
    expect(refusal.code).toBe('not_pending');
    expect(refusal.message).toContain('(use revoke to give access back)');
  });

  it('treats a repeated cancel as an outcome with no event', () => {
    // Given dave cancelled
    const cancelled = succeeded(cancel(pendingRequest(), people.dave, T1)).request;
    // When his command is redelivered
    const again = succeeded(cancel(cancelled, people.dave, new Date('2026-03-03T10:06:00Z')));
    // Then
    expect(again.events).toEqual([]);
    expect(again.request).toBe(cancelled);
  });
});

describe('timeOut', () => {
  it('refuses before the approval window has closed', () => {
    // Given a request opened at 10:00 with a 30m approval window
    const request = pendingRequest();
    // When checked a second before 10:30
    const refusal = refused(timeOut(request, new Date('2026-03-03T10:29:59Z')));
    // Then
    expect(refusal).toEqual({ code: 'not_pending', message: 'Request REQ00001 is still within its approval window.' });
  });

  it('times out a pending request at its deadline, as the system', () => {
    // Given a request whose deadline is 10:30, approved once by alice
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    // When checked at 10:30
    const at = new Date('2026-03-03T10:30:00Z');
    const { request: next, events } = succeeded(timeOut(once, at));
    // Then
    expect(next.state).toBe('timed_out');
    expect(next.endedAt).toEqual(at);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'request_timed_out', actor: 'system', data: { approvals: [people.alice] } });
    expectRequestFacts(events[0], next);
  });

  it('refuses a request that is no longer pending', () => {
    // Given live access, long after its approval window
    // When / Then
    expect(refused(timeOut(activeRequest(), new Date('2026-03-03T18:00:00Z'))).code).toBe('not_pending');
  });
});
