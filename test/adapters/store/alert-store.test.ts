import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { DrizzleAccessStore } from '../../../src/adapters/store/drizzle-access-store';
import { migrate, MIGRATIONS_FOLDER, openDatabase, type Database } from '../../../src/adapters/store/open-database';
import type { AccessRequest } from '../../../src/domain/access-request';
import type { Finding } from '../../../src/domain/alert';
import type { Minutes } from '../../../src/domain/duration';
import { email } from '../../../src/domain/email';
import { requestIdFromBytes, type RequestId } from '../../../src/domain/request-id';
import { queryRows, rawSql } from '../../support/app-harness';
import { storeBackends } from '../../support/test-database';

const dave = email('dave@example.com');
const frank = email('frank@example.com');
const alice = email('alice@example.com');
const T0 = new Date('2026-03-03T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

function aRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: requestIdFromBytes(randomBytes(5)),
    kind: 'access',
    requester: dave,
    role: 'sandbox-admin',
    resource: { provider: 'local', target: { environment: 'sandbox' } },
    duration: 60 as Minutes,
    ticket: 'OPS-1',
    reason: 'rotate the signing keys',
    breakGlass: false,
    state: 'pending',
    approvalsRequired: 1,
    approvals: [],
    createdAt: T0,
    decisionDeadline: at(30),
    policySha: 'a'.repeat(64),
    version: 0,
    ...overrides,
  };
}

const finding = (key: string, over: Partial<Finding> = {}): Finding => ({ rule: 'firstGrant', severity: 'low', key, message: `found ${key}`, ...over });

