import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import { approvalText } from '../../src/app/outcome-text';
import { toPlainText } from '../../src/domain/rich-text';
import { ProviderError } from '../../src/app/errors';
import { extendAccess } from '../../src/app/extend-access';
import { requestAccess } from '../../src/app/request-access';
import type { GrantSpec, IamProvider } from '../../src/ports/iam-provider';
import { chatOrigin, cliOrigin, createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { alice, cloudAdminRole, dave, value } from '../support/revocation-fixtures';
import { createPgliteDatabase } from '../support/test-database';

/** A provider with an expiry of its own, recording every move of it; the next move fails on demand. */
class ExpiringProvider implements IamProvider {
  readonly kind = 'expiring';
  readonly calls: { op: 'grant' | 'extend' | 'revoke'; expiresAt: Date; requestId: string }[] = [];
  extendFails: Error | undefined;
  grantFails: Error | undefined;
  /** Runs inside the grant call: a slow cloud, with the clock moving on meanwhile. */
  duringGrant: (() => void) | undefined;
  async grant(spec: GrantSpec): Promise<void> {
    this.duringGrant?.();
    const failure = this.grantFails;
    this.grantFails = undefined;
    if (failure) throw failure;
    this.calls.push({ op: 'grant', expiresAt: spec.expiresAt, requestId: spec.requestId });
  }
  async extend(spec: GrantSpec): Promise<void> {
    const failure = this.extendFails;
    this.extendFails = undefined;
    if (failure) throw failure;
    this.calls.push({ op: 'extend', expiresAt: spec.expiresAt, requestId: spec.requestId });
  }
  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    this.calls.push({ op: 'revoke', expiresAt: spec.expiresAt, requestId: spec.requestId });
    return { removed: true };
  }
}

const expiringRole = cloudAdminRole('expiring');

describe("a provider with an expiry of its own", () => {
  let database: Database;
  let h: Harness;
  let provider: ExpiringProvider;

  beforeEach(async () => {
    database = await createPgliteDatabase();
    provider = new ExpiringProvider();
    h = createHarness(database, examplePolicyText + expiringRole, [provider]);
  });
  afterEach(async () => {
    await database.close();
  });

  async function liveGrantWithExtension() {
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'cloud-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
    const granted = value(await approveRequest(h.ctx, opened.id, alice, chatOrigin));
    h.clock.advance(30);
    const extension = value(await extendAccess(h.ctx, granted.id, { requester: dave, duration: '1h', reason: 'the migration runs longer than planned' }, cliOrigin));
    return { granted, extension };
  }

  it('tells the provider the new end, for the parent grant, before recording it', async () => {
    const { granted, extension } = await liveGrantWithExtension();
    const before = granted.grant!.expiresAt.getTime();

    const approved = await approveRequest(h.ctx, extension.id, alice, chatOrigin);

    expect(approved.ok).toBe(true);
    expect(provider.calls.map((c) => c.op)).toEqual(['grant', 'extend']);
    expect(provider.calls[1]).toMatchObject({ requestId: granted.id });
    expect(provider.calls[1]?.expiresAt.getTime()).toBe(before + 60 * 60_000);
    expect((await h.ctx.store.findRequest(granted.id))?.grant?.expiresAt.getTime()).toBe(before + 60 * 60_000);
  });

  it('records nothing when the provider does not move its expiry, and tells the approver to try again', async () => {
    const { granted, extension } = await liveGrantWithExtension();
    const before = granted.grant!.expiresAt.getTime();
    provider.extendFails = new ProviderError('unavailable', 'expiring', 'connection reset');

    const refused = await approveRequest(h.ctx, extension.id, alice, chatOrigin);

    expect(refused).toMatchObject({ ok: false, refusal: { code: 'provider_unavailable' } });
    if (refused.ok) throw new Error('unreachable');
    expect(refused.refusal.message).toContain(`Your approval of ${extension.id} was not recorded`);
    expect((await h.ctx.store.findRequest(extension.id))?.state).toBe('pending');
    expect((await h.ctx.store.findRequest(extension.id))?.approvals).toEqual([]);
    expect((await h.ctx.store.findRequest(granted.id))?.grant?.expiresAt.getTime()).toBe(before);

    // And the retry goes through
    expect((await approveRequest(h.ctx, extension.id, alice, chatOrigin)).ok).toBe(true);
    expect((await h.ctx.store.findRequest(granted.id))?.grant?.expiresAt.getTime()).toBe(before + 60 * 60_000);
  });

  it('does not call the provider for an approval that does not complete the extension', async () => {
    const { extension } = await liveGrantWithExtension();
    // The role now needs two approvals: the first leaves the extension waiting
    h.setPolicy(examplePolicyText + expiringRole.replace('approvals: 1', 'approvals: 2'));
    provider.calls.length = 0;
    const first = value(await approveRequest(h.ctx, extension.id, alice, chatOrigin));
    expect(first.state).toBe('pending');
    expect(provider.calls).toEqual([]);
  });

  it("records the same expiry the provider was given, however long the provider's call took", async () => {
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'cloud-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
    provider.duringGrant = () => h.clock.advance(0.5);
    const granted = value(await approveRequest(h.ctx, opened.id, alice, chatOrigin));
    expect(provider.calls[0]?.expiresAt.getTime()).toBe(granted.grant?.expiresAt.getTime());
  });

  it("tells the approver the provider's own reason when it refuses the grant", async () => {
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'cloud-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
    provider.grantFails = new ProviderError('refused', 'expiring', 'User dave@example.com does not exist');
    const failed = value(await approveRequest(h.ctx, opened.id, alice, chatOrigin));
    expect(failed).toMatchObject({ state: 'failed', grantError: 'User dave@example.com does not exist' });
    expect(toPlainText(await approvalText(h.ctx, failed, true, alice))).toContain('refused the grant (User dave@example.com does not exist)');
    // And the reason is kept with the request
    expect((await h.ctx.store.findRequest(opened.id))?.grantError).toBe('User dave@example.com does not exist');
  });
});
