import os from 'node:os';
import { DrizzleAccessStore } from '../../src/adapters/store/drizzle-access-store';
import { openDatabase, type Database } from '../../src/adapters/store/open-database';
import type { AppContext } from '../../src/app/app-context';
import { requestAccess } from '../../src/app/request-access';
import { verifyAuditLog } from '../../src/app/verify-audit-log';
import type { IamProvider } from '../../src/ports/iam-provider';
import { RevocationEngine } from '../../src/scheduler/revocation-engine';
import { startRevocations } from '../../src/app/revoke-access';
import type { Notifier } from '../../src/ports/notifier';
import { cliOrigin, createHarness, type Harness } from '../support/app-harness';
import { activeGrant, CountingProvider, dave, insertActiveGrants, value } from '../support/revocation-fixtures';
import { createPostgresDatabase, storeBackends } from '../support/test-database';

const fixedRandom = { next: () => 0.5 };

describe.each(storeBackends)('RevocationEngine on $name', ({ open }) => {
  let database: Database;
  let h: Harness;
  let engine: RevocationEngine | undefined;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await database.close();
  });

  it('catches up on overdue work before start() resolves', async () => {
    // Given, after downtime, an expired grant and a request past its approval deadline
    const granted = await activeGrant(h, 'prod-readonly', '1h');
    const pending = value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-8', reason: 'inspect the billing account' }, cliOrigin));
    h.clock.advance(90);

    // When the engine starts
    engine = new RevocationEngine(h.ctx, { random: fixedRandom });
    const first = await engine.start();

    // Then both were handled before start() returned
    expect(first).toEqual({ timedOut: 1, claimed: 1, revoked: 1, failed: 0, granted: 0, expiryNotices: 0, reviewAlerts: 0 });
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoked');
    expect((await h.ctx.store.findRequest(pending.id))?.state).toBe('timed_out');
    expect(await h.local.memberships()).toEqual([]);
  });

  it('after a crash between the provider call and the database update, completes the revocation once on restart', async () => {
    // Given the state such a crash leaves: the request recorded `revoking`, the provider already done
    const granted = await activeGrant(h, 'prod-readonly', '1h');
    h.clock.advance(61);
    await h.ctx.store.transaction((tx) => startRevocations(h.ctx, tx, [granted.id], undefined, 'expired', { via: 'scheduler' }, h.ctx.policy.current()));
    const [membership] = await h.local.memberships();
    if (!membership) throw new Error('expected a membership');
    await h.local.revoke({ requestId: granted.id, role: membership.role, principal: dave, provider: 'local', target: membership.target, expiresAt: h.clock.now() });

    // When a new process starts its engine
    engine = new RevocationEngine(h.ctx, { owner: 'restarted', random: fixedRandom });
    const first = await engine.start();

    // Then the revocation completes once, saying there was nothing left to remove, and nothing repeats
    expect(first).toMatchObject({ claimed: 1, revoked: 1, failed: 0 });
    expect((await h.ctx.store.findRequest(granted.id))?.state).toBe('revoked');
    const revokedEvents = (await h.ctx.store.readAudit(1, 100)).filter((e) => e.action === 'access_revoked');
    expect(revokedEvents).toHaveLength(1);
    expect(revokedEvents[0]?.data).toMatchObject({ accessRemoved: false, cause: 'expired' });
    expect(await engine.sweepOnce()).toMatchObject({ claimed: 0 });
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
  });

  it('delivers notices to its notifiers after a sweep: the expiring-soon notice once', async () => {
    // Given a notifier that records what it is given, and 1h of access
    const seen: string[] = [];
    const notifier: Notifier = { name: 'recording', deliver: async (notice) => void seen.push(`${notice.event.action}:${notice.request?.state ?? '-'}`) };
    engine = new RevocationEngine(h.ctx, { random: fixedRandom, notifiers: [notifier] });
    await engine.deliverNotices();
    await activeGrant(h, 'prod-readonly', '1h');

    // When the clock reaches 50 minutes and the engine sweeps twice
    h.clock.advance(50);
    expect((await engine.sweepOnce()).expiryNotices).toBe(1);
    expect((await engine.sweepOnce()).expiryNotices).toBe(0);
    await engine.deliverNotices();

    // Then the notifier got the request's events, then one expiring-soon notice
    expect(seen).toEqual(['request_opened:active', 'approval_recorded:active', 'request_approved:active', 'access_granted:active', 'access_expiring_soon:active']);
  });

  it('keeps delivering to every other notifier while one hangs, and does not wait for it for ever on stop', async () => {
    // Given a notifier whose writes never complete (a stalled log pipe), listed before a chat notifier
    let stalled = 0;
    const stuck: Notifier = { name: 'stuck', deliver: () => ((stalled += 1), new Promise<void>(() => undefined)) };
    const seen: string[] = [];
    const chat: Notifier = { name: 'chat', deliver: async (notice) => void seen.push(notice.event.action) };
    engine = new RevocationEngine(h.ctx, { random: fixedRandom, notifiers: [stuck, chat], stopWaitMs: 200 });
    await engine.deliverNotices();

    // When a request is granted and notices are delivered again
    await activeGrant(h, 'prod-readonly', '1h');
    void engine.deliverNotices();

    // Then the chat notifier has every event although the stuck one never finished its first
    for (let i = 0; i < 100 && seen.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'access_granted']);
    expect(stalled).toBe(1);
    // And stop() returns although a delivery is still hanging
    await expect(engine.stop()).resolves.toBeUndefined();
  });

  it('arms its wake-up timer for the nearest future expiry, and disarms it on stop', async () => {
    // Given grants expiring at 12:00 and 11:00 (clock at 10:00)
    await activeGrant(h, 'prod-readonly', '2h');
    const sooner = await activeGrant(h, 'prod-readonly', '1h');

    // When the engine starts with nothing due
    engine = new RevocationEngine(h.ctx, { random: fixedRandom });
    expect(await engine.start()).toEqual({ timedOut: 0, claimed: 0, revoked: 0, failed: 0, granted: 0, expiryNotices: 0, reviewAlerts: 0 });

    // Then it will wake at 11:00, and not after stop()
    expect(engine.wakeUpAt()).toEqual(sooner.grant?.expiresAt);
    await engine.stop();
    expect(engine.wakeUpAt()).toBeUndefined();
  });

  it('sweeps batch after batch until a batch comes back short', async () => {
    // Given five expired grants and batches of two
    const counting = new CountingProvider();
    const ctx: AppContext = { ...h.ctx, iam: new Map<string, IamProvider>([...h.ctx.iam, [counting.kind, counting]]) };
    const ids = await insertActiveGrants(h, 5, counting.kind, h.clock.now());
    engine = new RevocationEngine(ctx, { batchSize: 2, random: fixedRandom });

    // When one sweep runs
    const result = await engine.sweepOnce();

    // Then all five are revoked, in that one sweep
    expect(result).toEqual({ timedOut: 0, claimed: 5, revoked: 5, failed: 0, granted: 0, expiryNotices: 0, reviewAlerts: 0 });
    expect([...counting.revoked].sort()).toEqual([...ids].sort());
    expect(await h.ctx.store.listRequests({ states: ['active', 'revoking'] })).toEqual([]);
  });
});

