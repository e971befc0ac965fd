import { approvalCard } from '../../../src/app/chat/approval-card';
import { approve, deny } from '../../../src/domain/lifecycle/approve';
import { markGranted } from '../../../src/domain/lifecycle/grant';
import { loadPolicy, maxDurationOf, pendingRequest, people, succeeded } from '../../domain/fixtures';

const policy = loadPolicy().policy;
const T1 = new Date('2026-03-03T10:05:00Z');

describe('approvalCard', () => {
  it('shows the facts, both buttons and the deadline for a pending request asked in business hours', () => {
    const card = approvalCard(pendingRequest(), policy, false);
    expect(card.headline).toBe('dave@example.com asks for db-admin for 2h');
    expect(card.fields.map((f) => f.label)).toEqual(['Requester', 'Role', 'Target', 'Duration', 'Ticket', 'Reason', 'Request']);
    expect(card.fields.find((f) => f.label === 'Target')?.value).toBe('local (environment=production, access=admin)');
    expect(card.flags).toEqual([]);
    expect(card).toMatchObject({ actions: ['approve', 'deny'], settled: false, status: 'Waiting: 0 of 2 approvals. Decide by' });
    expect(card.statusAt).toEqual(pendingRequest().decisionDeadline);
  });

  it('flags a first-time requester and a request made at night, in the policy time zone', () => {
    const night = { ...pendingRequest(), createdAt: new Date('2026-03-03T22:30:00Z') };
    expect(approvalCard(night, policy, true).flags.map((f) => f.flag)).toEqual(['off_hours', 'first_time']);
  });

  it('names the approvers so far, then the grant, and drops the buttons once granted', () => {
    const once = succeeded(approve(pendingRequest(), people.alice, policy, T1)).request;
    expect(approvalCard(once, policy, false).status).toBe('Waiting: 1 of 2 approvals: alice@example.com. Decide by');
    const twice = succeeded(approve(once, people.bob, policy, T1)).request;
    const granted = succeeded(markGranted(twice, maxDurationOf(policy, twice.role), T1)).request;
    const card = approvalCard(granted, policy, false);
    expect(card).toMatchObject({ actions: [], settled: false, status: 'Granted (2 of 2 approvals: alice@example.com, bob@example.com) until' });
    expect(card.statusAt).toEqual(granted.grant?.expiresAt);
  });

  it('settles with the denial and its reason', () => {
    const denied = succeeded(deny(pendingRequest(), people.carol, 'not during the freeze', policy, T1)).request;
    expect(approvalCard(denied, policy, false)).toMatchObject({ actions: [], settled: true, status: 'Denied by carol@example.com: not during the freeze' });
  });
});
