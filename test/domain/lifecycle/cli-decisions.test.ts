import type { AccessRequest } from '../../../src/domain/access-request';
import { viaCli, viaChat } from '../../../src/domain/acting-via';
import { cancel } from '../../../src/domain/lifecycle/end-request';
import { approve, deny } from '../../../src/domain/lifecycle/approve';
import { markGranted } from '../../../src/domain/lifecycle/grant';
import { openRequest } from '../../../src/domain/lifecycle/open-request';
import { beginRevocation } from '../../../src/domain/lifecycle/revoke';
import { loadPolicy, maxDurationOf, people, refused, requestId, requestInput, succeeded } from '../fixtures';

/**
 * `locked` has no `cli` block (CLI decisions off, the default); `named` lets OS user tom and the
 * OS group oncall decide from the CLI, each once per request; `tour` lets any OS user decide, and
 * one OS user act several times (the README tour).
 */
const CLI_POLICY = `
version: 1
groups:
  leads: { members: [alice@example.com, bob@example.com, carol@example.com] }
  engineering: { members: ["*@example.com"] }
  security: { members: [erin@example.com] }
admins: [group:security]
roles:
  locked:
    description: No CLI decisions
    provider: local
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 4h
    ticket: { pattern: "^OPS-[0-9]+$" }
    breakGlass: { allowed: true }
  named:
    description: Named CLI operators
    provider: local
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 4h
    ticket: { pattern: "^OPS-[0-9]+$" }
    breakGlass: { allowed: true }
    cli: { operators: [tom, "group:oncall"] }
  tour:
    description: Any OS user, several times
    provider: local
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 4h
    ticket: { pattern: "^OPS-[0-9]+$" }
    breakGlass: { allowed: true }
    cli: { operators: ["*any-os-user*"], sameOperatorMayActTwice: true }
`;

const loaded = loadPolicy(CLI_POLICY);
const policy = loaded.policy;
const OPENED = new Date('2026-03-03T10:00:00Z');
const T1 = new Date('2026-03-03T10:05:00Z');
const T2 = new Date('2026-03-03T10:06:00Z');
const tom = viaCli('tom', ['staff']);
const sam = viaCli('sam', ['staff', 'oncall']);
const nobody = viaCli('mallory', ['staff']);

function opened(role: string, via = viaChat, breakGlass = false): AccessRequest {
  return succeeded(openRequest(requestInput({ role, ticket: 'OPS-1', breakGlass }), requestId('CLI00001'), loaded, OPENED, via)).request;
}

function live(role: string): AccessRequest {
  const first = succeeded(approve(opened(role), people.alice, policy, T1)).request;
  const second = succeeded(approve(first, people.bob, policy, T1)).request;
  return succeeded(markGranted(second, maxDurationOf(policy, role), T2)).request;
}

