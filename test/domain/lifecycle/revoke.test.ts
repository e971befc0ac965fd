import { beginRevocation, completeRevocation, mayRevoke } from '../../../src/domain/lifecycle/revoke';
import { activeRequest, expectRequestFacts, loadPolicy, pendingRequest, people, refused, succeeded } from '../fixtures';

const policy = loadPolicy().policy;
// activeRequest(): dave's 2h db-admin access, granted at 10:10Z, so it expires at 12:10Z.
const DURING = new Date('2026-03-03T11:00:00Z');
const EXPIRY = new Date('2026-03-03T12:10:00Z');

describe('mayRevoke', () => {
  it.each([
    ['the requester', people.dave, true],
    ['an approver of the role', people.carol, true],
    ['an admin', people.erin, true],
    ['another engineer', people.frank, false],
    ['an outsider', people.mallory, false],
  ])('answers for %s', (_who, by, expected) => {
    // Given / When / Then
    expect(mayRevoke(activeRequest(), by, policy)).toBe(expected);
  });
});

describe('beginRevocation', () => {
  it.each([
    ['the requester', people.dave],
    ['an approver of the role', people.alice],
    ['an admin', people.erin],
  ])('lets %s revoke early', (_who, by) => {
    // Given live access
    const request = activeRequest();
    // When
    const { request: next, events } = succeeded(beginRevocation(request, 'revoked_early', by, policy, DURING));
    // Then it is revoking, not yet revoked
    expect(next.state).toBe('revoking');
    expect(next.endCause).toBe('revoked_early');
    expect(next.endedBy).toBe(by);
    expect(next.endedAt).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'revocation_started', actor: by, data: { cause: 'revoked_early' } });
    expectRequestFacts(events[0], next);
  });

  it('refuses anyone else as not authorised', () => {
    // Given frank, an engineer unrelated to the request
    // When
    const refusal = refused(beginRevocation(activeRequest(), 'revoked_early', people.frank, policy, DURING));
    // Then
    expect(refusal).toEqual({
      code: 'not_authorised',
      message: 'Only dave@example.com, an approver of db-admin or an admin can revoke request REQ00001.',
    });
  });

  it('refuses expiry before the access has expired', () => {
    // Given / When
    const refusal = refused(beginRevocation(activeRequest(), 'expired', undefined, policy, new Date('2026-03-03T12:09:59Z')));
    // Then
    expect(refusal).toEqual({ code: 'not_active', message: 'Request REQ00001 has not expired yet.' });
  });

  it('revokes expired access as the system', () => {
    // Given / When
    const { request: next, events } = succeeded(beginRevocation(activeRequest(), 'expired', undefined, policy, EXPIRY));
    // Then
    expect(next.state).toBe('revoking');
    expect(next.endCause).toBe('expired');
    expect(next.endedBy).toBeUndefined();
    expect(events[0]).toMatchObject({ action: 'revocation_started', actor: 'system', data: { cause: 'expired' } });
    expectRequestFacts(events[0], next);
  });

  it('revokes for a policy change before expiry', () => {
    // Given / When
    const { request: next } = succeeded(beginRevocation(activeRequest(), 'policy_changed', undefined, policy, DURING));
    // Then
    expect(next.endCause).toBe('policy_changed');
  });

  it('treats a repeated revocation as an outcome with no event', () => {
    // Given dave started revoking
    const revoking = succeeded(beginRevocation(activeRequest(), 'revoked_early', people.dave, policy, DURING)).request;
    // When the expiry sweep gets to it too
    const again = succeeded(beginRevocation(revoking, 'expired', undefined, policy, EXPIRY));
    // Then
    expect(again.events).toEqual([]);
    expect(again.request).toBe(revoking);
  });

  it('refuses a pending request, pointing to cancel', () => {
    // Given / When
    const refusal = refused(beginRevocation(pendingRequest(), 'revoked_early', people.dave, policy, DURING));
    // Then
    expect(refusal).toEqual({
      code: 'not_active',
      message: 'Request REQ00001 is waiting for approval; there is no live access to revoke (cancel it instead).',
    });
  });
});

describe('completeRevocation', () => {
  const revoking = () => succeeded(beginRevocation(activeRequest(), 'revoked_early', people.dave, policy, DURING)).request;

  it('records that the provider removed the access', () => {
    // Given
    const at = new Date('2026-03-03T11:00:05Z');
    // When
    const { request: next, events } = succeeded(completeRevocation(revoking(), true, at));
    // Then
    expect(next.state).toBe('revoked');
    expect(next.endedAt).toEqual(at);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'access_revoked', actor: 'system', data: { cause: 'revoked_early', accessRemoved: true } });
    expect(events[0]?.data).not.toHaveProperty('note');
    expectRequestFacts(events[0], next);
  });

  it('records that there was nothing to remove, with the note', () => {
    // Given / When
    const { events } = succeeded(completeRevocation(revoking(), false, DURING, 'still covered by REQ00002'));
    // Then
    expect(events[0]?.data).toMatchObject({ accessRemoved: false, note: 'still covered by REQ00002' });
  });

  it('treats a repeated confirmation as an outcome with no event', () => {
    // Given
    const revoked = succeeded(completeRevocation(revoking(), true, DURING)).request;
    // When
    const again = succeeded(completeRevocation(revoked, true, EXPIRY));
    // Then
    expect(again.events).toEqual([]);
    expect(again.request).toBe(revoked);
  });

  it('refuses live access that was never asked to be revoked', () => {
    // Given / When / Then
    expect(refused(completeRevocation(activeRequest(), true, DURING))).toEqual({ code: 'not_active', message: 'Request REQ00001 is already active.' });
  });
});
