import { approve } from '../../../src/domain/lifecycle/approve';
import type { Minutes } from '../../../src/domain/duration';
import { markGranted, markGrantFailed } from '../../../src/domain/lifecycle/grant';
import { activeRequest, expectRequestFacts, loadPolicy, pendingRequest, people, refused, succeeded } from '../fixtures';

const policy = loadPolicy().policy;
/** readonly's maximum in the fixture policy (8h). */
const EIGHT_HOURS = 480 as Minutes;

/** dave's readonly request for 2h, opened at 10:00Z and approved by carol at 10:05Z. */
function approvedRequest() {
  return succeeded(approve(pendingRequest({ role: 'readonly' }), people.carol, policy, new Date('2026-03-03T10:05:00Z'))).request;
}

describe('markGranted', () => {
  it('starts the clock when the grant is confirmed, not when it was requested', () => {
    // Given a 2h request opened at 10:00 and approved at 10:05
    const request = approvedRequest();
    // When the provider confirms at 10:20
    const grantedAt = new Date('2026-03-03T10:20:00Z');
    const { request: next, events } = succeeded(markGranted(request, EIGHT_HOURS, grantedAt));
    // Then it expires at 12:20, not 12:00
    expect(next.state).toBe('active');
    expect(next.grant).toEqual({ grantedAt, expiresAt: new Date('2026-03-03T12:20:00Z') });
    expect(next.grant?.expiresAt).not.toEqual(new Date(request.createdAt.getTime() + 120 * 60_000));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'access_granted',
      actor: 'system',
      data: { grantedAt: '2026-03-03T10:20:00.000Z', expiresAt: '2026-03-03T12:20:00.000Z', duration: '2h' },
    });
    expect(events[0]?.data).not.toHaveProperty('capped');
    expectRequestFacts(events[0], next);
  });

  it('caps the grant at the role maximum in force when it is granted, and says what was asked', () => {
    // Given a 2h request approved while the role allowed 8h
    const request = approvedRequest();
    // When it is granted at 10:20 after the maximum was lowered to 1h
    const grantedAt = new Date('2026-03-03T10:20:00Z');
    const { request: next, events } = succeeded(markGranted(request, 60 as Minutes, grantedAt));
    // Then it lasts 1h, and the event says it was capped, from what, and by which maximum
    expect(next.grant).toEqual({ grantedAt, expiresAt: new Date('2026-03-03T11:20:00Z') });
    expect(next.duration).toBe(120);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'access_granted',
      data: { expiresAt: '2026-03-03T11:20:00.000Z', duration: '1h', capped: { requested: '2h', maxDuration: '1h' } },
    });
  });

  it('grants exactly the maximum without calling it capped', () => {
    // Given a 2h request; When the maximum is exactly 2h
    const { request: next, events } = succeeded(markGranted(approvedRequest(), 120 as Minutes, new Date('2026-03-03T10:20:00Z')));
    // Then
    expect(next.grant?.expiresAt).toEqual(new Date('2026-03-03T12:20:00Z'));
    expect(events[0]?.data).not.toHaveProperty('capped');
  });

  it('treats a repeated confirmation as an outcome with no event', () => {
    // Given live access
    const active = activeRequest();
    // When the confirmation arrives again later
    const again = succeeded(markGranted(active, EIGHT_HOURS, new Date('2026-03-03T11:00:00Z')));
    // Then the window is unchanged
    expect(again.events).toEqual([]);
    expect(again.request).toBe(active);
  });

  it('refuses a request that is not approved', () => {
    // Given / When
    const refusal = refused(markGranted(pendingRequest(), EIGHT_HOURS, new Date('2026-03-03T10:20:00Z')));
    // Then
    expect(refusal).toEqual({ code: 'not_pending', message: 'Request REQ00001 is waiting for approval; it cannot be granted.' });
  });

  it('refuses an approved extension, which is applied to its parent instead', () => {
    // Given an approved request of kind extension
    const extension = { ...approvedRequest(), kind: 'extension' as const };
    // When / Then
    expect(refused(markGranted(extension, EIGHT_HOURS, new Date('2026-03-03T10:20:00Z'))).code).toBe('not_pending');
  });
});

describe('markGrantFailed', () => {
  it('fails an approved request and records the provider error', () => {
    // Given
    const request = approvedRequest();
    const at = new Date('2026-03-03T10:20:00Z');
    // When
    const { request: next, events } = succeeded(markGrantFailed(request, 'role prod_readonly does not exist', at));
    // Then
    expect(next.state).toBe('failed');
    expect(next.endCause).toBe('grant_failed');
    expect(next.endedAt).toEqual(at);
    expect(next.grant).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'grant_failed', actor: 'system', data: { error: 'role prod_readonly does not exist' } });
    expectRequestFacts(events[0], next);
  });

  it('ends a request whose role left the policy before the grant, saying why', () => {
    // Given
    const request = approvedRequest();
    const at = new Date('2026-03-03T10:20:00Z');
    // When
    const { request: next, events } = succeeded(markGrantFailed(request, 'role readonly is no longer in the policy', at, 'policy_changed'));
    // Then
    expect(next).toMatchObject({ state: 'failed', endCause: 'policy_changed', endedAt: at });
    expect(events[0]).toMatchObject({ action: 'grant_failed', data: { error: 'role readonly is no longer in the policy', cause: 'policy_changed' } });
  });

  it('refuses a request that is not approved', () => {
    // Given live access
    // When / Then
    expect(refused(markGrantFailed(activeRequest(), 'boom', new Date('2026-03-03T10:20:00Z')))).toEqual({
      code: 'not_pending',
      message: 'Request REQ00001 is already active.',
    });
  });
});
