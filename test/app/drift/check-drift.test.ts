import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresIamProvider } from '../../../src/adapters/iam/postgres/postgres-iam-provider';
import type { Database } from '../../../src/adapters/store/open-database';
import { approveRequest } from '../../../src/app/approve-request';
import { approveDriftRun } from '../../../src/app/drift/approve-drift-run';
import { checkDrift, type DriftCheckResult } from '../../../src/app/drift/check-drift';
import type { Origin } from '../../../src/app/origin';
import { requestAccess } from '../../../src/app/request-access';
import { personOfPrincipal } from '../../../src/domain/drift';
import type { DriftRun } from '../../../src/domain/drift-run';
import { email, type Email } from '../../../src/domain/email';
import { principalFor } from '../../../src/domain/policy';
import { cliOrigin, createHarness, queryRows, rawSql, type Harness } from '../../support/app-harness';
import { postgresRolePolicy } from '../../support/postgres-role-policy';
import { value } from '../../support/revocation-fixtures';
import { storeBackends, TEST_DATABASE_ADMIN_URL } from '../../support/test-database';

// NB: roles are cluster-wide and other test files share the server, so every name carries this run's hex.
const hex = randomBytes(5).toString('hex');
const prefix = `pa_d_${hex}_`;
const dbRole = `${prefix}ro`;
const logins = { dave: `${prefix}dave`, frank: `${prefix}frank`, grace: `${prefix}grace` };
const groupRole = `${prefix}ops`;

const dave = email('dave@example.com');
const frank = email('frank@example.com');
const alice = email('alice@example.com');
const erin = email('erin@example.com');
const scheduler: Origin = { via: 'scheduler' };

function policyText(drift = '', cliOperator = cliOrigin.osUser): string {
  const people = { 'dave@example.com': logins.dave, 'frank@example.com': logins.frank, 'grace@example.com': logins.grace };
  return postgresRolePolicy(dbRole, people) + (drift ? `detection:\n  cliOperators: [${cliOperator}]\n  drift: ${drift}\n` : '');
}

let admin: pg.Client;

async function members(): Promise<string[]> {
  const rows = await admin.query<{ member: string }>(
    `SELECT u.rolname AS member FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 ORDER BY 1`,
    [dbRole],
  );
  return rows.rows.map((r) => r.member);
}

/** Behind the bot's back: what a DBA does by hand. */
async function grantByHand(member: string): Promise<void> {
  await admin.query(`GRANT ${pg.escapeIdentifier(dbRole)} TO ${pg.escapeIdentifier(member)}`);
}
async function revokeByHand(member: string): Promise<void> {
  await admin.query(`REVOKE ${pg.escapeIdentifier(dbRole)} FROM ${pg.escapeIdentifier(member)}`);
}

function checked(result: DriftCheckResult): DriftRun {
  if (result.status !== 'checked') throw new Error(`expected a drift run, got ${result.status}`);
  return result.run;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  const id = pg.escapeIdentifier;
  await admin.query(`CREATE ROLE ${id(dbRole)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${id(groupRole)} NOLOGIN`);
  for (const login of Object.values(logins)) await admin.query(`CREATE ROLE ${id(login)} LOGIN`);
});

afterAll(async () => {
  if (admin === undefined) return;
  try {
    for (const role of [...Object.values(logins), groupRole, dbRole]) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  } finally {
    await admin.end();
  }
});

