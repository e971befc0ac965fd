import { randomBytes } from 'node:crypto';
import { ProviderError } from '../../../src/app/errors';
import { email, type Email } from '../../../src/domain/email';
import { requestIdFromBytes } from '../../../src/domain/request-id';
import type { GrantSpec, IamProvider } from '../../../src/ports/iam-provider';

/**
 * What one `IamProvider` implementation brings to the contract suite: the provider under test, and
 * a way to see, from the other side (the real database, or the fake cloud's own state), whether a
 * person holds the access now.
 */
export interface ContractSubject {
  readonly provider: IamProvider;
  /** Two people who both have a principal at this provider. */
  readonly people: readonly [Email, Email];
  /** A role name and target this provider can grant. */
  readonly role: string;
  readonly target: Readonly<Record<string, string>>;
  /** Whether `principal` holds the role's access at the provider now (read from the provider's side, not from the adapter). */
  hasAccess(principal: Email): Promise<boolean>;
  /** The provider-side expiry of `principal`'s access, for providers that keep one; undefined otherwise. */
  expiryOf?(principal: Email): Promise<Date | undefined>;
  /** The next call to the provider fails the way a provider outage does (retryable); required with `capabilities.failures`. */
  failNextWithOutage?(): void;
  /** The next call is refused for good (bad permissions, a target that does not exist); required with `capabilities.failures`. */
  failNextWithRefusal?(): void;
  close(): Promise<void>;
}

export interface ContractCapabilities {
  /** The provider is a remote system whose outages and refusals the test can inject (every provider but `local`). */
  readonly failures: boolean;
  /**
   * Whether the provider can tell that a person has no principal there: `before-approval` (its
   * `check` finds out, e.g. an identity store look-up), `at-grant` (only the grant call fails, as
   * with Google, which has no read API for accounts here), or `none` (`local` grants to anyone).
   */
  readonly principals: 'before-approval' | 'at-grant' | 'none';
}

/**
 * One contract for every `IamProvider` (local, postgres, aws, gcp, azure): grant, revoke, revoke of
 * what is gone, overlapping grants, and errors classified as retryable or permanent.
 * Call it inside a test file: `describeIamProviderContract('aws', async () => ({ ... }))`.
 */
