import { raiseAnomalies } from '../../src/app/raise-alert';
import type { SlackCall } from '../fakes/fake-slack';
import { blockAction, interactionBody, postSigned } from '../fakes/slack-signing';
import { people, SIGNING_SECRET, startSlackBot, type SlackBot } from '../support/slack-bot';

jest.setTimeout(60_000);

const textOf = (call: SlackCall): string => JSON.stringify(call.args.blocks ?? call.args.text ?? '');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let serial = 0;

describe('Slack: alerts in the security channel', () => {
  let bot: SlackBot;

  beforeAll(async () => {
    bot = await startSlackBot();
  });
  afterAll(async () => {
    await bot?.stop();
  });

  const store = () => bot.service.app.ctx.store;
  const replyTo = async (key: string) => String((await bot.slack.waitFor('response', (c) => c.args.key === key)).args.text ?? '');

  /** Where the bot posted alert `id` (it is posted by the notice delivery that follows every sweep). */
  async function messageOf(id: number): Promise<{ channelId: string; messageTs: string }> {
    for (let i = 0; i < 100; i++) {
      const ref = await store().alertMessage('slack', id);
      if (ref) return { channelId: ref.channel, messageTs: ref.messageId };
      await sleep(100);
    }
    throw new Error(`alert ${id} was not posted`);
  }

  /** An alert raised as the detector raises them, and the message the bot posted for it. */
  async function postedAlert(): Promise<{ id: number; on: { channelId: string; messageTs: string } }> {
    serial += 1;
    const [alert] = await raiseAnomalies(bot.service.app.ctx, [{ rule: 'requestSpike', severity: 'medium', key: `request_spike:person:x${serial}@example.com:2026-03-03T00:00:00.000Z`, message: `x${serial}@example.com opened 5 requests within 1d.` }], { via: 'scheduler' });
    if (!alert) throw new Error('raised');
    return { id: alert.id, on: await messageOf(alert.id) };
  }

  const acknowledgements = async (id: number) => {
    const head = await store().auditHead();
    return (await store().readAudit(1, head?.seq ?? 0)).filter((e) => e.action === 'alert_acknowledged' && e.data.alertId === id);
  };

  it('posts break-glass as an alert with an Acknowledge button; a security member’s click acknowledges it and the message shows who and when', async () => {
    // Given dave uses break-glass from Slack
    const { reply } = await bot.command(people.dave.id, 'break-glass sandbox-admin 30m INC-1 sandbox is down for everyone');
    const requestId = /\b([0-9A-Z]{8})\b/.exec(reply)?.[1] ?? '';

    // When the detector has run, the alert is in the security channel with the button
    const posted = await bot.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0SECURITY' && textOf(c).includes('acknowledge_alert') && textOf(c).includes('used break-glass') && textOf(c).includes(requestId));
    const alertId = Number(/"action_id":"acknowledge_alert","value":"(\d+)"/.exec(textOf(posted))?.[1]);
    expect(textOf(posted)).toContain('High: Break-glass used');
    const on = await messageOf(alertId);

    // And erin, of the security group, clicks Acknowledge on it
    await bot.click(people.erin.id, 'acknowledge_alert', String(alertId), { on });

    // Then the same message is updated: acknowledged by erin, no button any more
    const updated = await bot.slack.waitFor('chat.update', (c) => c.args.ts === on.messageTs && textOf(c).includes('Acknowledged by erin@example.com'));
    expect(updated.args.channel).toBe('C0SECURITY');
    expect(textOf(updated)).not.toContain('acknowledge_alert');
    expect((await store().findAlert(alertId))?.acknowledged).toMatchObject({ by: 'erin@example.com', via: 'slack' });
    expect((await acknowledgements(alertId))[0]?.data.origin).toMatchObject({ via: 'slack', platformUserId: people.erin.id });

    // And a second click is told who was first, and changes nothing
    const again = await bot.click(people.erin.id, 'acknowledge_alert', String(alertId), { on });
    expect(await replyTo(again.key)).toContain(`Alert ${alertId} was already acknowledged by erin@example.com`);
    expect(await acknowledgements(alertId)).toHaveLength(1);
  });

  it('tells anyone outside the security group why not, and acknowledges nothing', async () => {
    // Given an open alert
    const { id, on } = await postedAlert();

    // When alice (a lead, not security) clicks Acknowledge
    const click = await bot.click(people.alice.id, 'acknowledge_alert', String(id), { on });

    // Then she is told, only her, and the alert stays open
    expect(await replyTo(click.key)).toContain('Only members of the security group security may acknowledge alerts');
    const response = bot.slack.responses.find((r) => r.key === click.key);
    expect(response?.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect((await store().findAlert(id))?.acknowledged).toBeUndefined();
    expect(await acknowledgements(id)).toEqual([]);
  });

  it('counts a replayed click once', async () => {
    // Given an open alert and erin's click, signed as Slack signs it
    const { id, on } = await postedAlert();
    const body = interactionBody(blockAction({ userId: people.erin.id, actionId: 'acknowledge_alert', value: String(id), responseUrl: bot.slack.responseUrl(`replay-${id}`), ...on }));

    // When it arrives twice
    const first = await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET });
    const second = await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET });
    expect([first.status, second.status]).toEqual([200, 200]);
    await bot.slack.waitFor('chat.update', (c) => c.args.ts === on.messageTs && textOf(c).includes('Acknowledged by erin@example.com'));
    await sleep(500);

    // Then it was acted on once: one acknowledgement, and no "already acknowledged" reply
    expect(await acknowledgements(id)).toHaveLength(1);
    expect(bot.slack.responses.filter((r) => r.key === `replay-${id}`)).toEqual([]);
  });

  it('refuses the button anywhere but on the alert’s own message', async () => {
    // Given an open alert
    const { id, on } = await postedAlert();

    // When erin clicks a copy of the button on another message, and on an ephemeral one
    const elsewhere = await bot.click(people.erin.id, 'acknowledge_alert', String(id), { on: { channelId: on.channelId, messageTs: '1.000100' } });
    const otherAlert = await bot.click(people.erin.id, 'acknowledge_alert', String(id + 1000), { on });

    // Then both are refused and the alert stays open
    expect(await replyTo(elsewhere.key)).toContain(`This button is not one the bot showed for alert ${id}`);
    expect(await replyTo(otherAlert.key)).toContain('This button is not one the bot showed');
    expect((await store().findAlert(id))?.acknowledged).toBeUndefined();
  });

  it('answers a button value that is not an alert id without acting', async () => {
    const { on } = await postedAlert();
    const click = await bot.click(people.erin.id, 'acknowledge_alert', '<!channel>', { on });
    expect(await replyTo(click.key)).toContain('This button names no alert.');
  });
});
