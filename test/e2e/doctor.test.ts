import path from 'node:path';
import { FakeSlack } from '../fakes/fake-slack';
import { repoRoot, runCliProcess } from '../support/processes';

jest.setTimeout(60_000);

describe('prod-access doctor', () => {
  let slack: FakeSlack;
  const policyFile = path.join(repoRoot, 'manifests/policy.example.yaml');

  beforeAll(async () => {
    slack = await FakeSlack.start();
  });
  afterAll(() => slack.close());

  it('says there is nothing to check for Slack when it is not configured, and checks the policy', async () => {
    const result = await runCliProcess(['doctor'], { POLICY_FILE: policyFile });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`ok    policy ${policyFile}: valid`);
    expect(result.stdout).toContain('SLACK_BOT_TOKEN is not set');
  });

  it('checks the configuration against the workspace the token reaches, and exits 1 while anything needs fixing', async () => {
    // Given the example policy against a workspace where only the channels and alice are set up
    slack.addChannel('C0APPROVALS', { name: 'approvals', isMember: true });
    slack.addChannel('C0SECURITY', { name: 'security', isMember: true });
    slack.addUser({ id: 'U0ALICE', email: 'alice@example.com' });
    const env = { POLICY_FILE: policyFile, SLACK_BOT_TOKEN: 'xoxb-doctor', SLACK_APP_TOKEN: 'xapp-doctor', SLACK_API_URL: slack.apiUrl };

    // When the doctor runs
    const result = await runCliProcess(['doctor'], env);

    // Then it lists what is right and what to fix, and fails
    expect(result.stdout).toContain('ok    channels.approvals.slack C0APPROVALS: the bot is in #approvals');
    expect(result.stdout).toContain('ok    alice@example.com (groups.leads): is U0ALICE in Slack');
    expect(result.stdout).toContain('FIX   bob@example.com (groups.leads): has no Slack account with this e-mail');
    expect(result.stderr).toMatch(/^\d+ problems to fix \(marked FIX above\)\n$/);
    expect(result.code).toBe(1);

    // When the rest of the people are there
    for (const [id, email] of [['U0BOB', 'bob@example.com'], ['U0CAROL', 'carol@example.com'], ['U0ERIN', 'erin@example.com']] as const) slack.addUser({ id, email });

    // Then everything is in order
    const fixed = await runCliProcess(['doctor'], env);
    expect(fixed.stdout).toContain('everything checked is in order');
    expect(fixed.code).toBe(0);
  });
});
