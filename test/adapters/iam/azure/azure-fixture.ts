import pino from 'pino';
import { createAzureIamProvider, type AzureIamProvider, type AzureIamProviderOptions } from '../../../../src/adapters/iam/azure/azure-iam-provider';
import { email, type Email } from '../../../../src/domain/email';
import { startFakeAzure, type FakeAzure, type FakeAzureOptions } from '../../../fakes/fake-azure';
import { logSink } from '../../../support/log-sink';

export const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
export const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/payments-prod`;
/** The built-in Reader role. */
export const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
export const TARGET = { scope: SCOPE, roleDefinitionId: READER };

export const dave = email('dave@example.com');
export const erin = email('erin@example.com');
/** Found in Graph by mail only (sign-in name differs). */
export const frank = email('frank@example.com');
export const DAVE_ID = 'd0000000-0000-4000-8000-00000000da7e';
export const ERIN_ID = 'e0000000-0000-4000-8000-0000000000e1';
export const FRANK_ID = 'f0000000-0000-4000-8000-0000000000f1';

export interface AzureFixture {
  readonly fake: FakeAzure;
  readonly provider: AzureIamProvider;
  /** Every backoff the provider waited (no real sleeping). */
  readonly delays: number[];
  /** Tokens asked for, by scope. */
  readonly tokenScopes: string[];
  readonly logs: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * A fake Azure over HTTPS, and the real provider (real ARM SDK client, real Graph fetch) pointed at
 * it through the documented environment variables, trusting the fake's certificate.
 */
export async function azureFixture(
  fakeOptions: FakeAzureOptions = {},
  overrides: Partial<AzureIamProviderOptions> & { identities?: Record<string, string> } = {},
): Promise<AzureFixture> {
  const fake = await startFakeAzure({
    users: [
      { id: DAVE_ID, userPrincipalName: 'dave@example.com', mail: 'dave@example.com' },
      { id: ERIN_ID, userPrincipalName: 'erin@example.com', mail: 'erin@example.com' },
      { id: FRANK_ID, userPrincipalName: 'frank.f@corp.example.onmicrosoft.com', mail: 'frank@example.com' },
    ],
    roleDefinitions: [{ guid: READER, roleName: 'Reader' }],
    ...fakeOptions,
  });
  const delays: number[] = [];
  const tokenScopes: string[] = [];
  const sink = logSink();
  const identities: Record<string, string> = overrides.identities ?? { [dave]: DAVE_ID, [erin]: ERIN_ID };
  const provider = createAzureIamProvider({
    env: { AZURE_RESOURCE_MANAGER_ENDPOINT: fake.url, AZURE_GRAPH_ENDPOINT: fake.url, AZURE_AUTHORITY_HOST: fake.url },
    resolvePrincipal: (who: Email) => identities[who],
    logger: pino({ level: 'debug' }, sink.stream),
    credential: {
      getToken: async (scopes: string | string[]) => {
        tokenScopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
        return { token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    },
    clock: { now: () => new Date(fake.now()) },
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 2_000 },
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0.5,
    tlsCa: fake.ca,
    ...overrides,
  });
  return {
    fake,
    provider,
    delays,
    tokenScopes,
    logs: sink.lines,
    close: async () => {
      await provider.close();
      await fake.close();
    },
  };
}
