import os from 'node:os';
import { getTasks } from 'node-cron';
import { openDatabase, type Database } from '../../src/adapters/store/open-database';
import { ChatNotifier } from '../../src/app/chat/chat-notifier';
import type { ChatPlatform, MessageRef } from '../../src/app/chat/chat-platform';
import { dispatchNotices } from '../../src/app/dispatch-notices';
import { requestAccess } from '../../src/app/request-access';
import { email } from '../../src/domain/email';
import type { AccessStore } from '../../src/ports/access-store';
import { DigestScheduler } from '../../src/scheduler/digest-scheduler';
import { cliOrigin, createHarness, examplePolicyText, queryRows, type Harness } from '../support/app-harness';
import { testSigningKey } from '../support/signing';
import { createPostgresDatabase } from '../support/test-database';

// Monday 2 March 2026, 09:00 in Berlin (UTC+1): the end of the week the digest covers
const monday = new Date('2026-03-02T08:00:00.000Z');
const period = '2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z';

class SecurityChannel implements ChatPlatform {
  readonly kind = 'slack' as const;
  readonly lines: string[] = [];
  async postApprovalCard(channel: string): Promise<MessageRef> {
    return { channel, messageId: 'ts' };
  }
  async updateApprovalCard(): Promise<void> {}
  async tellPerson(): Promise<void> {}
  async postToSecurity(_channel: string, text: string): Promise<void> {
    this.lines.push(text);
  }
  async postAlert(channel: string): Promise<MessageRef> {
    return { channel, messageId: 'alert' };
  }
  async updateAlert(): Promise<void> {}
}

