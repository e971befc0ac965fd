import { sql } from 'drizzle-orm';
import type { Database } from '../../../src/adapters/store/open-database';
import { approveRequest } from '../../../src/app/approve-request';
import { acknowledgeAlert } from '../../../src/app/acknowledge-alert';
import type { AlertView } from '../../../src/app/chat/alert-view';
import type { ApprovalCard } from '../../../src/app/chat/approval-card';
import { raiseAnomalies } from '../../../src/app/raise-alert';
import { ChatNotifier } from '../../../src/app/chat/chat-notifier';
import type { ChatPlatform, MessageRef, PersonMessage } from '../../../src/app/chat/chat-platform';
import { denyRequest } from '../../../src/app/deny-request';
import { dispatchNotices } from '../../../src/app/dispatch-notices';
import { checkDrift } from '../../../src/app/drift/check-drift';
import { requestAccess } from '../../../src/app/request-access';
import type { RequestId } from '../../../src/domain/request-id';
import type { Email } from '../../../src/domain/email';
import { email } from '../../../src/domain/email';
import { cliOrigin, createHarness, examplePolicyText, type Harness } from '../../support/app-harness';
import type { Origin } from '../../../src/app/origin';

const slackOrigin: Origin = { via: 'slack', platformUserId: 'U0ALICE' };
import { alice, dave, value } from '../../support/revocation-fixtures';
import { storeBackends } from '../../support/test-database';

/** A chat platform that records what the bot asked it to show. */
class RecordingPlatform implements ChatPlatform {
  readonly kind = 'slack' as const;
  readonly posted: { channel: string; card: ApprovalCard }[] = [];
  readonly updated: { ref: MessageRef; card: ApprovalCard }[] = [];
  readonly told: { who: Email; message: PersonMessage }[] = [];
  readonly security: { text: string; alert: boolean }[] = [];
  async postApprovalCard(channel: string, card: ApprovalCard): Promise<MessageRef> {
    this.posted.push({ channel, card });
    return { channel, messageId: `ts-${this.posted.length}` };
  }
  async updateApprovalCard(ref: MessageRef, card: ApprovalCard): Promise<void> {
    this.updated.push({ ref, card });
  }
  async tellPerson(who: Email, message: PersonMessage): Promise<void> {
    this.told.push({ who, message });
  }
  async postToSecurity(_channel: string, text: string, alert: boolean): Promise<void> {
    this.security.push({ text, alert });
  }
  readonly alerts: { channel: string; alert: AlertView }[] = [];
  readonly alertUpdates: { ref: MessageRef; alert: AlertView }[] = [];
  async postAlert(channel: string, alert: AlertView): Promise<MessageRef> {
    this.alerts.push({ channel, alert });
    return { channel, messageId: `alert-ts-${this.alerts.length}` };
  }
  async updateAlert(ref: MessageRef, alert: AlertView): Promise<void> {
    this.alertUpdates.push({ ref, alert });
  }
}