describe.each(storeBackends)('alerts in the store on $name', ({ open }) => {
  let database: Database;
  let store: DrizzleAccessStore;

  beforeEach(async () => {
    database = await open();
    store = new DrizzleAccessStore(database.db);
  });
  afterEach(async () => {
    await database.close();
  });

  const insert = (...requests: AccessRequest[]) => store.transaction(async (tx) => Promise.all(requests.map((r) => tx.insertRequest(r))));

  describe('raising and acknowledging', () => {
    it('stores a finding once per key: a second raise of the same key writes nothing', async () => {
      // Given a finding about a request and one about a person
      const request = aRequest();
      const first = await store.transaction((tx) => tx.raiseAlert(finding(`first_grant:${request.id}`, { requestId: request.id }), at(1)));
      const spike = await store.transaction((tx) => tx.raiseAlert(finding('request_spike:person:dave@example.com:2026-03-03T00:00:00.000Z', { rule: 'requestSpike', severity: 'medium' }), at(2)));

      // When the first is raised again
      const again = await store.transaction((tx) => tx.raiseAlert(finding(`first_grant:${request.id}`, { requestId: request.id, message: 'other words' }), at(3)));

      // Then the repeat inserted nothing, and both alerts read back as raised
      expect(again).toBeUndefined();
      expect(first).toEqual({ id: expect.any(Number), rule: 'firstGrant', severity: 'low', key: `first_grant:${request.id}`, message: `found first_grant:${request.id}`, requestId: request.id, raisedAt: at(1) });
      expect(spike).toMatchObject({ rule: 'requestSpike', severity: 'medium' });
      expect(spike).not.toHaveProperty('requestId');
      expect(await store.listAlerts({})).toEqual([spike, first]);
      expect([...(await store.raisedAlertKeys([`first_grant:${request.id}`, 'first_grant:NOPE']))]).toEqual([`first_grant:${request.id}`]);
    });

    it('records who acknowledged, when and from where, and lists only open alerts with --open', async () => {
      // Given two alerts
      const [a, b] = await store.transaction(async (tx) => [await tx.raiseAlert(finding('first_grant:A'), at(1)), await tx.raiseAlert(finding('first_grant:B'), at(2))]);
      if (!a || !b) throw new Error('both raised');

      // When the first is acknowledged from the CLI
      const acked = await store.transaction(async (tx) => {
        expect(await tx.lockAlert(a.id)).toEqual(a);
        return tx.acknowledgeAlert(a.id, email('erin@example.com'), at(5), { via: 'cli', osUser: 'erin', osUserFrom: 'process' });
      });

      // Then it reads back acknowledged, and the open list holds only the other one
      expect(acked.acknowledged).toEqual({ by: 'erin@example.com', at: at(5), via: 'cli', osUser: 'erin' });
      expect(await store.findAlert(a.id)).toEqual(acked);
      expect(await store.listAlerts({ open: true })).toEqual([b]);
      expect(await store.findAlert(999_999)).toBeUndefined();
    });

    it('refuses half an acknowledgement (who without when) at the database', async () => {
      const raised = await store.transaction((tx) => tx.raiseAlert(finding('first_grant:C'), at(1)));
      await expect(rawSql(database, `UPDATE alerts SET acknowledged_by = 'erin@example.com' WHERE id = ${raised?.id ?? 0}`)).rejects.toThrow(/alerts_acknowledged_whole/);
    });

    it('remembers where each platform posted an alert, the first record winning', async () => {
      const raised = await store.transaction((tx) => tx.raiseAlert(finding('first_grant:D'), at(1)));
      const id = raised?.id ?? 0;
      await store.recordAlertMessage('slack', id, { channel: 'C0SECURITY', messageId: '1.1' }, at(1));
      await store.recordAlertMessage('slack', id, { channel: 'C0SECURITY', messageId: '2.2' }, at(2));
      expect(await store.alertMessage('slack', id)).toEqual({ channel: 'C0SECURITY', messageId: '1.1' });
      expect(await store.alertMessage('teams', id)).toBeUndefined();
    });
  });

  describe('the anomaly rules’ history', () => {
    it('finds access requests opened in a window by person, role or ticket (without case), leaving out extensions', async () => {
      // Given requests by dave and frank, for two roles, with two tickets, at different times
      const before = aRequest({ createdAt: at(-61) });
      const daves = aRequest({ createdAt: at(-10) });
      const franksSameTicket = aRequest({ createdAt: at(-5), requester: frank, role: 'prod-readonly', ticket: 'ops-1' });
      const franksOther = aRequest({ createdAt: at(-4), requester: frank, role: 'prod-readonly', ticket: 'INC-9' });
      const extension = aRequest({ createdAt: at(-3), kind: 'extension', parentId: daves.id });
      const after = aRequest({ createdAt: at(1) });
      await insert(before, daves, franksSameTicket, franksOther, extension, after);

      // When the last hour is read by person, by role, and by ticket
      const ids = (list: readonly { id: RequestId }[]) => list.map((r) => r.id);
      expect(ids(await store.accessRequestsOpened({ requesters: [dave] }, at(-60), at(0)))).toEqual([daves.id]);
      expect(ids(await store.accessRequestsOpened({ roles: ['prod-readonly'] }, at(-60), at(0)))).toEqual([franksSameTicket.id, franksOther.id]);
      expect(ids(await store.accessRequestsOpened({ tickets: ['OPS-1'] }, at(-60), at(0)))).toEqual([daves.id, franksSameTicket.id]);
      expect(ids(await store.accessRequestsOpened({ requesters: [dave], tickets: ['inc-9'] }, at(-60), at(1)))).toEqual([daves.id, franksOther.id, after.id]);
      expect(await store.accessRequestsOpened({}, at(-60), at(0))).toEqual([]);
    });

    it("reads each person's last requests before an instant", async () => {
      const mine = [0, 1, 2, 3].map((i) => aRequest({ createdAt: at(i) }));
      const franks = aRequest({ createdAt: at(2), requester: frank });
      await insert(...mine, franks);
      const found = await store.accessRequestsBefore(
        [
          { person: dave, before: at(3) },
          { person: frank, before: at(10) },
        ],
        2,
      );
      expect(found.map((r) => r.id).sort()).toEqual([mine[1]?.id, mine[2]?.id, franks.id].sort());
    });

    it('finds the approvals and denials people made in a window, with the facts of each request', async () => {
      const approved = aRequest({ createdAt: at(-30), approvals: [{ approver: alice, at: at(-29) }, { approver: email('bob@example.com'), at: at(-28) }] });
      const denied = aRequest({ createdAt: at(-20), state: 'denied', denial: { by: alice, at: at(-19), reason: 'no ticket' } });
      const old = aRequest({ createdAt: at(-300), approvals: [{ approver: alice, at: at(-299) }] });
      const others = aRequest({ createdAt: at(-10), approvals: [{ approver: email('bob@example.com'), at: at(-9) }] });
      await insert(approved, denied, old, others);
      const found = await store.decisionsBy([alice], at(-60), at(0));
      expect(found).toEqual([
        { by: alice, at: at(-29), approved: true, request: { id: approved.id, kind: 'access', requester: dave, role: 'sandbox-admin', ticket: 'OPS-1', duration: 60, createdAt: at(-30) } },
        { by: alice, at: at(-19), approved: false, request: expect.objectContaining({ id: denied.id, createdAt: at(-20) }) },
      ]);
      expect((await store.decisionsBy([alice, email('bob@example.com')], at(-60), at(0))).map((d) => [d.by, d.request.id])).toEqual([
        [alice, approved.id],
        ['bob@example.com', approved.id],
        [alice, denied.id],
        ['bob@example.com', others.id],
      ]);
    });

    it("names each person's first grant of a role", async () => {
      const grant = (minutes: number, over: Partial<AccessRequest> = {}) => {
        const createdAt = at(minutes);
        return aRequest({ createdAt, state: 'active', grant: { grantedAt: createdAt, expiresAt: at(minutes + 60) }, ...over });
      };
      const firstEver = grant(-500);
      const later = grant(-10);
      const otherRole = grant(-5, { role: 'prod-readonly' });
      await insert(later, firstEver, otherRole);
      const found = await store.firstGrantsOf([
        { person: dave, role: 'sandbox-admin' },
        { person: dave, role: 'prod-readonly' },
        { person: frank, role: 'sandbox-admin' },
      ]);
      expect(found.sort((a, b) => a.role.localeCompare(b.role))).toEqual([
        { person: dave, role: 'prod-readonly', requestId: otherRole.id },
        { person: dave, role: 'sandbox-admin', requestId: firstEver.id },
      ]);
    });

    it('lists live grants that are overdue or whose revocation failed, with the attempts and last error', async () => {
      const live = (expiresIn: number, over: Partial<AccessRequest> = {}) => aRequest({ createdAt: at(-120), state: 'active', grant: { grantedAt: at(-120), expiresAt: at(expiresIn) }, ...over });
      const overdue = live(-30);
      const current = live(30);
      const failing = live(30, { state: 'revoking' });
      const done = live(-60, { state: 'revoked' });
      await insert(overdue, current, failing, done);
      await store.recordRevocationFailure(failing.id, 'someone', 'connection reset', at(1));
      const found = await store.liveGrantsNeedingAttention(at(-5));
      expect(found.map((g) => [g.request.id, g.revokeAttempts, g.lastError ?? null])).toEqual([
        [overdue.id, 0, null],
        [failing.id, 1, 'connection reset'],
      ]);
    });

    it('starts a reader of the log just before the first event since an instant, once', async () => {
      await store.transaction(async (tx) => {
        await tx.appendAudit([{ action: 'policy_activated', actor: 'system', data: {} }], at(-120));
        await tx.appendAudit([{ action: 'policy_activated', actor: 'system', data: {} }], at(-30));
        await tx.appendAudit([{ action: 'policy_activated', actor: 'system', data: {} }], at(-10));
      });
      const head = (await store.auditHead())?.seq ?? 0;
      await store.startNotificationCursor('anomaly-detector', at(-60));
      await store.startNotificationCursor('late-reader', at(60));
      await store.startNotificationCursor('anomaly-detector', at(-5));
      expect(await store.claimNotificationCursor('anomaly-detector', 'me', at(0), 60_000)).toMatchObject({ lastSeq: head - 2 });
      expect(await store.claimNotificationCursor('late-reader', 'me', at(0), 60_000)).toMatchObject({ lastSeq: head });
    });
  });
});

