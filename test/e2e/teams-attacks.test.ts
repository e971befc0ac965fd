import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';
import type { FakeTeamsUser } from '../fakes/fake-teams';
import { logSink } from '../support/log-sink';
import { repoRoot } from '../support/processes';
import { APPROVALS, BOT_ID, cardText, startTeamsBot, TEAM_ID, teamsCardOf, teamsPeople, type TeamsBot } from '../support/teams-bot';

jest.setTimeout(90_000);

const requestIdIn = (reply: string): string => /\b([0-9A-Z]{8})\b/.exec(reply)?.[1] ?? '';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OTHER_TENANT = 'bbbbbbbb-0000-4000-8000-000000000002';

/** Teams users who carry real approvers' addresses but must not count as them. */
const impostors = {
  guestCarol: { id: '29:guest-carol', aadObjectId: '9a000000-0000-4000-8000-000000000001', email: 'carol@example.com', userRole: 'guest', userPrincipalName: 'carol_example.com#EXT#@tenant.onmicrosoft.com' },
  upnGuestBob: { id: '29:upn-guest-bob', aadObjectId: '9a000000-0000-4000-8000-000000000002', email: 'bob@example.com', userPrincipalName: 'bob_example.com#EXT#@tenant.onmicrosoft.com' },
  foreignAlice: { id: '29:foreign-alice', aadObjectId: '9a000000-0000-4000-8000-000000000003', email: 'alice@example.com', tenantId: OTHER_TENANT },
  anonymousBob: { id: '29:anonymous-bob', aadObjectId: '9a000000-0000-4000-8000-000000000004', email: 'bob@example.com', userRole: 'anonymous' },
} satisfies Record<string, FakeTeamsUser>;

