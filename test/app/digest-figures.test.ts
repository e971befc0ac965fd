import type { Database } from '../../src/adapters/store/open-database';
import { bucketDaysFor } from '../../src/domain/digest';
import { createHarness, examplePolicyText, queryRows, rawSql, type Harness } from '../support/app-harness';
import { flakyRole, seedDigestHistory, seededAsOf, seededWeek, type SeededHistory } from '../support/digest-history';
import { storeBackends } from '../support/test-database';

const HOUR = 3_600_000;
const MINUTE = 60_000;

describe.each(storeBackends)('the digest figures on $name', ({ open }) => {
  let database: Database;
  let h: Harness;
  let seeded: SeededHistory;

  beforeAll(async () => {
    // Given a week of history made through the use cases, with answers worked out by hand
    database = await open();
    h = createHarness(database, examplePolicyText + flakyRole);
    seeded = await seedDigestHistory(h);
  });
  afterAll(async () => {
    await database.close();
  });

  it('counts requests, decisions, grants, access-hours, approval times, alerts, failures and the head of the week', async () => {
    // When the week's figures are read an hour after it ended
    const f = await h.ctx.store.digestFigures(seededWeek, seededAsOf, bucketDaysFor(seededWeek));

    // Then: 8 access requests opened in the week (B C D F G H J E; A before it, K after), D break-glass, one extension
    expect(f.requests).toEqual({ opened: 8, breakGlass: 1, extensions: 1, approved: 5, denied: 1, cancelled: 1, timedOut: 1, approvalsGiven: 7 });
    // Grants made in the week: B C D J E; hours held inside it: A 2h10m (from midnight), B 3h, C 30m, D 3h, J 1h05m, E 3h30m (to the end)
    expect(f.grants.count).toBe(5);
    expect(f.grants.accessHours).toBeCloseTo(13.25, 6);
    expect(f.grants.byRole.map((r) => [r.name, r.grants, round(r.hours)])).toEqual([
      ['prod-readonly', 2, 6.5],
      ['sandbox-admin', 2, round(2 + 10 / 60 + 0.5 + 3)],
      ['flaky-admin', 1, round(1 + 5 / 60)],
    ]);
    expect(f.grants.byPerson.map((p) => [p.name, p.grants, round(p.hours)])).toEqual([
      ['dave@example.com', 3, round(2 + 10 / 60 + 0.5 + 1 + 5 / 60 + 3.5)],
      ['erin@example.com', 1, 3],
      ['frank@example.com', 1, 3],
    ]);
    // Time to approve: B 4m, extension 2m, C 10m, J 5m, E 30m: median 5m; p95 interpolated between 10m and 30m at 0.8
    expect(f.timeToApprove).toEqual({ count: 5, medianMs: 5 * MINUTE, p95Ms: 26 * MINUTE });
    // The longest grants, whole length: E 4h30m and still live, A 4h (granted before the week), then B and D 3h (by id)
    const [b, d] = [seeded.b.id, seeded.d.id].sort();
    expect(f.longestGrants.map((g) => [g.requestId, round(g.hours), g.live])).toEqual([
      [seeded.e.id, 4.5, true],
      [seeded.a.id, 4, false],
      [b, 3, false],
      [d, 3, false],
      [seeded.j.id, round(1 + 5 / 60), false],
    ]);
    expect(f.longestGrants[0]).toMatchObject({ requester: 'dave@example.com', role: 'prod-readonly', grantedAt: new Date('2026-03-08T20:30:00.000Z') });
    // Alerts: D unreviewed, J's revocation failing, both still open
    expect(f.alerts).toEqual({
      raised: 2,
      byKind: [
        { kind: 'breakGlassUnreviewed', count: 1 },
        { kind: 'revocationFailing', count: 1 },
      ],
      acknowledged: 0,
      openNow: 2,
    });
    expect(f.revocationFailures).toEqual({ attempts: 3, grants: 1 });
    // Grants per day from Monday: B; C and D; nothing Wednesday to Friday; J; E
    expect(f.grantsPerDay).toEqual({ bucketDays: 1, counts: [1, 2, 0, 0, 0, 1, 1] });
    // The head at the end of the week is E's grant, the last event before Monday 00:00
    const events = await h.ctx.store.readAudit(1, 1000);
    const granted = events.find((e) => e.action === 'access_granted' && e.requestId === seeded.e.id);
    expect(f.head).toEqual({ seq: granted?.seq, hash: granted?.hash });
    expect(events.filter((e) => e.seq > (granted?.seq ?? 0)).every((e) => e.occurredAt >= seededWeek.until)).toBe(true);
  });

  it('counts nothing in a week with no history, and has no head before the first event', async () => {
    const empty = { since: new Date('2026-02-16T00:00:00.000Z'), until: new Date('2026-02-23T00:00:00.000Z') };
    const f = await h.ctx.store.digestFigures(empty, seededAsOf, 1);
    expect(f.requests).toEqual({ opened: 0, breakGlass: 0, extensions: 0, approved: 0, denied: 0, cancelled: 0, timedOut: 0, approvalsGiven: 0 });
    expect(f.grants).toEqual({ count: 0, accessHours: 0, byRole: [], byPerson: [] });
    expect(f.timeToApprove).toBeUndefined();
    expect(f.longestGrants).toEqual([]);
    expect(f.grantsPerDay.counts).toEqual([0, 0, 0, 0, 0, 0, 0]);
    // Nothing had happened yet before that week: there is no head
    expect(f.head).toBeUndefined();
  });

  it('names the head from before a quiet week: the last event of the log before its end', async () => {
    const quiet = { since: new Date('2026-03-16T00:00:00.000Z'), until: new Date('2026-03-23T00:00:00.000Z') };
    const f = await h.ctx.store.digestFigures(quiet, quiet.until, 1);
    expect(f.requests.opened).toBe(0);
    expect(f.head).toEqual(await h.ctx.store.auditHead());
    // E is still live (never revoked in this history): a whole week of access held
    expect(f.grants).toMatchObject({ count: 0, accessHours: 7 * 24 });
  });

  it('counts a live grant only up to when the figures are read', async () => {
    // When the week is read at 21:00 on Sunday, half an hour into E (20:30 to 21:00, not to midnight)
    const f = await h.ctx.store.digestFigures(seededWeek, new Date('2026-03-08T21:00:00.000Z'), 1);
    expect(f.grants.accessHours).toBeCloseTo(13.25 - 3, 6);
    expect(f.grants.byRole.find((r) => r.name === 'prod-readonly')?.hours).toBeCloseTo(3.5, 6);
  });

  it('counts acknowledged and open alerts', async () => {
    // Given the unreviewed break-glass alert acknowledged
    await rawSql(database, "UPDATE alerts SET acknowledged_at = now(), acknowledged_by = 'erin@example.com' WHERE rule = 'breakGlassUnreviewed'");
    // When
    const f = await h.ctx.store.digestFigures(seededWeek, seededAsOf, 1);
    // Then one of the week's two is acknowledged, and the other is open
    expect(f.alerts).toMatchObject({ raised: 2, acknowledged: 1, openNow: 1 });
    expect(await queryRows<{ n: unknown }>(database, 'SELECT count(*) AS n FROM alerts WHERE acknowledged_at IS NULL').then((rows) => Number(rows[0]?.n))).toBe(1);
  });

  it('reads the figures in buckets of several days for a long window', async () => {
    const quarter = { since: new Date('2026-01-01T00:00:00.000Z'), until: new Date('2026-04-01T00:00:00.000Z') };
    expect(bucketDaysFor(quarter)).toBe(2);
    const f = await h.ctx.store.digestFigures(quarter, seededAsOf, 2);
    expect(f.grantsPerDay.counts).toHaveLength(45);
    expect(f.grantsPerDay.counts.reduce((a, b) => a + b, 0)).toBe(6);
    // 1 March 22:10 (A) is day 59: bucket 29; 2 and 3 March (B, C and D): bucket 30; 7 March (J): 32; 8 March (E): 33
    expect(f.grantsPerDay.counts.slice(29, 35)).toEqual([1, 3, 0, 1, 1, 0]);
  });
});

function round(hours: number): number {
  return Math.round(hours * 1000) / 1000;
}