describe('the alerts migration', () => {
  it('gives alerts raised before rules existed their rule, severity and key, so they are not raised again', async () => {
    // Given an embedded database migrated up to the migration before alerts had rules, with old alerts
    const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag.endsWith('_anomaly_alerts'));
    const older = fs.mkdtempSync(path.join(os.tmpdir(), 'prod-access-migrations-'));
    try {
      fs.mkdirSync(path.join(older, 'meta'));
      fs.writeFileSync(path.join(older, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
      for (const entry of journal.entries.slice(0, at)) fs.copyFileSync(path.join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), path.join(older, `${entry.tag}.sql`));
      const client = new PGlite();
      await migratePglite(drizzle({ client }), { migrationsFolder: older });
      await client.exec(`INSERT INTO alerts (kind, request_id, raised_at, message) VALUES
        ('revocation_failing', 'AAAAAAAA', now(), 'revoking failed'), ('grant_failed', 'BBBBBBBB', now(), 'grant failed'), ('break_glass_unreviewed', 'CCCCCCCC', now(), 'unreviewed')`);

      // When the database is opened (which applies the rest)
      const database = await openDatabase({ pglite: client });
      try {
        await migrate(database);
        // Then each old alert has the rule, severity and key the code gives it now
        expect(await queryRows(database, 'SELECT rule, severity, dedupe_key FROM alerts ORDER BY id')).toEqual([
          { rule: 'revocationFailing', severity: 'high', dedupe_key: 'revocation_failing:AAAAAAAA' },
          { rule: 'grantFailed', severity: 'high', dedupe_key: 'grant_failed:BBBBBBBB' },
          { rule: 'breakGlassUnreviewed', severity: 'high', dedupe_key: 'break_glass_unreviewed:CCCCCCCC' },
        ]);
        // And raising the same revocation alert again is a repeat
        const store = new DrizzleAccessStore(database.db);
        expect(await store.transaction((tx) => tx.raiseAlert({ rule: 'revocationFailing', severity: 'high', key: 'revocation_failing:AAAAAAAA', message: 'again', requestId: 'AAAAAAAA' as RequestId }, new Date()))).toBeUndefined();
      } finally {
        await database.close();
      }
    } finally {
      fs.rmSync(older, { recursive: true, force: true });
    }
  });
});
