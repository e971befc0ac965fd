import { raiseAnomalies } from '../../src/app/raise-alert';
import { cardIn, textOf, verbsOf } from '../fakes/fake-teams';
import { cardText, SECURITY, startTeamsBot, teamsPeople, type TeamsBot } from '../support/teams-bot';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let serial = 0;

/** The same controls as Slack's Acknowledge button (test/e2e/slack-alerts.test.ts), on an Adaptive Card. */
describe('Teams: alerts in the security channel, and the access report', () => {
  let bot: TeamsBot;

  beforeAll(async () => {
    bot = await startTeamsBot();
  });
  afterAll(async () => {
    await bot?.stop();
  });

  const store = () => bot.service.app.ctx.store;
  const answerText = (body: { value?: unknown }) => (typeof body.value === 'string' ? body.value : textOf(body.value));

  /** Where the bot posted alert `id` in Teams (by the notice delivery that follows every sweep). */
  async function messageOf(id: number): Promise<{ channel: string; messageId: string }> {
    for (let i = 0; i < 300; i++) {
      const ref = await store().alertMessage('teams', id);
      if (ref) return { channel: ref.channel, messageId: ref.messageId };
      await sleep(100);
    }
    throw new Error(`alert ${id} was not posted in Teams`);
  }

  async function postedAlert(): Promise<{ id: number; on: { channel: string; messageId: string } }> {
    serial += 1;
    const [alert] = await raiseAnomalies(bot.service.app.ctx, [{ rule: 'requestSpike', severity: 'medium', key: `request_spike:person:t${serial}@example.com:2026-03-03T00:00:00.000Z`, message: `t${serial}@example.com opened 5 requests within 1d.` }], { via: 'scheduler' });
    if (!alert) throw new Error('raised');
    return { id: alert.id, on: await messageOf(alert.id) };
  }

  const acknowledgements = async (id: number) => {
    const head = await store().auditHead();
    return (await store().readAudit(1, head?.seq ?? 0)).filter((e) => e.action === 'alert_acknowledged' && e.data.alertId === id);
  };

  it('posts an alert card with Acknowledge; a security member’s click acknowledges it and the card shows who', async () => {
    // Given an alert, posted to the security channel with the button
    const { id, on } = await postedAlert();
    expect(on.channel).toBe(SECURITY);
    const posted = await bot.teams.waitFor('send', (c) => c.conversationId === SECURITY && cardText(c).includes(`alert ${id}`));
    expect(verbsOf(cardIn(posted.body))).toEqual(['acknowledge']);
    expect(cardText(posted)).toContain('Open: a member of security acknowledges it here');

    // When erin, of the security group, clicks Acknowledge on it
    const click = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: String(id) }, { on });

    // Then she sees the acknowledged card at once, with no button, and the message is updated in place for everyone
    expect(answerText(click.body)).toContain('Acknowledged by erin@example.com');
    expect(verbsOf(click.body.value)).toEqual([]);
    const updated = await bot.teams.waitFor('update', (c) => (c.conversationId ?? '').startsWith(SECURITY) && cardText(c).includes('Acknowledged by erin@example.com'));
    expect(verbsOf(cardIn(updated.body))).toEqual([]);
    expect((await store().findAlert(id))?.acknowledged).toMatchObject({ by: 'erin@example.com', via: 'teams' });
    expect((await acknowledgements(id))[0]?.data.origin).toMatchObject({ via: 'teams', platformUserId: teamsPeople.erin.aadObjectId });

    // And a second click is told who was first, and changes nothing
    const again = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: String(id) }, { on });
    expect(answerText(again.body)).toContain(`Alert ${id} was already acknowledged by erin@example.com`);
    expect(await acknowledgements(id)).toHaveLength(1);
  });

  it('tells anyone outside the security group why not, and acknowledges nothing', async () => {
    const { id, on } = await postedAlert();
    const click = await bot.click(teamsPeople.alice, 'acknowledge', { alertId: String(id) }, { on });
    expect(answerText(click.body)).toContain('Only members of the security group security may acknowledge alerts');
    expect((await store().findAlert(id))?.acknowledged).toBeUndefined();
    expect(await acknowledgements(id)).toEqual([]);
  });

  it('counts a replayed click once', async () => {
    const { id, on } = await postedAlert();
    const first = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: String(id) }, { on, id: `replayed-${id}` });
    const second = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: String(id) }, { on, id: `replayed-${id}` });
    expect(answerText(first.body)).toContain('Acknowledged by erin@example.com');
    expect(answerText(second.body)).toContain('already handled');
    expect(await acknowledgements(id)).toHaveLength(1);
  });

  it('gives last week’s access report to a member of security in their 1:1 chat, and tells anyone else why not', async () => {
    const asErin = await bot.command(teamsPeople.erin, 'report');
    const asDave = await bot.command(teamsPeople.dave, 'report');
    expect(asErin.reply).toContain('Access report for requests opened from');
    expect(asErin.reply).toContain('prod-access report --since');
    expect(asDave.reply).toContain('The access report is for members of the security group (security in the policy); dave@example.com is not one.');
    expect(asDave.reply).not.toContain('Access report for');
  });

  it('refuses the button anywhere but on the alert’s own message, and a value that is not an alert id', async () => {
    const { id, on } = await postedAlert();
    const elsewhere = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: String(id) }, { on: { channel: on.channel, messageId: '1700000000000' } });
    const otherAlert = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: String(id + 1000) }, { on });
    const inAChat = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: String(id) }, { personal: { replyToId: on.messageId } });
    const forged = await bot.click(teamsPeople.erin, 'acknowledge', { alertId: '<at>everyone</at>' }, { on });
    expect(answerText(elsewhere.body)).toContain(`This button is not one the bot showed for alert ${id}`);
    expect(answerText(otherAlert.body)).toContain('This button is not one the bot showed');
    expect(answerText(inAChat.body)).toContain(`This button is not one the bot showed for alert ${id}`);
    expect(answerText(forged.body)).toBe('This button names no alert.');
    expect((await store().findAlert(id))?.acknowledged).toBeUndefined();
  });
});
