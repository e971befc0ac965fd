import { email } from '../../src/domain/email';
import type { SlackCall } from '../fakes/fake-slack';
import { postSigned, slashCommandBody } from '../fakes/slack-signing';
import { people, SIGNING_SECRET, startSlackBot, type SlackBot } from '../support/slack-bot';

jest.setTimeout(60_000);

type Block = { type: string; text?: { text: string }; elements?: { action_id?: string; value?: string; text?: unknown }[]; fields?: { text: string }[] };

const blocksOf = (call: SlackCall): Block[] => (call.args.blocks as Block[] | undefined) ?? [];
const buttonsOf = (call: SlackCall): string[] => blocksOf(call).flatMap((b) => (b.type === 'actions' ? (b.elements ?? []).map((e) => e.action_id ?? '') : []));
const textOf = (call: SlackCall): string => JSON.stringify(call.args.blocks ?? call.args.text ?? '');
/** Every Block Kit `mrkdwn` text object anywhere in what the bot sent. */
const mrkdwnObjects = (value: unknown): { verbatim?: unknown }[] => {
  if (Array.isArray(value)) return value.flatMap(mrkdwnObjects);
  if (value === null || typeof value !== 'object') return [];
  const object = value as Record<string, unknown>;
  return [...(object.type === 'mrkdwn' ? [object] : []), ...Object.values(object).flatMap(mrkdwnObjects)];
};
const requestIdIn = (reply: string): string => /\b([0-9A-Z]{8})\b/.exec(reply)?.[1] ?? '';

