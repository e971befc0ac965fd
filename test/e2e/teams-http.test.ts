import { email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';
import { cardIn, verbsOf, type TeamsCall, type TokenOptions } from '../fakes/fake-teams';
import { APPROVALS, cardText, SECURITY, startTeamsBot, TEAM_ID, teamsPeople, type TeamsBot } from '../support/teams-bot';

jest.setTimeout(180_000);

const requestIdIn = (reply: string): string => /\b([0-9A-Z]{8})\b/.exec(reply)?.[1] ?? '';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const valueText = (body: { value?: unknown }): string => (typeof body.value === 'string' ? body.value : cardTextOf(body.value));
const cardTextOf = (card: unknown): string => cardText({ kind: 'send', method: 'POST', status: 200, body: { attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] } });

describe('Teams over HTTP', () => {
  let bot: TeamsBot;

  beforeAll(async () => {
    bot = await startTeamsBot();
  });
  afterAll(async () => {
    await bot?.stop();
  });

  /** dave asks for sandbox-admin (2 approvals from leads) in his 1:1 chat; returns the request id. */
  async function daveAsks(reason = 'rotate the sandbox signing keys'): Promise<string> {
    const { status, reply } = await bot.command(teamsPeople.dave, `sandbox-admin 2h OPS-1 ${reason}`);
    expect(status).toBe(200);
    const id = requestIdIn(reply);
    expect(reply).toContain(`Request ${id} for sandbox-admin (2h) is waiting for 2 approvals`);
    return id;
  }

  // NB: the approvals channel gets every card and every update of this file's requests, and the bot
  // keeps to Teams' 60 per 30 s per conversation: a card may wait its turn (waitFor allows for it).
  const cardOf = (id: string) => bot.teams.waitFor('send', (c) => c.conversationId === APPROVALS && cardText(c).includes(`Request: ${id}`));
  const updated = (id: string, text: string) => bot.teams.waitFor('update', (c) => c.conversationId === APPROVALS && cardText(c).includes(`Request: ${id}`) && cardText(c).includes(text));
  const toDave = (text: string) => bot.teams.waitFor('send', (c) => c.conversationId === bot.teams.personalChatOf(teamsPeople.dave.id) && cardText(c).includes(text));
  const statusOf = async (id: string) => (await bot.command(teamsPeople.dave, `status ${id}`)).reply;

  describe('security of the endpoint', () => {
    const daveMessage = (text: string) => ({
      type: 'message',
      id: `forged-${Math.random()}`,
      channelId: 'msteams',
      serviceUrl: bot.teams.serviceUrl,
      from: { id: teamsPeople.dave.id, aadObjectId: teamsPeople.dave.aadObjectId },
      recipient: { id: `28:${bot.teams.appId}` },
      conversation: { id: bot.teams.personalChatOf(teamsPeople.dave.id), conversationType: 'personal', tenantId: bot.teams.tenantId },
      channelData: { tenant: { id: bot.teams.tenantId } },
      text,
    });

    it.each<[string, { token?: string | null; tokenOptions?: TokenOptions } | (() => { token: string })]>([
      ['no token at all', { token: null }],
      ['a token signed by another key under the same key id', { tokenOptions: { forged: true } }],
      ['an expired token (past the five minutes of tolerance)', { tokenOptions: { expiresIn: -10 * 60 } }],
      ['a token not valid yet', { tokenOptions: { notBeforeIn: 60 * 60 } }],
      ['a token for another app (audience)', { tokenOptions: { aud: '99999999-2222-4333-8444-555555555555' } }],
      ['a token from another issuer, signed with a key the bot trusts', () => ({ token: bot.teams.token({ iss: `https://evil.example/${bot.teams.tenantId}/v2.0` }) })],
      ['a token without a serviceurl claim', { tokenOptions: { serviceUrl: null } }],
      ['a token naming another Bot Connector on the same host', () => ({ token: bot.teams.token({ serviceUrl: `${bot.teams.serviceUrl}elsewhere/` }) })],
      ['a token naming another Bot Connector host', { tokenOptions: { serviceUrl: 'https://smba.evil.example/teams/' } }],
      ['an unsigned token (alg none)', { tokenOptions: { alg: 'none' } }],
      ['a token signed with a shared secret (HS256)', { tokenOptions: { alg: 'HS256' } }],
      ['a malformed Authorization header', { token: 'not a bearer token' }],
    ])('refuses %s, and nothing happens', async (_, how) => {
      // Given the state of the world before
      const head = await bot.service.app.ctx.store.auditHead();
      const callsBefore = bot.teams.calls.length;
      const opts = typeof how === 'function' ? how() : how;

      // When a request arrives with it
      const res = await bot.post(daveMessage('sandbox-admin 1h OPS-1 forged request for access'), opts);

      // Then it is refused with 401 (the SDK's own check answers 401 before the activity is read)
      expect(res.status).toBe(401);
      await sleep(300);
      // And no look-up, no message, no audit event, no request
      expect(bot.teams.calls.slice(callsBefore).filter((c) => c.kind !== 'token')).toEqual([]);
      expect(await bot.service.app.ctx.store.auditHead()).toEqual(head);
      const mine = await bot.service.app.ctx.store.listRequests({ requester: email(teamsPeople.dave.email), limit: 1_000 });
      expect(mine.filter((r) => r.reason === 'forged request for access')).toEqual([]);
    });

    it('refuses a body over the server’s limit (413) before checking anything', async () => {
      const res = await fetch(bot.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bot.teams.token()}` }, body: JSON.stringify({ type: 'message', text: 'x'.repeat(600 * 1024) }) });
      expect(res.status).toBe(413);
    });

    it('answers only POST, and refuses a body that is not an activity', async () => {
      expect((await fetch(bot.url)).status).toBe(405);
      // NB: the token first: an unsigned body that is not even JSON is a 401, not a 400.
      expect((await fetch(bot.url, { method: 'POST', body: 'not json' })).status).toBe(401);
      expect((await fetch(bot.url, { method: 'POST', headers: { authorization: `Bearer ${bot.teams.token()}` }, body: 'not json' })).status).toBe(400);
      expect((await bot.post({ type: 'message', serviceUrl: bot.teams.serviceUrl })).status).toBe(400);
    });
  });

  describe('requesting', () => {
    it('opens a request from one line in the 1:1 chat and posts one card to the approvals channel', async () => {
      // When dave asks in one line
      const id = await daveAsks();

      // Then the approvals channel gets one card with the facts, the flags and Approve / Deny
      const card = await cardOf(id);
      expect(cardText(card)).toContain('dave@example.com asks for sandbox-admin for 2h');
      expect(cardText(card)).toContain('Reason: rotate the sandbox signing keys');
      expect(cardText(card)).toContain('Waiting: 0 of 2 approvals. Decide by');
      expect(verbsOf(cardIn(card.body))).toEqual(['approve', 'deny']);
      await sleep(300);
      expect(bot.teams.callsOf('send').filter((c) => c.conversationId === APPROVALS && cardText(c).includes(`Request: ${id}`))).toHaveLength(1);
    });

    it('takes a command in a channel with the bot mentioned, and answers in the 1:1 chat, not the channel', async () => {
      const before = bot.teams.calls.length;
      const { reply } = await bot.command(teamsPeople.dave, 'sandbox-admin 1h OPS-2 channel request for access', { in: TEAM_ID });
      const id = requestIdIn(reply);
      expect(reply).toContain(`Request ${id} for sandbox-admin (1h) is waiting for 2 approvals`);
      expect(bot.teams.calls.slice(before).filter((c) => c.kind === 'send' && c.conversationId?.startsWith(TEAM_ID))).toEqual([]);
      expect(bot.teams.calls.slice(before).some((c) => c.kind === 'createConversation' && c.userId === teamsPeople.dave.id)).toBe(true);
    });

    it('answers help, roles and list in the same words as Slack', async () => {
      expect((await bot.command(teamsPeople.dave, 'help')).reply).toContain('/prod-access revoke <id> give access back early');
      expect((await bot.command(teamsPeople.dave, 'roles')).reply).toContain('sandbox-admin: Admin on the sandbox environment');
      expect((await bot.command(teamsPeople.dave, '/prod-access no_such_role 1h OPS-1 look at the queue please')).reply).toContain('There is no role "no_such_role". Type /prod-access roles to see the roles you may request.');
    });

    it('opens the form for an empty message, shows refusals on it with what was typed, and opens one request when it is accepted', async () => {
      // When dave sends an empty message, he gets the form with the roles he may request
      const { reply, call } = await bot.command(teamsPeople.dave, '');
      expect(reply).toContain('Request access');
      const form = cardIn(call?.body);
      expect(verbsOf(form)).toEqual(['request']);
      expect(JSON.stringify(form)).toContain('"value":"sandbox-admin"');
      const onForm = { personal: { replyToId: call?.activityId ?? '' } };

      // And a bad ticket is refused on the form, beside the ticket, with his text kept
      const values = { role: 'sandbox-admin', duration: '1h', ticket: 'nope', reason: 'form request for the sandbox', breakGlass: 'false' };
      const refused = await bot.click(teamsPeople.dave, 'request', values, onForm);
      expect(refused.status).toBe(200);
      expect(refused.body.type).toBe('application/vnd.microsoft.card.adaptive');
      expect(valueText(refused.body)).toMatch(/ticket/i);
      expect(JSON.stringify(refused.body.value)).toContain('"value":"form request for the sandbox"');

      // Then the corrected form opens one request, and the form says so
      const accepted = await bot.click(teamsPeople.dave, 'request', { ...values, ticket: 'OPS-41' }, onForm);
      const id = requestIdIn(valueText(accepted.body));
      expect(valueText(accepted.body)).toContain(`Request ${id} for sandbox-admin (1h) is waiting for 2 approvals`);
      await cardOf(id);

      // And the same form sent again opens nothing
      const again = await bot.click(teamsPeople.dave, 'request', { ...values, ticket: 'OPS-41' }, onForm);
      expect(valueText(again.body)).toContain('This form was sent already');
      const mine = await bot.service.app.ctx.store.listRequests({ requester: email(teamsPeople.dave.email), limit: 1_000 });
      expect(mine.filter((r) => r.ticket === 'OPS-41')).toHaveLength(1);
    });

    it('refuses a person whose Microsoft 365 account shows no e-mail', async () => {
      bot.teams.addUser({ id: '29:nomail', aadObjectId: 'f0000000-0000-4000-8000-0000000000f1' });
      const { reply } = await bot.command({ id: '29:nomail', aadObjectId: 'f0000000-0000-4000-8000-0000000000f1' }, 'sandbox-admin 2h OPS-1 rotate the sandbox signing keys');
      expect(reply).toContain('cannot see an e-mail address');
    });
  });

  describe('approving', () => {
    it('grants after two distinct approvals, updating the one card in place and telling dave and security', async () => {
      // Given dave's request and its card
      const id = await daveAsks();
      await cardOf(id);

      // When alice approves: she sees the counted approval at once, and everyone gets it in place, buttons kept
      const first = await bot.click(teamsPeople.alice, 'approve', { requestId: id });
      expect(first.body.type).toBe('application/vnd.microsoft.card.adaptive');
      expect(valueText(first.body)).toContain('1 of 2 approvals: alice@example.com');
      const once = await updated(id, '1 of 2 approvals: alice@example.com');
      expect(once.activityId).toBe((await cardOf(id)).activityId);
      expect(verbsOf(cardIn(once.body))).toEqual(['approve', 'deny']);

      // When bob approves: granted, actions gone
      await bot.click(teamsPeople.bob, 'approve', { requestId: id });
      const granted = await updated(id, 'Granted (2 of 2 approvals: alice@example.com, bob@example.com) until');
      expect(verbsOf(cardIn(granted.body))).toEqual([]);

      // Then dave is told in his 1:1 chat, with the expiry in his own time zone, and security gets one line
      const dm = await toDave(`was granted sandbox-admin until`);
      expect(cardText(dm)).toContain('Local time: {{DATE(');
      await bot.teams.waitFor('send', (c) => c.conversationId === SECURITY && cardText(c).includes(`dave@example.com was granted sandbox-admin until`) && cardText(c).includes(id));
    });

    it('refuses self-approval and a non-approver, each told why, and records nothing', async () => {
      const id = await daveAsks();
      await cardOf(id);
      const self = await bot.click(teamsPeople.dave, 'approve', { requestId: id });
      expect(self.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
      expect(valueText(self.body)).toContain('cannot approve your own request');
      const stranger = await bot.click(teamsPeople.mallory, 'approve', { requestId: id });
      expect(valueText(stranger.body)).toMatch(/not (one of|an) approver/i);
      expect(await statusOf(id)).toContain('(0 of 2 approvals)');
    });

    it('counts a double click once, and a redelivered click does nothing', async () => {
      const id = await daveAsks();
      await cardOf(id);
      await Promise.all([bot.click(teamsPeople.alice, 'approve', { requestId: id }), bot.click(teamsPeople.alice, 'approve', { requestId: id })]);
      await updated(id, '1 of 2 approvals: alice@example.com');
      expect(await statusOf(id)).toContain('(1 of 2 approvals)');

      const first = await bot.click(teamsPeople.carol, 'approve', { requestId: id }, { id: 'invoke-redelivered' });
      expect(valueText(first.body)).toContain('Granted');
      const again = await bot.click(teamsPeople.carol, 'approve', { requestId: id }, { id: 'invoke-redelivered' });
      expect(valueText(again.body)).toContain('already handled');
    });

    it('asks for a reason when denying, shows a refused one on the card, and tells dave why', async () => {
      const id = await daveAsks();
      const card = await cardOf(id);
      // The Deny action opens a reason input before it sends
      expect(JSON.stringify(cardIn(card.body))).toMatch(/"type":"Action.ShowCard","title":"Deny…".*"id":"reason"/);

      // When carol denies with too short a reason, the card shows why, to her
      const short = await bot.click(teamsPeople.carol, 'deny', { requestId: id, reason: 'no' });
      expect(short.body.type).toBe('application/vnd.microsoft.card.adaptive');
      expect(valueText(short.body)).toMatch(/reason for the denial/);
      expect(verbsOf(short.body.value)).toEqual(['approve', 'deny']);

      // Then a real reason denies it: the card is settled, and dave is told why
      const denied = await bot.click(teamsPeople.carol, 'deny', { requestId: id, reason: 'use the staging keys instead' });
      expect(valueText(denied.body)).toContain('Denied by carol@example.com: use the staging keys instead');
      const settled = await updated(id, 'Denied by carol@example.com: use the staging keys instead');
      expect(verbsOf(cardIn(settled.body))).toEqual([]);
      await toDave('use the staging keys instead');
    });
  });

  describe('break-glass, extension and early revoke', () => {
    it('grants break-glass at once, flags it to security, and takes the review on the card', async () => {
      const { reply } = await bot.command(teamsPeople.dave, 'break-glass sandbox-admin 30m INC-9 sandbox is down for everyone');
      const id = requestIdIn(reply);
      expect(reply).toContain('Break-glass access to sandbox-admin granted until');
      const card = await cardOf(id);
      expect(cardText(card)).toContain('Break-glass');
      await bot.teams.waitFor('send', (c) => c.conversationId === SECURITY && cardText(c).includes('\u{1F6A8}') && cardText(c).includes(id));
      const reviewable = await bot.teams.waitFor('update', (c) => cardText(c).includes(`Request: ${id}`) && verbsOf(cardIn(c.body)).includes('review'));
      expect(verbsOf(cardIn(reviewable.body))).toEqual(['review']);
      await bot.click(teamsPeople.alice, 'review', { requestId: id });
      await updated(id, '1 of 2 reviews: alice@example.com');
    });

    it('extends live access after approval, and gives it back early', async () => {
      // Given live access
      const id = await daveAsks();
      await cardOf(id);
      await bot.click(teamsPeople.alice, 'approve', { requestId: id });
      await bot.click(teamsPeople.bob, 'approve', { requestId: id });
      await updated(id, 'Granted');

      // When dave asks for an hour more and it is approved
      const { reply } = await bot.command(teamsPeople.dave, `extend ${id} 1h the key rotation needs longer`);
      const extension = requestIdIn(reply.replace(id, ''));
      expect(reply).toContain(`Extension ${extension} (1h more on ${id})`);
      await cardOf(extension);
      await bot.click(teamsPeople.alice, 'approve', { requestId: extension });
      await updated(extension, '1 of 2 approvals: alice@example.com');
      await bot.click(teamsPeople.carol, 'approve', { requestId: extension });
      await toDave('extended by 1h');
      const extensionCard = await updated(extension, `Extension approved (2 of 2 approvals: alice@example.com, carol@example.com); added to ${id}`);
      expect(verbsOf(cardIn(extensionCard.body))).toEqual([]);

      // When he revokes early
      const revoked = await bot.command(teamsPeople.dave, `revoke ${id}`);
      expect(revoked.reply).toContain(`Access of request ${id} (sandbox-admin) is revoked.`);
      await updated(id, 'Revoked by dave@example.com');
      await bot.teams.waitFor('send', (c) => c.conversationId === SECURITY && cardText(c).includes(`sandbox-admin revoked from dave@example.com (request ${id}, revoked early)`));
    });
  });

  describe('telling people', () => {
    it('sends the expiring-soon notice once, with Extend and Give back, which work from the 1:1 chat', async () => {
      // Given 1h of prod-readonly granted to dave
      const { reply } = await bot.command(teamsPeople.dave, 'prod-readonly 1h OPS-3 check the payout queue depth');
      const id = requestIdIn(reply);
      await cardOf(id);
      await bot.click(teamsPeople.alice, 'approve', { requestId: id });
      await toDave(`request ${id}`);

      // When the clock reaches 51 minutes in and the engine sweeps
      bot.clock.advance(51);
      const notice = await bot.teams.waitFor('send', (c) => c.conversationId === bot.teams.personalChatOf(teamsPeople.dave.id) && cardText(c).includes('expires at') && cardText(c).includes(id));

      // Then it offers Extend and Give back, and comes once
      expect(verbsOf(cardIn(notice.body))).toEqual(['extend', 'revoke']);
      await sleep(2_500);
      expect(bot.teams.callsOf('send').filter((c) => c.conversationId === bot.teams.personalChatOf(teamsPeople.dave.id) && cardText(c).includes('expires at') && cardText(c).includes(id))).toHaveLength(1);

      // When dave asks for more from the notice, it is asked like a request
      const onNotice = { personal: { replyToId: notice.activityId ?? '' } };
      const extend = await bot.click(teamsPeople.dave, 'extend', { requestId: id, duration: '30m', reason: 'the queue is still draining' }, onNotice);
      expect(valueText(extend.body)).toMatch(new RegExp(`Extension [0-9A-Z]{8} \\(30m more on ${id}\\) is waiting for 1 approval`));

      // And Give back ends the access at once
      const giveBack = await bot.click(teamsPeople.dave, 'revoke', { requestId: id }, onNotice);
      expect(valueText(giveBack.body)).toContain(`Access of request ${id} (prod-readonly) is revoked.`);
    });

    it('records the 1:1 chat of someone who installs the bot for themselves, and writes there without opening another', async () => {
      // Given grace, who installs prod-access for herself (the bot gets her 1:1 chat)
      const grace = { id: '29:grace', aadObjectId: '6a000000-0000-4000-8000-00000000a2ce', email: 'grace@example.com' };
      bot.teams.addUser(grace);
      const chat = bot.teams.personalChatOf(grace.id);
      const installed = await bot.post({
        type: 'conversationUpdate',
        id: 'grace-installs',
        channelId: 'msteams',
        serviceUrl: bot.teams.serviceUrl,
        from: { id: grace.id, aadObjectId: grace.aadObjectId },
        recipient: { id: `28:${bot.teams.appId}` },
        conversation: { id: chat, conversationType: 'personal', tenantId: bot.teams.tenantId },
        channelData: { tenant: { id: bot.teams.tenantId } },
        membersAdded: [{ id: `28:${bot.teams.appId}` }],
      });
      expect(installed.status).toBe(200);

      // When she asks from a channel and is granted
      const before = bot.teams.calls.length;
      const { reply } = await bot.command(grace, 'prod-readonly 1h OPS-6 grace checks the queue', { in: TEAM_ID });
      const id = requestIdIn(reply);
      await cardOf(id);
      await bot.click(teamsPeople.alice, 'approve', { requestId: id });
      await bot.teams.waitFor('send', (c) => c.conversationId === chat && cardText(c).includes('was granted prod-readonly'));

      // Then the notice went to the 1:1 chat the bot recorded: it opened none for the notice
      expect(bot.teams.calls.slice(before).filter((c) => c.kind === 'createConversation' && c.userId === grace.id).length).toBeLessThanOrEqual(1);
    });

    it('skips, and logs, a requester Teams will not let the bot write to, and still tells everyone else', async () => {
      // Given frank, an engineer who blocked the bot
      const frank = { id: '29:frank', aadObjectId: 'f0000000-0000-4000-8000-00000000f4a2', email: 'frank@example.com', blocked: true };
      bot.teams.addUser(frank);
      const asked = await bot.command(frank, 'prod-readonly 1h OPS-5 frank needs the payout queue', { waitForReply: false });
      expect(asked.status).toBe(200);
      let request;
      for (let i = 0; i < 50 && !request; i++) {
        request = (await bot.service.app.ctx.store.listRequests({ requester: email(frank.email), limit: 10 }))[0];
        if (!request) await sleep(100);
      }
      expect(request).toBeDefined();
      const id = String(request?.id);
      await cardOf(id);

      // When it is granted (the grant notice cannot reach him)
      await bot.click(teamsPeople.alice, 'approve', { requestId: id });

      // Then security still hears of it, and the next request's card still comes
      await bot.teams.waitFor('send', (c) => c.conversationId === SECURITY && cardText(c).includes(`frank@example.com was granted prod-readonly`));
      await cardOf(await daveAsks());
      expect(bot.teams.calls.filter((c) => c.status === 403 && c.conversationId === bot.teams.personalChatOf(frank.id)).length).toBeGreaterThan(0);
    });
  });

  it('shows a reason full of mentions, links, markdown and card functions as plain text everywhere', async () => {
    // Given a reason full of markup, and the request granted
    const reason = '<at>Alice</at> **urgent** _x_ [click](https://evil.example) # title {{DATE(2017-02-14T06:00:00Z, SHORT)}} <b>b</b> &amp;';
    const id = await daveAsks(reason);
    await cardOf(id);
    await bot.click(teamsPeople.alice, 'approve', { requestId: id });
    await bot.click(teamsPeople.bob, 'approve', { requestId: id });
    await toDave(id);
    await bot.teams.waitFor('send', (c) => c.conversationId === SECURITY && cardText(c).includes(id));

    // Then everything the bot sent carries it only as TextRun text (never markdown), never as a mention entity or a date function
    const sent = bot.teams.calls.filter((c) => c.kind === 'send' || c.kind === 'update').map((c) => c.body);
    const places: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (v === null || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string' && o.text.includes('**urgent**')) places.push(String(o.type));
      Object.values(o).forEach(walk);
    };
    walk(sent);
    expect(places.length).toBeGreaterThan(0);
    expect(new Set(places)).toEqual(new Set(['TextRun']));
    const json = JSON.stringify(sent);
    expect(json).not.toContain('"entities"');
    expect(json).not.toContain('{{DATE(2017');
    expect(json).not.toMatch(/"textFormat"/);
  });

  describe('when Teams fails', () => {
    it('retries a card update that Teams answered with 503, and the card shows the approval', async () => {
      const id = await daveAsks();
      await cardOf(id);
      bot.teams.failNext('update', { status: 503, when: (c) => c.conversationId === APPROVALS });
      await bot.click(teamsPeople.alice, 'approve', { requestId: id });
      await updated(id, '1 of 2 approvals: alice@example.com');
      expect(bot.teams.callsOf('update').filter((c) => c.status === 503).length).toBeGreaterThan(0);
    });

    it('keeps the notice through an outage and delivers it once Teams is back, in order', async () => {
      // Given Teams answers 503 to every try the connector makes for the card
      for (let i = 0; i < 5; i++) bot.teams.failNext('send', { status: 503, when: (c) => c.conversationId === APPROVALS });
      const id = await daveAsks();
      const failures = () => bot.teams.calls.filter((c) => c.kind === 'send' && c.status === 503 && c.conversationId === APPROVALS).length;
      for (let i = 0; i < 100 && failures() < 5; i++) await sleep(200);
      expect(failures()).toBe(5);

      // When time passes (the dispatcher backs off on the test's clock)
      let posted: TeamsCall | undefined;
      for (let i = 0; i < 50 && !posted; i++) {
        bot.clock.advance(1);
        await sleep(300);
        posted = bot.teams.calls.find((c) => c.kind === 'send' && c.status < 300 && c.conversationId === APPROVALS && cardText(c).includes(`Request: ${id}`));
      }

      // Then the card is posted once Teams is back, and works: nothing was lost
      expect(posted).toBeDefined();
      await bot.click(teamsPeople.alice, 'approve', { requestId: id });
      await updated(id, '1 of 2 approvals: alice@example.com');
    });

    it('posts every card of a burst of 50 requests in a minute, through Teams answering 429', async () => {
      // Given Teams throttles the approvals channel at first (and enforces its limits throughout)
      for (let i = 0; i < 3; i++) bot.teams.failNext('send', { status: 429, retryAfter: 1, when: (c) => c.conversationId === APPROVALS });
      const before = bot.teams.calls.length;

      // When 50 requests arrive at once
      const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => bot.command(teamsPeople.dave, `sandbox-admin 1h OPS-${700 + i} burst request number ${i}`, { waitForReply: false })));
      expect(statuses.every((s) => s.status === 200)).toBe(true);
      let burst: { id: RequestId }[] = [];
      for (let i = 0; i < 100 && burst.length < 50; i++) {
        burst = (await bot.service.app.ctx.store.listRequests({ requester: email(teamsPeople.dave.email), limit: 1_000 })).filter((r) => /^OPS-7\d\d$/.test(r.ticket));
        if (burst.length < 50) await sleep(200);
      }
      expect(burst).toHaveLength(50);

      // Then each request gets exactly one card, none lost to the 429s
      const cards = () => bot.teams.calls.slice(before).filter((c) => c.kind === 'send' && c.status < 300 && c.conversationId === APPROVALS);
      for (let i = 0; i < 300 && cards().length < 50; i++) await sleep(200);
      for (const { id } of burst) expect(cards().filter((c) => cardText(c).includes(`Request: ${id}`))).toHaveLength(1);
      expect(bot.teams.calls.slice(before).filter((c) => c.status === 429).length).toBeGreaterThanOrEqual(3);
    });
  });
});