describe('the digest scheduler on PostgreSQL', () => {
  let database: Database & { url: string };
  const others: Database[] = [];
  const schedulers: DigestScheduler[] = [];

  beforeEach(async () => {
    database = await createPostgresDatabase();
  });
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.stop();
    for (const d of others.splice(0)) await d.close();
    await database.close();
  });

  /** Another process on the same PostgreSQL: its own pool, clock and scheduler. */
  async function replica(at: Date, signer = testSigningKey().signer): Promise<{ h: Harness; scheduler: DigestScheduler }> {
    const db = await openDatabase({ databaseUrl: database.url, dataDir: os.tmpdir(), migrate: false });
    others.push(db);
    const h = createHarness(db);
    h.clock.set(at);
    const scheduler = new DigestScheduler(h.ctx, { signer });
    schedulers.push(scheduler);
    return { h, scheduler };
  }

  async function someHistory(): Promise<void> {
    const h = createHarness(database);
    h.clock.set(new Date('2026-02-25T10:00:00.000Z'));
    const opened = await requestAccess(h.ctx, { requester: email('dave@example.com'), role: 'sandbox-admin', duration: '1h', ticket: 'OPS-1', reason: 'rotate the sandbox signing keys' }, cliOrigin);
    if (!opened.ok) throw new Error(opened.refusal.message);
  }

  const count = async (table: string) => Number((await queryRows<{ n: unknown }>(database, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
  const digestEvents = async () => Number((await queryRows<{ n: unknown }>(database, "SELECT count(*) AS n FROM audit_events WHERE action = 'digest_published'"))[0]?.n);

  it('posts the week once when two replicas start together, run again together, and one restarts', async () => {
    // Given a week of history, and two replicas at Monday 09:00:01 with the same key
    await someHistory();
    const { signer } = testSigningKey();
    const at = new Date(monday.getTime() + 1000);
    const [a, b] = [await replica(at, signer), await replica(at, signer)];
    const platform = new SecurityChannel();
    const deliverFromBoth = () =>
      Promise.all([dispatchNotices(a.h.ctx, new ChatNotifier(a.h.ctx, platform), 'a', 100), dispatchNotices(b.h.ctx, new ChatNotifier(b.h.ctx, platform), 'b', 100)]);
    // NB: a notifier's position starts at the end of the log the first time it is seen: before the digest.
    await deliverFromBoth();

    // When both run at the scheduled time at once (runOnce passes a failure through, where start()
    // would retry it quietly: a loser that failed instead of finding the week posted fails the test),
    // and then start, each catching up on what is due
    const ran = await Promise.all([a.scheduler.runOnce(), b.scheduler.runOnce(), a.scheduler.runOnce(), b.scheduler.runOnce()]);
    const started = await Promise.all([a.scheduler.start(), b.scheduler.start()]);
    // And a restarted process starts a minute later
    await a.scheduler.stop();
    const restarted = await replica(new Date(monday.getTime() + 60_000), signer);
    const afterRestart = await restarted.scheduler.start();

    // Then exactly one of them posted it, and everything else found it posted
    const published = [...started.flat(), ...ran.flat(), ...afterRestart].filter((o) => o.published);
    expect(published.map((o) => o.period)).toEqual([period]);
    // And both runs of the race (the loser too) reported the week, posted or found posted; each
    // replica's second run found nothing due
    expect(ran.map((outcomes) => outcomes.map((o) => o.period))).toEqual([[period], [period], [], []]);
    expect(await count('digests')).toBe(1);
    expect(await count('checkpoints')).toBe(1);
    expect(await digestEvents()).toBe(1);

    // And the security channel hears it once, whichever replica delivers the notices
    await deliverFromBoth();
    await deliverFromBoth();
    expect(platform.lines.filter((l) => l.startsWith('Access digest for'))).toHaveLength(1);
  });

  it('posts a week missed while no replica ran when it starts, marked late', async () => {
    // Given the bot was down from Sunday to Wednesday
    await someHistory();
    const { h, scheduler } = await replica(new Date('2026-03-04T10:00:00.000Z'));
    // When it starts
    const [outcome] = await scheduler.start();
    // Then last week's digest is posted, saying it is late
    expect(outcome).toMatchObject({ published: true, period, late: true });
    expect(outcome?.published && outcome.text.split('\n')[0]).toBe(
      'Access digest for Mon 23 Feb 2026 09:00 to Mon 2 Mar 2026 09:00 (Europe/Berlin), posted late (Wed 4 Mar 2026 11:00): the bot was not running when it was due',
    );
    expect(await queryRows(database, 'SELECT late FROM digests')).toEqual([{ late: true }]);
    expect(h.ctx.clock.now()).toEqual(new Date('2026-03-04T10:00:00.000Z'));
  });

  it('follows the schedule of the policy in force, and stops following it when the policy turns the digest off', async () => {
    // NB: node-cron's own registry says which digest jobs really run, not only what the scheduler says.
    const running = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return [...getTasks().values()].filter((t) => t.name === 'weekly-digest' && t.getStatus() !== 'destroyed').map((t) => t.getPattern());
    };
    const { h, scheduler } = await replica(monday);
    await scheduler.start();
    expect(scheduler.scheduledAs()).toEqual({ expression: '0 9 * * 1', timezone: 'Europe/Berlin' });
    expect(await running()).toEqual(['0 9 * * 1']);
    h.setPolicy(`${examplePolicyText}\ndetection:\n  digest: { schedule: "30 8 * * mon-fri" }\n`);
    scheduler.reschedule();
    expect(scheduler.scheduledAs()).toEqual({ expression: '30 8 * * mon-fri', timezone: 'Europe/Berlin' });
    expect(await running()).toEqual(['30 8 * * mon-fri']);
    h.setPolicy(`${examplePolicyText}\ndetection:\n  digest: { enabled: false }\n`);
    scheduler.reschedule();
    expect(scheduler.scheduledAs()).toBeUndefined();
    expect(await running()).toEqual([]);
  });

  it('tries a failed run again until it succeeds, so a database outage delays the digest and never loses it', async () => {
    // Given a history, and a store whose first look at the log fails (the database away for a moment)
    await someHistory();
    const db = await openDatabase({ databaseUrl: database.url, dataDir: os.tmpdir(), migrate: false });
    others.push(db);
    const h = createHarness(db);
    h.clock.set(new Date(monday.getTime() + 1000));
    let failures = 1;
    const store: AccessStore = Object.create(h.ctx.store, {
      firstAuditAt: {
        value: async () => {
          if (failures-- > 0) throw new Error('connection refused');
          return h.ctx.store.firstAuditAt();
        },
      },
    }) as AccessStore;
    const scheduler = new DigestScheduler({ ...h.ctx, store }, { retryMs: 50 });
    schedulers.push(scheduler);

    // When it starts: the catch-up fails
    expect(await scheduler.start()).toEqual([]);
    expect(await count('digests')).toBe(0);

    // Then it is tried again shortly, and the week is posted
    for (let i = 0; i < 100 && (await count('digests')) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await count('digests')).toBe(1);
  });
});