describe.each(storeBackends)('drift reconciliation on a real PostgreSQL role, store on $name', ({ open }) => {
  let database: Database;
  let provider: PostgresIamProvider;
  let h: Harness;

  function useDriftSettings(drift: string): void {
    h.setPolicy(policyText(drift));
  }

  async function grantThroughTheBot(requester: Email): Promise<string> {
    const opened = value(await requestAccess(h.ctx, { requester, role: 'pg-readonly', duration: '1h', ticket: 'OPS-9', reason: 'check the payout ledger' }, cliOrigin));
    const granted = value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
    expect(granted.state).toBe('active');
    return granted.id;
  }

  async function events(action: string) {
    const head = await h.ctx.store.auditHead();
    return (await h.ctx.store.readAudit(1, head?.seq ?? 0)).filter((e) => e.action === action);
  }

  beforeEach(async () => {
    // Test setup: nobody holds the role, a fresh store, the provider wired as openApp wires it.
    for (const member of await members()) await revokeByHand(member);
    database = await open();
    provider = new PostgresIamProvider({
      env: { PA_TEST_ADMIN_URL: TEST_DATABASE_ADMIN_URL },
      resolveLogin: (who) => principalFor(h.ctx.policy.current().policy, who, 'postgres'),
      resolvePerson: (login) => personOfPrincipal(h.ctx.policy.current().policy.identities, 'postgres', login),
      connectTimeoutMs: 5_000,
    });
    h = createHarness(database, policyText(), [provider]);
  });

  afterEach(async () => {
    await provider.close();
    await database.close();
  });

  it('finds a role granted behind the bot\'s back, alerts security once, and revokes nothing while revoke is off', async () => {
    // Given dave's grant made by the bot, and frank's login made a member by hand
    const daveRequest = await grantThroughTheBot(dave);
    await grantByHand(logins.frank);

    // When drift is checked
    const run = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));

    // Then frank's membership is the one finding, attributed to him, and is still there
    expect(run).toMatchObject({ state: 'done', listed: 2, unexpected: 1, missing: 0, revoked: 0, held: false, providers: { postgres: { listed: 2 } } });
    expect(run.findings).toEqual([
      expect.objectContaining({ kind: 'unexpected', provider: 'postgres', role: 'pg-readonly', principal: logins.frank, person: frank, new: true, outcome: 'alert_only' }),
    ]);
    expect(await members()).toEqual([logins.dave, logins.frank].sort());
    expect((await h.ctx.store.findRequest(daveRequest as never))?.state).toBe('active');
    // And security was alerted, with the rule's severity
    const alerts = await events('alert_raised');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.data).toMatchObject({ rule: 'drift', severity: 'high', key: expect.stringMatching(/^drift:/) });
    expect(String(alerts[0]?.data.message)).toContain(`pg-readonly for ${logins.frank} (frank@example.com) at postgres`);
    expect(String(alerts[0]?.data.message)).toContain('It was not revoked (detection.drift.revoke is off)');
    expect(await events('drift_checked')).toHaveLength(1);

    // When drift is checked again and nothing changed
    const again = checked(await checkDrift(h.ctx, { trigger: 'schedule', scheduledFor: new Date('2026-03-03T10:15:00Z'), origin: scheduler }));

    // Then the finding stands, but is not news: no second alert
    expect(again.findings).toEqual([expect.objectContaining({ principal: logins.frank, new: false })]);
    expect(await events('alert_raised')).toHaveLength(1);
    expect(await queryRows(database, `SELECT rule, dedupe_key FROM alerts`)).toEqual([{ rule: 'drift', dedupe_key: expect.stringMatching(/^drift:/) }]);
  });

  it('flags a live grant whose access was removed at the provider, once', async () => {
    // Given dave's live grant, whose membership a DBA removed by hand
    const daveRequest = await grantThroughTheBot(dave);
    await revokeByHand(logins.dave);

    // When drift is checked twice
    const run = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));
    await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler });

    // Then dave's grant is flagged as missing, in one event about his request
    expect(run).toMatchObject({ unexpected: 0, missing: 1 });
    expect(run.findings).toEqual([expect.objectContaining({ kind: 'missing', requestId: daveRequest, requester: dave, role: 'pg-readonly', new: true })]);
    const flagged = await events('drift_grant_missing');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatchObject({ requestId: daveRequest, data: expect.objectContaining({ run: run.id, provider: 'postgres' }) });
  });

  it('revokes access without a grant when the policy says so, and keeps the granted one', async () => {
    // Given revoke is on with room for one revocation, dave granted by the bot, frank by hand
    useDriftSettings('{ revoke: true, maxRevokeShare: 0.5, maxRevokeCount: 5 }');
    await grantThroughTheBot(dave);
    await grantByHand(logins.frank);

    // When drift is checked
    const run = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));

    // Then frank's membership is gone and dave's stays, and the revocation is audited
    expect(await members()).toEqual([logins.dave]);
    expect(run).toMatchObject({ state: 'done', unexpected: 1, revoked: 1, revokeFailed: 0 });
    expect(run.findings).toEqual([expect.objectContaining({ principal: logins.frank, outcome: 'revoked' })]);
    const revoked = await events('drift_access_revoked');
    expect(revoked.map((e) => e.data)).toEqual([expect.objectContaining({ run: run.id, principal: logins.frank, person: frank, removed: true })]);
    expect(String((await events('alert_raised'))[0]?.data.message)).toContain('It is being revoked (detection.drift.revoke is on).');
  });

  it('does not revoke a group role, saying why, and counts it as failed', async () => {
    // Given revoke is on and a DBA made a group role a member
    useDriftSettings('{ revoke: true, maxRevokeShare: 1, maxRevokeCount: 5 }');
    await grantByHand(groupRole);

    // When drift is checked
    const run = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));

    // Then the group keeps its membership, and the finding says what to do
    expect(await members()).toEqual([groupRole]);
    expect(run).toMatchObject({ revoked: 0, revokeFailed: 1 });
    expect(run.findings[0]).toMatchObject({ principal: groupRole, outcome: 'revoke_failed' });
    expect((run.findings[0] as { error?: string }).error).toContain('is a group role (NOLOGIN)');
    // And security hears of the failure once, though every run tries again
    const again = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));
    expect(again).toMatchObject({ revokeFailed: 1 });
    expect(await events('drift_revocation_failed')).toHaveLength(1);
  });

  it('holds a mass revocation when the grants table was emptied, until a member of security approves it', async () => {
    // Given revoke is on, and dave's and frank's access were granted by the bot
    useDriftSettings('{ revoke: true, maxRevokeShare: 0.5, maxRevokeCount: 10 }');
    await grantThroughTheBot(dave);
    await grantThroughTheBot(frank);
    // And the bot then lost its state: the grants table is emptied
    await rawSql(database, 'DELETE FROM grants');

    // When drift is checked
    const held = checked(await checkDrift(h.ctx, { trigger: 'schedule', scheduledFor: new Date('2026-03-03T10:15:00Z'), origin: scheduler }));

    // Then every membership looks like drift, the guard holds the run, and nothing is revoked
    expect(held).toMatchObject({ state: 'held', held: true, unexpected: 2, revoked: 0 });
    expect(held.heldReason).toBe('2 of 2 accesses listed (100%) is more than detection.drift.maxRevokeShare (50%)');
    expect(held.findings.map((f) => (f.kind === 'unexpected' ? f.outcome : f.kind))).toEqual(['held', 'held']);
    expect(await members()).toEqual([logins.dave, logins.frank].sort());
    // And security is asked to decide, once while the hold lasts
    await checkDrift(h.ctx, { trigger: 'schedule', scheduledFor: new Date('2026-03-03T10:30:00Z'), origin: scheduler });
    const holdAlerts = (await events('alert_raised')).filter((e) => e.data.rule === 'driftHeld');
    expect(holdAlerts).toHaveLength(1);
    expect(String(holdAlerts[0]?.data.message)).toContain(`prod-access drift approve ${held.id} --as <email>`);
    expect(await members()).toEqual([logins.dave, logins.frank].sort());

    // When someone outside the security group approves it
    const refused = await approveDriftRun(h.ctx, held.id, dave, cliOrigin);
    // Then it is refused, and nothing is revoked
    expect(refused).toEqual({ ok: false, refusal: expect.objectContaining({ code: 'not_security' }) });
    expect(await members()).toEqual([logins.dave, logins.frank].sort());

    // When erin, of the security group, approves it
    const approval = await approveDriftRun(h.ctx, held.id, erin, cliOrigin);

    // Then both memberships are revoked by a run of its own, and who approved is recorded and audited
    if (!approval.ok) throw new Error(approval.refusal.message);
    expect(approval.result.run).toMatchObject({ trigger: 'approval', approvesRun: held.id, state: 'done', revoked: 2 });
    expect(await members()).toEqual([]);
    expect(await h.ctx.store.driftRun(held.id)).toMatchObject({ state: 'approved', approvedBy: erin, approvedOsUser: 'tester' });
    expect((await events('drift_run_approved')).map((e) => ({ actor: e.actor, run: e.data.run, osUser: (e.data.origin as { osUser?: string }).osUser }))).toEqual([
      { actor: erin, run: held.id, osUser: 'tester' },
    ]);
    expect((await events('drift_access_revoked')).map((e) => e.actor)).toEqual([erin, erin]);

    // And a second approval is refused
    expect(await approveDriftRun(h.ctx, held.id, erin, cliOrigin)).toEqual({ ok: false, refusal: expect.objectContaining({ code: 'not_held' }) });
  });

  it('refuses an approval from an OS user that detection.cliOperators does not name, since --as is only a claim', async () => {
    // Given a held run, and a policy that lets only the OS user secops-oncall act for security from the CLI
    useDriftSettings('{ revoke: true, maxRevokeShare: 0.5, maxRevokeCount: 10 }');
    await grantByHand(logins.dave);
    await grantByHand(logins.frank);
    const held = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));
    h.setPolicy(policyText('{ revoke: true, maxRevokeShare: 0.5, maxRevokeCount: 10 }', 'secops-oncall'));

    // When OS user tester claims to be erin, of the security group
    const refused = await approveDriftRun(h.ctx, held.id, erin, cliOrigin);

    // Then it is refused, naming the setting, and nothing is approved or revoked
    expect(refused).toEqual({ ok: false, refusal: expect.objectContaining({ code: 'cli_not_allowed' }) });
    expect(refused.ok ? '' : refused.refusal.message).toContain('OS user tester may not approve a held drift run from the CLI');
    expect(await h.ctx.store.driftRun(held.id)).toMatchObject({ state: 'held' });
    expect(await events('drift_run_approved')).toEqual([]);
    expect(await members()).toEqual([logins.dave, logins.frank].sort());
  });

  it('revokes on approval only what is still found without a grant', async () => {
    // Given a held run that found dave's and frank's memberships (lost state)
    useDriftSettings('{ revoke: true, maxRevokeShare: 0.5, maxRevokeCount: 10 }');
    await grantByHand(logins.dave);
    await grantByHand(logins.frank);
    const held = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));
    expect(held.state).toBe('held');
    // And dave's membership is then explained by a grant made through the bot
    await revokeByHand(logins.dave);
    await grantThroughTheBot(dave);

    // When erin approves the held run
    const approval = await approveDriftRun(h.ctx, held.id, erin, cliOrigin);

    // Then only frank's membership is revoked
    expect(approval.ok).toBe(true);
    expect(await members()).toEqual([logins.dave]);
  });

  it('records nothing on a dry run', async () => {
    await grantByHand(logins.frank);
    const result = await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler, dryRun: true });
    expect(checked(result)).toMatchObject({ id: 0, unexpected: 1 });
    expect(await h.ctx.store.listDriftRuns(10)).toEqual([]);
    expect(await events('alert_raised')).toEqual([]);
  });

  it('runs each scheduled tick once, and one run at a time', async () => {
    // Given a run for the 10:15 tick
    const tick = new Date('2026-03-03T10:15:00Z');
    checked(await checkDrift(h.ctx, { trigger: 'schedule', scheduledFor: tick, origin: scheduler }));

    // When another replica runs the same tick
    // Then it does nothing
    expect(await checkDrift(h.ctx, { trigger: 'schedule', scheduledFor: tick, origin: scheduler })).toEqual({ status: 'duplicate' });

    // When a run holds the lease (another process is working)
    const other = await h.ctx.store.claimDriftRun({ trigger: 'cli', owner: 'other-host:1:x', now: h.clock.now(), leaseMs: 60_000 });
    expect(other).toHaveProperty('claimed');
    // Then a run on demand is told, and starts none
    expect(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler })).toMatchObject({ status: 'busy', running: { id: (other as { claimed: number }).claimed } });

    // When that process died and its lease lapsed
    h.clock.advance(2);
    const run = checked(await checkDrift(h.ctx, { trigger: 'cli', origin: scheduler }));
    // Then the next run goes ahead, and the dead one is marked abandoned
    expect(run.state).toBe('done');
    expect((await h.ctx.store.driftRun((other as { claimed: number }).claimed))?.state).toBe('abandoned');
    expect(await h.ctx.store.listDriftRuns(10)).toHaveLength(3);
  });
});
