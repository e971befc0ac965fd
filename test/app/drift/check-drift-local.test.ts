import type { Database } from '../../../src/adapters/store/open-database';
import type { AppContext } from '../../../src/app/app-context';
import { approveRequest } from '../../../src/app/approve-request';
import { checkDrift } from '../../../src/app/drift/check-drift';
import { requestAccess } from '../../../src/app/request-access';
import type { DriftRun } from '../../../src/domain/drift-run';
import { email } from '../../../src/domain/email';
import type { RequestId } from '../../../src/domain/request-id';
import type { AccessStore } from '../../../src/ports/access-store';
import { chatOrigin, createHarness, examplePolicyText, type Harness } from '../../support/app-harness';
import { alice, value } from '../../support/revocation-fixtures';
import { storeBackends } from '../../support/test-database';

const frank = email('frank@example.com');

describe.each(storeBackends)('drift revocation races, local provider, store on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database, `${examplePolicyText}\ndetection:\n  drift: { revoke: true, maxRevokeShare: 1, maxRevokeCount: 10 }\n`);
  });
  afterEach(async () => {
    await database.close();
  });

  async function frankHoldsProdReadonlyByHand(): Promise<void> {
    const role = h.ctx.policy.current().policy.roles.get('prod-readonly');
    if (!role) throw new Error('the example policy has prod-readonly');
    await h.local.grant({ requestId: 'ZZZZZZZZ' as RequestId, role: 'prod-readonly', principal: frank, provider: 'local', target: role.target, expiresAt: h.clock.now() });
  }

  it('keeps access that a grant made between the comparison and the revocation explains', async () => {
    // Given frank's access, found without a grant
    await frankHoldsProdReadonlyByHand();
    // And frank's request is approved and granted just after the comparison (when the run looks up the previous run)
    let granted = false;
    const store = new Proxy(h.ctx.store, {
      get(target, name: keyof AccessStore) {
        const member = target[name];
        if (name !== 'previousDriftRun' || typeof member !== 'function') return typeof member === 'function' ? member.bind(target) : member;
        return async (id: number) => {
          if (!granted) {
            granted = true;
            const opened = value(await requestAccess(h.ctx, { requester: frank, role: 'prod-readonly', duration: '1h', ticket: 'OPS-3', reason: 'check the nightly export' }, chatOrigin));
            value(await approveRequest(h.ctx, opened.id, alice, chatOrigin));
          }
          return target.previousDriftRun(id);
        };
      },
    });
    const ctx: AppContext = { ...h.ctx, store };

    // When drift is checked with revoke on
    const result = await checkDrift(ctx, { trigger: 'cli', origin: { via: 'scheduler' } });

    // Then it was found, but not revoked: the new grant explains it
    const run = (result as { run: DriftRun }).run;
    expect(run.findings).toEqual([expect.objectContaining({ principal: 'frank@example.com', outcome: 'explained' })]);
    expect(run.revoked).toBe(0);
    expect(await h.local.memberships()).toHaveLength(1);
  });

  it('revokes access found without a grant at the local provider', async () => {
    await frankHoldsProdReadonlyByHand();
    const result = await checkDrift(h.ctx, { trigger: 'cli', origin: { via: 'scheduler' } });
    expect((result as { run: DriftRun }).run).toMatchObject({ revoked: 1, findings: [{ outcome: 'revoked' }] });
    expect(await h.local.memberships()).toEqual([]);
  });
});
