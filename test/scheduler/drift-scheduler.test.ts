import type { Database } from '../../src/adapters/store/open-database';
import type { AppContext } from '../../src/app/app-context';
import { DriftScheduler } from '../../src/scheduler/drift-scheduler';
import { createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { createPostgresDatabase } from '../support/test-database';

describe('DriftScheduler on PostgreSQL', () => {
  let database: Database;
  let h: Harness;
  const schedulers: DriftScheduler[] = [];

  beforeEach(async () => {
    database = await createPostgresDatabase();
    h = createHarness(database);
  });
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    await database.close();
  });

  function replica(instance: string): DriftScheduler {
    const ctx: AppContext = { ...h.ctx, work: { ...h.ctx.work, instance } };
    const scheduler = new DriftScheduler(ctx);
    schedulers.push(scheduler);
    return scheduler;
  }

  it('runs a cron tick once when two replicas see it at the same moment', async () => {
    // Given two replicas on one PostgreSQL
    const [a, b] = [replica('host-a:1:x'), replica('host-b:1:y')];

    // When both fire for the 10:15 slot (one a few milliseconds late)
    const slot = new Date('2026-03-03T10:15:00.000Z');
    const results = await Promise.all([a.tick(slot), b.tick(new Date(slot.getTime() + 400))]);

    // Then one ran it and the other did nothing
    // NB: not a sorted list with a matcher in it: sort() would order the matcher by its name.
    const statuses = results.map((r) => r?.status);
    expect(statuses.filter((status) => status === 'checked')).toHaveLength(1);
    expect(statuses.filter((status) => status !== 'checked')).toEqual([expect.stringMatching(/^(busy|duplicate)$/)]);
    const runs = await h.ctx.store.listDriftRuns(10);
    expect(runs.map((r) => ({ trigger: r.trigger, scheduledFor: r.scheduledFor }))).toEqual([{ trigger: 'schedule', scheduledFor: slot }]);
  });

  it('starts on the policy schedule, and stops when the policy turns drift off', async () => {
    // Given a policy that checks drift every second
    h.setPolicy(`${examplePolicyText}\ndetection:\n  drift: { schedule: "* * * * * *" }\n`);
    const scheduler = replica('host-a:1:x');

    // When the scheduler starts
    await scheduler.start();

    // Then runs are made by the schedule
    const done = async () => (await h.ctx.store.listDriftRuns(100)).filter((r) => r.state === 'done');
    for (let i = 0; i < 100 && (await done()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await done())[0]).toMatchObject({ trigger: 'schedule', scheduledFor: expect.any(Date) });

    // When the policy turns drift off and the scheduler follows it
    h.setPolicy(`${examplePolicyText}\ndetection:\n  drift: { enabled: false, schedule: "* * * * * *" }\n`);
    await scheduler.refresh();
    await new Promise((r) => setTimeout(r, 100));
    const before = (await h.ctx.store.listDriftRuns(1000)).length;
    await new Promise((r) => setTimeout(r, 2_500));

    // Then no more runs are made
    expect((await h.ctx.store.listDriftRuns(1000)).length).toBe(before);
  });
});
