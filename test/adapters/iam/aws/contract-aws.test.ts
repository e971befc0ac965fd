import { email, type Email } from '../../../../src/domain/email';
import { describeIamProviderContract } from '../iam-provider-contract';
import { ACCOUNT_ID, DAVE_ID, ERIN_ID, INSTANCE_ARN, PERMISSION_SET_ARN, startHarness, TARGET } from './aws-fixtures';

const dave = email('dave@example.com');
const erin = email('erin@example.com');
const userIds = new Map<Email, string>([
  [dave, DAVE_ID],
  [erin, ERIN_ID],
]);

describeIamProviderContract('aws', { failures: true, principals: 'before-approval' }, async () => {
  const h = await startHarness();
  return {
    provider: h.provider,
    people: [dave, erin],
    role: 'prod-readonly-aws',
    target: TARGET,
    // NB: read from the fake's own state, not through the adapter.
    hasAccess: async (who) =>
      h.fake.hasAssignment({ instanceArn: INSTANCE_ARN, accountId: ACCOUNT_ID, permissionSetArn: PERMISSION_SET_ARN, principalType: 'USER', principalId: userIds.get(who) ?? '' }),
    failNextWithOutage: () => h.fake.failNext({ kind: 'outage' }),
    failNextWithRefusal: () => h.fake.failNext({ kind: 'error', type: 'AccessDeniedException', message: 'User is not authorized to perform this action' }),
    close: () => h.close(),
  };
});
