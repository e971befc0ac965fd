import { email } from '../../../../src/domain/email';
import { describeIamProviderContract } from '../iam-provider-contract';
import { startGcpHarness } from './gcp-test-setup';

const dave = email('dave@example.com');
const erin = email('erin@example.com');
const RESOURCE = 'projects/payments-prod';
const ROLE = 'roles/cloudsql.viewer';

describeIamProviderContract('gcp', { failures: true, principals: 'at-grant' }, async () => {
  const harness = await startGcpHarness({
    resources: { [RESOURCE]: { bindings: [{ role: 'roles/storage.admin', members: ['group:platform@example.com'] }] } },
    users: [dave, erin],
  });
  const { fake, provider } = harness;
  return {
    provider,
    people: [dave, erin],
    role: 'payments-db-viewer',
    target: { resource: RESOURCE, role: ROLE },
    hasAccess: async (who) => fake.hasAccess(RESOURCE, ROLE, `user:${who}`),
    expiryOf: async (who) => fake.expiryOf(RESOURCE, ROLE, `user:${who}`),
    // NB: the adapter does not retry outages itself (the bot's schedule does), so one failing call is an outage.
    failNextWithOutage: () => fake.failNextWithOutage(1),
    failNextWithRefusal: () => fake.failNext({ status: 403, message: `Permission 'resourcemanager.projects.getIamPolicy' denied on resource '//cloudresourcemanager.googleapis.com/${RESOURCE}' (or it may not exist).` }),
    close: () => harness.close(),
  };
});
