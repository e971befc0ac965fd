import { ProviderError } from '../../../../src/app/errors';
import { email } from '../../../../src/domain/email';
import {
  ACCOUNT_ID,
  DAVE_ID,
  DEFAULT_SESSION_SET_ARN,
  ERIN_ID,
  failure,
  grantSpec,
  IDENTITY_STORE_ID,
  INSTANCE_ARN,
  LONG_SESSION_SET_ARN,
  PERMISSION_SET_ARN,
  startHarness,
  TARGET,
  type Harness,
} from './aws-fixtures';

const dave = email('dave@example.com');
const erin = email('erin@example.com');

const ASSIGNMENT = { InstanceArn: INSTANCE_ARN, TargetId: ACCOUNT_ID, TargetType: 'AWS_ACCOUNT', PermissionSetArn: PERMISSION_SET_ARN, PrincipalType: 'USER' };
const daveAssignment = { instanceArn: INSTANCE_ARN, accountId: ACCOUNT_ID, permissionSetArn: PERMISSION_SET_ARN, principalType: 'USER' as const, principalId: DAVE_ID };

describe('AwsIamProvider through the real SDK against the fake Identity Center', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  describe('grant', () => {
    it('looks the person up by e-mail, creates a USER assignment in the account and waits until AWS reports SUCCEEDED', async () => {
      // Test setup
      h = await startHarness();
      h.fake.settings({ pendingDescribes: 2 });
      // Test execution
      await h.provider.grant(grantSpec(dave));
      // Validating
      expect(h.fake.requests.map((r) => r.target)).toEqual([
        'AWSIdentityStore.GetUserId',
        'SWBExternalService.CreateAccountAssignment',
        'SWBExternalService.DescribeAccountAssignmentCreationStatus',
        'SWBExternalService.DescribeAccountAssignmentCreationStatus',
        'SWBExternalService.DescribeAccountAssignmentCreationStatus',
      ]);
      expect(h.fake.calls('GetUserId')[0]?.body).toEqual({
        IdentityStoreId: IDENTITY_STORE_ID,
        AlternateIdentifier: { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'dave@example.com' } },
      });
      expect(h.fake.calls('CreateAccountAssignment')[0]?.body).toEqual({ ...ASSIGNMENT, PrincipalId: DAVE_ID });
      const operationId = h.fake.state().operations[0]?.requestId;
      expect(h.fake.calls('DescribeAccountAssignmentCreationStatus').map((r) => r.body)).toEqual(
        Array(3).fill({ InstanceArn: INSTANCE_ARN, AccountAssignmentCreationRequestId: operationId }),
      );
      expect(h.fake.hasAssignment(daveAssignment)).toBe(true);
      expect(h.waits).toEqual([500, 1_000, 2_000]);
      // Signed for the right service and region, never with the secret in clear.
      expect(h.fake.requests.map((r) => [r.op, r.signedFor, r.region])).toContainEqual(['GetUserId', 'identitystore', 'eu-central-1']);
      expect(h.fake.requests.map((r) => [r.op, r.signedFor])).toContainEqual(['CreateAccountAssignment', 'sso']);
      expect(JSON.stringify(h.logs)).not.toContain('fake-secret-key-never-logged');
    });

    it('grants to the user id the policy names for the person, without a look-up', async () => {
      h = await startHarness({ resolvePrincipal: (who) => (who === dave ? DAVE_ID : undefined) });
      await h.provider.grant(grantSpec(dave));
      expect(h.fake.calls('GetUserId')).toHaveLength(0);
      expect(h.fake.calls('CreateAccountAssignment')[0]?.body).toMatchObject({ PrincipalId: DAVE_ID, PrincipalType: 'USER' });
    });

    it('is idempotent: a second grant meets ConflictException, finds the assignment listed, and succeeds without a second assignment', async () => {
      h = await startHarness();
      await h.provider.grant(grantSpec(dave));
      await h.provider.grant(grantSpec(dave));
      expect(h.fake.calls('CreateAccountAssignment')).toHaveLength(2);
      expect(h.fake.calls('ListAccountAssignments').map((r) => r.body)).toEqual([
        { InstanceArn: INSTANCE_ARN, AccountId: ACCOUNT_ID, PermissionSetArn: PERMISSION_SET_ARN, MaxResults: 100 },
      ]);
      expect(h.fake.state().assignments).toEqual([daveAssignment]);
      // The look-up is cached: one GetUserId for both grants.
      expect(h.fake.calls('GetUserId')).toHaveLength(1);
    });

    it('a ConflictException while a creation of the same assignment is still running (not yet listed) is retryable, not "already granted"', async () => {
      h = await startHarness({ timing: { sleep: async () => {}, random: () => 0.5, pollDelaysMs: [] } });
      // The first creation is left IN_PROGRESS: no polls allowed.
      expect(((await failure(h.provider.grant(grantSpec(erin)))) as ProviderError).code).toBe('unavailable');
      const error = await failure(h.provider.grant(grantSpec(erin)));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).code).toBe('unavailable');
      expect((error as ProviderError).message).toContain('in progress');
      expect((error as ProviderError).cause).toMatchObject({ name: 'ConflictException' });
      expect(h.fake.calls('ListAccountAssignments')).toHaveLength(1);
    });

    it('a FAILED creation is a permanent refusal carrying AWS FailureReason, and no assignment exists', async () => {
      h = await startHarness();
      h.fake.failAssignmentFor(DAVE_ID, 'Received a 409 status error: The permission set is being provisioned.');
      const error = await failure(h.provider.grant(grantSpec(dave)));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).code).toBe('refused');
      expect((error as ProviderError).message).toContain('creation FAILED: Received a 409 status error: The permission set is being provisioned.');
      expect((error as ProviderError).message).toContain(ACCOUNT_ID);
      expect(h.fake.hasAssignment(daveAssignment)).toBe(false);
    });

    it('an operation still IN_PROGRESS when the polls run out is unavailable, naming the AWS request', async () => {
      h = await startHarness({ timing: { sleep: async () => {}, random: () => 0.5, pollDelaysMs: [10, 20] } });
      h.fake.settings({ pendingDescribes: 5 });
      const error = (await failure(h.provider.grant(grantSpec(dave)))) as ProviderError;
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain(`AWS request ${h.fake.state().operations[0]?.requestId}`);
      expect(h.fake.calls('DescribeAccountAssignmentCreationStatus')).toHaveLength(2);
    });

    it('refuses a person the identity store does not hold, naming the e-mail and the store, and creates nothing', async () => {
      h = await startHarness();
      const stranger = email('mallory@example.com');
      const error = (await failure(h.provider.grant(grantSpec(stranger)))) as ProviderError;
      expect(error.code).toBe('refused');
      expect(error.message).toContain('mallory@example.com');
      expect(error.message).toContain(IDENTITY_STORE_ID);
      expect(h.fake.calls('CreateAccountAssignment')).toHaveLength(0);
    });

    it('never caches a miss: a person added to the store after a refusal is found on the next try', async () => {
      h = await startHarness();
      const newcomer = email('nina@example.com');
      expect(((await failure(h.provider.grant(grantSpec(newcomer)))) as ProviderError).code).toBe('refused');
      h.fake.seed({ users: [{ identityStoreId: IDENTITY_STORE_ID, userId: '906712345a-99999999-2222-3333-4444-555555555555', userName: 'nina', email: 'nina@example.com' }] });
      await h.provider.grant(grantSpec(newcomer));
      expect(h.fake.calls('GetUserId')).toHaveLength(2);
    });
  });

  describe('revoke', () => {
    it('lists, deletes the assignment and waits until AWS reports the deletion SUCCEEDED', async () => {
      h = await startHarness();
      h.fake.seed({ assignments: [daveAssignment] });
      expect(await h.provider.revoke(grantSpec(dave))).toEqual({ removed: true });
      expect(h.fake.requests.map((r) => r.op)).toEqual([
        'GetUserId',
        'ListAccountAssignments',
        'DeleteAccountAssignment',
        'DescribeAccountAssignmentDeletionStatus',
        'DescribeAccountAssignmentDeletionStatus',
      ]);
      expect(h.fake.calls('DeleteAccountAssignment')[0]?.body).toEqual({ ...ASSIGNMENT, PrincipalId: DAVE_ID });
      expect(h.fake.calls('DescribeAccountAssignmentDeletionStatus')[0]?.body).toEqual({
        InstanceArn: INSTANCE_ARN,
        AccountAssignmentDeletionRequestId: h.fake.state().operations[0]?.requestId,
      });
      expect(h.fake.hasAssignment(daveAssignment)).toBe(false);
    });

    it('revoking what is already gone removes nothing and deletes nothing', async () => {
      h = await startHarness();
      expect(await h.provider.revoke(grantSpec(dave))).toEqual({ removed: false });
      expect(h.fake.calls('DeleteAccountAssignment')).toHaveLength(0);
    });

    it('an assignment that vanishes between listing and deletion (ResourceNotFoundException) counts as already gone', async () => {
      h = await startHarness();
      h.fake.seed({ assignments: [daveAssignment] });
      h.fake.failNext({ kind: 'error', op: 'DeleteAccountAssignment', type: 'ResourceNotFoundException', message: 'Assignment does not exist.' });
      expect(await h.provider.revoke(grantSpec(dave))).toEqual({ removed: false });
    });

    it("leaves another person's assignment of the same permission set alone", async () => {
      h = await startHarness();
      h.fake.seed({ assignments: [daveAssignment, { ...daveAssignment, principalId: ERIN_ID }] });
      await h.provider.revoke(grantSpec(dave));
      expect(h.fake.state().assignments.map((a) => a.principalId)).toEqual([ERIN_ID]);
    });

    it('refuses to call a person "already gone" when the identity store no longer finds them by e-mail', async () => {
      h = await startHarness();
      const error = (await failure(h.provider.revoke(grantSpec(email('renamed@example.com'))))) as ProviderError;
      expect(error.code).toBe('refused');
      expect(error.message).toContain('renamed@example.com');
    });

    it('follows ListAccountAssignments pages to find the assignment', async () => {
      h = await startHarness();
      h.fake.settings({ pageSize: 2 });
      const others = Array.from({ length: 5 }, (_, i) => ({ ...daveAssignment, principalId: `906712345a-0000000${i}-2222-3333-4444-555555555555` }));
      h.fake.seed({ assignments: [...others, daveAssignment] });
      expect(await h.provider.revoke(grantSpec(dave))).toEqual({ removed: true });
      const pages = h.fake.calls('ListAccountAssignments').map((r) => r.body['NextToken']);
      expect(pages).toHaveLength(3);
      expect(pages[0]).toBeUndefined();
      expect(typeof pages[1]).toBe('string');
    });
  });

  describe('throttling and outages', () => {
    it('retries a throttled call with growing, bounded waits, then succeeds', async () => {
      h = await startHarness();
      h.fake.failNext({ kind: 'throttle', op: 'CreateAccountAssignment', count: 2 });
      await h.provider.grant(grantSpec(dave));
      expect(h.fake.calls('CreateAccountAssignment')).toHaveLength(3);
      // Equal jitter with random 0.5: 3/4 of 250 ms, then of 500 ms; then the two status polls' 500 ms and 1 s.
      expect(h.waits).toEqual([188, 375, 500, 1_000]);
      expect(h.fake.hasAssignment(daveAssignment)).toBe(true);
      expect(h.logs.filter((l) => l['msg'] === 'aws throttled the bot; retrying')).toHaveLength(2);
    });

    it('keeps throttling past the retries: unavailable, with retryAt from Retry-After, and nothing granted', async () => {
      h = await startHarness({ timing: { sleep: async () => {}, random: () => 0.5, now: () => Date.parse('2030-01-01T00:00:00Z') } });
      h.fake.failNext({ kind: 'throttle', count: 10, retryAfterSeconds: 30 });
      const error = (await failure(h.provider.grant(grantSpec(dave)))) as ProviderError;
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('throttling');
      expect(error.retryAt?.toISOString()).toBe('2030-01-01T00:00:30.000Z');
      expect(error.cause).toMatchObject({ name: 'ThrottlingException' });
      // Four tries in all, then it gives up: the SDK's own retries are off.
      expect(h.fake.requests).toHaveLength(4);
      expect(h.fake.hasAssignment(daveAssignment)).toBe(false);
    });

    it('a 5xx is unavailable at once (the engine retries it, paced), naming the account', async () => {
      h = await startHarness();
      h.fake.failNext({ kind: 'outage', op: 'CreateAccountAssignment', status: 503, type: 'ServiceUnavailableException' });
      const error = (await failure(h.provider.grant(grantSpec(dave)))) as ProviderError;
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('503');
      expect(error.message).toContain(ACCOUNT_ID);
      expect(h.fake.calls('CreateAccountAssignment')).toHaveLength(1);
    });

    it('no answer at all (connection refused) is unavailable', async () => {
      h = await startHarness({ endpoints: { ssoAdmin: 'http://127.0.0.1:1', identityStore: 'http://127.0.0.1:1' } });
      const error = (await failure(h.provider.grant(grantSpec(dave)))) as ProviderError;
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('ECONNREFUSED');
    });

    it("the bot's own identity refused (AccessDeniedException) is misconfigured and says where to look", async () => {
      h = await startHarness();
      h.fake.failNext({ kind: 'error', op: 'CreateAccountAssignment', type: 'AccessDeniedException', message: 'User is not authorized to perform: sso:CreateAccountAssignment' });
      const error = (await failure(h.provider.grant(grantSpec(dave)))) as ProviderError;
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('sso:CreateAccountAssignment');
      expect(error.message).toContain('docs/iam-aws.md');
    });

    it('a permission set that does not exist is misconfigured', async () => {
      h = await startHarness();
      const missing = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-ffffffffffffffff';
      const error = (await failure(h.provider.grant(grantSpec(dave, { target: { ...TARGET, permissionSetArn: missing } })))) as ProviderError;
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain(missing);
    });

    it('a target that does not parse is misconfigured before any call, naming the key', async () => {
      h = await startHarness();
      const error = (await failure(h.provider.grant(grantSpec(dave, { target: { ...TARGET, accountId: '12345' } })))) as ProviderError;
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('target.accountId');
      expect(h.fake.requests).toHaveLength(0);
    });

    it('refuses unsigned requests: the fake checks for an AWS4-HMAC-SHA256 signature', async () => {
      h = await startHarness();
      const response = await fetch(h.fake.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSIdentityStore.GetUserId' },
        body: JSON.stringify({ IdentityStoreId: IDENTITY_STORE_ID }),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
    });
  });

  describe('check', () => {
    it('reads the permission set and the user, and passes when sessions end within the role', async () => {
      h = await startHarness();
      await h.provider.check(grantSpec(dave), { maxDurationMinutes: 60 });
      expect(h.fake.requests.map((r) => r.op)).toEqual(['DescribePermissionSet', 'GetUserId']);
      expect(h.fake.calls('DescribePermissionSet')[0]?.body).toEqual({ InstanceArn: INSTANCE_ARN, PermissionSetArn: PERMISSION_SET_ARN });
      expect(h.fake.state().assignments).toEqual([]);
    });

    it('refuses a role whose permission set keeps sessions longer than its maxDuration, naming both and the fix', async () => {
      h = await startHarness();
      const error = (await failure(h.provider.check(grantSpec(dave, { target: { ...TARGET, permissionSetArn: LONG_SESSION_SET_ARN } }), { maxDurationMinutes: 240 }))) as ProviderError;
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('"ProdAdmin"');
      expect(error.message).toContain('8h (SessionDuration PT8H)');
      expect(error.message).toContain("role's maxDuration of 4h");
      expect(error.message).toContain('--session-duration PT4H');
    });

    it('takes PT1H when the permission set names no session duration', async () => {
      h = await startHarness();
      const spec = grantSpec(dave, { target: { ...TARGET, permissionSetArn: DEFAULT_SESSION_SET_ARN } });
      await expect(h.provider.check(spec, { maxDurationMinutes: 60 })).resolves.toBeUndefined();
      const error = (await failure(h.provider.check(spec, { maxDurationMinutes: 30 }))) as ProviderError;
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('SessionDuration PT1H');
      expect(error.message).toContain('no session shorter than 1h');
    });

    it('refuses a person without an Identity Center user, naming the e-mail and the identity store', async () => {
      h = await startHarness();
      const error = (await failure(h.provider.check(grantSpec(email('mallory@example.com')), { maxDurationMinutes: 60 }))) as ProviderError;
      expect(error.code).toBe('refused');
      expect(error.message).toContain('mallory@example.com');
      expect(error.message).toContain(IDENTITY_STORE_ID);
    });

    it("checks the policy's identities override with DescribeUser and refuses a user id the store does not hold", async () => {
      h = await startHarness({ resolvePrincipal: (who) => (who === dave ? DAVE_ID : '906712345a-deadbeef-2222-3333-4444-555555555555') });
      await h.provider.check(grantSpec(dave), { maxDurationMinutes: 60 });
      expect(h.fake.calls('DescribeUser')[0]?.body).toEqual({ IdentityStoreId: IDENTITY_STORE_ID, UserId: DAVE_ID });
      expect(h.fake.calls('GetUserId')).toHaveLength(0);
      const error = (await failure(h.provider.check(grantSpec(erin), { maxDurationMinutes: 60 }))) as ProviderError;
      expect(error.code).toBe('refused');
      expect(error.message).toContain('erin@example.com');
      expect(error.message).toContain("policy's identities");
    });

    it('refuses a permission set that is not in the instance as misconfigured', async () => {
      h = await startHarness();
      const missing = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-ffffffffffffffff';
      const error = (await failure(h.provider.check(grantSpec(dave, { target: { ...TARGET, permissionSetArn: missing } }), { maxDurationMinutes: 60 }))) as ProviderError;
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain(`permission set ${missing} does not exist in Identity Center instance ${INSTANCE_ARN}`);
    });
  });

  describe('listGranted', () => {
    it('lists USER assignments of each distinct target once, for every role naming it, leaving groups out', async () => {
      h = await startHarness();
      h.fake.seed({
        assignments: [
          daveAssignment,
          { ...daveAssignment, principalType: 'GROUP', principalId: '906712345a-66666666-2222-3333-4444-555555555555' },
          { ...daveAssignment, permissionSetArn: LONG_SESSION_SET_ARN, principalId: ERIN_ID },
        ],
      });
      const found = await h.provider.listGranted([
        { role: 'prod-readonly-aws', target: TARGET },
        { role: 'prod-readonly-aws-too', target: TARGET },
        { role: 'prod-admin-aws', target: { ...TARGET, permissionSetArn: LONG_SESSION_SET_ARN } },
      ]);
      expect(found.map((f) => [f.role, f.principal])).toEqual([
        ['prod-readonly-aws', DAVE_ID],
        ['prod-readonly-aws-too', DAVE_ID],
        ['prod-admin-aws', ERIN_ID],
      ]);
      expect(found[0]?.detail).toContain(ACCOUNT_ID);
      expect(found[0]?.detail).toContain(PERMISSION_SET_ARN);
      expect(h.fake.calls('ListAccountAssignments').map((r) => r.body['PermissionSetArn'])).toEqual([PERMISSION_SET_ARN, LONG_SESSION_SET_ARN]);
    });
  });

  describe('shape', () => {
    it('has no extend (Identity Center keeps no expiry) and one assignment per target, not per request', async () => {
      h = await startHarness();
      expect((h.provider as { extend?: unknown }).extend).toBeUndefined();
      expect(h.provider.grantsPerRequest).toBe(false);
      expect(h.provider.limits).toEqual({ concurrency: 5, callsPerSecond: 10 });
    });
  });
});
