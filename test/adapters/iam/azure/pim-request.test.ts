import { JUSTIFICATION_MAX, needsLaterEnd, pimJustification, pimRequestName, removableAt, requestIdOfJustification, roleDefinitionGuidOf, roleDefinitionIdFor, sameScope, scopeWithin, sdkScope } from '../../../../src/adapters/iam/azure/pim-request';
import { parseExactRequestId, type RequestId } from '../../../../src/domain/request-id';

const R = parseExactRequestId('7K3M9Q2P') as RequestId;
const target = { scope: '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg', roleDefinitionGuid: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' };
const principalId = 'd0000000-0000-4000-8000-00000000da7e';

describe('pimRequestName', () => {
  it('is a version-5-style GUID, the same for the same call', () => {
    const a = pimRequestName({ requestId: R, type: 'AdminAssign', principalId, target });
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pimRequestName({ requestId: R, type: 'AdminAssign', principalId: principalId.toUpperCase(), target: { ...target, scope: target.scope.toUpperCase() } })).toBe(a);
  });

  it('differs by request, action, end and attempt', () => {
    const base = { requestId: R, type: 'AdminUpdate' as const, principalId, target, endsAt: new Date(0) };
    const names = new Set([
      pimRequestName(base),
      pimRequestName({ ...base, requestId: parseExactRequestId('8K3M9Q2P') as RequestId }),
      pimRequestName({ ...base, type: 'AdminRemove' }),
      pimRequestName({ ...base, endsAt: new Date(1) }),
      pimRequestName({ ...base, attempt: 'x' }),
    ]);
    expect(names.size).toBe(5);
  });
});

describe('pimJustification', () => {
  it('reads prod-access <id> · <ticket> · <reason> on one line', () => {
    expect(pimJustification(R, 'INC-1', 'db\nslow\t now')).toBe('prod-access 7K3M9Q2P · INC-1 · db slow now');
    expect(pimJustification(R, undefined, 'why')).toBe('prod-access 7K3M9Q2P · why');
    expect(pimJustification(R, undefined, undefined)).toBe('prod-access 7K3M9Q2P');
  });

  it('cuts the reason, never the request id, to the limit', () => {
    const long = pimJustification(R, 'INC-1', 'y'.repeat(1_000));
    expect(long).toHaveLength(JUSTIFICATION_MAX);
    expect(long.endsWith('…')).toBe(true);
    expect(requestIdOfJustification(long)).toBe(R);
    expect(pimJustification(R, 'T', 'z'.repeat(100), 5).startsWith('prod-access 7K3M9Q2P')).toBe(true);
  });

  it('is read back only when written by prod-access', () => {
    expect(requestIdOfJustification('prod-access 7K3M9Q2P · INC-1')).toBe(R);
    expect(requestIdOfJustification('prod-access 7K3M9Q2P')).toBe(R);
    expect(requestIdOfJustification('break glass prod-access 7K3M9Q2P')).toBeUndefined();
    expect(requestIdOfJustification('prod-access 7k3m9q2p')).toBeUndefined();
    expect(requestIdOfJustification(undefined)).toBeUndefined();
  });
});

describe('role definitions and scopes', () => {
  it('puts the role definition under the subscription, or under a management group', () => {
    expect(roleDefinitionIdFor(target)).toBe('/subscriptions/11111111-2222-4333-8444-555555555555/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7');
    expect(roleDefinitionIdFor({ ...target, scope: '/providers/Microsoft.Management/managementGroups/platform' })).toBe(
      '/providers/Microsoft.Management/managementGroups/platform/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7',
    );
  });

  it('reads the GUID back from a full id', () => {
    expect(roleDefinitionGuidOf('/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7')).toBe(target.roleDefinitionGuid);
    expect(roleDefinitionGuidOf('/subscriptions/x')).toBeUndefined();
  });

  it('compares scopes as ARM does, and knows what lies below', () => {
    expect(sdkScope('/subscriptions/a')).toBe('subscriptions/a');
    expect(sameScope('/Subscriptions/A/', '/subscriptions/a')).toBe(true);
    expect(sameScope(undefined, '/subscriptions/a')).toBe(false);
    expect(scopeWithin('/subscriptions/a/resourceGroups/rg10', '/subscriptions/a/resourceGroups/rg1')).toBe(false);
    expect(scopeWithin('/subscriptions/a/resourceGroups/rg1', '/subscriptions/a')).toBe(true);
    expect(scopeWithin('/subscriptions/a', '/')).toBe(true);
    expect(scopeWithin('/subscriptions/a', '/providers/Microsoft.Management/managementGroups/m')).toBe(true);
    expect(scopeWithin('/subscriptions/a', '/subscriptions/b')).toBe(false);
  });
});

describe('removableAt', () => {
  const now = new Date('2026-01-01T10:02:00Z');
  it('is 5 minutes after the later of start and creation, plus a margin', () => {
    expect(removableAt(new Date('2026-01-01T10:00:00Z'), new Date('2026-01-01T10:01:00Z'), now).toISOString()).toBe('2026-01-01T10:06:15.000Z');
  });
  it('is never in the past', () => {
    expect(removableAt(new Date('2026-01-01T09:00:00Z'), undefined, now).getTime()).toBe(now.getTime() + 15_000);
    expect(removableAt(undefined, undefined, now).getTime()).toBe(now.getTime() + 5 * 60_000);
  });
});

describe('needsLaterEnd', () => {
  const wanted = new Date('2026-01-01T12:00:00Z');
  it('only ever moves an end later', () => {
    expect(needsLaterEnd(new Date('2026-01-01T11:00:00Z'), wanted)).toBe(true);
    expect(needsLaterEnd(new Date('2026-01-01T13:00:00Z'), wanted)).toBe(false);
    expect(needsLaterEnd(new Date(wanted.getTime() - 500), wanted)).toBe(false);
    expect(needsLaterEnd(undefined, wanted)).toBe(false);
  });
});
