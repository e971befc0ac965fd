import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import { ANOMALY_DETECTOR, detectAnomalies } from '../../src/app/detect-anomalies';
import { raiseAnomalies } from '../../src/app/raise-alert';
import { requestAccess } from '../../src/app/request-access';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import { findAnomalies } from '../../src/domain/anomalies/find-anomalies';
import type { Finding } from '../../src/domain/alert';
import { email, type Email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';
import { chatOrigin, cliOrigin, createHarness, examplePolicyText, queryRows, type Harness } from '../support/app-harness';
import { activeGrant, alice, dave, value } from '../support/revocation-fixtures';
import { storeBackends } from '../support/test-database';
import { completeHistory } from '../domain/anomaly-history';

const frank = email('frank@example.com');
const bob = email('bob@example.com');

describe.each(storeBackends)('the anomaly detection pass on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
    // NB: the harness clock starts on Tuesday 2026-03-03 at 11:00 in Berlin: business hours.
    // A first pass now gives the detector its place (nothing happened yet).
    await detectAnomalies(h.ctx, 'replica-a');
  });
  afterEach(async () => {
    await database.close();
  });

  const ask = async (who: Email, role = 'prod-readonly', extra: { ticket?: string; duration?: string; breakGlass?: boolean } = {}) =>
    value(await requestAccess(h.ctx, { requester: who, role, duration: extra.duration ?? '1h', ticket: extra.ticket ?? 'OPS-7', reason: 'inspect the billing account', breakGlass: extra.breakGlass ?? false }, cliOrigin));
  const alertRows = () => queryRows<{ rule: string; severity: string; key: string; request_id: string | null }>(database, 'SELECT rule, severity, dedupe_key AS key, request_id FROM alerts ORDER BY dedupe_key');
  const raisedEvents = async () => {
    const head = await h.ctx.store.auditHead();
    return (await h.ctx.store.readAudit(1, head?.seq ?? 0)).filter((e) => e.action === 'alert_raised');
  };

  it('raises what is new once, with an audit event each, and nothing on the next pass', async () => {
    // Given dave's first grant of prod-readonly, and a break-glass use of sandbox-admin
    const granted = await activeGrant(h, 'prod-readonly', '1h');
    const glass = await ask(dave, 'sandbox-admin', { breakGlass: true, ticket: 'INC-1', duration: '30m' });

    // When the detector runs, twice
    const first = await detectAnomalies(h.ctx, 'replica-a');
    const second = await detectAnomalies(h.ctx, 'replica-a');

    // Then each anomaly is one alert and one alert_raised event, and the second pass raised nothing
    expect(first.raised.map((a) => a.key).sort()).toEqual([`break_glass:${glass.id}`, `first_grant:${glass.id}`, `first_grant:${granted.id}`].sort());
    expect(second.raised).toEqual([]);
    expect(await alertRows()).toEqual([
      { rule: 'breakGlass', severity: 'high', key: `break_glass:${glass.id}`, request_id: glass.id },
      { rule: 'firstGrant', severity: 'low', key: `first_grant:${granted.id}`, request_id: granted.id },
      { rule: 'firstGrant', severity: 'low', key: `first_grant:${glass.id}`, request_id: glass.id },
    ]);
    const events = await raisedEvents();
    expect(events).toHaveLength(3);
    expect(events.find((e) => e.requestId === glass.id && e.data.rule === 'breakGlass')?.data).toMatchObject({
      rule: 'breakGlass',
      severity: 'high',
      key: `break_glass:${glass.id}`,
      role: 'sandbox-admin',
      requester: 'dave@example.com',
      ticket: 'INC-1',
      message: expect.stringContaining('used break-glass for sandbox-admin'),
      origin: { via: 'scheduler' },
    });
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
  });

  it('catches up, after downtime, on everything since its last pass, in batches, finding windows across them', async () => {
    // Given six requests by dave within an hour while no pass ran (threshold 5), at night
    h.clock.set(new Date('2026-03-07T21:00:00.000Z'));
    const ids: RequestId[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push((await ask(dave, 'prod-readonly', { ticket: `OPS-${100 + i}` })).id);
      h.clock.advance(10);
    }

    // When the detector runs with batches of three events
    const pass = await detectAnomalies(h.ctx, 'replica-a', { batchSize: 3 });

    // Then every event was read (its own alert_raised events too), the spike is one alert, and each
    // night-time request one more
    expect(pass.events).toBeGreaterThanOrEqual(6);
    expect(await h.ctx.store.claimNotificationCursor(ANOMALY_DETECTOR, 'replica-a', h.clock.now(), 1)).toMatchObject({ lastSeq: (await h.ctx.store.auditHead())?.seq });
    const keys = (await alertRows()).map((a) => a.key);
    expect(keys.filter((k) => k.startsWith('request_spike:'))).toEqual(['request_spike:person:dave@example.com:2026-03-07T00:00:00.000Z']);
    expect(keys.filter((k) => k.startsWith('off_hours:'))).toEqual(ids.map((id) => `off_hours:${id}`).sort());
  });

  it('raises nothing twice after a crash between raising and moving on', async () => {
    // Given a break-glass use, and a pass that raised its alert and crashed before saving its place
    const glass = await ask(dave, 'sandbox-admin', { breakGlass: true, ticket: 'INC-2', duration: '30m' });
    const head = (await h.ctx.store.auditHead())?.seq ?? 0;
    const crashed: Finding[] = [{ rule: 'breakGlass', severity: 'high', key: `break_glass:${glass.id}`, message: 'dave used break-glass', requestId: glass.id }];
    expect(await raiseAnomalies(h.ctx, crashed, { via: 'scheduler' })).toHaveLength(1);

    // When the next pass reads the same events again
    const pass = await detectAnomalies(h.ctx, 'replica-a');

    // Then it read them, found the break-glass again, and raised nothing new for it
    expect(pass.events).toBeGreaterThanOrEqual(head - 1);
    expect(pass.findings).toBe(2);
    expect(pass.raised.map((a) => a.key)).toEqual([`first_grant:${glass.id}`]);
    expect((await raisedEvents()).filter((e) => e.data.key === `break_glass:${glass.id}`)).toHaveLength(1);
  });

  it('looks back one day on its very first pass, not over the whole history', async () => {
    // Given a new database where break-glass was used two days ago and an hour ago, before any pass
    const fresh = await open();
    try {
      const other = createHarness(fresh);
      other.clock.set(new Date('2026-03-01T10:00:00.000Z'));
      const old = value(await requestAccess(other.ctx, { requester: dave, role: 'sandbox-admin', duration: '30m', ticket: 'INC-3', reason: 'inspect the billing account', breakGlass: true }, cliOrigin));
      other.clock.set(new Date('2026-03-03T09:00:00.000Z'));
      const recent = value(await requestAccess(other.ctx, { requester: frank, role: 'sandbox-admin', duration: '30m', ticket: 'INC-4', reason: 'inspect the billing account', breakGlass: true }, cliOrigin));
      other.clock.set(new Date('2026-03-03T10:00:00.000Z'));

      // When the detector runs for the first time
      const pass = await detectAnomalies(other.ctx, 'replica-a');

      // Then only the recent one is alerted
      const breakGlass = pass.raised.filter((a) => a.rule === 'breakGlass').map((a) => a.requestId);
      expect(breakGlass).toEqual([recent.id]);
      expect(breakGlass).not.toContain(old.id);
    } finally {
      await fresh.close();
    }
  });

  it('takes thresholds from the policy in force, and raises nothing for rules it turns off', async () => {
    // Given a policy with a lower spike threshold and first grants turned off
    h.setPolicy(`${examplePolicyText}\ndetection:\n  rules:\n    requestSpike: { perPerson: 2, severity: high }\n    firstGrant: { enabled: false }\n`);
    await activeGrant(h, 'prod-readonly', '1h');
    await ask(dave);

    // When the detector runs
    const pass = await detectAnomalies(h.ctx, 'replica-a');

    // Then the spike is raised at high severity, and no first grant
    expect(pass.raised.map((a) => [a.rule, a.severity])).toEqual([['requestSpike', 'high']]);
  });

  it('finds rubber stamps and reciprocal approvals from the decisions recorded', async () => {
    // Given alice approving bob's request, then bob approving alice's, within minutes
    h.setPolicy(`${examplePolicyText}\ndetection:\n  rules:\n    rubberStamp: { minDecisions: 2, share: 0.9, withinSeconds: 60 }\n`);
    const bobs = await ask(bob);
    h.clock.advance(0.5);
    value(await approveRequest(h.ctx, bobs.id, alice, chatOrigin));
    const alices = await ask(alice);
    h.clock.advance(0.5);
    value(await approveRequest(h.ctx, alices.id, bob, chatOrigin));
    const daves = await ask(dave);
    h.clock.advance(0.5);
    value(await approveRequest(h.ctx, daves.id, alice, chatOrigin));

    // When the detector runs
    const pass = await detectAnomalies(h.ctx, 'replica-a');

    // Then the pair is one reciprocal alert, and alice (two approvals within 30 s) a rubber stamp
    const keys = pass.raised.map((a) => a.key).filter((k) => !k.startsWith('first_grant:'));
    expect(keys.filter((k) => k.startsWith('reciprocal:'))).toEqual([expect.stringMatching(/^reciprocal:alice@example\.com:bob@example\.com:/)]);
    expect(keys.filter((k) => k.startsWith('rubber_stamp:'))).toEqual([expect.stringMatching(/^rubber_stamp:alice@example\.com:/)]);
  });

  it('alerts once about a grant still live past its expiry while nothing revokes it', async () => {
    // Given an hour of access and no revocation scheduler, 10 minutes after it expired
    const granted = await activeGrant(h, 'prod-readonly', '1h');
    h.clock.advance(70);

    // When the detector runs twice
    await detectAnomalies(h.ctx, 'replica-a');
    await detectAnomalies(h.ctx, 'replica-a');

    // Then there is one overdue alert
    expect((await alertRows()).filter((a) => a.rule === 'overdueGrant')).toEqual([{ rule: 'overdueGrant', severity: 'high', key: `overdue_grant:${granted.id}`, request_id: granted.id }]);
  });

  it('leaves the events to the replica that holds its place in the log', async () => {
    // Given another replica holding the detector's place
    await ask(dave, 'sandbox-admin', { breakGlass: true, ticket: 'INC-5', duration: '30m' });
    expect(await h.ctx.store.claimNotificationCursor(ANOMALY_DETECTOR, 'replica-b', h.clock.now(), 60_000)).toBeDefined();

    // When this replica runs a pass
    const pass = await detectAnomalies(h.ctx, 'replica-a');

    // Then it read no events (the state rules still ran)
    expect(pass).toMatchObject({ events: 0, raised: [] });
  });

  it('finds what the pure rules find over the same history (the loader misses nothing the windows need)', async () => {
    // Given a busy hour: spikes, a reused ticket, maximum durations, decisions
    h.setPolicy(`${examplePolicyText}\ndetection:\n  rules:\n    requestSpike: { perPerson: 3, perRole: 4 }\n    maxDuration: { of: 2, lastRequests: 3 }\n`);
    for (const [who, ticket, duration] of [
      [dave, 'OPS-1', '8h'],
      [frank, 'OPS-1', '1h'],
      [dave, 'OPS-2', '8h'],
      [dave, 'OPS-3', '1h'],
      [frank, 'OPS-4', '8h'],
    ] as const) {
      const opened = await ask(who, 'prod-readonly', { ticket, duration });
      h.clock.advance(1);
      value(await approveRequest(h.ctx, opened.id, alice, chatOrigin));
      h.clock.advance(5);
    }

    // When the detector runs in small batches
    const pass = await detectAnomalies(h.ctx, 'replica-a', { batchSize: 4 });

    // Then it raised exactly what the rules find over the complete history
    const complete = completeHistory(await h.ctx.store.listRequests({ limit: 100 }));
    const expected = findAnomalies(complete, h.ctx.policy.current().policy.detection.rules, { now: h.clock.now(), policy: h.ctx.policy.current().policy, revocationAlertAfter: 3 });
    expect(pass.raised.map((a) => a.key).sort()).toEqual(expected.map((f) => f.key).sort());
    expect(expected.map((f) => f.rule)).toEqual(expect.arrayContaining(['requestSpike', 'ticketReuse', 'maxDuration', 'firstGrant']));
  });
});
