import type { Database } from '../../src/adapters/store/open-database';
import { ProviderError } from '../../src/app/errors';
import { requestAccess } from '../../src/app/request-access';
import type { GrantSpec, IamProvider } from '../../src/ports/iam-provider';
import { cliOrigin, createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { cloudAdminRole, dave } from '../support/revocation-fixtures';
import { createPgliteDatabase } from '../support/test-database';

/** A provider whose dry-run check answers as the test says, recording what it was asked. */
class CheckedProvider implements IamProvider {
  readonly kind = 'checked';
  readonly checks: { spec: GrantSpec; maxDurationMinutes: number }[] = [];
  readonly grants: GrantSpec[] = [];
  checkFails: Error | undefined;
  async check(spec: GrantSpec, role: { maxDurationMinutes: number }): Promise<void> {
    this.checks.push({ spec, maxDurationMinutes: role.maxDurationMinutes });
    if (this.checkFails) throw this.checkFails;
  }
  async grant(spec: GrantSpec): Promise<void> {
    this.grants.push(spec);
  }
  async revoke(): Promise<{ removed: boolean }> {
    return { removed: true };
  }
}

const checkedRole = cloudAdminRole('checked', '    breakGlass: { allowed: true }\n');

describe('the provider check before any approval', () => {
  let database: Database;
  let h: Harness;
  let provider: CheckedProvider;
  const input = { requester: dave, role: 'cloud-admin', duration: '2h', ticket: 'OPS-7', reason: 'inspect the billing account' };

  beforeEach(async () => {
    database = await createPgliteDatabase();
    provider = new CheckedProvider();
    h = createHarness(database, examplePolicyText + checkedRole, [provider]);
  });
  afterEach(async () => {
    await database.close();
  });

  it('asks the provider with the person, the target, the requested window and the role maximum, then opens the request', async () => {
    const opened = await requestAccess(h.ctx, input, cliOrigin);
    expect(opened.ok).toBe(true);
    expect(provider.checks).toHaveLength(1);
    expect(provider.checks[0]).toMatchObject({ maxDurationMinutes: 240, spec: { principal: dave, role: 'cloud-admin', target: { account: '123' }, ticket: 'OPS-7' } });
    expect(provider.checks[0]?.spec.expiresAt.getTime()).toBe(h.clock.now().getTime() + 2 * 60 * 60_000);
  });

  it('refuses a request the provider cannot grant, naming what is missing, and records nothing', async () => {
    provider.checkFails = new ProviderError('refused', 'checked', 'dave@example.com has no user in identity store d-1234567890');
    const outcome = await requestAccess(h.ctx, input, cliOrigin);
    expect(outcome).toMatchObject({ ok: false, refusal: { code: 'provider_refused' } });
    if (outcome.ok) throw new Error('unreachable');
    expect(outcome.refusal.message).toContain('has no user in identity store d-1234567890');
    expect(outcome.refusal.message).toContain('cloud-admin cannot be granted to dave@example.com');
    expect(await h.ctx.store.listRequests({})).toEqual([]);
    expect(await h.ctx.store.auditHead()).toBeUndefined();
  });

  it('refuses for now when the provider does not answer, saying nothing was opened', async () => {
    provider.checkFails = new ProviderError('unavailable', 'checked', 'connection reset');
    const outcome = await requestAccess(h.ctx, input, cliOrigin);
    expect(outcome).toMatchObject({ ok: false, refusal: { code: 'provider_unavailable' } });
    if (outcome.ok) throw new Error('unreachable');
    expect(outcome.refusal.message).toContain('try again shortly');
    expect(outcome.refusal.message).toContain('Your request was not opened.');
    expect(await h.ctx.store.listRequests({})).toEqual([]);
  });

  it('lets break-glass through when the provider does not answer the check, and still refuses it when the provider says no', async () => {
    provider.checkFails = new ProviderError('unavailable', 'checked', 'connection reset');
    const emergency = await requestAccess(h.ctx, { ...input, breakGlass: true }, cliOrigin);
    expect(emergency).toMatchObject({ ok: true, value: { state: 'active', breakGlass: true } });
    expect(provider.grants).toHaveLength(1);

    provider.checkFails = new ProviderError('misconfigured', 'checked', 'permission set session lasts 12h, longer than the role maximum 4h');
    const refused = await requestAccess(h.ctx, { ...input, breakGlass: true }, cliOrigin);
    expect(refused).toMatchObject({ ok: false, refusal: { code: 'provider_refused' } });
    expect(provider.grants).toHaveLength(1);
  });
});
