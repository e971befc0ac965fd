import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';
import type { FakeSlackUser, SlackCall } from '../fakes/fake-slack';
import { blockAction, interactionBody, postSigned, slashCommandBody, viewSubmission } from '../fakes/slack-signing';
import { repoRoot } from '../support/processes';
import { people, SIGNING_SECRET, startSlackBot, type SlackBot } from '../support/slack-bot';

jest.setTimeout(60_000);

// Issue 9: each attack here was reproduced on the bot before the fix; each test fails without it.

const textOf = (call: SlackCall): string => JSON.stringify(call.args.blocks ?? call.args.text ?? '');
const requestIdIn = (reply: string): string => /\b([0-9A-Z]{8})\b/.exec(reply)?.[1] ?? '';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Slack users who name real approvers but must not count as them. */
const impostors = {
  unconfirmedBob: { id: 'U0UNCONF', email: 'bob@example.com', emailConfirmed: false },
  guestCarol: { id: 'U0GUEST', email: 'carol@example.com', guest: 'multi-channel' },
  singleChannelGuestCarol: { id: 'U0GUEST1', email: 'carol@example.com', guest: 'single-channel' },
  foreignAlice: { id: 'U0FOREIGN', email: 'alice@example.com', teamId: 'T0OTHER', isStranger: true },
  appUserBob: { id: 'U0APPUSER', email: 'bob@example.com', isAppUser: true },
  unconfirmedForeignGuestDave: { id: 'U0WORST', email: 'dave@example.com', emailConfirmed: false, guest: 'single-channel', teamId: 'T0OTHER' },
} satisfies Record<string, FakeSlackUser>;

