import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeSlack } from '../fakes/fake-slack';
import { repoRoot, runServiceExpectingExit, startServiceProcess } from '../support/processes';
import { people } from '../support/slack-bot';

jest.setTimeout(120_000);

describe('npm start with Slack configured', () => {
  let dir: string;
  let slack: FakeSlack;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-slack-'));
    copyFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), path.join(dir, 'policy.yaml'));
    slack = await FakeSlack.start();
    for (const person of Object.values(people)) slack.addUser(person);
  });
  afterAll(async () => {
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects in Socket Mode from the environment alone and answers /prod-access', async () => {
    const service = await startServiceProcess({
      DATA_DIR: path.join(dir, 'data'),
      POLICY_FILE: path.join(dir, 'policy.yaml'),
      SLACK_BOT_TOKEN: 'xoxb-process-token',
      SLACK_APP_TOKEN: 'xapp-process-token',
      SLACK_API_URL: slack.apiUrl,
    });
    try {
      await slack.waitFor('apps.connections.open', (c) => c.token === 'xapp-process-token');
      for (let i = 0; i < 50 && slack.socketClients === 0; i++) await new Promise((r) => setTimeout(r, 100));
      await slack.sendEnvelope('slash_commands', { team_id: 'T0FAKE', user_id: people.dave.id, command: '/prod-access', text: 'roles', response_url: slack.responseUrl('process'), trigger_id: 't', channel_id: 'C0GENERAL' });
      const reply = await slack.waitFor('response', (c) => c.args.key === 'process');
      expect(String(reply.args.text)).toContain('sandbox-admin');
      expect(service.output()).toContain('Slack connected in Socket Mode');
      expect(service.output()).not.toContain('xoxb-process-token');
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });

  it('refuses to start, saying why, when Slack rejects the bot token', async () => {
    slack.failNext('auth.test', { error: 'invalid_auth' });
    const result = await runServiceExpectingExit({
      DATA_DIR: path.join(dir, 'data-2'),
      POLICY_FILE: path.join(dir, 'policy.yaml'),
      SLACK_BOT_TOKEN: 'xoxb-revoked-token',
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_API_URL: slack.apiUrl,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot start: Slack: Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)');
    expect(result.stderr + result.stdout).not.toContain('xoxb-revoked-token');
  });
});
