import { OAuth2Client } from 'google-auth-library';
import pino from 'pino';
import { createGcpIamProvider, type GcpIamProvider, type GcpIamProviderOptions } from '../../../../src/adapters/iam/gcp/gcp-iam-provider';
import type { Email } from '../../../../src/domain/email';
import { startFakeGcp, type FakeGcp, type FakeGcpOptions } from '../../../fakes/fake-gcp';

export const TEST_TOKEN = 'ya29.test-token-never-logged';

/** Credentials that need no Google: a fixed bearer token that does not expire during a test. */
export function testAuthClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: TEST_TOKEN, expiry_date: Date.now() + 3_600_000 });
  return client;
}

export interface GcpHarness {
  readonly fake: FakeGcp;
  readonly provider: GcpIamProvider;
  /** Every wait the provider asked for (throttling and conflict backoff), instead of sleeping. */
  readonly sleeps: number[];
  /** Another provider on the same fake, as a second replica of the bot would be. */
  replica(overrides?: Partial<GcpIamProviderOptions>): GcpIamProvider;
  close(): Promise<void>;
}

/** A fake Resource Manager and the real SDK pointed at it through `GCP_RESOURCE_MANAGER_ENDPOINT`. */
export async function startGcpHarness(
  seed: FakeGcpOptions,
  overrides: Partial<GcpIamProviderOptions> & { identities?: ReadonlyMap<Email, string> } = {},
): Promise<GcpHarness> {
  const fake = await startFakeGcp(seed);
  const sleeps: number[] = [];
  const providers: GcpIamProvider[] = [];
  const make = (more: Partial<GcpIamProviderOptions> = {}): GcpIamProvider => {
    const provider = createGcpIamProvider({
      env: { GCP_RESOURCE_MANAGER_ENDPOINT: fake.url },
      resolvePrincipal: (who) => overrides.identities?.get(who),
      logger: pino({ level: 'silent' }),
      authClient: testAuthClient(),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      throttleBackoff: { retries: 3, baseMs: 100, capMs: 400, budgetMs: 2_000 },
      conflictBackoff: { retries: 5, baseMs: 10, capMs: 50, budgetMs: 1_000 },
      ...overrides,
      ...more,
    });
    providers.push(provider);
    return provider;
  };
  const provider = make();
  return {
    fake,
    provider,
    sleeps,
    replica: make,
    close: async () => {
      await Promise.all(providers.map((p) => p.close()));
      await fake.close();
    },
  };
}
