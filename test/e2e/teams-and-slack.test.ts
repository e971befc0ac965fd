import type { ChainedAuditEvent } from '../../src/domain/audit-event';
import type { RequestId } from '../../src/domain/request-id';
import { cardIn, verbsOf } from '../fakes/fake-teams';
import { FakeSlack, type SlackCall } from '../fakes/fake-slack';
import { blockAction, interactionBody, postSigned, slashCommandBody, viewSubmission } from '../fakes/slack-signing';
import { cardOf as slackCardOf, people as slackPeople } from '../support/slack-bot';
import { APPROVALS, cardText, SECURITY, startTeamsBot, teamsCardOf, teamsPeople, type TeamsBot } from '../support/teams-bot';

jest.setTimeout(120_000);

const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
const requestIdIn = (reply: string): string => /\b([0-9A-Z]{8})\b/.exec(reply)?.[1] ?? '';
const slackText = (call: SlackCall): string => JSON.stringify(call.args.blocks ?? call.args.text ?? '');

/**
 * One process with Slack and Teams on one policy: each platform has its own notifier, cards and
 * DMs; a request made on one may be decided on the other; the same request through either leaves
 * the same audit trail but for where it came from.
 */
describe('Slack and Teams together', () => {
  let slack: FakeSlack;
  let bot: TeamsBot;
  let slackUrl: string;
  let responses = 1;

  beforeAll(async () => {
    slack = await FakeSlack.start();
    for (const person of Object.values(slackPeople)) slack.addUser(person);
    bot = await startTeamsBot({ slack: { apiUrl: slack.apiUrl, signingSecret: SIGNING_SECRET } });
    slackUrl = `http://127.0.0.1:${bot.service.port}/slack/events`;
  });
  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
  });

  async function inSlack(user: string, text: string): Promise<string> {
    const key = `both-${responses++}`;
    const { status } = await postSigned(slackUrl, slashCommandBody({ text, user_id: user, response_url: slack.responseUrl(key) }), { secret: SIGNING_SECRET });
    expect(status).toBe(200);
    return String((await slack.waitFor('response', (c) => c.args.key === key)).args.text ?? '');
  }

  async function clickInSlack(user: string, actionId: string, id: string): Promise<string> {
    const key = `both-${responses++}`;
    const card = await slackCardOf(bot.service, id);
    const { status } = await postSigned(slackUrl, interactionBody(blockAction({ userId: user, actionId, value: id, responseUrl: slack.responseUrl(key), ...card })), { secret: SIGNING_SECRET });
    expect(status).toBe(200);
    return key;
  }

  const slackCardUpdated = (id: string, text: string) => slack.waitFor('chat.update', (c) => slackText(c).includes(id) && slackText(c).includes(text));
  const teamsCardUpdated = (id: string, text: string) => bot.teams.waitFor('update', (c) => c.conversationId === APPROVALS && cardText(c).includes(`Request: ${id}`) && cardText(c).includes(text));

  it('takes a request made in Slack through approvals in Teams and Slack, and both cards show the outcome', async () => {
    // Given dave asks in Slack; both platforms post a card
    const id = requestIdIn(await inSlack(slackPeople.dave.id, 'sandbox-admin 2h OPS-61 asked in Slack, decided in Teams'));
    await slackCardOf(bot.service, id);
    await teamsCardOf(bot.service, id);

    // When alice approves on the Teams card and bob on the Slack card
    const teamsClick = await bot.click(teamsPeople.alice, 'approve', { requestId: id });
    expect(JSON.stringify(teamsClick.body.value)).toContain('1 of 2 approvals: alice@example.com');
    await slackCardUpdated(id, '1 of 2 approvals: alice@example.com');
    await clickInSlack(slackPeople.bob.id, 'approve', id);

    // Then both cards show the grant and offer nothing more
    const granted = 'Granted (2 of 2 approvals: alice@example.com, bob@example.com) until';
    await slackCardUpdated(id, granted);
    const teamsCard = await teamsCardUpdated(id, granted);
    expect(verbsOf(cardIn(teamsCard.body))).toEqual([]);

    // And dave hears of it on both platforms (in Teams, where he never wrote, from the team's roster
    // the bot read when it was installed, in a 1:1 chat it opened), and each security channel has its line
    await slack.waitFor('chat.postMessage', (c) => c.args.channel === slackPeople.dave.id && slackText(c).includes('was granted sandbox-admin'));
    await bot.teams.waitFor('send', (c) => c.conversationId === bot.teams.personalChatOf(teamsPeople.dave.id) && cardText(c).includes('was granted sandbox-admin'));
    expect(bot.teams.callsOf('createConversation').filter((c) => c.userId === teamsPeople.dave.id && c.status === 201)).toHaveLength(1);
    await slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0SECURITY' && slackText(c).includes(id));
    await bot.teams.waitFor('send', (c) => c.conversationId === SECURITY && cardText(c).includes(id));
  });

  it('takes a request made in Teams through a denial in Slack, and both cards show it', async () => {
    const { reply } = await bot.command(teamsPeople.dave, 'sandbox-admin 1h OPS-62 asked in Teams, decided in Slack');
    const id = requestIdIn(reply);
    await slackCardOf(bot.service, id);
    await teamsCardOf(bot.service, id);
    await clickInSlack(slackPeople.carol.id, 'deny', id);
    const modal = await slack.waitFor('views.open', (c) => JSON.stringify(c.args.view).includes(id));
    const metadata = (modal.args.view as { private_metadata: string }).private_metadata;
    await postSigned(slackUrl, interactionBody(viewSubmission({ userId: slackPeople.carol.id, callbackId: 'deny_form', values: { reason: 'not this week, use staging' }, privateMetadata: metadata })), { secret: SIGNING_SECRET });
    await slackCardUpdated(id, 'Denied by carol@example.com: not this week, use staging');
    const teamsCard = await teamsCardUpdated(id, 'Denied by carol@example.com: not this week, use staging');
    expect(verbsOf(cardIn(teamsCard.body))).toEqual([]);
    // And a Teams click on the settled card changes nothing
    const late = await bot.click(teamsPeople.alice, 'approve', { requestId: id });
    expect(String(late.body.value)).toMatch(/denied/);
  });

  it('leaves the same audit trail for one request through Slack and through Teams, but for its origin', async () => {
    // Given the same request made, approved twice and revoked early, once in each platform
    const viaSlack = requestIdIn(await inSlack(slackPeople.dave.id, 'prod-readonly 2h OPS-63 the same request on both platforms')) as RequestId;
    await slackCardOf(bot.service, viaSlack);
    await clickInSlack(slackPeople.alice.id, 'approve', viaSlack);
    await slackCardUpdated(viaSlack, 'Granted');
    expect(await inSlack(slackPeople.dave.id, `revoke ${viaSlack}`)).toContain('is revoked');

    const viaTeams = requestIdIn((await bot.command(teamsPeople.dave, 'prod-readonly 2h OPS-63 the same request on both platforms')).reply) as RequestId;
    await teamsCardOf(bot.service, viaTeams);
    await bot.click(teamsPeople.alice, 'approve', { requestId: viaTeams });
    await teamsCardUpdated(viaTeams, 'Granted');
    expect((await bot.command(teamsPeople.dave, `revoke ${viaTeams}`)).reply).toContain('is revoked');

    // When the audit trail of each is read
    const events = await bot.service.app.ctx.store.readAudit(1, 100_000);
    const trail = (id: RequestId) =>
      events
        // NB: the anomaly detector's alerts are left out: dave's first grant of the role raises one
        // (firstGrant) for the request made first, whichever platform it came from.
        .filter((e: ChainedAuditEvent) => e.requestId === id && e.action !== 'alert_raised' && e.action !== 'alert_acknowledged')
        .map((e) => {
          const { origin, ...facts } = e.data as { origin?: { via?: string; platformUserId?: string; platformTeamId?: string } } & Record<string, unknown>;
          return { event: { action: e.action, actor: e.actor, data: JSON.parse(JSON.stringify(facts).replaceAll(id, '<id>')) as unknown }, origin };
        });
    const slackTrail = trail(viaSlack);
    const teamsTrail = trail(viaTeams);

    // Then the same actions come in the same order with the same facts
    expect(slackTrail.map((t) => t.event.action)).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'access_granted', 'revocation_started', 'access_revoked']);
    expect(teamsTrail.map((t) => t.event)).toEqual(slackTrail.map((t) => t.event));
    // And only the origin differs: each names its platform, its user id and its workspace or tenant
    const people = (trailOf: typeof slackTrail) => trailOf.map((t) => t.origin);
    expect(people(slackTrail)).toContainEqual({ via: 'slack', platformUserId: slackPeople.dave.id, platformTeamId: 'T0FAKE' });
    expect(people(slackTrail)).toContainEqual({ via: 'slack', platformUserId: slackPeople.alice.id, platformTeamId: 'T0FAKE' });
    expect(people(teamsTrail)).toContainEqual({ via: 'teams', platformUserId: teamsPeople.dave.aadObjectId, platformTeamId: bot.teams.tenantId });
    expect(people(teamsTrail)).toContainEqual({ via: 'teams', platformUserId: teamsPeople.alice.aadObjectId, platformTeamId: bot.teams.tenantId });
    expect(people(teamsTrail).map((o) => o?.via)).toEqual(people(slackTrail).map((o) => (o?.via === 'slack' ? 'teams' : o?.via)));
  });
});
