import { blockAction } from '../fakes/slack-signing';
import { cardOf, people, startSlackBot, type SlackBot } from '../support/slack-bot';

jest.setTimeout(60_000);

describe('Slack in Socket Mode', () => {
  let bot: SlackBot;

  beforeAll(async () => {
    bot = await startSlackBot({ socketMode: true });
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('connects with the app token and needs no public URL', async () => {
    const open = await bot.slack.waitFor('apps.connections.open');
    expect(open.token).toBe('xapp-test-token');
    expect(bot.slack.socketClients).toBe(1);
    const res = await fetch(`http://127.0.0.1:${bot.service.port}/slack/events`, { method: 'POST', body: '' });
    expect(res.status).toBe(404);
  });

  it('acks a slash command envelope, replies on its response_url, and takes approvals from button envelopes', async () => {
    // When dave asks through the socket
    const ack = await bot.slack.sendEnvelope('slash_commands', {
      token: 'x',
      team_id: 'T0FAKE',
      channel_id: 'C0GENERAL',
      user_id: people.dave.id,
      command: '/prod-access',
      text: 'prod-readonly 1h OPS-5 check the replication lag',
      response_url: bot.slack.responseUrl('socket-cmd'),
      trigger_id: 'trigger-socket',
      api_app_id: 'A0PRODACCESS',
    });
    expect(ack).toEqual({});

    // Then the reply names the request, and its card goes to the approvals channel
    const reply = await bot.slack.waitFor('response', (c) => c.args.key === 'socket-cmd');
    const id = /\b([0-9A-Z]{8})\b/.exec(String(reply.args.text))?.[1] ?? '';
    expect(String(reply.args.text)).toContain(`Request ${id} for prod-readonly (1h) is waiting for 1 approval`);
    await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0APPROVALS' && JSON.stringify(c.args.blocks).includes(id));

    // When alice clicks Approve through the socket, access is granted and the card says so
    const card = await cardOf(bot.service, id);
    await bot.slack.sendEnvelope('interactive', blockAction({ userId: people.alice.id, actionId: 'approve', value: id, responseUrl: bot.slack.responseUrl('socket-click'), ...card }));
    await bot.slack.waitFor('chat.update', (c) => JSON.stringify(c.args.blocks).includes(id) && JSON.stringify(c.args.blocks).includes('Granted'));
  });

  it('publishes the App Home on a first app_home_opened delivery (retry_attempt 0)', async () => {
    await bot.slack.sendEnvelope('events_api', {
      type: 'event_callback',
      team_id: 'T0FAKE',
      api_app_id: 'A0PRODACCESS',
      event_id: 'EvHome1',
      event_time: 1,
      event: { type: 'app_home_opened', user: people.erin.id, channel: 'D0ERIN', tab: 'home' },
    });
    // NB: erin approves nothing, so no notice refreshes her Home: only the event can publish it
    const home = await bot.slack.waitFor('views.publish', (c) => c.args.user_id === people.erin.id, 5_000);
    expect(JSON.stringify(home.args.view)).toContain('Nothing waits for you.');
  });
});
