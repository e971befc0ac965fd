import type { Database } from '../../src/adapters/store/open-database';
import { ChatNotifier } from '../../src/app/chat/chat-notifier';
import type { ChatPlatform, MessageRef } from '../../src/app/chat/chat-platform';
import { dispatchNotices } from '../../src/app/dispatch-notices';
import { publishDigest, publishDueDigests, UNSIGNED_NOTE } from '../../src/app/publish-digest';
import { requestAccess } from '../../src/app/request-access';
import { signCheckpointNow } from '../../src/app/sign-checkpoint';
import { checkpointMessage } from '../../src/domain/checkpoint';
import { email } from '../../src/domain/email';
import { cliOrigin, createHarness, examplePolicyText, queryRows, type Harness } from '../support/app-harness';
import { testSigningKey } from '../support/signing';
import { storeBackends } from '../support/test-database';

const dave = email('dave@example.com');
const scheduler = { via: 'scheduler' } as const;
// Monday 2 March 2026, 09:00 in Berlin (UTC+1)
const monday = new Date('2026-03-02T08:00:00.000Z');
const lastWeek = { since: new Date('2026-02-23T08:00:00.000Z'), until: monday };

/** A chat platform that records what reaches the security channel. */
class SecurityChannel implements ChatPlatform {
  readonly kind = 'slack' as const;
  readonly lines: { text: string; alert: boolean }[] = [];
  async postApprovalCard(channel: string): Promise<MessageRef> {
    return { channel, messageId: 'ts' };
  }
  async updateApprovalCard(): Promise<void> {}
  async tellPerson(): Promise<void> {}
  async postToSecurity(_channel: string, text: string, alert: boolean): Promise<void> {
    this.lines.push({ text, alert });
  }
  async postAlert(channel: string): Promise<MessageRef> {
    return { channel, messageId: 'alert' };
  }
  async updateAlert(): Promise<void> {}
}

