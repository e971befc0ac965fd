import { ProviderError } from '../../../../src/app/errors';
import { createGcpIamProvider } from '../../../../src/adapters/iam/gcp/gcp-iam-provider';
import { email } from '../../../../src/domain/email';
import { parseExactRequestId, type RequestId } from '../../../../src/domain/request-id';
import type { GrantSpec } from '../../../../src/ports/iam-provider';
import pino from 'pino';
import type { FakeBinding } from '../../../fakes/fake-gcp';
import { startGcpHarness, TEST_TOKEN, type GcpHarness } from './gcp-test-setup';

const dave = email('dave@example.com');
const erin = email('erin@example.com');
const PROJECT = 'projects/payments-prod';
const ROLE = 'roles/cloudsql.viewer';
const DAVE = 'user:dave@example.com';
const FOREIGN: FakeBinding = { role: 'roles/storage.admin', members: ['group:platform@example.com'] };

const id = (text: string): RequestId => parseExactRequestId(text) ?? (() => { throw new Error(text); })();
const inMinutes = (minutes: number): Date => new Date(Math.floor(Date.now() / 1000) * 1000 + minutes * 60_000);

function spec(overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: id('7K2M9QXA'),
    role: 'payments-db-viewer',
    principal: dave,
    provider: 'gcp',
    target: { resource: PROJECT, role: ROLE },
    expiresAt: inMinutes(60),
    reason: 'payouts stuck',
    ticket: 'INC-4211',
    ...overrides,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

describe('GcpIamProvider through the real SDK against the fake Resource Manager', () => {
  let h: GcpHarness;
  beforeEach(async () => {
    h = await startGcpHarness({ resources: { [PROJECT]: { bindings: [FOREIGN] } }, users: [dave, erin] });
  });
  afterEach(async () => {
    await h.close();
  });

  describe('grant', () => {
    it('adds one conditional binding titled with the request, written as version 3 with the etag it read', async () => {
      const etagBefore = h.fake.policy(PROJECT)?.etag;
      const grant = spec();
      await h.provider.grant(grant);

      const [read, ...moreReads] = h.fake.calls('getIamPolicy');
      expect(moreReads).toHaveLength(0);
      expect(read).toMatchObject({ method: 'POST', path: `/v3/${PROJECT}:getIamPolicy`, body: { options: { requestedPolicyVersion: 3 } } });
      expect(read?.authorization).toBe(`Bearer ${TEST_TOKEN}`);
      const writes = h.fake.calls('setIamPolicy');
      expect(writes).toHaveLength(1);
      const policy = writes[0]!.body['policy'] as Record<string, unknown>;
      expect(policy['version']).toBe(3);
      expect(policy['etag']).toBe(etagBefore);
      expect(writes[0]!.body['updateMask']).toBeUndefined();
      expect(policy['bindings']).toEqual([
        FOREIGN,
        {
          role: ROLE,
          members: [DAVE],
          condition: {
            title: 'prod-access 7K2M9QXA',
            expression: `request.time < timestamp("${grant.expiresAt.toISOString()}")`,
            description: expect.stringContaining('roles/cloudsql.viewer') as unknown,
          },
        },
      ]);
      const description = ((policy['bindings'] as FakeBinding[])[1]!.condition!.description ?? '');
      expect(description).toContain(DAVE);
      expect(description).toContain('INC-4211');
      expect(Buffer.byteLength(description)).toBeLessThanOrEqual(256);

      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(true);
      // Google itself ends it: one second past the expiry, the condition no longer holds.
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE, new Date(grant.expiresAt.getTime() + 1000))).toBe(false);
    });

    it('granting an existing binding again writes nothing; a later expiry moves it, an earlier one does not', async () => {
      const first = spec();
      await h.provider.grant(first);
      await h.provider.grant(first);
      expect(h.fake.calls('setIamPolicy')).toHaveLength(1);

      await h.provider.grant(spec({ expiresAt: inMinutes(30) }));
      expect(h.fake.calls('setIamPolicy')).toHaveLength(1);
      expect(h.fake.expiryOf(PROJECT, ROLE, DAVE)).toEqual(first.expiresAt);

      const later = inMinutes(120);
      await h.provider.grant(spec({ expiresAt: later }));
      expect(h.fake.calls('setIamPolicy')).toHaveLength(2);
      expect(h.fake.expiryOf(PROJECT, ROLE, DAVE)).toEqual(later);
      expect(h.fake.policy(PROJECT)?.bindings.filter((b) => b.role === ROLE)).toHaveLength(1);
    });

    it('removes expired bindings the bot made on the same write, and never touches anyone else\'s', async () => {
      const past = `request.time < timestamp("${inMinutes(-5).toISOString()}")`;
      const expiredOurs: FakeBinding = { role: ROLE, members: ['user:erin@example.com'], condition: { title: 'prod-access 0000000A', expression: past } };
      const pastButNotOurTitle: FakeBinding = { role: ROLE, members: ['user:ops@example.com'], condition: { title: 'temporary ops access', expression: past } };
      const ourTitleOtherExpression: FakeBinding = {
        role: ROLE,
        members: ['user:erin@example.com'],
        condition: { title: 'prod-access 0000000B', expression: `${past} && resource.name.startsWith("x")` },
      };
      h.fake.writeAsSomeoneElse(PROJECT, [FOREIGN, expiredOurs, pastButNotOurTitle, ourTitleOtherExpression]);

      await h.provider.grant(spec());

      const titles = h.fake.policy(PROJECT)?.bindings.map((b) => b.condition?.title ?? b.role);
      expect(titles).toEqual(['roles/storage.admin', 'temporary ops access', 'prod-access 0000000B', 'prod-access 7K2M9QXA']);
    });

    it('refuses a person Google does not know, naming the e-mail (Google answers 400 "User … does not exist")', async () => {
      const stranger = email('nobody@example.com');
      const error = await failureOf(h.provider.grant(spec({ principal: stranger })));
      expect(error.code).toBe('refused');
      expect(error.message).toContain('nobody@example.com has no Google account');
      expect(error.message).toContain(PROJECT);
      expect(h.fake.hasAccess(PROJECT, ROLE, 'user:nobody@example.com')).toBe(false);
    });

    it('grants to the identity override from the policy, as a user: member', async () => {
      await h.close();
      h = await startGcpHarness(
        { resources: { [PROJECT]: {} }, users: ['d.smith@corp.example.com'] },
        { identities: new Map([[dave, 'user:D.Smith@corp.example.com']]) },
      );
      await h.provider.grant(spec());
      expect(h.fake.hasAccess(PROJECT, ROLE, 'user:d.smith@corp.example.com')).toBe(true);
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(false);
    });

    it('refuses an expiry that is not in the future, without calling Google', async () => {
      const error = await failureOf(h.provider.grant(spec({ expiresAt: inMinutes(-1) })));
      expect(error.code).toBe('refused');
      expect(h.fake.calls()).toHaveLength(0);
    });
  });

  describe('revoke', () => {
    it("removes this request's binding only: the same person's other request and foreign bindings stay", async () => {
      const first = spec();
      const second = spec({ requestId: id('8M3N0RYB'), expiresAt: inMinutes(90) });
      await h.provider.grant(first);
      await h.provider.grant(second);
      const etagBefore = h.fake.policy(PROJECT)?.etag;

      expect(await h.provider.revoke(first)).toEqual({ removed: true });

      const write = h.fake.calls('setIamPolicy').at(-1)!;
      expect((write.body['policy'] as Record<string, unknown>)['etag']).toBe(etagBefore);
      expect(h.fake.policy(PROJECT)?.bindings.map((b) => b.condition?.title ?? b.role)).toEqual(['roles/storage.admin', 'prod-access 8M3N0RYB']);
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(true);
      expect(h.fake.expiryOf(PROJECT, ROLE, DAVE)).toEqual(second.expiresAt);
    });

    it('revoking what is gone reports removed: false and writes nothing', async () => {
      const granted = spec();
      await h.provider.grant(granted);
      await h.provider.revoke(granted);
      const writes = h.fake.calls('setIamPolicy').length;
      expect(await h.provider.revoke(granted)).toEqual({ removed: false });
      expect(h.fake.calls('setIamPolicy')).toHaveLength(writes);
    });

    it('keeps members someone else added to the bot\'s binding', async () => {
      const granted = spec();
      await h.provider.grant(granted);
      const ours = h.fake.policy(PROJECT)!.bindings.find((b) => b.condition?.title === 'prod-access 7K2M9QXA')!;
      h.fake.writeAsSomeoneElse(PROJECT, [FOREIGN, { ...ours, members: [...ours.members, 'user:erin@example.com'] }]);

      expect(await h.provider.revoke(granted)).toEqual({ removed: true });
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(false);
      expect(h.fake.hasAccess(PROJECT, ROLE, 'user:erin@example.com')).toBe(true);
    });
  });

  describe('extend', () => {
    it("moves this request's condition to the new expiry (also earlier), with the etag", async () => {
      await h.provider.grant(spec());
      const later = inMinutes(240);
      await h.provider.extend(spec({ expiresAt: later }));
      expect(h.fake.expiryOf(PROJECT, ROLE, DAVE)).toEqual(later);
      const write = h.fake.calls('setIamPolicy').at(-1)!;
      const binding = ((write.body['policy'] as Record<string, unknown>)['bindings'] as FakeBinding[]).find((b) => b.role === ROLE);
      expect(binding?.condition?.expression).toBe(`request.time < timestamp("${later.toISOString()}")`);
      expect(binding?.condition?.title).toBe('prod-access 7K2M9QXA');

      const shorter = inMinutes(10);
      await h.provider.extend(spec({ expiresAt: shorter }));
      expect(h.fake.expiryOf(PROJECT, ROLE, DAVE)).toEqual(shorter);
    });

    it('refuses to extend a request whose binding is gone, and grants nothing', async () => {
      const error = await failureOf(h.provider.extend(spec()));
      expect(error.code).toBe('refused');
      expect(error.message).toContain('7K2M9QXA');
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(false);
      expect(h.fake.calls('setIamPolicy')).toHaveLength(0);
    });
  });

  describe('concurrent writers', () => {
    it('two grants on one project at the same instant both survive (queued in one process: no conflict)', async () => {
      await Promise.all([h.provider.grant(spec()), h.provider.grant(spec({ requestId: id('8M3N0RYB'), principal: erin }))]);
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(true);
      expect(h.fake.hasAccess(PROJECT, ROLE, 'user:erin@example.com')).toBe(true);
      expect(h.fake.calls('setIamPolicy')).toHaveLength(2);
    });

    it('two replicas granting at the same instant: one gets 409 ABORTED, re-reads, re-applies, and both survive', async () => {
      const other = h.replica();
      h.fake.getIamPolicyDelayMs = 50;
      await Promise.all([h.provider.grant(spec()), other.grant(spec({ requestId: id('8M3N0RYB'), principal: erin }))]);
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(true);
      expect(h.fake.hasAccess(PROJECT, ROLE, 'user:erin@example.com')).toBe(true);
      // Both wrote with the same etag first; the loser wrote again after a fresh read.
      const etags = h.fake.calls('setIamPolicy').map((c) => (c.body['policy'] as Record<string, unknown>)['etag']);
      expect(etags.length).toBeGreaterThanOrEqual(3);
      expect(etags[0]).toBe(etags[1]);
      expect(h.fake.calls('getIamPolicy').length).toBeGreaterThanOrEqual(3);
      expect(h.sleeps.length).toBeGreaterThanOrEqual(1);
    });

    it('gives up as unavailable when the policy keeps changing under it', async () => {
      await h.close();
      h = await startGcpHarness({ resources: { [PROJECT]: {} } }, { conflictBackoff: { retries: 2, baseMs: 1, capMs: 1, budgetMs: 100 } });
      h.fake.failNext({ status: 409, count: 10, method: 'setIamPolicy', message: 'There were concurrent policy changes.' });
      const error = await failureOf(h.provider.grant(spec()));
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('3 etag conflicts');
      expect(h.fake.calls('setIamPolicy')).toHaveLength(3);
    });
  });

  describe('throttling and outages', () => {
    it('retries 429 RESOURCE_EXHAUSTED with backoff and then succeeds', async () => {
      h.fake.throttleNext(2);
      await h.provider.grant(spec());
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(true);
      // random() = 0.5: half of 100 ms, then half of 200 ms.
      expect(h.sleeps).toEqual([50, 100]);
      expect(h.fake.calls('getIamPolicy')).toHaveLength(3);
    });

    it('after its tries, throttling is unavailable; a Retry-After beyond the budget ends the retries and sets retryAt', async () => {
      h.fake.throttleNext(10);
      const error = await failureOf(h.provider.grant(spec()));
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('RESOURCE_EXHAUSTED');
      expect(h.fake.calls('getIamPolicy')).toHaveLength(4);

      h.fake.reset();
      h.sleeps.length = 0;
      h.fake.throttleNext(10, 30);
      const before = Date.now();
      const later = await failureOf(h.provider.grant(spec()));
      expect(later.code).toBe('unavailable');
      expect(h.sleeps).toEqual([]);
      expect(later.retryAt?.getTime()).toBeGreaterThanOrEqual(before + 29_000);
      expect(later.retryAt?.getTime()).toBeLessThanOrEqual(Date.now() + 31_000);
    });

    it('a 503 is unavailable at once (the bot retries later) and names the resource', async () => {
      h.fake.failNextWithOutage(1);
      const error = await failureOf(h.provider.revoke(spec()));
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain(PROJECT);
      expect(h.sleeps).toEqual([]);
    });

    it('a refused connection is unavailable', async () => {
      const port = h.fake.port;
      await h.fake.close();
      const provider = createGcpIamProvider({
        env: { GCP_RESOURCE_MANAGER_ENDPOINT: `http://127.0.0.1:${port}` },
        resolvePrincipal: () => undefined,
        logger: pino({ level: 'silent' }),
        authClient: (await import('./gcp-test-setup')).testAuthClient(),
      });
      const error = await failureOf(provider.grant(spec()));
      await provider.close();
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('ECONNREFUSED');
      h = await startGcpHarness({ resources: {} });
    });

    it('keeps the SDK error as cause without the bearer token anywhere', async () => {
      h.fake.failNextWithOutage(1);
      const error = await failureOf(h.provider.grant(spec()));
      expect(error.cause).toBeDefined();
      expect(JSON.stringify(error.cause)).not.toContain(TEST_TOKEN);
      expect(error.message).not.toContain(TEST_TOKEN);
    });
  });

  describe('refusals', () => {
    it('403 on the policy is misconfigured, naming the resource and the permission', async () => {
      h.fake.failNext({ status: 403, message: `Permission 'resourcemanager.projects.setIamPolicy' denied on resource '//cloudresourcemanager.googleapis.com/${PROJECT}'.` });
      const error = await failureOf(h.provider.grant(spec()));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain(PROJECT);
      expect(error.message).toContain('resourcemanager.projects.setIamPolicy');
    });

    it('a project that does not exist (Google answers 403) is misconfigured', async () => {
      const error = await failureOf(h.provider.grant(spec({ target: { resource: 'projects/no-such-project', role: ROLE } })));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('projects/no-such-project');
    });

    it('401 (credentials refused) is misconfigured', async () => {
      h.fake.failNext({ status: 401, message: 'Request had invalid authentication credentials.' });
      const error = await failureOf(h.provider.grant(spec()));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('credentials');
    });

    it('a role Google will not grant there (400 naming the role) is misconfigured', async () => {
      h.fake.failNext({ status: 400, method: 'setIamPolicy', message: 'Role roles/cloudsql.viewer is not supported for this resource.' });
      const error = await failureOf(h.provider.grant(spec()));
      expect(error.code).toBe('misconfigured');
      expect(h.fake.hasAccess(PROJECT, ROLE, DAVE)).toBe(false);
    });

    it('no Application Default Credentials is misconfigured, without an unhandled rejection from the SDK', async () => {
      const unhandled: unknown[] = [];
      const listener = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', listener);
      try {
        const noCredentials = { getClient: () => Promise.reject(new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.')) };
        const provider = h.replica({ authClient: noCredentials as never });
        const first = await failureOf(provider.grant(spec()));
        const second = await failureOf(provider.revoke(spec()));
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(first.code).toBe('misconfigured');
        expect(first.message).toContain('default credentials');
        expect(second.code).toBe('misconfigured');
        expect(unhandled).toEqual([]);
        expect(h.fake.calls()).toHaveLength(0);
      } finally {
        process.off('unhandledRejection', listener);
      }
    });
  });

  describe('check', () => {
    it('passes when the bot may read and set the policy, asking testIamPermissions for exactly those', async () => {
      await expect(h.provider.check(spec(), { maxDurationMinutes: 480 })).resolves.toBeUndefined();
      expect(h.fake.calls()).toEqual([
        expect.objectContaining({
          op: 'testIamPermissions',
          path: `/v3/${PROJECT}:testIamPermissions`,
          body: { permissions: ['resourcemanager.projects.getIamPolicy', 'resourcemanager.projects.setIamPolicy'] },
        }),
      ]);
    });

    it('is misconfigured naming the resource and the missing permission', async () => {
      h.fake.seed({ resources: { 'folders/123456789012': { permissions: ['resourcemanager.folders.getIamPolicy'] } } });
      const error = await failureOf(h.provider.check(spec({ target: { resource: 'folders/123456789012', role: ROLE } }), { maxDurationMinutes: 60 }));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('folders/123456789012');
      expect(error.message).toContain('resourcemanager.folders.setIamPolicy');
      expect(error.message).not.toContain('resourcemanager.folders.getIamPolicy');
    });

    it('refuses unusable targets and identities without calling Google', async () => {
      const cases: GrantSpec[] = [
        spec({ target: { resource: PROJECT, role: 'roles/owner' } }),
        spec({ target: { resource: 'projects/x', role: ROLE } }),
        spec({ target: { resource: PROJECT, role: 'projects/other-project/roles/dbViewer' } }),
      ];
      for (const bad of cases) {
        const error = await failureOf(h.provider.check(bad, { maxDurationMinutes: 60 }));
        expect(error.code).toBe('misconfigured');
      }
      const grouped = h.replica({ resolvePrincipal: () => 'group:sre@example.com' });
      const error = await failureOf(grouped.check(spec(), { maxDurationMinutes: 60 }));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('dave@example.com');
      expect(h.fake.calls()).toHaveLength(0);
    });

    it('an organization that the bot cannot see is misconfigured', async () => {
      const error = await failureOf(h.provider.check(spec({ target: { resource: 'organizations/4242', role: ROLE } }), { maxDurationMinutes: 60 }));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain('organizations/4242');
      expect(h.fake.calls('testIamPermissions')[0]?.path).toBe('/v3/organizations/4242:testIamPermissions');
    });
  });

  describe('listGranted', () => {
    it("lists the bot's live bindings per role, one read per resource, with request and expiry", async () => {
      const folder = 'folders/998877';
      h.fake.seed({ resources: { [folder]: {} } });
      const expires = inMinutes(45);
      await h.provider.grant(spec({ expiresAt: expires }));
      await h.provider.grant(spec({ requestId: id('8M3N0RYB'), principal: erin, target: { resource: folder, role: 'roles/logging.viewer' } }));
      const current = h.fake.policy(PROJECT)!.bindings;
      const past = `request.time < timestamp("${inMinutes(-5).toISOString()}")`;
      h.fake.writeAsSomeoneElse(PROJECT, [...current, { role: ROLE, members: ['user:erin@example.com'], condition: { title: 'prod-access 0000000A', expression: past } }]);
      h.fake.reset();

      const listed = await h.provider.listGranted([
        { role: 'payments-db-viewer', target: { resource: PROJECT, role: ROLE } },
        { role: 'payments-storage', target: { resource: PROJECT, role: 'roles/storage.objectViewer' } },
        { role: 'logs', target: { resource: folder, role: 'roles/logging.viewer' } },
      ]);

      expect(h.fake.calls('getIamPolicy').map((c) => c.resource)).toEqual([PROJECT, folder]);
      expect(listed).toEqual([
        expect.objectContaining({ role: 'payments-db-viewer', principal: DAVE, requestId: '7K2M9QXA', expiresAt: expires }),
        expect.objectContaining({ role: 'logs', principal: 'user:erin@example.com', requestId: '8M3N0RYB' }),
      ]);
      expect(listed[0]?.detail).toContain(PROJECT);
    });
  });
});

describe('createGcpIamProvider', () => {
  const base = { resolvePrincipal: () => undefined, logger: pino({ level: 'silent' }) };

  it('takes the documented default limits, or the environment\'s', () => {
    expect(createGcpIamProvider({ ...base, env: {} }).limits).toEqual({ concurrency: 4, callsPerSecond: 4 });
    expect(createGcpIamProvider({ ...base, env: { PROD_ACCESS_GCP_CONCURRENCY: '2', PROD_ACCESS_GCP_CALLS_PER_SECOND: '1' } }).limits).toEqual({ concurrency: 2, callsPerSecond: 1 });
  });

  it('refuses a bad limit or endpoint as misconfigured, naming the variable', () => {
    const bad = [{ PROD_ACCESS_GCP_CONCURRENCY: '0' }, { PROD_ACCESS_GCP_CALLS_PER_SECOND: '1.5' }, { GCP_RESOURCE_MANAGER_ENDPOINT: 'http://rm.example.com' }];
    for (const env of bad) {
      const thrown = (() => {
        try {
          createGcpIamProvider({ ...base, env });
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      expect(thrown).toBeInstanceOf(ProviderError);
      expect((thrown as ProviderError).code).toBe('misconfigured');
      expect((thrown as ProviderError).message).toContain(Object.keys(env)[0]);
    }
  });

  it('says that each request gets its own binding', () => {
    expect(createGcpIamProvider({ ...base, env: {} }).grantsPerRequest).toBe(true);
  });
});