describe('two RevocationEngines on one PostgreSQL', () => {
  const GRANTS = 2_000;
  let first: Database & { url: string };
  let second: Database;

  beforeAll(async () => {
    first = await createPostgresDatabase();
    second = await openDatabase({ databaseUrl: first.url, dataDir: os.tmpdir(), migrate: false });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it(`revoke ${GRANTS} expired grants exactly once between them`, async () => {
    // Test setup: two processes' worth of app, each with its own store on its own pool, sharing
    // one provider that counts calls
    const h = createHarness(first);
    const counting = new CountingProvider();
    const iam = new Map<string, IamProvider>([...h.ctx.iam, [counting.kind, counting]]);
    const ctxA: AppContext = { ...h.ctx, iam };
    const ctxB: AppContext = { ...h.ctx, iam, store: new DrizzleAccessStore(second.db) };
    const ids = await insertActiveGrants(h, GRANTS, counting.kind, h.clock.now());
    h.clock.advance(1);
    const engineA = new RevocationEngine(ctxA, { owner: 'replica-a', random: fixedRandom });
    const engineB = new RevocationEngine(ctxB, { owner: 'replica-b', random: fixedRandom });

    // Test execution: both sweep at the same time until neither finds anything due
    const drain = async (engine: RevocationEngine) => {
      let claimed = 0;
      for (;;) {
        const result = await engine.sweepOnce();
        expect(result.failed).toBe(0);
        if (result.claimed === 0) return claimed;
        claimed += result.claimed;
      }
    };
    const [claimedA, claimedB] = await Promise.all([drain(engineA), drain(engineB)]);

    // Validating: every grant claimed once, revoked at the provider once, and audited once
    expect(claimedA + claimedB).toBe(GRANTS);
    expect(claimedA).toBeGreaterThan(0);
    expect(claimedB).toBeGreaterThan(0);
    expect(counting.revoked).toHaveLength(GRANTS);
    expect(new Set(counting.revoked).size).toBe(GRANTS);
    const revokedEvents = new Map<string, number>();
    const started = new Map<string, number>();
    for (const event of await h.ctx.store.readAudit(1, 10 * GRANTS)) {
      const tally = event.action === 'access_revoked' ? revokedEvents : event.action === 'revocation_started' ? started : undefined;
      if (tally && event.requestId) tally.set(event.requestId, (tally.get(event.requestId) ?? 0) + 1);
    }
    expect(revokedEvents.size).toBe(GRANTS);
    expect([...revokedEvents.values()].every((n) => n === 1)).toBe(true);
    expect([...started.values()].every((n) => n === 1)).toBe(true);
    expect(ids.every((id) => revokedEvents.get(id) === 1)).toBe(true);
    expect(await h.ctx.store.listRequests({ states: ['active', 'revoking'], limit: GRANTS })).toEqual([]);
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
    // NB: about 30 s on a 2-core machine; the margin is for a busy one.
  }, 120_000);
});
