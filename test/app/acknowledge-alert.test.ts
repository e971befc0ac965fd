import type { Database } from '../../src/adapters/store/open-database';
import { acknowledgeAlert, acknowledgementText } from '../../src/app/acknowledge-alert';
import type { Origin } from '../../src/app/origin';
import { raiseAnomalies } from '../../src/app/raise-alert';
import type { Alert } from '../../src/domain/alert';
import { email } from '../../src/domain/email';
import { cliOrigin, createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { storeBackends } from '../support/test-database';

const erin = email('erin@example.com');
const dave = email('dave@example.com');
const slack: Origin = { via: 'slack', platformUserId: 'U0ERIN', platformTeamId: 'T0FAKE' };

describe.each(storeBackends)('acknowledging an alert on $name', ({ open }) => {
  let database: Database;
  let h: Harness;
  let alert: Alert;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
    const [raised] = await raiseAnomalies(h.ctx, [{ rule: 'requestSpike', severity: 'medium', key: 'request_spike:person:dave@example.com:2026-03-03T00:00:00.000Z', message: 'dave opened 5 requests within 1d.' }], { via: 'scheduler' });
    if (!raised) throw new Error('raised');
    alert = raised;
  });
  afterEach(async () => {
    await database.close();
  });

  const events = async () => {
    const head = await h.ctx.store.auditHead();
    return (await h.ctx.store.readAudit(1, head?.seq ?? 0)).filter((e) => e.action === 'alert_acknowledged');
  };

  it('records who acknowledged, when and from where, and audits it', async () => {
    // When erin (the security group) acknowledges from Slack
    h.clock.advance(3);
    const outcome = await acknowledgeAlert(h.ctx, alert.id, erin, slack);

    // Then it is acknowledged, stored and audited
    expect(outcome).toEqual({ ok: true, changed: true, value: { ...alert, acknowledged: { by: erin, at: h.clock.now(), via: 'slack' } } });
    expect(await h.ctx.store.findAlert(alert.id)).toEqual(outcome.ok && outcome.value);
    expect((await events()).map((e) => [e.actor, e.requestId, e.data])).toEqual([
      [erin, null, expect.objectContaining({ alertId: alert.id, rule: 'requestSpike', severity: 'medium', key: alert.key, origin: slack })],
    ]);
  });

  it('changes nothing the second time, and says who was first', async () => {
    // Given erin acknowledged it
    await acknowledgeAlert(h.ctx, alert.id, erin, slack);
    h.clock.advance(5);

    // When it is acknowledged again
    const again = await acknowledgeAlert(h.ctx, alert.id, erin, slack);

    // Then nothing changed and the answer names erin and the first time
    if (!again.ok) throw new Error('acknowledged');
    expect(again.changed).toBe(false);
    expect(acknowledgementText(again.value, again.changed)).toBe(`Alert ${alert.id} was already acknowledged by erin@example.com at ${new Date(h.clock.now().getTime() - 5 * 60_000).toISOString()}; nothing changed.`);
    expect(await events()).toHaveLength(1);
  });

  it('refuses anyone outside the security group, and changes nothing', async () => {
    const outcome = await acknowledgeAlert(h.ctx, alert.id, dave, slack);
    expect(outcome).toEqual({ ok: false, refusal: { code: 'not_authorised', message: 'Only members of the security group security may acknowledge alerts, and dave@example.com is not one.' } });
    expect((await h.ctx.store.findAlert(alert.id))?.acknowledged).toBeUndefined();
    expect(await events()).toEqual([]);
  });

  it('counts a Slack user group mapped to the security group, when the platform vouches for it', async () => {
    // Given a security group that is also a Slack user group
    h.setPolicy(examplePolicyText.replace('  security:\n    members: [erin@example.com]', '  security:\n    members: [erin@example.com]\n    slackUsergroup: S0SECURITY'));
    // When dave, not listed, acknowledges, first without and then with the platform's word
    expect((await acknowledgeAlert(h.ctx, alert.id, dave, slack)).ok).toBe(false);
    const vouched = await acknowledgeAlert(h.ctx, alert.id, dave, slack, new Set(['security']));
    // Then only the second counts
    expect(vouched).toMatchObject({ ok: true, changed: true, value: { acknowledged: { by: dave } } });
  });

  it('refuses an alert id that names no alert', async () => {
    expect(await acknowledgeAlert(h.ctx, alert.id + 1000, erin, slack)).toEqual({ ok: false, refusal: { code: 'no_such_alert', message: `There is no alert ${alert.id + 1000}.` } });
  });

  it('refuses everyone when the policy has no security group', async () => {
    h.setPolicy(examplePolicyText.replace('admins: [group:security]', 'admins: []').replace('  security:\n    members: [erin@example.com]\n', ''));
    const outcome = await acknowledgeAlert(h.ctx, alert.id, erin, slack);
    expect(outcome).toMatchObject({ ok: false, refusal: { code: 'not_authorised', message: expect.stringContaining('The policy defines no group security (detection.securityGroup)') } });
  });

  describe('from the CLI', () => {
    it('is off unless the policy names the OS user in detection.cliOperators', async () => {
      const outcome = await acknowledgeAlert(h.ctx, alert.id, erin, cliOrigin);
      expect(outcome).toMatchObject({ ok: false, refusal: { code: 'cli_not_allowed', message: expect.stringContaining('Acknowledging alerts from the CLI is off') } });
      h.setPolicy(`${examplePolicyText}\ndetection:\n  cliOperators: [someone-else]\n`);
      expect(await acknowledgeAlert(h.ctx, alert.id, erin, cliOrigin)).toMatchObject({ ok: false, refusal: { code: 'cli_not_allowed', message: expect.stringContaining('OS user tester may not acknowledge alerts from the CLI') } });
      expect(await events()).toEqual([]);
    });

    it('records the OS user and the policy entry that allowed it', async () => {
      h.setPolicy(`${examplePolicyText}\ndetection:\n  cliOperators: [tester]\n`);
      const outcome = await acknowledgeAlert(h.ctx, alert.id, erin, cliOrigin);
      expect(outcome).toMatchObject({ ok: true, value: { acknowledged: { by: erin, via: 'cli', osUser: 'tester' } } });
      expect(acknowledgementText((outcome.ok && outcome.value) as Alert, true)).toBe(`Alert ${alert.id} acknowledged by erin@example.com (via CLI, by OS user tester).`);
      expect((await events())[0]?.data).toMatchObject({ operator: { osUser: 'tester', allowedBy: 'tester' }, origin: { via: 'cli', osUser: 'tester' } });
    });

    it('still requires the security group, whatever --as claims', async () => {
      h.setPolicy(`${examplePolicyText}\ndetection:\n  cliOperators: [tester]\n`);
      expect(await acknowledgeAlert(h.ctx, alert.id, dave, cliOrigin)).toMatchObject({ ok: false, refusal: { code: 'not_authorised' } });
    });
  });
});