describe.each(storeBackends)('posting the weekly digest on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
    // Given one request on Wednesday of last week
    h.clock.set(new Date('2026-02-25T10:00:00.000Z'));
    const opened = await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '1h', ticket: 'OPS-1', reason: 'rotate the sandbox signing keys' }, cliOrigin);
    if (!opened.ok) throw new Error(opened.refusal.message);
  });
  afterEach(async () => {
    await database.close();
  });

  const digestRows = () => queryRows<{ period: string; late: boolean }>(database, 'SELECT period, late FROM digests ORDER BY since');
  const digestEvents = async () => (await h.ctx.store.readAudit(1, 1000)).filter((e) => e.action === 'digest_published');

  it('posts a period once, with its text and signed head in one audit event, and says when a period was posted already', async () => {
    const { signer, key } = testSigningKey();
    h.clock.set(new Date(monday.getTime() + 1000));

    // When the week is posted, then posted again
    const first = await publishDigest(h.ctx, lastWeek, signer, scheduler);
    const again = await publishDigest(h.ctx, lastWeek, signer, scheduler);

    // Then one row, one event, one checkpoint, signed over the head at the end of the week
    expect(first.published).toBe(true);
    expect(again).toEqual({ published: false, period: '2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z', already: expect.objectContaining({ postedAt: new Date(monday.getTime() + 1000), late: false }) });
    expect(await digestRows()).toEqual([{ period: '2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z', late: false }]);
    const [event] = await digestEvents();
    const head = await h.ctx.store.auditHeadBefore(monday);
    expect(event?.data).toMatchObject({ period: '2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z', late: false, head, checkpoint: { seq: head?.seq, hash: head?.hash, keyId: key.keyId }, origin: { via: 'scheduler' } });
    expect(String(event?.data.text)).toContain('Requests: 1 opened');
    expect(String(event?.data.text)).toContain('prod-access audit checkpoint v1\nperiod: 2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z\n');
    const [checkpoint] = await h.ctx.store.checkpoints();
    expect(checkpoint && key.verify(checkpointMessage(checkpoint), checkpoint.signature)).toBe(true);
    expect(checkpoint).toMatchObject({ period: '2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z', seq: head?.seq, hash: head?.hash });
  });

  it('posts the head unsigned, and says why, without a key', async () => {
    h.clock.set(new Date(monday.getTime() + 1000));
    const outcome = await publishDigest(h.ctx, lastWeek, undefined, scheduler);
    expect(outcome.published && outcome.text).toContain(`Not signed: ${UNSIGNED_NOTE}`);
    expect(await h.ctx.store.checkpoints()).toEqual([]);
    expect((await digestEvents())[0]?.data).toMatchObject({ checkpoint: null });
  });

  it('refuses to post a period that has not ended', async () => {
    h.clock.set(new Date(monday.getTime() - 1000));
    await expect(publishDigest(h.ctx, lastWeek, undefined, scheduler)).rejects.toThrow('has not ended');
    expect(await digestRows()).toEqual([]);
  });

  it('posts only the last full week the first time, and then every week missed while nobody ran, oldest first, marked late', async () => {
    const { signer } = testSigningKey();
    // Given the first run on Monday at 09:00:02
    h.clock.set(new Date(monday.getTime() + 2000));
    const first = await publishDueDigests(h.ctx, signer, scheduler);
    expect(first.map((o) => [o.period, o.published && o.late])).toEqual([['2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z', false]]);

    // When the next run comes three weeks and a day later (the bot was down)
    h.clock.set(new Date('2026-03-24T10:00:00.000Z'));
    const caughtUp = await publishDueDigests(h.ctx, signer, scheduler);

    // Then the three weeks missed are posted, oldest first, each late
    expect(caughtUp.map((o) => [o.period, o.published && o.late])).toEqual([
      ['2026-03-02T08:00:00.000Z/2026-03-09T08:00:00.000Z', true],
      ['2026-03-09T08:00:00.000Z/2026-03-16T08:00:00.000Z', true],
      ['2026-03-16T08:00:00.000Z/2026-03-23T08:00:00.000Z', true],
    ]);
    expect((await digestEvents()).map((e) => String(e.data.text).split('\n')[0])).toEqual([
      'Access digest for Mon 23 Feb 2026 09:00 to Mon 2 Mar 2026 09:00 (Europe/Berlin)',
      'Access digest for Mon 2 Mar 2026 09:00 to Mon 9 Mar 2026 09:00 (Europe/Berlin), posted late (Tue 24 Mar 2026 11:00): the bot was not running when it was due',
      'Access digest for Mon 9 Mar 2026 09:00 to Mon 16 Mar 2026 09:00 (Europe/Berlin), posted late (Tue 24 Mar 2026 11:00): the bot was not running when it was due',
      'Access digest for Mon 16 Mar 2026 09:00 to Mon 23 Mar 2026 09:00 (Europe/Berlin), posted late (Tue 24 Mar 2026 11:00): the bot was not running when it was due',
    ]);
    // And a run after that finds nothing due
    expect(await publishDueDigests(h.ctx, signer, scheduler)).toEqual([]);
  });

  it('posts no digest for periods that ended before the log began, and none when the policy turns it off', async () => {
    // Given a log that began on Wednesday: the week ending the Monday before is not due
    h.clock.set(new Date('2026-02-28T12:00:00.000Z'));
    expect(await publishDueDigests(h.ctx, undefined, scheduler)).toEqual([]);
    // And with the digest off, not even the week the log began in
    h.setPolicy(`${examplePolicyText}\ndetection:\n  digest: { enabled: false }\n`);
    h.clock.set(new Date(monday.getTime() + 1000));
    expect(await publishDueDigests(h.ctx, undefined, scheduler)).toEqual([]);
    expect(await digestRows()).toEqual([]);
  });

  it('follows the schedule and time zone of the policy in force', async () => {
    // Given a daily digest at 07:30 in New York
    h.setPolicy(examplePolicyText.replace('timezone: Europe/Berlin', 'timezone: America/New_York') + '\ndetection:\n  digest: { schedule: "30 7 * * *" }\n');
    h.clock.set(new Date('2026-02-26T13:00:00.000Z'));
    const [outcome] = await publishDueDigests(h.ctx, undefined, scheduler);
    expect(outcome?.period).toBe('2026-02-25T12:30:00.000Z/2026-02-26T12:30:00.000Z');
  });

  it('sends the digest and an on-demand checkpoint to the security channel, as they were written', async () => {
    // Given a chat platform whose security channel is C0SECURITY in the example policy
    const platform = new SecurityChannel();
    const notifier = new ChatNotifier(h.ctx, platform);
    await dispatchNotices(h.ctx, notifier, 'test', 100);
    const { signer } = testSigningKey();
    h.clock.set(new Date(monday.getTime() + 1000));

    // When the digest is posted and a checkpoint is made from the CLI
    const posted = await publishDigest(h.ctx, lastWeek, signer, scheduler);
    const made = await signCheckpointNow(h.ctx, signer, cliOrigin);
    await dispatchNotices(h.ctx, notifier, 'test', 100);

    // Then security gets both, not as alerts: the digest's own text, and the checkpoint's signed lines
    expect(platform.lines).toEqual([
      { text: posted.published ? posted.text : '', alert: false },
      { text: expect.stringContaining('Audit checkpoint signed on demand (via CLI, by OS user tester)'), alert: false },
    ]);
    expect(platform.lines[1]?.text).toContain(checkpointMessage(made.checkpoint));
    expect(platform.lines[1]?.text).toContain(`signature: ${made.checkpoint.signature}`);
  });
});
