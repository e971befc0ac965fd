import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/processes';
import { people, startSlackBot, type SlackBot } from '../support/slack-bot';

jest.setTimeout(60_000);

describe('Slack user groups as approvers', () => {
  let bot: SlackBot;
  const frank = { id: 'U0FRANK', email: 'frank@example.com' };

  beforeAll(async () => {
    // Given leads are alice by address plus the Slack user group S0LEADS, which holds frank
    const policy = readFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), 'utf8').replace(
      'members: [alice@example.com, bob@example.com, carol@example.com]',
      'members: [alice@example.com]\n    slackUsergroup: S0LEADS',
    );
    bot = await startSlackBot({ policyText: policy });
    bot.slack.addUser(frank);
    bot.slack.setUsergroup('S0LEADS', [frank.id]);
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('counts a member of the mapped Slack user group as an approver, and refuses someone outside it', async () => {
    const { reply } = await bot.command(people.dave.id, 'prod-readonly 1h OPS-4 check the payout queue depth');
    const id = /\b([0-9A-Z]{8})\b/.exec(reply)?.[1] ?? '';

    // When bob (no longer a lead, not in the user group) clicks, he is refused
    const bob = await bot.click(people.bob.id, 'approve', id);
    expect(String((await bot.slack.waitFor('response', (c) => c.args.key === bob.key)).args.text)).toContain('not an approver');

    // When frank (in S0LEADS) approves, it counts and access is granted
    await bot.click(frank.id, 'approve', id);
    await bot.slack.waitFor('chat.update', (c) => JSON.stringify(c.args.blocks).includes(id) && JSON.stringify(c.args.blocks).includes('frank@example.com'));
    expect(bot.slack.callsTo('usergroups.users.list')[0]?.args).toMatchObject({ usergroup: 'S0LEADS' });
    const audit = await bot.service.app.ctx.store.readAudit(1, 1000);
    expect(audit.find((e) => e.action === 'approval_recorded' && e.requestId === id)?.data).toMatchObject({ approverVia: { platformGroups: ['leads'] } });
  });
});
