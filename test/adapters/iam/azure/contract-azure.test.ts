import { describeIamProviderContract } from '../iam-provider-contract';
import { azureFixture, dave, DAVE_ID, erin, ERIN_ID, READER, SCOPE, TARGET } from './azure-fixture';

const ids = new Map<string, string>([
  [dave, DAVE_ID],
  [erin, ERIN_ID],
]);

// NB: minimumActiveMs 0: the contract grants and revokes back to back, which Azure's 5-minute rule
// would turn into `deferred`; that rule has its own tests in azure-iam-provider.test.ts.
describeIamProviderContract('azure', { failures: true, principals: 'before-approval' }, async () => {
  const { fake, provider, close } = await azureFixture({ minimumActiveMs: 0 });
  return {
    provider,
    people: [dave, erin],
    role: 'prod-reader',
    target: TARGET,
    hasAccess: async (who) => fake.hasAccess(ids.get(who) ?? '', SCOPE, READER),
    expiryOf: async (who) => {
      const end = fake.assignmentOf(ids.get(who) ?? '', SCOPE, READER)?.end;
      return end === undefined ? undefined : new Date(end);
    },
    // NB: as many 503s as the provider makes attempts (3 in the fixture), so its retries run out.
    failNextWithOutage: () => fake.failNext(3, { status: 503, code: 'ServiceUnavailable' }),
    failNextWithRefusal: () => fake.failNext(1, { status: 403, code: 'AuthorizationFailed', message: "The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignmentScheduleRequests/write'." }),
    close,
  };
});
