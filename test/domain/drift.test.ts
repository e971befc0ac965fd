import {
  guardRevocation,
  heldRunMessage,
  newFindings,
  personOfPrincipal,
  reconcileDrift,
  unexpectedAccessMessage,
  type FoundAccess,
  type LiveGrant,
} from '../../src/domain/drift';
import { email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';

const dave = email('dave@example.com');
const erin = email('erin@example.com');
const t0 = new Date('2026-03-03T10:00:00.000Z');
const before = (minutes: number) => new Date(t0.getTime() - minutes * 60_000);
const identities = new Map([
  [dave, { postgres: 'pa_dave' }],
  [erin, { postgres: 'pa_erin' }],
]);

function grant(id: string, overrides: Partial<LiveGrant> = {}): LiveGrant {
  return { requestId: id as RequestId, requester: dave, role: 'pg-readonly', provider: 'postgres', state: 'active', grantedAt: before(30), expiresAt: before(-30), ...overrides };
}
function found(principal: string, overrides: Partial<FoundAccess> = {}): FoundAccess {
  return { provider: 'postgres', role: 'pg-readonly', principal, detail: `login "${principal}" is a member of "ro"`, ...overrides };
}
function reconcile(accesses: FoundAccess[], grants: { before?: LiveGrant[]; after?: LiveGrant[] }, roles = ['pg-readonly']) {
  return reconcileDrift({
    listings: [{ provider: 'postgres', roles, accesses }],
    before: grants.before ?? [],
    after: grants.after ?? grants.before ?? [],
    identities,
    targets: new Map([
      ['pg-readonly', 'postgres ro'],
      ['pg-readonly-oncall', 'postgres ro'],
      ['other', 'postgres other'],
    ]),
  });
}

describe('reconcileDrift', () => {
  it('finds nothing when every access has its live grant and every grant its access', () => {
    const result = reconcile([found('pa_dave')], { before: [grant('AAAAAAAA')] });
    expect(result).toEqual({ unexpected: [], missing: [], listed: 1 });
  });

  it('reports access without a live grant, naming the person from the policy identities', () => {
    // Given erin's login holds the role, and only dave has a grant
    const result = reconcile([found('pa_dave'), found('pa_erin')], { before: [grant('AAAAAAAA')] });
    // Then erin's access is unexpected, attributed to her
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toHaveLength(1);
    expect(result.unexpected[0]?.access).toMatchObject({ principal: 'pa_erin', person: erin });
  });

  it('reports access whose principal nobody is mapped to (a group role a DBA added)', () => {
    const result = reconcile([found('pa_ops_group')], { before: [] });
    expect(result.unexpected.map((f) => f.access.principal)).toEqual(['pa_ops_group']);
    expect(result.unexpected[0]?.access.person).toBeUndefined();
  });

  it("reports a live grant whose access is missing at the provider", () => {
    const result = reconcile([], { before: [grant('AAAAAAAA')] });
    expect(result.unexpected).toEqual([]);
    expect(result.missing.map((f) => f.grant.requestId)).toEqual(['AAAAAAAA']);
  });

  it('does not count a grant of another role, or one being revoked, as missing', () => {
    const result = reconcile([], { before: [grant('AAAAAAAA', { role: 'other' }), grant('BBBBBBBB', { state: 'revoking' })] });
    expect(result.missing).toEqual([]);
  });

  it('matches by request where the provider records it, not by person', () => {
    // Given a binding made by request X, and dave's live grant is request Y for the same role
    const access = found('user:dave@example.com', { person: dave, requestId: 'XXXXXXXX' as RequestId });
    const result = reconcile([access], { before: [grant('YYYYYYYY')] });
    // Then the binding of X is left over, and Y's binding is missing
    expect(result.unexpected.map((f) => f.access.requestId)).toEqual(['XXXXXXXX']);
    expect(result.missing.map((f) => f.grant.requestId)).toEqual(['YYYYYYYY']);
  });

  it('counts access as explained by a grant that ended while the providers were asked', () => {
    // Given dave's grant was live before the listing and revoked during it
    const result = reconcile([found('pa_dave')], { before: [grant('AAAAAAAA')], after: [] });
    // Then neither his access nor his grant is a finding
    expect(result).toMatchObject({ unexpected: [], missing: [] });
  });

  it('counts access as explained by a grant made while the providers were asked, and never calls that grant missing', () => {
    // Given erin was granted during the listing (only the second read sees her grant)
    const made = grant('CCCCCCCC', { requester: erin, grantedAt: t0 });
    const listedWith = reconcile([found('pa_erin')], { before: [], after: [made] });
    const listedWithout = reconcile([], { before: [], after: [made] });
    expect(listedWith).toMatchObject({ unexpected: [], missing: [] });
    expect(listedWithout).toMatchObject({ unexpected: [], missing: [] });
  });

  it('counts a grant of another role on the same target as explaining the access, and reports one membership once', () => {
    // Given dave's grant is of pg-readonly-oncall, and the membership is listed under both roles on that target
    const both = [found('pa_dave'), found('pa_dave', { role: 'pg-readonly-oncall' })];
    expect(reconcile(both, { before: [grant('AAAAAAAA', { role: 'pg-readonly-oncall' })] }, ['pg-readonly', 'pg-readonly-oncall'])).toMatchObject({ unexpected: [], missing: [] });
    // And with no grant at all, the one membership is one finding
    const alone = reconcile([found('pa_erin'), found('pa_erin', { role: 'pg-readonly-oncall' })], { before: [] });
    expect(alone.unexpected).toHaveLength(1);
    expect(alone.listed).toBe(1);
  });

  it('counts an approved request being granted as explaining access already at the provider', () => {
    // Given erin's request is approved and the provider has granted it, but the grant is not recorded yet
    const granting: LiveGrant = { requestId: 'DDDDDDDD' as RequestId, requester: erin, role: 'pg-readonly', provider: 'postgres', state: 'approved' };
    expect(reconcile([found('pa_erin')], { before: [granting] })).toMatchObject({ unexpected: [], missing: [] });
  });

  it('compares only within one provider', () => {
    const result = reconcile([found('pa_dave')], { before: [grant('AAAAAAAA', { provider: 'local' })] });
    expect(result.unexpected).toHaveLength(1);
  });
});

describe('personOfPrincipal', () => {
  it('finds the person a principal is mapped to at that provider kind only', () => {
    expect(personOfPrincipal(identities, 'postgres', 'pa_erin')).toBe(erin);
    expect(personOfPrincipal(identities, 'aws', 'pa_erin')).toBeUndefined();
  });
});

describe('newFindings', () => {
  it('keeps only what the previous run did not see', () => {
    const { unexpected } = reconcile([found('pa_erin'), found('pa_x')], { before: [] });
    const previous = new Set([unexpected[0]?.key ?? '']);
    expect(newFindings(unexpected, previous).map((f) => f.access.principal)).toEqual(['pa_x']);
  });
});

describe('guardRevocation', () => {
  const limits = { maxRevokeShare: 0.2, maxRevokeCount: 10 };

  it('lets a revocation within both limits go ahead', () => {
    expect(guardRevocation(2, 10, limits)).toEqual({ held: false });
    expect(guardRevocation(0, 0, limits)).toEqual({ held: false });
  });

  it('holds when one run would revoke more than the share of what was listed', () => {
    const decision = guardRevocation(3, 10, limits);
    expect(decision).toEqual({ held: true, reason: '3 of 10 accesses listed (30%) is more than detection.drift.maxRevokeShare (20%)' });
  });

  it('holds when one run would revoke more than the count, whatever the share', () => {
    expect(guardRevocation(11, 11, { maxRevokeShare: 1, maxRevokeCount: 10 })).toEqual({
      held: true,
      reason: '11 revocations are more than detection.drift.maxRevokeCount (10)',
    });
  });

  it('holds everything when the grants table was emptied (every access looks like drift)', () => {
    expect(guardRevocation(40, 40, limits).held).toBe(true);
  });
});

describe('drift messages', () => {
  it('say what was found, where, and what happens next', () => {
    const access = { ...found('pa_erin'), person: erin };
    expect(unexpectedAccessMessage(access, 7, 'alert_only')).toBe(
      'Drift run 7: access without a live grant: pg-readonly for pa_erin (erin@example.com) at postgres (login "pa_erin" is a member of "ro"). ' +
        'It was not revoked (detection.drift.revoke is off): remove it by hand if nobody can explain it.',
    );
    expect(heldRunMessage(7, 3, 'too many')).toContain('`prod-access drift approve 7 --as <email>`');
  });

  it('show a principal or detail from the provider with its control characters escaped, never raw', () => {
    // Given a role created as "pa_x<ESC>[1A<ESC>[2K" (quoted identifiers may hold ESC)
    const access = found('pa_x\u001b[1A\u001b[2K');
    const message = unexpectedAccessMessage(access, 7, 'alert_only');
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(message).toContain('pg-readonly for pa_x\\x1b[1A\\x1b[2K at postgres (login "pa_x\\x1b[1A\\x1b[2K" is a member of "ro")');
  });
});
