import { WebClient } from '@slack/web-api';
import { checkSlackSetup } from '../../../../src/adapters/chat/slack/slack-doctor';
import { examplePolicyText, loadPolicy } from '../../../support/app-harness';
import { FakeSlack } from '../../../fakes/fake-slack';

describe('checkSlackSetup', () => {
  let slack: FakeSlack;
  let client: WebClient;
  // NB: the example policy names C0APPROVALS, C0SECURITY and C0SANDBOX, and alice, bob, carol and erin by address.
  const policy = loadPolicy(`${examplePolicyText.replace('members: [alice@example.com, bob@example.com, carol@example.com]', 'members: [alice@example.com, bob@example.com, carol@example.com]\n    slackUsergroup: S0LEADS')}`).policy;

  beforeEach(async () => {
    slack = await FakeSlack.start();
    client = new WebClient('xoxb-doctor', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });
  afterEach(() => slack.close());

  function ready(): void {
    for (const [id, email] of [['U0ALICE', 'alice@example.com'], ['U0BOB', 'bob@example.com'], ['U0CAROL', 'carol@example.com'], ['U0ERIN', 'erin@example.com']] as const) slack.addUser({ id, email });
    slack.addChannel('C0APPROVALS', { name: 'approvals', isMember: true });
    slack.addChannel('C0SECURITY', { name: 'security', isMember: true });
    slack.addChannel('C0SANDBOX', { name: 'sandbox', isMember: true });
    slack.setUsergroup('S0LEADS', ['U0ALICE']);
  }

  it('finds nothing wrong with a workspace set up as the README says', async () => {
    ready();
    const findings = await checkSlackSetup(client, policy);
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(findings.map((f) => f.subject)).toEqual(
      expect.arrayContaining(['SLACK_BOT_TOKEN', 'scopes', 'channels.approvals.slack C0APPROVALS', 'alice@example.com (groups.leads)', 'groups.leads.slackUsergroup S0LEADS']),
    );
  });

  it('names each problem with what to do: a missing scope, a channel without the bot, an unknown or unconfirmed address, a missing user group', async () => {
    // Given a workspace where several things are off
    ready();
    slack.scopes = slack.scopes.filter((s) => s !== 'usergroups:read');
    slack.addChannel('C0SECURITY', { name: 'security', isMember: false });
    slack.addUser({ id: 'U0CAROL', email: 'carol@example.com', emailConfirmed: false });
    slack.addUser({ id: 'U0ERIN', email: 'someone-else@example.com' });
    slack.setUsergroup('S0OTHER', []);
    const withoutGroup = loadPolicy(examplePolicyText.replace('members: [alice@example.com, bob@example.com, carol@example.com]', 'members: [alice@example.com, bob@example.com, carol@example.com]\n    slackUsergroup: S0MISSING')).policy;

    // When it is checked
    const problems = (await checkSlackSetup(client, withoutGroup)).filter((f) => !f.ok);

    // Then each problem is named with its fix
    expect(problems).toEqual([
      { ok: false, subject: 'scopes', message: 'missing usergroups:read: update the app from manifests/slack.yaml and reinstall it to the workspace' },
      { ok: false, subject: 'channels.security.slack C0SECURITY', message: 'the bot is not in #security: type /invite @prod-access there' },
      { ok: false, subject: 'carol@example.com (groups.leads)', message: expect.stringContaining('not confirmed') },
      { ok: false, subject: 'erin@example.com (groups.security)', message: 'has no Slack account with this e-mail: correct the address in the policy, or the profile in Slack' },
      { ok: false, subject: 'groups.leads.slackUsergroup S0MISSING', message: 'no such user group: check the id (S…) in the policy' },
    ]);
  });

  it('stops at a token Slack refuses', async () => {
    slack.failNext('auth.test', { error: 'invalid_auth' });
    expect(await checkSlackSetup(client, policy)).toEqual([{ ok: false, subject: 'SLACK_BOT_TOKEN', message: 'not accepted (auth.test: invalid_auth)' }]);
  });
});
