import { parsePolicy } from '../../src/domain/policy';
import { parseAwsTarget, parseAzureTarget, parseGcpTarget, targetProblems } from '../../src/domain/provider-targets';

const awsTarget = {
  instanceArn: 'arn:aws:sso:::instance/ssoins-1234567890abcdef',
  identityStoreId: 'd-1234567890',
  accountId: '123456789012',
  permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-abcdef1234567890',
};
const SUB = '11111111-2222-4333-8444-555555555555';
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';

describe('aws targets', () => {
  it('accepts a complete target, with or without a region', () => {
    expect(parseAwsTarget(awsTarget)).toEqual({ ok: true, value: awsTarget });
    expect(parseAwsTarget({ ...awsTarget, region: 'eu-central-1' })).toMatchObject({ ok: true, value: { region: 'eu-central-1' } });
  });

  it('names each missing or malformed key, and unknown keys (typos)', () => {
    const problems = targetProblems('aws', { instanceArn: 'ssoins-123', accountId: '1234', permisionSetArn: 'x' });
    expect(problems.map((p) => p.key).sort()).toEqual(['accountId', 'identityStoreId', 'instanceArn', 'permisionSetArn', 'permissionSetArn']);
    expect(problems.find((p) => p.key === 'accountId')?.message).toBe('must be a 12-digit AWS account id');
    expect(problems.find((p) => p.key === 'permisionSetArn')?.message).toContain('is not a target key of this provider');
  });

  it('refuses a permission set of another Identity Center instance', () => {
    const problems = targetProblems('aws', { ...awsTarget, permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-ffffffffffffffff/ps-abcdef1234567890' });
    expect(problems).toEqual([{ key: 'permissionSetArn', message: 'belongs to another Identity Center instance than instanceArn' }]);
  });
});

describe('gcp targets', () => {
  it('accepts projects, folders and organizations with predefined or custom roles', () => {
    expect(parseGcpTarget({ resource: 'projects/payments-prod', role: 'roles/cloudsql.viewer' })).toEqual({
      ok: true,
      value: { resource: 'projects/payments-prod', resourceKind: 'projects', role: 'roles/cloudsql.viewer' },
    });
    expect(parseGcpTarget({ resource: 'folders/123456789', role: 'organizations/42/roles/dbReader' })).toMatchObject({ ok: true, value: { resourceKind: 'folders' } });
    expect(parseGcpTarget({ resource: 'organizations/42', role: 'roles/browser' })).toMatchObject({ ok: true, value: { resourceKind: 'organizations' } });
  });

  it.each(['roles/owner', 'roles/editor', 'roles/viewer'])('refuses the basic role %s: Google allows no condition on it', (role) => {
    expect(targetProblems('gcp', { resource: 'projects/payments-prod', role })).toEqual([
      { key: 'role', message: `${role} is a basic role: Google allows no IAM condition on it, so it cannot expire; use a predefined or custom role` },
    ]);
  });

  it('refuses a malformed resource or role without echoing it', () => {
    const problems = targetProblems('gcp', { resource: 'projects/<!channel>', role: 'owner' });
    expect(problems.map((p) => p.key)).toEqual(['resource', 'role']);
    expect(JSON.stringify(problems)).not.toContain('<!channel>');
  });
});

describe('azure targets', () => {
  it('accepts a subscription, resource group or resource scope and a GUID or full role definition id', () => {
    expect(parseAzureTarget({ scope: `/subscriptions/${SUB}/resourceGroups/payments-prod`, roleDefinitionId: READER })).toEqual({
      ok: true,
      value: { scope: `/subscriptions/${SUB}/resourceGroups/payments-prod`, roleDefinitionGuid: READER },
    });
    const full = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER.toUpperCase()}`;
    expect(parseAzureTarget({ scope: `/subscriptions/${SUB}`, roleDefinitionId: full })).toMatchObject({ ok: true, value: { roleDefinitionGuid: READER } });
    expect(parseAzureTarget({ scope: '/providers/Microsoft.Management/managementGroups/platform', roleDefinitionId: READER }).ok).toBe(true);
    expect(parseAzureTarget({ scope: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/payments`, roleDefinitionId: READER }).ok).toBe(true);
  });

  it('refuses a scope that is not an Azure scope and a role definition that is not a GUID', () => {
    expect(targetProblems('azure', { scope: 'subscriptions/not-a-guid', roleDefinitionId: 'Reader' }).map((p) => p.key)).toEqual(['scope', 'roleDefinitionId']);
  });
});

describe('target rules in the policy', () => {
  const policy = (provider: string, target: string) => `version: 1
groups:
  leads: { members: [alice@example.com, bob@example.com] }
  engineering: { members: ["*@example.com"] }
roles:
  cloud-admin:
    description: A cloud role
    provider: ${provider}
    target: ${target}
    requesters: [group:engineering]
    approvers: [group:leads]
    maxDuration: 4h
    ticket: { pattern: "^INC-[0-9]+$" }
`;
  const kinds = ['local', 'aws', 'gcp', 'azure'];

  it('refuses a GCP basic role when the policy is validated, naming the path', () => {
    const parsed = parsePolicy(policy('gcp', '{ resource: projects/payments-prod, role: roles/owner }'), kinds);
    expect(parsed).toEqual({
      ok: false,
      errors: ['roles.cloud-admin.target.role: roles/owner is a basic role: Google allows no IAM condition on it, so it cannot expire; use a predefined or custom role'],
    });
  });

  it('accepts valid cloud targets, and leaves the local provider free-form', () => {
    expect(parsePolicy(policy('gcp', '{ resource: projects/payments-prod, role: roles/cloudsql.viewer }'), kinds).ok).toBe(true);
    expect(parsePolicy(policy('azure', `{ scope: /subscriptions/${SUB}, roleDefinitionId: ${READER} }`), kinds).ok).toBe(true);
    expect(parsePolicy(policy('local', '{ anything: goes }'), kinds).ok).toBe(true);
  });

  it('does not also report target problems for an unknown provider', () => {
    const parsed = parsePolicy(policy('aws', '{ accountId: "1" }'), ['local']);
    expect(parsed).toEqual({ ok: false, errors: ['roles.cloud-admin.provider: unknown provider "aws" (available: local)'] });
  });
});