describe.each(storeBackends)('ChatNotifier on $name', ({ open }) => {
  let database: Database;
  let h: Harness;
  let platform: RecordingPlatform;
  let notifier: ChatNotifier;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
    platform = new RecordingPlatform();
    notifier = new ChatNotifier(h.ctx, platform);
    await dispatchNotices(h.ctx, notifier, 'test', 100);
  });
  afterEach(async () => {
    await database.close();
  });

  const deliver = () => dispatchNotices(h.ctx, notifier, 'test', 100);

  it('posts one card to the approvals channel and updates it in place until access is granted', async () => {
    // Given a sandbox-admin request (2 approvals) approved by alice, then bob
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '2h', ticket: 'OPS-1', reason: 'rotate the signing keys' }, cliOrigin));
    await deliver();
    value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
    await deliver();
    value(await approveRequest(h.ctx, opened.id, email('bob@example.com'), cliOrigin));
    await deliver();

    // Then one card in C0APPROVALS, first with buttons, then updated with the approvals and the grant
    expect(platform.posted).toHaveLength(1);
    expect(platform.posted[0]).toMatchObject({ channel: 'C0APPROVALS', card: { actions: ['approve', 'deny'], headline: 'dave@example.com asks for sandbox-admin for 2h' } });
    expect(platform.posted[0]?.card.flags.map((f) => f.flag)).toContain('first_time');
    expect(platform.updated.every((u) => u.ref.messageId === 'ts-1')).toBe(true);
    const last = platform.updated[platform.updated.length - 1]?.card;
    expect(last).toMatchObject({ actions: [], request: { state: 'active' } });
    // NB: the approvals came from a terminal, where --as is only a claim: the card says so.
    expect(last?.status).toContain('2 of 2 approvals: alice@example.com (via CLI, by OS user tester), bob@example.com (via CLI, by OS user tester)');

    // And dave is told, and security gets one line for the grant, naming the approvals and where they came from
    expect(platform.told.map((t) => [t.who, t.message.action])).toEqual([[dave, 'access_granted']]);
    expect(platform.security).toEqual([{ text: expect.stringContaining('dave@example.com was granted sandbox-admin until'), alert: false }]);
    expect(platform.security[0]?.text).toContain('approved by alice@example.com (via CLI, by OS user tester), bob@example.com (via CLI, by OS user tester)');
  });

  it('tells the requester and security when a grant was capped by a lowered maximum', async () => {
    // Given dave's 3h request, and the maximum lowered to 1h before the approvals
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '3h', ticket: 'OPS-1', reason: 'rotate the signing keys' }, cliOrigin));
    h.setPolicy(examplePolicyText.replace('maxDuration: 4h', 'maxDuration: 1h'));
    value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
    value(await approveRequest(h.ctx, opened.id, email('bob@example.com'), cliOrigin));
    // When
    await deliver();
    // Then both the DM and the security line say what was granted, what was asked, and why
    const why = "granted for 1h, not the 3h asked: the policy's maximum for sandbox-admin is now 1h";
    expect(platform.told.map((t) => [t.message.action, t.message.text])).toEqual([['access_granted', expect.stringContaining(why)]]);
    expect(platform.security.map((s) => s.text)).toEqual([expect.stringContaining(why)]);
  });

  it('settles the card and tells the requester why when a request is denied', async () => {
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-1', reason: 'inspect the billing account' }, cliOrigin));
    value(await denyRequest(h.ctx, opened.id, alice, 'use the read replica instead', slackOrigin));
    await deliver();
    const last = platform.updated[platform.updated.length - 1]?.card;
    expect(last).toMatchObject({ settled: true, actions: [], status: 'Denied by alice@example.com: use the read replica instead' });
    expect(platform.told[0]?.message.text).toContain('use the read replica instead');
  });

  it('says on the card and to security when a denial came from the CLI', async () => {
    // Given a sandbox-admin request (CLI decisions allowed there) denied from a terminal
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '1h', ticket: 'OPS-1', reason: 'rotate the signing keys' }, cliOrigin));
    value(await denyRequest(h.ctx, opened.id, alice, 'not during the freeze', cliOrigin));
    // When
    await deliver();
    // Then
    const last = platform.updated[platform.updated.length - 1]?.card;
    expect(last?.status).toBe('Denied by alice@example.com (via CLI, by OS user tester): not during the freeze');
    expect(platform.security.map((s) => s.text)).toEqual([expect.stringContaining('alice@example.com (via CLI, by OS user tester) denied sandbox-admin for dave@example.com')]);
  });

  it('flags break-glass to security as an alert and offers a review on the card', async () => {
    const granted = value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-9', reason: 'sandbox is down for everyone', breakGlass: true }, cliOrigin));
    await deliver();
    expect(platform.posted[0]?.card.flags.map((f) => f.flag)).toContain('break_glass');
    const last = platform.updated[platform.updated.length - 1]?.card ?? platform.posted[0]?.card;
    expect(last?.actions).toEqual(['review']);
    // NB: the break-glass alert of the anomaly rules is security's one message about the use; the line here is the grant's
    expect(platform.security.map((s) => s.text)).toEqual([expect.stringContaining(`was granted break-glass sandbox-admin until`)]);
  });

  it('says in a line of its own that break-glass was asked for when the policy turns the break-glass alert off', async () => {
    h.setPolicy(`${examplePolicyText}\ndetection:\n  rules:\n    breakGlass: { enabled: false }\n`);
    const granted = value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-9', reason: 'sandbox is down for everyone', breakGlass: true }, cliOrigin));
    await deliver();
    expect(platform.security[0]).toEqual({ text: expect.stringContaining(`asked for break-glass sandbox-admin for 30m (request ${granted.id}`), alert: true });
    expect(platform.security).toHaveLength(2);
  });

  it("posts a role's cards to the role's own approvals channel when the policy names one", async () => {
    h.setPolicy(examplePolicyText.replace('    breakGlass: { allowed: false }', '    breakGlass: { allowed: false }\n    channels: { approvals: { slack: C0DBTEAM } }'));
    await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-1', reason: 'inspect the billing account' }, cliOrigin);
    await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '1h', ticket: 'OPS-1', reason: 'rotate the signing keys' }, cliOrigin);
    await deliver();
    expect(platform.posted.map((p) => [p.card.request.role, p.channel])).toEqual([
      ['prod-readonly', 'C0DBTEAM'],
      ['sandbox-admin', 'C0APPROVALS'],
    ]);
  });

  it('posts drift findings, which concern no request, to the security channel as alerts', async () => {
    // Given frank holds prod-readonly at the local provider with no grant (recorded behind the bot's back)
    const prodReadonly = h.ctx.policy.current().policy.roles.get('prod-readonly');
    if (!prodReadonly) throw new Error('the example policy has prod-readonly');
    await h.local.grant({ requestId: 'ZZZZZZZZ' as RequestId, role: 'prod-readonly', principal: email('frank@example.com'), provider: 'local', target: prodReadonly.target, expiresAt: h.clock.now() });

    // When drift is checked and notices are delivered
    await checkDrift(h.ctx, { trigger: 'cli', origin: cliOrigin });
    await deliver();

    // Then security sees the alert, naming the access, as an alert of its own that can be acknowledged
    expect(platform.alerts).toEqual([
      {
        channel: 'C0SECURITY',
        alert: expect.objectContaining({ rule: 'drift', headline: 'High: Access without a grant (drift)', message: expect.stringContaining('access without a live grant: prod-readonly for frank@example.com at local'), actions: ['acknowledge'] }),
      },
    ]);
  });

  describe('alerts', () => {
    const spike = { rule: 'requestSpike' as const, severity: 'medium' as const, key: 'request_spike:person:dave@example.com:2026-03-03T00:00:00.000Z', message: 'dave@example.com opened 5 requests within 1d.' };

    it('posts each alert once to the security channel with an Acknowledge action, and updates it in place when acknowledged', async () => {
      // Given an alert about a person (no request), delivered
      const [alert] = await raiseAnomalies(h.ctx, [spike], { via: 'scheduler' });
      await deliver();

      // Then it is one message in C0SECURITY, open, with the button
      expect(platform.alerts).toEqual([
        {
          channel: 'C0SECURITY',
          alert: expect.objectContaining({ id: alert?.id, headline: 'Medium: Request spike', message: spike.message, status: 'Open: a member of security acknowledges it here', actions: ['acknowledge'] }),
        },
      ]);
      expect(await h.ctx.store.alertMessage('slack', alert?.id ?? 0)).toEqual({ channel: 'C0SECURITY', messageId: 'alert-ts-1' });

      // When erin acknowledges it
      h.clock.advance(2);
      await acknowledgeAlert(h.ctx, alert?.id ?? 0, email('erin@example.com'), slackOrigin);
      await deliver();

      // Then the same message is updated to say who and when, without the button; nothing new is posted
      expect(platform.alerts).toHaveLength(1);
      expect(platform.alertUpdates).toEqual([
        { ref: { channel: 'C0SECURITY', messageId: 'alert-ts-1' }, alert: expect.objectContaining({ status: 'Acknowledged by erin@example.com at', statusAt: h.clock.now(), actions: [] }) },
      ]);
      expect(platform.security).toEqual([]);
    });

    it('updates rather than posts again when an alert is delivered a second time', async () => {
      // Given an alert delivered once
      await raiseAnomalies(h.ctx, [spike], { via: 'scheduler' });
      const head = (await h.ctx.store.auditHead())?.seq ?? 0;
      await deliver();

      // When its notice is delivered again (a crash after posting, before the position was saved)
      await database.db.execute(sql`UPDATE notification_cursors SET last_seq = ${head - 1} WHERE notifier = 'slack'`);
      await deliver();

      // Then it was posted once and updated once
      expect(platform.alerts).toHaveLength(1);
      expect(platform.alertUpdates).toHaveLength(1);
    });

    it('posts an alert raised before alerts had ids as the line it was', async () => {
      await h.ctx.store.transaction((tx) => tx.appendAudit([{ action: 'alert_raised', actor: 'system', requestId: 'AAAAAAAA' as never, data: { alert: 'revocation_failing', message: 'Revoking sandbox-admin from dave has failed 3 times' } }], h.clock.now()));
      await deliver();
      expect(platform.alerts).toEqual([]);
      expect(platform.security).toEqual([{ text: 'Revoking sandbox-admin from dave has failed 3 times', alert: true }]);
    });

    it('posts nothing where the policy names no security channel for the platform', async () => {
      h.setPolicy(examplePolicyText.replace('  security: { slack: C0SECURITY, teams: "19:security@thread.tacv2" }', '  security: { teams: "19:security@thread.tacv2" }'));
      await raiseAnomalies(h.ctx, [spike], { via: 'scheduler' });
      await deliver();
      expect(platform.alerts).toEqual([]);
    });
  });
});