describe('Slack: the ways around the controls are closed', () => {
  let bot: SlackBot;

  beforeAll(async () => {
    bot = await startSlackBot();
    for (const impostor of Object.values(impostors)) bot.slack.addUser(impostor);
  });
  afterAll(async () => {
    await bot?.stop();
  });

  async function daveAsks(text = 'sandbox-admin 2h OPS-1 rotate the sandbox signing keys'): Promise<RequestId> {
    const { reply } = await bot.command(people.dave.id, text);
    const id = requestIdIn(reply);
    expect(reply).toContain(`Request ${id}`);
    return id as RequestId;
  }

  const approvalsOf = async (id: RequestId) => (await bot.service.app.ctx.store.findRequest(id))?.approvals.map((a) => a.approver) ?? [];
  const replyTo = async (key: string) => String((await bot.slack.waitFor('response', (c) => c.args.key === key)).args.text ?? '');

  describe('only confirmed, full members of our workspace count', () => {
    it.each([
      ['an unconfirmed e-mail naming bob', impostors.unconfirmedBob, /not confirmed/],
      ['a multi-channel guest naming carol', impostors.guestCarol, /guest/],
      ['a single-channel guest naming carol', impostors.singleChannelGuestCarol, /guest/],
      ['a Slack Connect user of another workspace naming alice', impostors.foreignAlice, /another one/],
      ['an app user naming bob', impostors.appUserBob, /app user/],
    ])('refuses an approval from %s, says why, and records nothing', async (_, impostor, why) => {
      // Given dave's request waiting for approvals
      const id = await daveAsks();

      // When the impostor clicks Approve on its card
      const click = await bot.click(impostor.id, 'approve', id);

      // Then they are told why, and no approval is recorded
      expect(await replyTo(click.key)).toMatch(why);
      expect(await approvalsOf(id)).toEqual([]);
    });

    it('refuses a payload sent through another workspace, before any look-up', async () => {
      // Given a request, and a click whose payload says its user belongs to team T0OTHER
      const id = await daveAsks();
      const before = bot.slack.callsTo('users.info').length;

      // When it arrives, signed as Slack signs it
      const { key, status } = await bot.click(people.alice.id, 'approve', id, { teamId: 'T0OTHER' });
      expect(status).toBe(200);

      // Then it is refused without asking Slack who the user is
      expect(await replyTo(key)).toMatch(/own Slack workspace/);
      expect(bot.slack.callsTo('users.info').length).toBe(before);
      expect(await approvalsOf(id)).toEqual([]);
    });

    it('gives an unconfirmed guest from another workspace no break-glass access', async () => {
      const { reply } = await bot.command(impostors.unconfirmedForeignGuestDave.id, 'break-glass sandbox-admin 30m INC-9 sandbox is down for everyone');
      expect(reply).toMatch(/another one/);
      const live = await bot.service.app.ctx.store.listRequests({ requester: email('dave@example.com'), states: ['active'], limit: 100 });
      expect(live.filter((r) => r.breakGlass)).toEqual([]);
    });

    it('stops counting an approver as soon as Slack deactivates them, whatever was cached', async () => {
      // Given erin, an admin, and carol, an approver, who has just approved one request (her profile is cached)
      const first = await daveAsks();
      await bot.click(people.carol.id, 'approve', first);
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(first) && textOf(c).includes('1 of 2 approvals: carol@example.com'));

      // When Slack deactivates carol and she clicks Approve on the next request at once
      bot.slack.addUser({ ...people.carol, deleted: true });
      const second = await daveAsks();
      const click = await bot.click(people.carol.id, 'approve', second);

      // Then she is refused: decisions look the person up again
      expect(await replyTo(click.key)).toMatch(/deactivated/);
      expect(await approvalsOf(second)).toEqual([]);
      bot.slack.addUser(people.carol);
    });

    it('records the Slack user and team beside the e-mail on the audit event', async () => {
      const id = await daveAsks();
      await bot.click(people.alice.id, 'approve', id);
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('1 of 2 approvals: alice@example.com'));
      const events = await bot.service.app.ctx.store.readAudit(1, 10_000);
      const approval = events.find((e) => e.requestId === id && e.action === 'approval_recorded');
      expect(approval?.data.origin).toEqual({ via: 'slack', platformUserId: people.alice.id, platformTeamId: 'T0FAKE' });
    });
  });

  describe('a replayed or repeated submission does nothing twice', () => {
    const formValues = { role: { selected: 'sandbox-admin' }, duration: '1h', ticket: 'OPS-31', reason: 'replayed form submission', break_glass: { checked: [] } };

    it('opens one request when the same signed form is posted twice', async () => {
      // Given one accepted request form, signed by Slack
      const body = interactionBody(viewSubmission({ userId: people.dave.id, callbackId: 'request_form', values: formValues, privateMetadata: '{}', viewId: 'VREPLAYFORM' }));

      // When the same bytes are posted twice
      expect((await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET })).status).toBe(200);
      expect((await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET })).status).toBe(200);
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes('sandbox-admin'));
      await sleep(500);

      // Then one request was opened
      const mine = await bot.service.app.ctx.store.listRequests({ requester: email('dave@example.com'), limit: 1_000 });
      expect(mine.filter((r) => r.ticket === 'OPS-31')).toHaveLength(1);
    });

    it('makes one break-glass grant when the same submission arrives twice', async () => {
      const values = { ...formValues, ticket: 'INC-32', reason: 'replayed break-glass submission', break_glass: { checked: ['yes'] } };
      const body = interactionBody(viewSubmission({ userId: people.dave.id, callbackId: 'request_form', values, privateMetadata: '{}', viewId: 'VREPLAYBG' }));
      await Promise.all([postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET }), postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET })]);
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes('Break-glass'));
      await sleep(500);
      const mine = await bot.service.app.ctx.store.listRequests({ requester: email('dave@example.com'), limit: 1_000 });
      expect(mine.filter((r) => r.ticket === 'INC-32')).toHaveLength(1);
    });

    it('still accepts a form corrected after a refusal (same modal, new values)', async () => {
      const bad = await bot.submit(people.dave.id, 'request_form', { ...formValues, ticket: 'nope' }, '{}');
      expect(bad.body).toMatchObject({ response_action: 'errors' });
      const body = interactionBody(viewSubmission({ userId: people.dave.id, callbackId: 'request_form', values: { ...formValues, ticket: 'OPS-33' }, privateMetadata: '{}', viewId: 'VCORRECTED' }));
      const badSameView = interactionBody(viewSubmission({ userId: people.dave.id, callbackId: 'request_form', values: { ...formValues, ticket: 'nope' }, privateMetadata: '{}', viewId: 'VCORRECTED' }));
      expect(JSON.parse((await postSigned(bot.eventsUrl, badSameView, { secret: SIGNING_SECRET })).text)).toMatchObject({ response_action: 'errors' });
      expect((await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET })).status).toBe(200);
      const opened = async () => (await bot.service.app.ctx.store.listRequests({ requester: email('dave@example.com'), limit: 1_000 })).filter((r) => r.ticket === 'OPS-33');
      for (let i = 0; i < 50 && (await opened()).length === 0; i++) await sleep(100);
      expect(await opened()).toHaveLength(1);
    });

    it('opens no second request when a slash command is replayed to a restarted process or another replica', async () => {
      // Given a command that opened a request on this process
      const body = slashCommandBody({ text: 'prod-readonly 1h OPS-34 replayed after a restart', user_id: people.dave.id, response_url: bot.slack.responseUrl('replay-1') });
      await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET });
      await bot.slack.waitFor('response', (c) => c.args.key === 'replay-1');

      // When the same signed bytes reach a fresh process on the same database, within Slack's five minutes
      const replica = await startSlackBot({ databaseUrl: bot.databaseUrl });
      try {
        expect((await postSigned(replica.eventsUrl, body, { secret: SIGNING_SECRET })).status).toBe(200);
        await sleep(1_000);
      } finally {
        await replica.stop();
      }

      // Then there is still one request
      const mine = await bot.service.app.ctx.store.listRequests({ requester: email('dave@example.com'), limit: 1_000 });
      expect(mine.filter((r) => r.ticket === 'OPS-34')).toHaveLength(1);
    });

    it('refuses a request timestamped more than five minutes in the future (401)', async () => {
      const body = slashCommandBody({ text: 'prod-readonly 1h OPS-35 signed ahead of time', user_id: people.dave.id, response_url: bot.slack.responseUrl('future') });
      const res = await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET, timestamp: Math.floor(bot.clock.now().getTime() / 1000) + 6 * 60 });
      expect(res.status).toBe(401);
    });
  });

  describe('a click belongs to its card', () => {
    it('refuses an approval clicked on another message than the request’s card', async () => {
      // Given two requests, each with its card
      const id = await daveAsks();
      const other = await daveAsks();
      const otherCard = await bot.service.app.ctx.store.chatCard('slack', other);

      // When alice's click for the first request arrives from the second one's card
      const click = await bot.click(people.alice.id, 'approve', id, { on: { channelId: otherCard?.channel ?? '', messageTs: otherCard?.messageId ?? '' } });

      // Then it is refused and nothing is recorded
      expect(await replyTo(click.key)).toMatch(/not one the bot showed/);
      expect(await approvalsOf(id)).toEqual([]);
      expect(await approvalsOf(other)).toEqual([]);
    });

    it('refuses buttons on a Home view or a DM another app published, and Approve from any DM', async () => {
      const id = await daveAsks();
      const homeOfAnotherApp = blockAction({ userId: people.alice.id, actionId: 'approve', value: id, botId: 'B0OTHERAPP' });
      expect((await postSigned(bot.eventsUrl, interactionBody(homeOfAnotherApp), { secret: SIGNING_SECRET })).status).toBe(200);
      const fromDm = await bot.click(people.bob.id, 'approve', id, { on: { channelId: 'D0BOB', messageTs: '1700000000.000100' } });
      expect(await replyTo(fromDm.key)).toMatch(/not one the bot showed/);
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.alice.id && textOf(c).includes('not one the bot showed'));
      expect(await approvalsOf(id)).toEqual([]);
    });

    it('takes request ids in buttons only exactly as the bot wrote them', async () => {
      const id = await daveAsks();
      const click = await bot.click(people.alice.id, 'approve', ` ${id.toLowerCase()} `, { on: { channelId: 'C0APPROVALS', messageTs: '1.0' } });
      expect(await replyTo(click.key)).toContain('names no request');
      expect(await approvalsOf(id)).toEqual([]);
    });
  });
});