describe('Slack in HTTP mode', () => {
  let bot: SlackBot;

  beforeAll(async () => {
    bot = await startSlackBot();
  });
  afterAll(async () => {
    await bot?.stop();
  });

  /** dave asks for sandbox-admin (2 approvals from leads) in one line; returns the request id. */
  async function daveAsks(reason = 'rotate the sandbox signing keys'): Promise<string> {
    const { status, reply } = await bot.command(people.dave.id, `sandbox-admin 2h OPS-1 ${reason}`);
    expect(status).toBe(200);
    const id = requestIdIn(reply);
    expect(reply).toContain(`Request ${id} for sandbox-admin (2h) is waiting for 2 approvals`);
    return id;
  }

  const cardOf = (id: string) => bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0APPROVALS' && textOf(c).includes(id));

  describe('security of the endpoint', () => {
    it('refuses a request with a bad signature (401) and runs nothing', async () => {
      const before = bot.slack.calls.length;
      const body = slashCommandBody({ text: 'sandbox-admin 1h OPS-1 rotate the sandbox keys', user_id: people.dave.id, response_url: bot.slack.responseUrl('forged') });
      const res = await postSigned(bot.eventsUrl, body, { secret: 'not-the-secret' });
      expect(res.status).toBe(401);
      expect(bot.slack.calls.slice(before).filter((c) => c.method === 'users.info')).toEqual([]);
    });

    it('refuses a replayed request whose timestamp is more than five minutes old (401)', async () => {
      const body = slashCommandBody({ text: 'help', user_id: people.dave.id, response_url: bot.slack.responseUrl('stale') });
      const res = await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET, timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
      expect(res.status).toBe(401);
    });
  });

  describe('requesting', () => {
    it('opens a request from one line and posts one card to the approvals channel', async () => {
      // When dave asks in one line
      const id = await daveAsks();

      // Then the approvals channel gets one card with the facts, the flags and both buttons
      const card = await cardOf(id);
      expect(card.token).toBe('xoxb-test-token');
      expect(buttonsOf(card)).toEqual(['approve', 'deny']);
      const text = textOf(card);
      for (const fact of ['dave@example.com', 'sandbox-admin', 'OPS-1', 'rotate the sandbox signing keys', '2h', 'First time']) expect(text).toContain(fact);
    });

    it('opens the form with only the roles this person may request', async () => {
      const key = 'form-1';
      const res = await postSigned(bot.eventsUrl, slashCommandBody({ text: '', user_id: people.dave.id, trigger_id: 'trigger-form', response_url: bot.slack.responseUrl(key) }), { secret: SIGNING_SECRET });
      expect(res.status).toBe(200);
      const opened = await bot.slack.waitFor('views.open', (c) => c.args.trigger_id === 'trigger-form');
      const view = opened.args.view as { callback_id: string; blocks: { block_id?: string; element?: { options?: { value: string }[] } }[] };
      expect(view.callback_id).toBe('request_form');
      expect(view.blocks.find((b) => b.block_id === 'role')?.element?.options?.map((o) => o.value)).toEqual(['sandbox-admin', 'prod-readonly']);
    });

    it('shows what is wrong on the form, field by field, and opens the request when it is right', async () => {
      // When the form is submitted with a ticket that does not match
      const bad = await bot.submit(people.dave.id, 'request_form', { role: { selected: 'prod-readonly' }, duration: '1h', ticket: 'nope', reason: 'look at the payout queue', break_glass: { checked: [] } }, JSON.stringify({ channelId: 'C0GENERAL' }));
      expect(bad.status).toBe(200);
      expect(bad.body).toMatchObject({ response_action: 'errors', errors: { ticket: expect.stringContaining('OPS|INC') } });

      // And with a duration past the maximum
      const long = await bot.submit(people.dave.id, 'request_form', { role: { selected: 'prod-readonly' }, duration: '9h', ticket: 'OPS-2', reason: 'look at the payout queue' }, JSON.stringify({ channelId: 'C0GENERAL' }));
      expect(long.body).toMatchObject({ response_action: 'errors', errors: { duration: expect.stringContaining('8h') } });

      // Then a right one closes the form and tells dave in the channel
      const good = await bot.submit(people.dave.id, 'request_form', { role: { selected: 'prod-readonly' }, duration: '1h', ticket: 'OPS-2', reason: 'look at the payout queue' }, JSON.stringify({ channelId: 'C0GENERAL' }));
      expect(good.status).toBe(200);
      expect(good.body).toEqual({});
      const told = await bot.slack.waitFor('chat.postEphemeral', (c) => c.args.user === people.dave.id && textOf(c).includes('prod-readonly'));
      expect(told.args.channel).toBe('C0GENERAL');
    });

    it('answers bad input with what to type, without echoing mentions', async () => {
      const { reply } = await bot.command(people.dave.id, 'sandbox-admin 2h');
      expect(reply).toContain('A request needs a role, a duration, a ticket and a reason');
      const { reply: unknown } = await bot.command(people.dave.id, 'revoke <!channel>');
      expect(unknown).not.toContain('<!channel>');
    });

    it('runs a redelivered command once (same trigger, x-slack-retry-num set)', async () => {
      const body = slashCommandBody({ text: 'prod-readonly 1h OPS-77 look at the redelivered queue', user_id: people.dave.id, trigger_id: 'trigger-redelivered', response_url: bot.slack.responseUrl('redelivered') });
      expect((await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET })).status).toBe(200);
      expect((await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET, retryNum: 1 })).status).toBe(200);
      await bot.slack.waitFor('response', (c) => c.args.key === 'redelivered');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(bot.slack.responses.filter((r) => r.key === 'redelivered')).toHaveLength(1);
      const mine = await bot.service.app.ctx.store.listRequests({ requester: email('dave@example.com'), limit: 500 });
      expect(mine.filter((r) => r.ticket === 'OPS-77')).toHaveLength(1);
    });

    it('refuses a person with no verified e-mail on their profile', async () => {
      const { reply } = await bot.command('U0NOMAIL', 'sandbox-admin 2h OPS-1 rotate the sandbox signing keys');
      expect(reply).toContain('verified e-mail');
    });
  });

  describe('approving', () => {
    it('grants after two distinct approvals, updating the one card in place and telling dave and security', async () => {
      // Given dave's request and its card
      const id = await daveAsks();
      await cardOf(id);

      // When alice approves: the card says 1 of 2 and keeps its buttons
      expect((await bot.click(people.alice.id, 'approve', id)).status).toBe(200);
      const first = await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('1 of 2 approvals: alice@example.com'));
      expect(first.args.channel).toBe('C0APPROVALS');
      expect(buttonsOf(first)).toEqual(['approve', 'deny']);

      // When bob approves: granted, buttons gone
      await bot.click(people.bob.id, 'approve', id);
      const granted = await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('Granted (2 of 2 approvals: alice@example.com, bob@example.com) until'));
      expect(buttonsOf(granted)).toEqual([]);

      // Then dave gets a DM with the expiry in his own time zone, and security one line
      const dm = await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes('was granted sandbox-admin'));
      expect(textOf(dm)).toContain('<!date^');
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0SECURITY' && textOf(c).includes(`dave@example.com was granted sandbox-admin until`));
    });

    it('refuses self-approval and a non-approver, each with an ephemeral reason, and records nothing', async () => {
      const id = await daveAsks();
      const self = await bot.click(people.dave.id, 'approve', id);
      const selfReply = await bot.slack.waitFor('response', (c) => c.args.key === self.key);
      expect(selfReply.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(String(selfReply.args.text)).toContain('cannot approve your own request');

      const stranger = await bot.click(people.mallory.id, 'approve', id);
      const strangerReply = await bot.slack.waitFor('response', (c) => c.args.key === stranger.key);
      expect(String(strangerReply.args.text)).toMatch(/not (one of|an) approver/i);

      const { reply } = await bot.command(people.dave.id, `status ${id}`);
      expect(reply).toContain('(0 of 2 approvals)');
    });

    it('counts a double click once', async () => {
      const id = await daveAsks();
      await Promise.all([bot.click(people.alice.id, 'approve', id), bot.click(people.alice.id, 'approve', id)]);
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('1 of 2 approvals: alice@example.com'));
      const { reply } = await bot.command(people.dave.id, `status ${id}`);
      expect(reply).toContain('(1 of 2 approvals)');
    });

    it('asks for a reason when denying, and tells dave why', async () => {
      // When carol clicks Deny, a modal asks for the reason
      const id = await daveAsks();
      await bot.click(people.carol.id, 'deny', id);
      const modal = await bot.slack.waitFor('views.open', (c) => JSON.stringify(c.args.view).includes(id));
      const view = modal.args.view as { callback_id: string; private_metadata: string };
      expect(view.callback_id).toBe('deny_form');

      // And a too-short reason is refused on the form
      expect((await bot.submit(people.carol.id, 'deny_form', { reason: 'no' }, view.private_metadata)).body).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringContaining('reason') } });

      // Then a real reason denies it: the card is settled and dave is told why
      expect((await bot.submit(people.carol.id, 'deny_form', { reason: 'use the staging keys instead' }, view.private_metadata)).body).toEqual({});
      const settled = await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('Denied by carol@example.com: use the staging keys instead'));
      expect(buttonsOf(settled)).toEqual([]);
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes('use the staging keys instead'));
    });
  });

  describe('break-glass, extension and early revoke', () => {
    it('grants break-glass at once, flags it to security, and takes the review on the card', async () => {
      const { reply } = await bot.command(people.dave.id, 'break-glass sandbox-admin 30m INC-9 sandbox is down for everyone');
      const id = requestIdIn(reply);
      expect(reply).toContain('Break-glass access to sandbox-admin granted until');
      const card = await cardOf(id);
      expect(textOf(card)).toContain('Break-glass');
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0SECURITY' && textOf(c).includes(':rotating_light:') && textOf(c).includes(id));
      const reviewable = await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && buttonsOf(c).includes('review'));
      expect(buttonsOf(reviewable)).toEqual(['review']);
      await bot.click(people.alice.id, 'review', id);
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('1 of 2 reviews: alice@example.com'));
    });

    it('extends live access after approval, and gives it back early', async () => {
      // Given live access
      const id = await daveAsks();
      await bot.click(people.alice.id, 'approve', id);
      await bot.click(people.bob.id, 'approve', id);
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('Granted'));

      // When dave asks for an hour more and it is approved
      const { reply } = await bot.command(people.dave.id, `extend ${id} 1h the key rotation needs longer`);
      const extension = requestIdIn(reply.replace(id, ''));
      expect(reply).toContain(`Extension ${extension} (1h more on ${id})`);
      await cardOf(extension);
      await bot.click(people.alice.id, 'approve', extension);
      // NB: clicks are acked at once and decided after (each with a fresh look-up of the clicker), so
      // the second click waits for the first to show, or the card could list them in either order.
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(`*Request*\\n${extension}`) && textOf(c).includes('1 of 2 approvals: alice@example.com'));
      await bot.click(people.carol.id, 'approve', extension);
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes('extended by 1h'));
      const extensionCard = await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(`*Request*\\n${extension}`) && textOf(c).includes(`Extension approved (2 of 2 approvals: alice@example.com, carol@example.com); added to ${id}`));
      expect(buttonsOf(extensionCard)).toEqual([]);

      // When he revokes early
      const revoked = await bot.command(people.dave.id, `revoke ${id}`);
      expect(revoked.reply).toContain(`Access of request ${id} (sandbox-admin) is revoked.`);
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('Revoked by dave@example.com'));
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0SECURITY' && textOf(c).includes(`sandbox-admin revoked from dave@example.com (request ${id}, revoked early)`));
    });
  });

  describe('telling people', () => {
    it('sends the expiring-soon notice once, with Extend and Give back buttons', async () => {
      // Given 1h of prod-readonly granted to dave
      const { reply } = await bot.command(people.dave.id, 'prod-readonly 1h OPS-3 check the payout queue depth');
      const id = requestIdIn(reply);
      await bot.click(people.alice.id, 'approve', id);
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes(`request ${id}`));

      // When the clock reaches 51 minutes in and the engine sweeps
      bot.clock.advance(51);
      const notice = await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes('expires at') && textOf(c).includes(id));

      // Then it offers Extend and Give back, and comes once
      expect(buttonsOf(notice)).toEqual(['extend', 'revoke']);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(bot.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === people.dave.id && textOf(c).includes('expires at') && textOf(c).includes(id))).toHaveLength(1);
    });

    it('shows the App Home: live grants, pending requests and what waits for my approval', async () => {
      const id = await daveAsks();
      const res = await postSigned(
        bot.eventsUrl,
        JSON.stringify({ type: 'event_callback', team_id: 'T0FAKE', api_app_id: 'A0PRODACCESS', event_id: 'Ev1', event_time: 1, event: { type: 'app_home_opened', user: people.alice.id, channel: 'D0ALICE', tab: 'home' } }),
        { secret: SIGNING_SECRET, json: true },
      );
      expect(res.status).toBe(200);
      const home = await bot.slack.waitFor('views.publish', (c) => c.args.user_id === people.alice.id && JSON.stringify(c.args.view).includes(id));
      const text = JSON.stringify(home.args.view);
      expect(text).toContain('Waiting for your approval');

      // And it is refreshed when she approves from it: the request leaves her list
      const before = bot.slack.callsTo('views.publish').length;
      await bot.click(people.alice.id, 'approve', id, { fromHome: true });
      await bot.slack.waitFor('views.publish', (c) => c.args.user_id === people.alice.id && bot.slack.callsTo('views.publish').indexOf(c) >= before && !JSON.stringify(c.args.view).includes(id));
      // And she is told what her click did, in the words the CLI uses: one approval of two, not "approved"
      await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.alice.id && textOf(c).includes(`${id}: approval 1 of 2 recorded; it needs 1 more.`));
      // And dave, who never opened his Home, gets it kept current too (found by e-mail)
      await bot.slack.waitFor('views.publish', (c) => c.args.user_id === people.dave.id && JSON.stringify(c.args.view).includes(id));
    });
  });

  it('renders mentions, links and formatting in a reason harmless on the card, the DM and the security line', async () => {
    // Given a reason full of mentions, links and formatting, and the request granted
    const id = await daveAsks('<!channel> <@U0ALICE> <https://evil.example|click> *urgent* _x_ :_x_: https://host/*x* ~gone~');
    await bot.click(people.alice.id, 'approve', id);
    await bot.click(people.bob.id, 'approve', id);
    await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === people.dave.id && textOf(c).includes(id));
    await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0SECURITY' && textOf(c).includes(id));
    const card = await cardOf(id);
    expect(textOf(card)).toContain('&lt;!channel&gt; &lt;@U0ALICE&gt; &lt;<https://evil.example>|click&gt; \u2217urgent\u2217 \u02cdx\u02cd :\u02cdx\u02cd: <https://host/*x*> \u223cgone\u223c');

    // Then no message the bot sent anywhere, in blocks or fallback text, carries them live: the
    // only <…> are its own dates and links to exactly the URL shown, never a mention or a label
    const sent = [...bot.slack.calls.map((c) => [c.args.text, c.args.blocks, c.args.view]), ...bot.slack.responses];
    const json = JSON.stringify(sent);
    const tokens = json.match(/<[^<>]*>/g) ?? [];
    expect(tokens.filter((t) => !/^<!date\^\d+\^\{date_short_pretty\} \{time\}\|[\d :-]+UTC>$/.test(t) && !/^<https?:\/\/[^|\s]+>$/.test(t))).toEqual([]);
    expect(json).not.toMatch(/\*urgent\*|_x_|~gone~/);
    // And Slack links nothing else by itself: every mrkdwn text object is verbatim
    expect(mrkdwnObjects(sent).filter((o) => o.verbatim !== true)).toEqual([]);
  });

  it('shows its own words with real formatting: commands in code, not look-alike backticks', async () => {
    const { reply: help } = await bot.command(people.dave.id, 'help');
    expect(help).toContain('`/prod-access revoke &lt;id&gt;` give access back early');
    const { reply: refused } = await bot.command(people.dave.id, 'no_such_role 1h OPS-1 look at the *queue* please');
    expect(refused).toContain('There is no role "no\u02cdsuch\u02cdrole". Type `/prod-access roles` to see the roles you may request.');
    expect(`${help}${refused}`).not.toContain('\u02cb');
  });

  describe('when Slack fails', () => {
    it('retries a rate-limited call after Retry-After, and the card arrives', async () => {
      bot.slack.failNext('chat.postMessage', { status: 429, error: 'ratelimited', retryAfter: 1, when: (args) => args.channel === 'C0APPROVALS' });
      const id = await daveAsks();
      const cardCalls = () => bot.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0APPROVALS' && textOf(c).includes(id));
      await bot.slack.waitFor('chat.postMessage', () => cardCalls().length === 2);
      expect(cardCalls()).toHaveLength(2);
    });

    it('keeps the notice through an outage and delivers it once Slack is back, in order', async () => {
      // Given Slack answers 503 to every try the client makes for the card
      for (let i = 0; i < 4; i++) bot.slack.failNext('chat.postMessage', { status: 503, when: (args) => args.channel === 'C0APPROVALS' });
      const id = await daveAsks();
      // NB: waits for the client's own retries (four tries in all, with backoff) however slow the machine is.
      const tries = () => bot.slack.callsTo('chat.postMessage').filter((c) => textOf(c).includes(id)).length;
      await bot.slack.waitFor('chat.postMessage', () => tries() >= 4);
      expect(tries()).toBe(4);

      // When alice approves meanwhile, and time passes (the dispatcher backs off on the test's clock)
      await bot.click(people.alice.id, 'approve', id, { fromHome: true });
      const updated = () => bot.slack.callsTo('chat.update').some((c) => textOf(c).includes(id));
      for (let i = 0; i < 50 && !updated(); i++) {
        bot.clock.advance(1);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }

      // Then the card is posted once Slack is back, then updated with her approval: nothing was lost
      expect(bot.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0APPROVALS' && textOf(c).includes(id))).toHaveLength(5);
      await bot.slack.waitFor('chat.update', (c) => textOf(c).includes(id) && textOf(c).includes('1 of 2 approvals: alice@example.com'), 15_000);
    });
  });
});