export function describeIamProviderContract(name: string, capabilities: ContractCapabilities, setup: () => Promise<ContractSubject>): void {
  // NB: decided when the suite is declared, so a case that does not apply shows as skipped, never as a silent pass.
  const withFailures = capabilities.failures ? it : it.skip;
  const withPrincipals = capabilities.principals !== 'none' ? it : it.skip;
  describe(`IamProvider contract: ${name}`, () => {
    let subject: ContractSubject;
    beforeEach(async () => {
      subject = await setup();
    });
    afterEach(async () => {
      await subject.close();
    });

    const spec = (principal: Email, overrides: Partial<GrantSpec> = {}): GrantSpec => ({
      requestId: requestIdFromBytes(randomBytes(5)),
      role: subject.role,
      principal,
      provider: subject.provider.kind,
      target: subject.target,
      expiresAt: new Date(Date.now() + 60 * 60_000),
      reason: 'contract suite: investigating INC-1',
      ticket: 'INC-1',
      ...overrides,
    });

    it('grants access that the provider then shows', async () => {
      const [dave] = subject.people;
      expect(await subject.hasAccess(dave)).toBe(false);
      await subject.provider.grant(spec(dave));
      expect(await subject.hasAccess(dave)).toBe(true);
    });

    it('grants idempotently: granting the same request twice succeeds and leaves one grant', async () => {
      const [dave] = subject.people;
      const once = spec(dave);
      await subject.provider.grant(once);
      await subject.provider.grant(once);
      expect(await subject.hasAccess(dave)).toBe(true);
      expect(await subject.provider.revoke(once)).toEqual({ removed: true });
      expect(await subject.hasAccess(dave)).toBe(false);
    });

    it('revokes: the access is gone, and a second revoke reports nothing removed', async () => {
      const [dave] = subject.people;
      const granted = spec(dave);
      await subject.provider.grant(granted);
      expect(await subject.provider.revoke(granted)).toEqual({ removed: true });
      expect(await subject.hasAccess(dave)).toBe(false);
      expect(await subject.provider.revoke(granted)).toEqual({ removed: false });
    });

    it('revoking what was never granted succeeds with nothing removed', async () => {
      const [dave] = subject.people;
      expect(await subject.provider.revoke(spec(dave))).toEqual({ removed: false });
      expect(await subject.hasAccess(dave)).toBe(false);
    });

    it("keeps one person's access when another person's grant on the same target is revoked", async () => {
      const [dave, erin] = subject.people;
      const daves = spec(dave);
      const erins = spec(erin);
      await subject.provider.grant(daves);
      await subject.provider.grant(erins);
      await subject.provider.revoke(daves);
      expect(await subject.hasAccess(dave)).toBe(false);
      expect(await subject.hasAccess(erin)).toBe(true);
    });

    it('overlapping grants of one person: the later expiry wins at the provider, and revoking one request never shortens the other', async () => {
      const [dave] = subject.people;
      const first = spec(dave, { expiresAt: new Date(Date.now() + 30 * 60_000) });
      const second = spec(dave, { expiresAt: new Date(Date.now() + 90 * 60_000) });
      await subject.provider.grant(first);
      await subject.provider.grant(second);
      expect(await subject.hasAccess(dave)).toBe(true);
      if (subject.expiryOf) {
        // NB: a provider-side expiry earlier than the bot's would end the second grant early.
        const expiry = await subject.expiryOf(dave);
        expect(expiry?.getTime()).toBeGreaterThanOrEqual(second.expiresAt.getTime() - 60_000);
      }
      if (subject.provider.grantsPerRequest) {
        // Each request has access of its own: revoking the first leaves the second.
        await subject.provider.revoke(first);
        expect(await subject.hasAccess(dave)).toBe(true);
        await subject.provider.revoke(second);
        expect(await subject.hasAccess(dave)).toBe(false);
      }
    });

    withFailures('an outage is a retryable failure (unavailable) and grants nothing', async () => {
      const [dave] = subject.people;
      subject.failNextWithOutage?.();
      const error = await subject.provider.grant(spec(dave)).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).code).toBe('unavailable');
      expect((error as ProviderError).provider).toBe(subject.provider.kind);
      expect(await subject.hasAccess(dave)).toBe(false);
    });

    withFailures('an outage during revoke is retryable and leaves the access for the retry', async () => {
      const [dave] = subject.people;
      const granted = spec(dave);
      await subject.provider.grant(granted);
      subject.failNextWithOutage?.();
      const error = await subject.provider.revoke(granted).then(() => undefined, (e: unknown) => e);
      expect((error as ProviderError).code).toBe('unavailable');
      expect(await subject.hasAccess(dave)).toBe(true);
      expect(await subject.provider.revoke(granted)).toEqual({ removed: true });
      expect(await subject.hasAccess(dave)).toBe(false);
    });

    withFailures('a refusal is permanent (refused or misconfigured), with a message that says what', async () => {
      const [dave] = subject.people;
      subject.failNextWithRefusal?.();
      const error = await subject.provider.grant(spec(dave)).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(['refused', 'misconfigured']).toContain((error as ProviderError).code);
      expect((error as ProviderError).message.length).toBeGreaterThan(10);
      expect(await subject.hasAccess(dave)).toBe(false);
    });

    withPrincipals('refuses a person with no principal at the provider, naming them, before and at grant time', async () => {
      const stranger = email(`nobody-${randomBytes(3).toString('hex')}@example.com`);
      const theirs = spec(stranger);
      if (capabilities.principals === 'before-approval') {
        expect(subject.provider.check).toBeDefined();
        const checked = await subject.provider.check?.(theirs, { maxDurationMinutes: 8 * 60 }).then(() => undefined, (e: unknown) => e);
        expect((checked as ProviderError).code).toBe('refused');
        expect((checked as ProviderError).message).toContain(stranger);
      }
      const error = await subject.provider.grant(theirs).then(() => undefined, (e: unknown) => e);
      expect(['refused', 'misconfigured']).toContain((error as ProviderError).code);
    });

    it('passes the check for a person and target it can grant', async () => {
      const [dave] = subject.people;
      if (!subject.provider.check) return;
      await expect(subject.provider.check(spec(dave), { maxDurationMinutes: 8 * 60 })).resolves.toBeUndefined();
      expect(await subject.hasAccess(dave)).toBe(false);
    });
  });
}