describe('decisions from the CLI', () => {
  describe('when the role has no cli block (the default)', () => {
    it('refuses an approval from the CLI and says where to decide instead', () => {
      // Given dave's request on a role without CLI decisions
      const request = opened('locked');
      // When alice's approval arrives from a terminal
      const refusal = refused(approve(request, people.alice, policy, T1, new Set(), tom));
      // Then
      expect(refusal.code).toBe('cli_not_allowed');
      expect(refusal.message).toContain('CLI decisions are off for locked');
      expect(refusal.message).toContain('roles.locked.cli.operators');
    });

    it('still takes the same approval from chat', () => {
      // Given / When
      const next = succeeded(approve(opened('locked'), people.alice, policy, T1)).request;
      // Then
      expect(next.approvals).toEqual([{ approver: people.alice, at: T1 }]);
    });

    it('refuses a denial, a revocation on someone else\'s behalf and a break-glass request from the CLI', () => {
      // Given / When / Then
      expect(refused(deny(opened('locked'), people.alice, 'not during the freeze', policy, T1, new Set(), tom)).code).toBe('cli_not_allowed');
      expect(refused(beginRevocation(live('locked'), 'revoked_early', people.erin, policy, T2, tom)).code).toBe('cli_not_allowed');
      const breakGlass = openRequest(requestInput({ role: 'locked', ticket: 'OPS-1', breakGlass: true }), requestId('CLI00002'), loaded, OPENED, tom);
      expect(refused(breakGlass).code).toBe('cli_not_allowed');
    });

    it('leaves a plain request, a cancel of one\'s own request and revoking one\'s own access as they are', () => {
      // Given / When
      const request = succeeded(openRequest(requestInput({ role: 'locked', ticket: 'OPS-1' }), requestId('CLI00003'), loaded, OPENED, tom)).request;
      // Then
      expect(request.state).toBe('pending');
      expect(request.osUser).toBe('tom');
      expect(succeeded(cancel(request, people.dave, T1)).request.state).toBe('cancelled');
      expect(succeeded(beginRevocation(live('locked'), 'revoked_early', people.dave, policy, T2, tom)).request.state).toBe('revoking');
    });
  });

  describe('when the role names its operators', () => {
    it('takes an approval from a named OS user and records who ran it', () => {
      // Given / When
      const { request, events } = succeeded(approve(opened('named'), people.alice, policy, T1, new Set(), tom));
      // Then the approval carries the OS user
      expect(request.approvals).toEqual([{ approver: people.alice, at: T1, osUser: 'tom' }]);
      expect(events[0]).toMatchObject({ action: 'approval_recorded', data: { operator: { osUser: 'tom', allowedBy: 'tom' } } });
    });

    it('takes an approval from a member of a named OS group', () => {
      // Given / When
      const { request, events } = succeeded(approve(opened('named'), people.alice, policy, T1, new Set(), sam));
      // Then
      expect(request.approvals[0]?.osUser).toBe('sam');
      expect(events[0]?.data).toMatchObject({ operator: { osUser: 'sam', allowedBy: 'group:oncall' } });
    });

    it('refuses an OS user it does not name', () => {
      // Given / When
      const refusal = refused(approve(opened('named'), people.alice, policy, T1, new Set(), nobody));
      // Then
      expect(refusal.code).toBe('cli_not_allowed');
      expect(refusal.message).toContain('OS user mallory');
      expect(refusal.message).toContain('roles.named.cli.operators');
    });

    it('refuses a second approval by the same OS user', () => {
      // Given tom approved as alice
      const once = succeeded(approve(opened('named'), people.alice, policy, T1, new Set(), tom)).request;
      // When tom approves again, now claiming to be bob
      const refusal = refused(approve(once, people.bob, policy, T2, new Set(), tom));
      // Then
      expect(refusal.code).toBe('same_operator');
      expect(refusal.message).toContain('OS user tom');
    });

    it('refuses an approval by the OS user who opened the request', () => {
      // Given tom opened dave's request from his terminal
      const request = opened('named', tom);
      // When tom approves it, claiming to be alice
      const refusal = refused(approve(request, people.alice, policy, T1, new Set(), tom));
      // Then
      expect(refusal.code).toBe('same_operator');
    });

    it('takes a second approval from another OS user, or from chat', () => {
      // Given una opened the request from her terminal, and sam approved as alice from his
      const once = succeeded(approve(opened('named', viaCli('una')), people.alice, policy, T1, new Set(), sam)).request;
      // When / Then
      expect(succeeded(approve(once, people.bob, policy, T2)).request.state).toBe('approved');
      expect(succeeded(approve(once, people.bob, policy, T2, new Set(), tom)).request.approvals.map((a) => a.osUser)).toEqual(['sam', 'tom']);
    });

    it('applies the same rule to the review of break-glass access', () => {
      // Given tom opened break-glass access from his terminal, and it was granted
      const bg = succeeded(markGranted(opened('named', tom, true), maxDurationOf(policy, 'named'), T1)).request;
      // When tom reviews it as alice
      // Then
      expect(refused(approve(bg, people.alice, policy, T2, new Set(), tom)).code).toBe('same_operator');
    });
  });

  describe('when the role lets one OS user act several times (the tour)', () => {
    it('takes the request and both approvals from one OS user', () => {
      // Given
      const request = opened('tour', tom);
      // When
      const once = succeeded(approve(request, people.alice, policy, T1, new Set(), tom)).request;
      const twice = succeeded(approve(once, people.bob, policy, T2, new Set(), tom)).request;
      // Then
      expect(twice.state).toBe('approved');
    });

    it('takes a break-glass request from any OS user', () => {
      // Given / When / Then
      expect(opened('tour', nobody, true).state).toBe('approved');
    });
  });

  it('never lets the CLI approve for the requester, whatever the role allows', () => {
    // Given / When / Then
    expect(refused(approve(opened('tour', tom), people.dave, policy, T1, new Set(), tom)).code).toBe('self_approval');
  });
});
