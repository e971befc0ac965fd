import os from 'node:os';
import { openDatabase, type Database } from '../../src/adapters/store/open-database';
import { raiseAnomalies } from '../../src/app/raise-alert';
import { requestAccess } from '../../src/app/request-access';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import type { Finding } from '../../src/domain/alert';
import { AnomalyDetector } from '../../src/scheduler/anomaly-detector';
import { cliOrigin, createHarness, queryRows, rawSql, type Harness } from '../support/app-harness';
import { activeGrant, dave, value } from '../support/revocation-fixtures';
import { createPostgresDatabase } from '../support/test-database';

describe('two anomaly detectors on one PostgreSQL', () => {
  let primary: Database & { url: string };
  let secondary: Database;
  let a: Harness;
  let b: Harness;

  beforeEach(async () => {
    primary = await createPostgresDatabase();
    secondary = await openDatabase({ databaseUrl: primary.url, dataDir: os.tmpdir(), migrate: false });
    a = createHarness(primary);
    b = createHarness(secondary);
  });
  afterEach(async () => {
    await secondary.close();
    await primary.close();
  });

  /** Every alert key with how many alerts and how many alert_raised events it has. */
  async function counts(): Promise<{ key: string; alerts: number; events: number }[]> {
    return queryRows(
      primary,
      `SELECT k.key, (SELECT count(*)::int FROM alerts WHERE dedupe_key = k.key) AS alerts,
              (SELECT count(*)::int FROM audit_events WHERE action = 'alert_raised' AND data->>'key' = k.key) AS events
       FROM (SELECT dedupe_key AS key FROM alerts UNION SELECT data->>'key' FROM audit_events WHERE action = 'alert_raised') k ORDER BY k.key`,
    );
  }

  it('raise each anomaly once, and post it once, however they race over the same history', async () => {
    // Given a break-glass use and two grants ten minutes past their expiry with nothing revoking them
    const detectorA = new AnomalyDetector(a.ctx, { owner: 'replica-a' });
    const detectorB = new AnomalyDetector(b.ctx, { owner: 'replica-b' });
    await detectorA.passOnce();
    value(await requestAccess(a.ctx, { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-1', reason: 'payouts are stuck again', breakGlass: true }, cliOrigin));
    await activeGrant(a, 'prod-readonly', '1h');
    await activeGrant(a, 'prod-readonly', '1h');
    for (const h of [a, b]) h.clock.set(new Date(a.clock.now().getTime() + 70 * 60_000));

    // When both run passes at the same time, round after round
    for (let round = 0; round < 5; round++) await Promise.all([detectorA.passOnce(), detectorB.passOnce()]);
    // And then both lose their place in the log (a restart that re-reads everything) and race again
    await rawSql(primary, `UPDATE notification_cursors SET last_seq = 0 WHERE notifier = 'anomaly-detector'`);
    for (let round = 0; round < 3; round++) await Promise.all([detectorA.passOnce(), detectorB.passOnce()]);

    // Then every key has exactly one alert and one alert_raised event (so one message in chat)
    const found = await counts();
    expect(found.map((c) => c.key.split(':')[0]).sort()).toEqual(['break_glass', 'first_grant', 'first_grant', 'overdue_grant', 'overdue_grant', 'overdue_grant']);
    expect(found.every((c) => c.alerts === 1 && c.events === 1)).toBe(true);
    expect((await verifyAuditLog(a.ctx.store)).ok).toBe(true);
  });

  it('raise a finding once when both insert its key at the same instant', async () => {
    // Given the same findings in both replicas
    const findings: Finding[] = Array.from({ length: 20 }, (_, i) => ({ rule: 'drift', severity: 'high', key: `drift:postgres:user${i}:prod_readonly`, message: `user${i} holds prod_readonly without a grant.` }));

    // When both raise them at once, five times over
    const raised = await Promise.all(Array.from({ length: 5 }, () => [raiseAnomalies(a.ctx, findings, { via: 'scheduler' }), raiseAnomalies(b.ctx, [...findings].reverse(), { via: 'scheduler' })]).flat());

    // Then each was raised by exactly one of the calls, and stored and audited once
    expect(raised.flat().map((alert) => alert.key).sort()).toEqual(findings.map((f) => f.key).sort());
    const found = await counts();
    expect(found).toHaveLength(20);
    expect(found.every((c) => c.alerts === 1 && c.events === 1)).toBe(true);
    expect((await verifyAuditLog(a.ctx.store)).ok).toBe(true);
  });

  it('run on their schedule until stopped, and stop cleanly mid-pass', async () => {
    // Given a break-glass use and two running detectors passing every second
    value(await requestAccess(a.ctx, { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-2', reason: 'payouts are stuck again', breakGlass: true }, cliOrigin));
    const detectors = [new AnomalyDetector(a.ctx, { owner: 'replica-a', schedule: '* * * * * *' }), new AnomalyDetector(b.ctx, { owner: 'replica-b', schedule: '* * * * * *' })];
    await Promise.all(detectors.map((d) => d.start()));

    // When the alert appears and both are stopped
    for (let i = 0; i < 100 && (await counts()).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all(detectors.map((d) => d.stop()));

    // Then the break-glass and first-grant alerts were raised once each
    const found = await counts();
    expect(found.map((c) => [c.key.split(':')[0], c.alerts, c.events])).toEqual([
      ['break_glass', 1, 1],
      ['first_grant', 1, 1],
    ]);

    // And once stopped, neither passes any more: a second break-glass use stays unnoticed for 1.5 s of 1 s schedules
    value(await requestAccess(a.ctx, { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-3', reason: 'payouts are stuck once more', breakGlass: true }, cliOrigin));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await counts()).map((c) => c.key.split(':')[0])).toEqual(['break_glass', 'first_grant']);
  });
});
