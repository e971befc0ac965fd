import { sql } from 'drizzle-orm';
import { seedHistory, type SeededHistory } from '../../bench/seed-history';
import { DrizzleAccessStore } from '../../src/adapters/store/drizzle-access-store';
import type { Database } from '../../src/adapters/store/open-database';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import { isOffHours } from '../../src/domain/policy';
import { storeBackends } from '../support/test-database';

async function rows<T>(database: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await database.db.execute(query)) as unknown as { rows: T[] }).rows;
}

describe.each(storeBackends)('seedHistory on $name', ({ open }) => {
  let database: Database;
  let history: SeededHistory;

  beforeAll(async () => {
    // Given 400 requests seeded over four weeks
    database = await open();
    history = await seedHistory(database, { requests: 400, weeks: 4 });
  });
  afterAll(async () => {
    await database?.close();
  });

  it('writes a chain that verifies, with state tables that agree with it', async () => {
    // When / Then
    const report = await verifyAuditLog(new DrizzleAccessStore(database.db));
    expect(report).toMatchObject({ ok: true, count: history.events, head: history.head });
    expect(report.message).toContain('every request, approval and grant has the event that created it');
  });

  it('reports what it wrote', async () => {
    // When the tables are counted
    const [counts] = await rows<{ requests: string; extensions: string; grants: string; approvals: string; alerts: string }>(
      database,
      sql`SELECT (SELECT count(*) FROM access_requests) AS requests, (SELECT count(*) FROM access_requests WHERE kind = 'extension') AS extensions,
        (SELECT count(*) FROM grants) AS grants, (SELECT count(*) FROM approvals) AS approvals, (SELECT count(*) FROM alerts) AS alerts`,
    );
    // Then they are the figures it reported: 400 access requests plus their extensions
    expect(Object.fromEntries(Object.entries(counts ?? {}).map(([k, v]) => [k, Number(v)]))).toEqual({
      requests: history.requests,
      extensions: history.extensions,
      grants: history.grants,
      approvals: history.approvals,
      alerts: history.alerts,
    });
    expect(history.requests - history.extensions).toBe(400);
    expect(history.events).toBeGreaterThan(7 * 400);
  });

  it('spreads requests over the weeks, office hours and nights, and over the ways a request ends', async () => {
    // When
    const opened = await rows<{ created_at: string | Date; requester: string; role: string; break_glass: boolean }>(database, sql`SELECT created_at, requester, role, break_glass FROM access_requests WHERE kind = 'access'`);
    const times = opened.map((r) => new Date(r.created_at));
    const weeks = new Set(times.map((t) => Math.floor((t.getTime() - history.since.getTime()) / (7 * 86_400_000))));
    const offHours = times.filter((t) => isOffHours(history.policy.policy, t)).length;

    // Then every week has requests, most in office hours and some outside them, from many people
    // and roles, and every way of ending occurs
    expect([...weeks].sort()).toEqual([0, 1, 2, 3]);
    expect(times.every((t) => t >= history.since && t < history.until)).toBe(true);
    expect(offHours).toBeGreaterThan(0);
    expect(offHours).toBeLessThan(opened.length / 4);
    expect(new Set(opened.map((r) => r.requester)).size).toBeGreaterThan(100);
    expect(new Set(opened.map((r) => r.role)).size).toBe(8);
    expect(history.breakGlass).toBeGreaterThan(0);
    expect(history.byState).toMatchObject({ revoked: expect.any(Number), denied: expect.any(Number), cancelled: expect.any(Number), timed_out: expect.any(Number) });
    for (const state of ['revoked', 'denied', 'cancelled', 'timed_out'] as const) expect(history.byState[state]).toBeGreaterThan(0);
  });

  it('plants the patterns it names: fast approvers, a reciprocal pair, maximum durations, a reused ticket', async () => {
    // When
    const approvals = await rows<{ approver: string; requester: string; seconds: number }>(
      database,
      sql`SELECT a.approver, r.requester, extract(epoch FROM a.approved_at - r.created_at)::float AS seconds FROM approvals a JOIN access_requests r ON r.id = a.request_id WHERE NOT r.break_glass`,
    );
    const requests = await rows<{ requester: string; ticket: string; duration_minutes: number; role: string }>(database, sql`SELECT requester, ticket, duration_minutes, role FROM access_requests WHERE kind = 'access'`);
    const { rubberStampers, reciprocal, alwaysMaximum, ticketReuse } = history.planted;

    // Then the fast approvers approve within seconds, the pair approves each other, and so on
    const byStamper = approvals.filter((a) => rubberStampers.includes(a.approver as never));
    expect(byStamper.length).toBeGreaterThan(0);
    expect(Math.max(...byStamper.map((a) => a.seconds))).toBeLessThan(60);
    // NB: both ways round: one direction alone is not reciprocal
    expect(approvals.some((a) => a.approver === reciprocal[0] && a.requester === reciprocal[1])).toBe(true);
    expect(approvals.some((a) => a.approver === reciprocal[1] && a.requester === reciprocal[0])).toBe(true);
    const maxOf = new Map([...history.policy.policy.roles.values()].map((r) => [r.name, r.maxDuration as number]));
    const { rules } = history.policy.policy.detection;
    expect(alwaysMaximum.length).toBeGreaterThan(0);
    for (const person of alwaysMaximum) {
      const theirs = requests.filter((q) => q.requester === person);
      // NB: enough of them for the rule to judge the habit, each at the role's maximum
      expect(theirs.length).toBeGreaterThanOrEqual(rules.maxDuration.of);
      expect(theirs.map((r) => r.duration_minutes)).toEqual(theirs.map((r) => maxOf.get(r.role)));
    }
    expect(ticketReuse.length).toBeGreaterThan(0);
    // NB: each reuser asks with the planted ticket only, and in this small history at least one asks more than once
    const reused = ticketReuse.map(({ person, ticket }) => {
      const theirs = requests.filter((q) => q.requester === person);
      expect(new Set(theirs.map((q) => q.ticket))).toEqual(new Set([ticket]));
      return theirs.length;
    });
    expect(Math.max(...reused)).toBeGreaterThanOrEqual(2);
  });

  it('writes the same history for the same seed', async () => {
    // Given a second database seeded with the same options
    const again = await open();
    try {
      // When / Then: the same chain, to the last hash
      expect((await seedHistory(again, { requests: 400, weeks: 4 })).head).toEqual(history.head);
    } finally {
      await again.close();
    }
  });
});