describe('Teams: the ways around the controls are closed', () => {
  let bot: TeamsBot;

  beforeAll(async () => {
    bot = await startTeamsBot();
    for (const impostor of Object.values(impostors)) bot.teams.addUser(impostor);
  });
  afterAll(async () => {
    await bot?.stop();
  });

  async function daveAsks(text = 'sandbox-admin 2h OPS-1 rotate the sandbox signing keys'): Promise<RequestId> {
    const { reply } = await bot.command(teamsPeople.dave, text);
    const id = requestIdIn(reply);
    expect(reply).toContain(`Request ${id}`);
    await teamsCardOf(bot.service, id);
    return id as RequestId;
  }

  const approvalsOf = async (id: RequestId) => (await bot.service.app.ctx.store.findRequest(id))?.approvals.map((a) => a.approver) ?? [];
  const said = (body: { value?: unknown }) => String(body.value ?? '');

  describe('only members of our tenant with an Entra account count', () => {
    it.each([
      ['a guest naming carol', impostors.guestCarol, /guest account/],
      ['a guest by UPN naming bob', impostors.upnGuestBob, /guest account/],
      ['a member of another tenant naming alice', impostors.foreignAlice, /another one/],
      ['an anonymous meeting participant naming bob', impostors.anonymousBob, /Entra account/],
    ])('refuses an approval from %s, says why, and records nothing', async (_, impostor, why) => {
      // Given dave's request waiting for approvals
      const id = await daveAsks();

      // When the impostor clicks Approve on its card
      const click = await bot.click(impostor, 'approve', { requestId: id });

      // Then they are told why, and no approval is recorded
      expect(click.body.type).toBe('application/vnd.microsoft.activity.message');
      expect(said(click.body)).toMatch(why);
      expect(await approvalsOf(id)).toEqual([]);
    });

    it('refuses a click whose sender is not the account Teams looks up', async () => {
      const id = await daveAsks();
      // NB: the activity says it comes from alice's account, the roster says 29:alice is someone else now.
      bot.teams.addUser({ ...teamsPeople.alice, aadObjectId: '9a000000-0000-4000-8000-0000000000aa' });
      try {
        const click = await bot.click(teamsPeople.alice, 'approve', { requestId: id });
        expect(said(click.body)).toMatch(/another account/);
        expect(await approvalsOf(id)).toEqual([]);
      } finally {
        bot.teams.addUser(teamsPeople.alice);
      }
    });

    it('refuses an activity sent through another tenant, before any look-up', async () => {
      // Given a request, and a click whose activity names tenant OTHER
      const id = await daveAsks();
      const before = bot.teams.calls.length;

      // When it arrives, signed as Teams signs it
      const { status, body } = await bot.click(teamsPeople.alice, 'approve', { requestId: id }, { tenantId: OTHER_TENANT });
      expect(status).toBe(200);

      // Then it is refused without asking Teams who the user is
      expect(said(body)).toMatch(/own Microsoft 365 organisation/);
      expect(bot.teams.calls.slice(before).filter((c) => c.kind === 'member')).toEqual([]);
      expect(await approvalsOf(id)).toEqual([]);

      // And a message from that tenant opens nothing and is answered where it came from, with no look-up either
      const asked = await bot.command(teamsPeople.dave, 'sandbox-admin 2h OPS-77 asked from another tenant', { tenantId: OTHER_TENANT, waitForReply: false });
      expect(asked.status).toBe(200);
      const refusal = await bot.teams.waitFor('send', (c) => bot.teams.calls.indexOf(c) >= before && cardText(c).includes('own Microsoft 365 organisation'));
      expect(refusal.conversationId).toBe(bot.teams.personalChatOf(teamsPeople.dave.id));
      expect(bot.teams.calls.slice(before).filter((c) => c.kind === 'member')).toEqual([]);
      const mine = await bot.service.app.ctx.store.listRequests({ requester: email(teamsPeople.dave.email), limit: 1_000 });
      expect(mine.filter((r) => r.ticket === 'OPS-77')).toEqual([]);
    });

    it('records nothing from another tenant’s installation', async () => {
      const before = bot.teams.calls.length;
      const { status } = await bot.post({
        type: 'conversationUpdate',
        id: 'install-elsewhere',
        channelId: 'msteams',
        serviceUrl: bot.teams.serviceUrl,
        from: { id: teamsPeople.erin.id, aadObjectId: teamsPeople.erin.aadObjectId },
        recipient: { id: BOT_ID(bot.teams.appId) },
        conversation: { id: '19:foreign-team@thread.tacv2', conversationType: 'channel', tenantId: OTHER_TENANT },
        channelData: { tenant: { id: OTHER_TENANT }, team: { id: '19:foreign-team@thread.tacv2' } },
        membersAdded: [{ id: BOT_ID(bot.teams.appId) }],
      });
      expect(status).toBe(200);
      await sleep(300);
      expect(bot.teams.calls.slice(before).filter((c) => c.kind === 'teamChannels' || c.kind === 'pagedMembers')).toEqual([]);
    });

    it('stops counting an approver as soon as Teams no longer knows them, whatever was seen before', async () => {
      // Given carol, who has just approved one request
      const first = await daveAsks();
      await bot.click(teamsPeople.carol, 'approve', { requestId: first });
      expect(await approvalsOf(first)).toEqual(['carol@example.com']);

      // When she leaves the organisation (gone from the roster) and clicks Approve on the next request at once
      bot.teams.addUser({ ...teamsPeople.carol, tenantId: OTHER_TENANT });
      try {
        const second = await daveAsks();
        const click = await bot.click(teamsPeople.carol, 'approve', { requestId: second });

        // Then she is refused: decisions look the person up again
        expect(said(click.body)).toMatch(/another one/);
        expect(await approvalsOf(second)).toEqual([]);
      } finally {
        bot.teams.addUser(teamsPeople.carol);
      }
    });

    it('records the Entra object id and the tenant beside the e-mail on the audit event', async () => {
      const id = await daveAsks();
      await bot.click(teamsPeople.alice, 'approve', { requestId: id });
      const events = await bot.service.app.ctx.store.readAudit(1, 10_000);
      const approval = events.find((e) => e.requestId === id && e.action === 'approval_recorded');
      expect(approval?.data.origin).toEqual({ via: 'teams', platformUserId: teamsPeople.alice.aadObjectId, platformTeamId: bot.teams.tenantId });
      const opened = events.find((e) => e.requestId === id && e.action === 'request_opened');
      expect(opened?.data.origin).toEqual({ via: 'teams', platformUserId: teamsPeople.dave.aadObjectId, platformTeamId: bot.teams.tenantId });
    });
  });

  describe('a redelivered or replayed activity does nothing twice', () => {
    const message = (id: string, text: string) => ({
      type: 'message',
      id,
      channelId: 'msteams',
      serviceUrl: bot.teams.serviceUrl,
      from: { id: teamsPeople.dave.id, aadObjectId: teamsPeople.dave.aadObjectId },
      recipient: { id: BOT_ID(bot.teams.appId) },
      conversation: { id: bot.teams.personalChatOf(teamsPeople.dave.id), conversationType: 'personal', tenantId: bot.teams.tenantId },
      channelData: { tenant: { id: bot.teams.tenantId } },
      text,
    });
    const withTicket = async (ticket: string) => (await bot.service.app.ctx.store.listRequests({ requester: email(teamsPeople.dave.email), limit: 1_000 })).filter((r) => r.ticket === ticket);

    it('opens one request when the same activity is delivered twice, even together', async () => {
      const activity = message('redelivered-1', 'sandbox-admin 1h OPS-31 redelivered message');
      const [a, b] = await Promise.all([bot.post(activity), bot.post(activity)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      await bot.post(activity);
      for (let i = 0; i < 50 && (await withTicket('OPS-31')).length === 0; i++) await sleep(100);
      await sleep(500);
      expect(await withTicket('OPS-31')).toHaveLength(1);
    });

    it('makes one break-glass grant when the same click on the form arrives twice', async () => {
      const { call } = await bot.command(teamsPeople.dave, '');
      const values = { role: 'sandbox-admin', duration: '30m', ticket: 'INC-32', reason: 'replayed break-glass form', breakGlass: 'true' };
      const onForm = { personal: { replyToId: call?.activityId ?? '' } };
      await Promise.all([bot.click(teamsPeople.dave, 'request', values, onForm), bot.click(teamsPeople.dave, 'request', values, onForm)]);
      await sleep(300);
      expect(await withTicket('INC-32')).toHaveLength(1);
    });

    it('opens no second request when an activity is replayed to a restarted process or another replica', async () => {
      // Given a message that opened a request on this process
      const activity = message('replayed-across-replicas', 'prod-readonly 1h OPS-34 replayed after a restart');
      await bot.post(activity);
      for (let i = 0; i < 50 && (await withTicket('OPS-34')).length === 0; i++) await sleep(100);

      // When the same activity, with a token still valid, reaches a fresh process on the same database
      const replica = await startTeamsBot({ databaseUrl: bot.databaseUrl, noInstall: true, teams: bot.teams });
      const before = bot.teams.calls.length;
      try {
        expect((await replica.post(activity)).status).toBe(200);
        await sleep(1_000);
        // NB: the replica did take the activity (a valid token), and dropped it before any look-up.
        expect(bot.teams.calls.slice(before).filter((c) => c.kind === 'member')).toEqual([]);
      } finally {
        await replica.stop();
      }

      // Then there is still one request
      expect(await withTicket('OPS-34')).toHaveLength(1);
    });
  });

  describe('a click belongs to its card', () => {
    it('refuses an approval clicked on another message than the request’s card', async () => {
      // Given two requests, each with its card
      const id = await daveAsks();
      const other = await daveAsks();
      const otherCard = await teamsCardOf(bot.service, other);

      // When alice's click for the first request arrives from the second one's card
      const click = await bot.click(teamsPeople.alice, 'approve', { requestId: id }, { on: otherCard });

      // Then it is refused and nothing is recorded
      expect(said(click.body)).toMatch(/not one the bot showed/);
      expect(await approvalsOf(id)).toEqual([]);
      expect(await approvalsOf(other)).toEqual([]);
    });

    it('refuses Approve and Deny from a 1:1 chat, and Extend and Give back from a channel', async () => {
      const id = await daveAsks();
      expect(said((await bot.click(teamsPeople.bob, 'approve', { requestId: id }, { personal: { replyToId: 'act-1' } })).body)).toMatch(/not one the bot showed/);
      expect(said((await bot.click(teamsPeople.bob, 'deny', { requestId: id, reason: 'denied from a chat' }, { personal: { replyToId: 'act-1' } })).body)).toMatch(/not one the bot showed/);
      const card = await teamsCardOf(bot.service, id);
      expect(said((await bot.click(teamsPeople.dave, 'revoke', { requestId: id }, { on: card })).body)).toMatch(/not one the bot showed/);
      expect(said((await bot.click(teamsPeople.dave, 'extend', { requestId: id, duration: '1h', reason: 'extended from a channel' }, { on: card })).body)).toMatch(/not one the bot showed/);
      expect(await approvalsOf(id)).toEqual([]);
      expect((await bot.service.app.ctx.store.findRequest(id))?.state).toBe('pending');
    });

    it('takes request ids in actions only exactly as the bot wrote them', async () => {
      const id = await daveAsks();
      const card = await teamsCardOf(bot.service, id);
      const click = await bot.click(teamsPeople.alice, 'approve', { requestId: ` ${id.toLowerCase()} ` }, { on: card });
      expect(said(click.body)).toContain('names no request');
      expect(await approvalsOf(id)).toEqual([]);
    });

    it('never takes a command from a bot', async () => {
      const { reply } = await bot.command({ id: '28:another-bot', aadObjectId: '9a000000-0000-4000-8000-0000000000b0' }, 'sandbox-admin 2h OPS-1 a bot asks for access');
      expect(reply).toContain('Bots cannot ask for or approve access.');
      const mine = await bot.service.app.ctx.store.listRequests({ limit: 1_000 });
      expect(mine.filter((r) => r.reason === 'a bot asks for access')).toEqual([]);
    });
  });

  it('answers in the channel thread when Teams lets it open no 1:1 chat, without the answer', async () => {
    const shy = { id: '29:shy', aadObjectId: '9a000000-0000-4000-8000-0000000005e1', email: 'shy@example.com', blocked: true };
    bot.teams.addUser(shy);
    const before = bot.teams.calls.length;
    await bot.command(shy, 'status ABCDEFGH', { in: TEAM_ID, waitForReply: false });
    const note = await bot.teams.waitFor('send', (c) => bot.teams.calls.indexOf(c) >= before && (c.conversationId ?? '').startsWith(`${TEAM_ID};messageid=`));
    expect(cardText(note)).toContain('answers in a 1:1 chat');
    expect(cardText(note)).not.toContain('ABCDEFGH');
    expect(bot.teams.calls.slice(before).some((c) => c.conversationId === APPROVALS)).toBe(false);
  });
});

describe('Teams: guests the policy lists', () => {
  let bot: TeamsBot;
  const guestPolicy = `${readFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), 'utf8')}\nguests: [carol@example.com]\n`;

  beforeAll(async () => {
    bot = await startTeamsBot({ policyText: guestPolicy });
    bot.teams.addUser(impostors.guestCarol);
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('counts a guest whose address the policy lists under guests', async () => {
    const { reply } = await bot.command(teamsPeople.dave, 'sandbox-admin 2h OPS-1 rotate the sandbox signing keys');
    const id = requestIdIn(reply);
    const click = await bot.click(impostors.guestCarol, 'approve', { requestId: id });
    expect(JSON.stringify(click.body.value)).toContain('1 of 2 approvals: carol@example.com');
  });
});

describe('Teams in anonymous mode (TEAMS_ANONYMOUS=true)', () => {
  let bot: TeamsBot;
  const log = logSink();
  const warnings = () => log.lines().filter((l) => l.level === 40 && String(l.msg).includes('TEAMS_ANONYMOUS=true'));

  beforeAll(async () => {
    bot = await startTeamsBot({
      env: { TEAMS_ANONYMOUS: 'true', MICROSOFT_APP_ID: '', MICROSOFT_APP_PASSWORD: '', MICROSOFT_APP_TENANT_ID: '', MICROSOFT_APP_TYPE: '', MICROSOFT_AUTHORITY: '' },
      noInstall: true,
      logger: pino({ level: 'warn' }, log.stream),
    });
    bot.teams.acceptAnonymous = true;
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('says loudly at start that no token is checked', () => {
    expect(warnings().map((l) => l.msg)).toEqual([expect.stringContaining('takes requests WITHOUT checking any token')]);
  });

  it('takes requests without a token and answers without one, for trying the bot locally, warning each time', async () => {
    const { status, reply, call } = await bot.command(teamsPeople.dave, 'roles');
    expect(status).toBe(200);
    expect(reply).toContain('sandbox-admin');
    expect(call?.token).toBeUndefined();
    expect(warnings().filter((l) => String(l.msg).includes('took a Teams request without checking any token'))).toHaveLength(1);
  });

  it('refuses a request that shows a token: there is none it could check', async () => {
    const activity = {
      type: 'message',
      id: 'anonymous-with-token',
      channelId: 'msteams',
      serviceUrl: bot.teams.serviceUrl,
      from: { id: teamsPeople.dave.id, aadObjectId: teamsPeople.dave.aadObjectId },
      recipient: { id: 'prod-access' },
      conversation: { id: bot.teams.personalChatOf(teamsPeople.dave.id), conversationType: 'personal', tenantId: bot.teams.tenantId },
      text: 'roles',
    };
    expect((await bot.post(activity, { tokenOptions: {} })).status).toBe(401);
  });
});
