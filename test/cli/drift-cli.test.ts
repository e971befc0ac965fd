import type { Database } from '../../src/adapters/store/open-database';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE } from '../../src/cli/program';
import { email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';
import { createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { runCliIn } from '../support/cli-harness';
import { createPgliteDatabase } from '../support/test-database';

const cli = (h: Harness, ...argv: string[]) => runCliIn(h, argv);

describe('prod-access drift', () => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database);
  });
  afterEach(async () => {
    await database.close();
  });

  /** frank holds prod-readonly at the local provider, recorded behind the bot's back. */
  async function frankHoldsProdReadonly(): Promise<void> {
    const role = h.ctx.policy.current().policy.roles.get('prod-readonly');
    if (!role) throw new Error('the example policy has prod-readonly');
    await h.local.grant({ requestId: 'ZZZZZZZZ' as RequestId, role: 'prod-readonly', principal: email('frank@example.com'), provider: 'local', target: role.target, expiresAt: h.clock.now() });
  }

  it('says when there is no drift, and exits 0', async () => {
    const r = await cli(h, 'drift', 'check');
    expect(r).toMatchObject({ code: EXIT_OK, err: '' });
    expect(r.out).toContain('listed    local 0');
    expect(r.out).toContain('no drift found');
  });

  it('prints access without a live grant and exits 1; the run is listed and shown afterwards', async () => {
    await frankHoldsProdReadonly();

    const r = await cli(h, 'drift', 'check');

    expect(r.code).toBe(EXIT_REFUSED);
    expect(r.err).toBe('drift found: 1 access(es) without a live grant, 0 live grant(s) missing at the provider\n');
    expect(r.out).toContain('drift run 1 (cli)');
    expect(r.out).toContain('access without a live grant (1):\n  local  prod-readonly  frank@example.com  not revoked (detection.drift.revoke is off)  [new]');
    const runs = await cli(h, 'drift', 'runs');
    expect(runs.out.split('\n')[1]).toMatch(/^1\s+cli\s+\S+\s+done\s+1\s+1\s+0\s+0$/);
    const shown = await cli(h, 'drift', 'show', '1', '--json');
    expect(JSON.parse(shown.out)).toMatchObject({ id: 1, unexpected: 1, findings: [{ kind: 'unexpected', principal: 'frank@example.com', outcome: 'alert_only' }] });
  });

  it('records nothing on --dry-run', async () => {
    await frankHoldsProdReadonly();
    const r = await cli(h, 'drift', 'check', '--dry-run', '--json');
    expect(r.code).toBe(EXIT_REFUSED);
    expect(JSON.parse(r.out)).toMatchObject({ id: 0, unexpected: 1 });
    expect((await cli(h, 'drift', 'runs')).out).toBe('no drift runs yet\n');
  });

  it('holds a revocation past the guard, and lets only a security member approve it', async () => {
    // Given revoke is on but the guard allows no revocation at all
    h.setPolicy(`${examplePolicyText}\ndetection:\n  cliOperators: [tester]\n  drift: { revoke: true, maxRevokeCount: 0 }\n`);
    await frankHoldsProdReadonly();
    const held = await cli(h, 'drift', 'check');
    expect(held.out).toContain('held      1 revocations are more than detection.drift.maxRevokeCount (0)');
    expect(held.out).toContain('prod-access drift approve 1 --as <email>');

    // When dave (not in the security group) approves it
    const refused = await cli(h, 'drift', 'approve', '1', '--as', 'dave@example.com');
    // Then it is refused
    expect(refused.code).toBe(EXIT_REFUSED);
    expect(refused.err).toContain('refused (not_security): Only members of the security group (security, detection.securityGroup in the policy) may approve');
    expect(await h.local.memberships()).toHaveLength(1);

    // When erin (security) approves it
    const approved = await cli(h, 'drift', 'approve', '1', '--as', 'erin@example.com');
    // Then frank's access is revoked by run 2
    expect(approved.code).toBe(EXIT_OK);
    expect(approved.out).toContain('drift run 1 approved by erin@example.com; run 2 revoked 1 access\n');
    expect(await h.local.memberships()).toEqual([]);
    expect((await cli(h, 'drift', 'show', '1')).out).toContain('approved  by erin@example.com (via CLI, by OS user tester)');
  });

  it('refuses a run number that is not one, as a usage error', async () => {
    const r = await cli(h, 'drift', 'show', '1; DROP TABLE drift_runs');
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain('is not a drift run number');
  });
});
