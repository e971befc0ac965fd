import { finalStates, isReviewed, requestStates } from '../../src/domain/access-request';
import { activeRequest, people } from './fixtures';

describe('isReviewed', () => {
  const approval = (approver: (typeof people)[keyof typeof people]) => ({ approver, at: new Date('2026-03-03T11:00:00Z') });

  it('is true for break-glass access with as many approvals as required', () => {
    // Given / When / Then
    expect(isReviewed({ ...activeRequest(), breakGlass: true, approvals: [approval(people.alice), approval(people.bob)] })).toBe(true);
  });

  it('is false for break-glass access short of approvals', () => {
    // Given / When / Then
    expect(isReviewed({ ...activeRequest(), breakGlass: true, approvals: [approval(people.alice)] })).toBe(false);
  });

  it('is false for a normal request, however approved', () => {
    // Given / When / Then
    expect(isReviewed(activeRequest())).toBe(false);
  });
});

describe('finalStates', () => {
  it('are the states nothing leaves', () => {
    // Given / When / Then
    expect([...finalStates].sort()).toEqual(['cancelled', 'denied', 'failed', 'revoked', 'timed_out']);
    for (const state of finalStates) expect(requestStates).toContain(state);
  });
});