describe('Slack: the configured workspace', () => {
  it('refuses to start when SLACK_TEAM_ID names another workspace than the bot token’s', async () => {
    await expect(startSlackBot({ env: { SLACK_TEAM_ID: 'T0OTHER' } })).rejects.toThrow('SLACK_TEAM_ID is T0OTHER, but SLACK_BOT_TOKEN belongs to workspace T0FAKE');
  });
});

describe('Slack unreachable at start', () => {
  it('says the network failed, not that Slack refused the token', async () => {
    // Given a Web API address where nothing listens
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const start = startSlackBot({ env: { SLACK_API_URL: `http://127.0.0.1:${closed}/api/` } });
    // Then the start fails naming the network, not the token
    await expect(start).rejects.toThrow(`Slack: cannot reach Slack at http://127.0.0.1:${closed}/api/ to check SLACK_BOT_TOKEN (network: `);
  });
});

describe('Slack: guests the policy lists', () => {
  let bot: SlackBot;
  const guestPolicy = `${readFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), 'utf8')}\nguests: [carol@example.com]\n`;

  beforeAll(async () => {
    bot = await startSlackBot({ policyText: guestPolicy });
    bot.slack.addUser(impostors.guestCarol);
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('counts a confirmed guest of our workspace whose address the policy lists under guests', async () => {
    const { reply } = await bot.command(people.dave.id, 'sandbox-admin 2h OPS-1 rotate the sandbox signing keys');
    const id = requestIdIn(reply) as RequestId;
    await bot.click(impostors.guestCarol.id, 'approve', id);
    await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('1 of 2 approvals: carol@example.com'));
  });
});
