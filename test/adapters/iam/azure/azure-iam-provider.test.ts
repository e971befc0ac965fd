import { ProviderError } from '../../../../src/app/errors';
import { createAzureIamProvider } from '../../../../src/adapters/iam/azure/azure-iam-provider';
import { email } from '../../../../src/domain/email';
import { parseExactRequestId, type RequestId } from '../../../../src/domain/request-id';
import type { GrantSpec } from '../../../../src/ports/iam-provider';
import type { RecordedRequest } from '../../../fakes/fake-azure';
import { azureFixture, dave, DAVE_ID, erin, ERIN_ID, frank, FRANK_ID, READER, SCOPE, SUBSCRIPTION, TARGET, type AzureFixture } from './azure-fixture';

const MINUTE = 60_000;
const REQUESTS_PATH = `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/`;
const ROLE_DEFINITION_ID = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${READER}`;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function id(text: string): RequestId {
  const parsed = parseExactRequestId(text);
  if (parsed === undefined) throw new Error(`bad request id ${text}`);
  return parsed;
}

function errorOf(promise: Promise<unknown>): Promise<ProviderError> {
  return promise.then(
    () => {
      throw new Error('expected a ProviderError');
    },
    (e: unknown) => {
      if (!(e instanceof ProviderError)) throw e;
      return e;
    },
  );
}

const puts = (f: AzureFixture): RecordedRequest[] => f.fake.requests.filter((r) => r.op === 'scheduleRequests.create');
const props = (r: RecordedRequest | undefined): Record<string, unknown> => (r?.body?.['properties'] ?? {}) as Record<string, unknown>;
const ops = (f: AzureFixture): string[] => f.fake.requests.map((r) => r.op);

describe('AzureIamProvider', () => {
  let f: AzureFixture;
  let spec: (overrides?: Partial<GrantSpec>) => GrantSpec;
  beforeEach(async () => {
    f = await azureFixture();
    spec = (overrides = {}) => ({
      requestId: id('7K3M9Q2P'),
      role: 'prod-reader',
      principal: dave,
      provider: 'azure',
      target: TARGET,
      expiresAt: new Date(f.fake.now() + 60 * MINUTE),
      reason: 'payouts stuck since 09:00',
      ticket: 'INC-4211',
      ...overrides,
    });
  });
  afterEach(async () => {
    await f.close();
  });

  describe('grant', () => {
    it('sends an AdminAssign that Azure itself ends at expiresAt, with the request id, ticket and reason as justification', async () => {
      // Given a grant for an hour
      const granted = spec();
      // When
      await f.provider.grant(granted);
      // Then one PUT, exactly as the API wants it
      const [put] = puts(f);
      expect(put?.method).toBe('PUT');
      expect(put?.path.startsWith(REQUESTS_PATH)).toBe(true);
      expect(put?.path.slice(REQUESTS_PATH.length)).toMatch(GUID);
      expect(put?.query['api-version']).toBe('2020-10-01');
      expect(put?.bearer).toBe(true);
      expect(props(put)).toEqual({
        principalId: DAVE_ID,
        roleDefinitionId: ROLE_DEFINITION_ID,
        requestType: 'AdminAssign',
        scheduleInfo: { startDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), expiration: { type: 'AfterDateTime', endDateTime: granted.expiresAt.toISOString() } },
        justification: 'prod-access 7K3M9Q2P · INC-4211 · payouts stuck since 09:00',
        ticketInfo: { ticketNumber: 'INC-4211', ticketSystem: 'prod-access' },
      });
      // And Azure holds it until exactly expiresAt
      expect(f.fake.assignmentOf(DAVE_ID, SCOPE, READER)?.end).toBe(granted.expiresAt.getTime());
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(true);
      expect(f.tokenScopes).toContain(`${f.fake.url}/.default`);
      // And the access ends by itself at expiresAt, without the bot
      f.fake.advance(60 * MINUTE);
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(false);
    });

    it('starts the schedule now, by the injected clock', async () => {
      await f.provider.grant(spec());
      const start = Date.parse(String((props(puts(f)[0])['scheduleInfo'] as Record<string, unknown>)['startDateTime']));
      expect(Math.abs(start - f.fake.now())).toBeLessThan(5_000);
    });

    it('is idempotent: a retried grant reuses the request name, and Azure refusing the name again changes nothing', async () => {
      const granted = spec();
      await f.provider.grant(granted);
      await f.provider.grant(granted);
      const [first, second] = puts(f);
      expect(second?.path).toBe(first?.path);
      expect(ops(f)).toEqual(['scheduleRequests.create', 'scheduleRequests.create', 'schedules.list']);
      expect(f.fake.requests[2]?.query['$filter']).toBe(`principalId eq '${DAVE_ID}'`);
      expect(f.fake.liveAssignments()).toHaveLength(1);
    });

    it('gives each request and action a request name of its own', async () => {
      await f.provider.grant(spec());
      await f.provider.grant(spec({ principal: erin }));
      await f.provider.grant(spec({ requestId: id('8K3M9Q2P'), principal: erin }));
      const names = puts(f).map((r) => r.path);
      expect(new Set(names).size).toBe(3);
    });

    it('moves the end of an existing assignment later (AdminUpdate) when another grant of the same person needs longer', async () => {
      // Given a live grant for 30 minutes
      const first = spec({ expiresAt: new Date(f.fake.now() + 30 * MINUTE) });
      await f.provider.grant(first);
      const existing = f.fake.assignmentOf(DAVE_ID, SCOPE, READER);
      // When another request of dave's asks for 90 minutes
      const second = spec({ requestId: id('9K3M9Q2P'), expiresAt: new Date(f.fake.now() + 90 * MINUTE), ticket: 'INC-5', reason: 'second look' });
      await f.provider.grant(second);
      // Then: AdminAssign refused (RoleAssignmentExists), read, AdminUpdate to the later end
      expect(ops(f)).toEqual(['scheduleRequests.create', 'scheduleRequests.create', 'schedules.list', 'scheduleRequests.create']);
      const update = puts(f)[2];
      expect(props(update)).toMatchObject({
        principalId: DAVE_ID,
        roleDefinitionId: ROLE_DEFINITION_ID,
        requestType: 'AdminUpdate',
        scheduleInfo: { startDateTime: new Date(existing?.start ?? 0).toISOString(), expiration: { type: 'AfterDateTime', endDateTime: second.expiresAt.toISOString() } },
        justification: 'prod-access 9K3M9Q2P · INC-5 · second look',
        targetRoleAssignmentScheduleId: `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentSchedules/${existing?.scheduleName}`,
      });
      expect(f.fake.assignmentOf(DAVE_ID, SCOPE, READER)?.end).toBe(second.expiresAt.getTime());
    });

    it('refuses, changing nothing, a person who already holds the role with no end date (a standing assignment made outside prod-access)', async () => {
      // Given dave holds Reader at the scope permanently, assigned by hand
      f.fake.seed({ assignments: [{ scope: SCOPE, principalId: DAVE_ID, roleDefinitionGuid: READER, start: f.fake.now() - 60 * MINUTE, justification: 'standing access' }] });
      // When a request of dave's for the same role is checked, then granted
      const checked = await f.provider.check(spec(), { maxDurationMinutes: 480 }).then(() => undefined, (e: unknown) => e);
      const granted = await f.provider.grant(spec()).then(() => undefined, (e: unknown) => e);
      // Then both refuse, saying why, and the standing assignment keeps no end
      for (const error of [checked, granted]) {
        expect(error).toBeInstanceOf(ProviderError);
        expect((error as ProviderError).code).toBe('refused');
        expect((error as ProviderError).message).toContain('already holds this role with no end date');
      }
      expect(puts(f).map((r) => props(r)['requestType'])).toEqual(['AdminAssign']);
      expect(f.fake.assignmentOf(DAVE_ID, SCOPE, READER)?.end).toBeUndefined();
    });

    it('never shortens: a second grant ending earlier leaves Azure’s later end alone', async () => {
      const long = spec({ expiresAt: new Date(f.fake.now() + 120 * MINUTE) });
      await f.provider.grant(long);
      await f.provider.grant(spec({ requestId: id('9K3M9Q2P'), expiresAt: new Date(f.fake.now() + 30 * MINUTE) }));
      expect(puts(f).map((r) => props(r)['requestType'])).toEqual(['AdminAssign', 'AdminAssign']);
      expect(f.fake.assignmentOf(DAVE_ID, SCOPE, READER)?.end).toBe(long.expiresAt.getTime());
    });

    it('keeps the request id in a justification cut to Azure’s length', async () => {
      await f.provider.grant(spec({ reason: 'x'.repeat(2_000) }));
      const justification = String(props(puts(f)[0])['justification']);
      expect(justification.length).toBeLessThanOrEqual(500);
      expect(justification.startsWith('prod-access 7K3M9Q2P · INC-4211 · xxx')).toBe(true);
    });

    it('looks a person up in Graph by user principal name, then by mail, with a Graph token', async () => {
      const g = await azureFixture({}, { identities: {} });
      try {
        await g.provider.grant(spec({ principal: frank }));
        const graph = g.fake.requests.filter((r) => r.op.startsWith('graph'));
        expect(graph.map((r) => [r.path, r.query])).toEqual([
          ['/v1.0/users/frank%40example.com', { $select: 'id,accountEnabled' }],
          ['/v1.0/users', { $filter: "mail eq 'frank@example.com'", $select: 'id,accountEnabled' }],
        ]);
        expect(props(puts(g)[0])['principalId']).toBe(FRANK_ID);
        expect(g.tokenScopes).toContain(`${g.fake.url}/.default`);
      } finally {
        await g.close();
      }
    });
  });

  describe('revoke', () => {
    it('sends AdminRemove once Azure’s 5 minutes have passed, and access is gone', async () => {
      const granted = spec();
      await f.provider.grant(granted);
      f.fake.advance(6 * MINUTE);
      expect(await f.provider.revoke(granted)).toEqual({ removed: true });
      const remove = puts(f)[1];
      expect(props(remove)).toEqual({
        principalId: DAVE_ID,
        roleDefinitionId: ROLE_DEFINITION_ID,
        requestType: 'AdminRemove',
        justification: 'prod-access 7K3M9Q2P · INC-4211 · payouts stuck since 09:00',
        ticketInfo: { ticketNumber: 'INC-4211', ticketSystem: 'prod-access' },
      });
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(false);
    });

    it('reports removed: false for what is already gone (RoleAssignmentDoesNotExist)', async () => {
      expect(await f.provider.revoke(spec())).toEqual({ removed: false });
      expect(ops(f)).toEqual(['scheduleRequests.create']);
    });

    it('reports removed: false when the same removal is retried after it went through', async () => {
      const granted = spec();
      await f.provider.grant(granted);
      f.fake.advance(6 * MINUTE);
      await f.provider.revoke(granted);
      expect(await f.provider.revoke(granted)).toEqual({ removed: false });
      expect(ops(f).slice(2)).toEqual(['scheduleRequests.create', 'schedules.list']);
    });

    it('is deferred within Azure’s first 5 minutes, with retryAt when Azure will accept it, and succeeds then', async () => {
      // Given a grant made just now
      const granted = spec();
      await f.provider.grant(granted);
      const start = f.fake.assignmentOf(DAVE_ID, SCOPE, READER)?.start ?? 0;
      f.fake.advance(2 * MINUTE);
      // When revoked early
      const error = await errorOf(f.provider.revoke(granted));
      // Then deferred (not a failure), until 5 minutes after the start
      expect(error.code).toBe('deferred');
      expect(error.retryAt?.getTime()).toBeGreaterThanOrEqual(start + 5 * MINUTE);
      expect(error.retryAt?.getTime()).toBeLessThanOrEqual(start + 5 * MINUTE + 60_000);
      expect(error.message).toContain(error.retryAt?.toISOString());
      expect(error.message).toContain(SCOPE);
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(true);
      // And at retryAt the same revoke goes through
      f.fake.advance((error.retryAt?.getTime() ?? 0) - f.fake.now());
      expect(await f.provider.revoke(granted)).toEqual({ removed: true });
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(false);
    });

    it('resubmits under a new name when Azure kept the name of an earlier removal that did not take', async () => {
      const granted = spec();
      await f.provider.grant(granted);
      f.fake.advance(6 * MINUTE);
      // Given a removal accepted by Azure, then an assignment re-made by hand under the same name's watch
      await f.provider.revoke(granted);
      f.fake.seed({ assignments: [{ scope: SCOPE, principalId: DAVE_ID, roleDefinitionGuid: READER, start: f.fake.now() - 10 * MINUTE, end: f.fake.now() + 10 * MINUTE }] });
      // When revoked again
      expect(await f.provider.revoke(granted)).toEqual({ removed: true });
      const [, firstRemove, , again] = puts(f);
      expect(again?.path).not.toBe(firstRemove?.path);
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(false);
    });
  });

  describe('extend', () => {
    it('moves Azure’s end to the new expiry with AdminUpdate', async () => {
      const granted = spec();
      await f.provider.grant(granted);
      const later = spec({ expiresAt: new Date(granted.expiresAt.getTime() + 60 * MINUTE) });
      await f.provider.extend(later);
      const update = puts(f)[1];
      expect(props(update)['requestType']).toBe('AdminUpdate');
      expect((props(update)['scheduleInfo'] as Record<string, unknown>)['expiration']).toEqual({ type: 'AfterDateTime', endDateTime: later.expiresAt.toISOString() });
      expect(f.fake.assignmentOf(DAVE_ID, SCOPE, READER)?.end).toBe(later.expiresAt.getTime());
    });

    it('a repeated extension changes nothing, and an earlier one never shortens', async () => {
      const granted = spec();
      await f.provider.grant(granted);
      const later = spec({ expiresAt: new Date(granted.expiresAt.getTime() + 60 * MINUTE) });
      await f.provider.extend(later);
      await f.provider.extend(later);
      await f.provider.extend(spec({ expiresAt: new Date(granted.expiresAt.getTime() - 30 * MINUTE) }));
      expect(puts(f)).toHaveLength(2);
      expect(f.fake.assignmentOf(DAVE_ID, SCOPE, READER)?.end).toBe(later.expiresAt.getTime());
    });

    it('refuses when the assignment is gone', async () => {
      const error = await errorOf(f.provider.extend(spec()));
      expect(error.code).toBe('refused');
      expect(error.message).toContain('no active assignment');
      expect(puts(f)).toHaveLength(0);
    });
  });

  describe('throttling and outages', () => {
    it('retries a 429 after its Retry-After, then succeeds', async () => {
      f.fake.failNext(2, { status: 429, retryAfter: 1 });
      await f.provider.grant(spec());
      expect(f.delays).toEqual([1_000, 1_000]);
      expect(puts(f)).toHaveLength(3);
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(true);
    });

    it('gives up at once when Retry-After is beyond its budget: unavailable, with retryAt the server’s time', async () => {
      f.fake.failNext(1, { status: 429, retryAfter: 30 });
      const before = f.fake.now();
      const error = await errorOf(f.provider.grant(spec()));
      expect(error.code).toBe('unavailable');
      expect(error.retryAt?.getTime()).toBeGreaterThanOrEqual(before + 30_000);
      expect(error.retryAt?.getTime()).toBeLessThan(before + 40_000);
      expect(f.delays).toEqual([]);
      expect(puts(f)).toHaveLength(1);
    });

    it('retries 5xx with exponential backoff, then reports unavailable with the cause', async () => {
      f.fake.failNext(3, { status: 500 });
      const error = await errorOf(f.provider.grant(spec()));
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('HTTP 500');
      expect(error.cause).toBeDefined();
      expect(f.delays).toEqual([50, 100]);
      expect(puts(f)).toHaveLength(3);
      expect(f.fake.hasAccess(DAVE_ID, SCOPE, READER)).toBe(false);
      expect(f.logs().filter((l) => l['msg'] === 'azure call failed; retrying')).toHaveLength(2);
    });

    it('treats a cut connection as an outage', async () => {
      f.fake.failNext(3, { status: 0, network: true });
      const error = await errorOf(f.provider.grant(spec()));
      expect(error.code).toBe('unavailable');
    });

    it('retries a throttled Graph look-up too', async () => {
      const g = await azureFixture({}, { identities: {} });
      try {
        g.fake.failNext(1, { status: 429, retryAfter: 1, op: 'graph' });
        await g.provider.check(spec());
        expect(g.delays).toEqual([1_000]);
      } finally {
        await g.close();
      }
    });

    it('never puts the token in an error message', async () => {
      f.fake.failNext(3, { status: 503 });
      const error = await errorOf(f.provider.grant(spec()));
      expect(error.message).not.toContain('test-token');
    });
  });

  describe('permanent refusals', () => {
    it('is misconfigured, naming the scope, when the bot’s identity lacks the permission', async () => {
      f.fake.failNext(1, { status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization.' });
      const error = await errorOf(f.provider.grant(spec()));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain(SCOPE);
      expect(error.message).toContain('AuthorizationFailed');
      expect(puts(f)).toHaveLength(1);
    });

    it('is misconfigured when the PIM role setting refuses the duration (ExpirationRule)', async () => {
      const g = await azureFixture({ maximumActiveMs: 30 * MINUTE });
      try {
        const error = await errorOf(g.provider.grant(spec({ expiresAt: new Date(g.fake.now() + 60 * MINUTE) })));
        expect(error.code).toBe('misconfigured');
        expect(error.message).toContain('RoleAssignmentRequestPolicyValidationFailed');
      } finally {
        await g.close();
      }
    });

    it('is refused when the mapped object id is not in the directory (PrincipalNotFound)', async () => {
      const g = await azureFixture({}, { identities: { [dave]: '00000000-0000-4000-8000-000000000000' } });
      try {
        const error = await errorOf(g.provider.grant(spec()));
        expect(error.code).toBe('refused');
        expect(error.message).toContain('PrincipalNotFound');
      } finally {
        await g.close();
      }
    });

    it('is misconfigured when the credential cannot get a token', async () => {
      const g = await azureFixture({}, {
        credential: {
          getToken: async () => {
            throw Object.assign(new Error('EnvironmentCredential is unavailable'), { name: 'CredentialUnavailableError' });
          },
        },
      });
      try {
        const error = await errorOf(g.provider.grant(spec()));
        expect(error.code).toBe('misconfigured');
        expect(error.message).toContain('credential');
      } finally {
        await g.close();
      }
    });
  });

  describe('check', () => {
    it('passes for a mapped person and a role that exists at the scope, reading only', async () => {
      await f.provider.check(spec(), { maxDurationMinutes: 480 });
      expect(f.fake.requests.map((r) => [r.method, r.path, r.query['api-version']])).toEqual([
        ['GET', `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentSchedules`, '2020-10-01'],
        ['GET', `${SCOPE}/providers/Microsoft.Authorization/roleDefinitions/${READER}`, '2022-04-01'],
      ]);
    });

    it('refuses a person Graph does not know, naming their e-mail', async () => {
      const g = await azureFixture({}, { identities: {} });
      try {
        const stranger = email('nobody@example.com');
        const error = await errorOf(g.provider.check(spec({ principal: stranger }), { maxDurationMinutes: 60 }));
        expect(error.code).toBe('refused');
        expect(error.message).toContain('nobody@example.com');
        expect(g.fake.requests.filter((r) => r.op === 'roleDefinitions.get')).toHaveLength(0);
      } finally {
        await g.close();
      }
    });

    it('refuses a disabled Entra user', async () => {
      const g = await azureFixture({ users: [{ id: DAVE_ID, userPrincipalName: 'dave@example.com', accountEnabled: false }] }, { identities: {} });
      try {
        const error = await errorOf(g.provider.check(spec(), { maxDurationMinutes: 60 }));
        expect(error.code).toBe('refused');
        expect(error.message).toContain('disabled');
      } finally {
        await g.close();
      }
    });

    it('is misconfigured when the role definition does not exist at the scope', async () => {
      const missing = '00000000-1111-4222-8333-444444444444';
      const error = await errorOf(f.provider.check(spec({ target: { scope: SCOPE, roleDefinitionId: missing } }), { maxDurationMinutes: 60 }));
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain(missing);
      expect(error.message).toContain(SCOPE);
    });

    it('is misconfigured when a custom role is not assignable at the scope', async () => {
      const custom = '12345678-1111-4222-8333-444444444444';
      const g = await azureFixture({ roleDefinitions: [{ guid: custom, roleName: 'Other team', assignableScopes: [`/subscriptions/${SUBSCRIPTION}/resourceGroups/other`] }] });
      try {
        const error = await errorOf(g.provider.check(spec({ target: { scope: SCOPE, roleDefinitionId: custom } }), { maxDurationMinutes: 60 }));
        expect(error.code).toBe('misconfigured');
        expect(error.message).toContain('not assignable');
      } finally {
        await g.close();
      }
    });

    it('is misconfigured for an unusable target or a mapped id that is not a GUID, before any call', async () => {
      const bad = await errorOf(f.provider.check(spec({ target: { scope: 'subscriptions/x', roleDefinitionId: READER } }), { maxDurationMinutes: 60 }));
      expect(bad.code).toBe('misconfigured');
      expect(bad.message).toContain('scope');
      const g = await azureFixture({}, { identities: { [dave]: 'dave' } });
      try {
        const notGuid = await errorOf(g.provider.check(spec(), { maxDurationMinutes: 60 }));
        expect(notGuid.code).toBe('misconfigured');
        expect(notGuid.message).toContain(dave);
        expect(g.fake.requests).toHaveLength(0);
      } finally {
        await g.close();
      }
      expect(f.fake.requests).toHaveLength(0);
    });
  });

  describe('listGranted', () => {
    it('lists the assignments prod-access made at the roles’ scopes, with request id and end, and skips others', async () => {
      // Given dave granted by the bot, and erin assigned by hand at the same scope and role
      const granted = spec();
      await f.provider.grant(granted);
      f.fake.seed({ assignments: [{ scope: SCOPE, principalId: ERIN_ID, roleDefinitionGuid: READER, end: f.fake.now() + 30 * MINUTE, justification: 'break-glass by hand' }] });
      f.fake.requests.length = 0;
      // When
      const found = await f.provider.listGranted([
        { role: 'prod-reader', target: TARGET },
        { role: 'prod-reader-again', target: { scope: SCOPE.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/').replace('/RESOURCEGROUPS/', '/resourceGroups/'), roleDefinitionId: READER } },
      ]);
      // Then only dave's, once per matching role, from one list call for the scope
      expect(found).toEqual([
        expect.objectContaining({ role: 'prod-reader', principal: DAVE_ID, requestId: '7K3M9Q2P', expiresAt: granted.expiresAt }),
        expect.objectContaining({ role: 'prod-reader-again', principal: DAVE_ID, requestId: '7K3M9Q2P' }),
      ]);
      const lists = f.fake.requests.filter((r) => r.op === 'schedules.list');
      expect(lists).toHaveLength(1);
      expect(lists[0]?.query['$filter']).toBe('atScope()');
      expect(f.fake.requests.filter((r) => r.op === 'scheduleRequests.get')).toHaveLength(2);
    });

    it('does not list access that Azure already ended', async () => {
      await f.provider.grant(spec({ expiresAt: new Date(f.fake.now() + 10 * MINUTE) }));
      f.fake.advance(11 * MINUTE);
      expect(await f.provider.listGranted([{ role: 'prod-reader', target: TARGET }])).toEqual([]);
    });
  });
});

describe('createAzureIamProvider', () => {
  const base = {
    resolvePrincipal: () => undefined,
    logger: require('pino')({ level: 'silent' }),
    credential: { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 60_000 }) },
  };

  it('names a bad environment variable', () => {
    const attempt = () => createAzureIamProvider({ ...base, env: { AZURE_CLOUD: 'Mars', PROD_ACCESS_AZURE_CONCURRENCY: '0' } });
    expect(attempt).toThrow(ProviderError);
    expect(attempt).toThrow(/AZURE_CLOUD.*PROD_ACCESS_AZURE_CONCURRENCY/);
  });

  it('takes its limits from the environment', async () => {
    const provider = createAzureIamProvider({ ...base, env: { PROD_ACCESS_AZURE_CONCURRENCY: '2', PROD_ACCESS_AZURE_CALLS_PER_SECOND: '3' } });
    expect(provider.limits).toEqual({ concurrency: 2, callsPerSecond: 3 });
    expect(provider.grantsPerRequest).toBe(false);
    await provider.close();
  });
});
