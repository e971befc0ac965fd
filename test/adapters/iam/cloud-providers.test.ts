import pino from 'pino';
import { cloudIamProviders } from '../../../src/adapters/iam/cloud-providers';
import { ProviderError } from '../../../src/app/errors';

const options = (env: Record<string, string | undefined> = {}) => ({ env, logger: pino({ level: 'silent' }), principalOf: () => undefined });

describe('the cloud providers every process offers', () => {
  it('offers aws, gcp and azure with the documented default pacing, and only gcp grants per request and carries notes', () => {
    const providers = cloudIamProviders(options());
    expect(providers.map((p) => p.kind)).toEqual(['aws', 'gcp', 'azure']);
    expect(providers.map((p) => p.limits)).toEqual([
      { concurrency: 5, callsPerSecond: 10 },
      { concurrency: 4, callsPerSecond: 4 },
      { concurrency: 4, callsPerSecond: 5 },
    ]);
    expect(providers.map((p) => p.grantsPerRequest)).toEqual([false, true, false]);
    expect(providers[1]?.notes?.granted).toContain('within about 2 minutes');
    // AWS keeps no expiry of its own, so nothing moves it on an extension
    expect(providers.map((p) => p.extend !== undefined)).toEqual([false, true, true]);
  });

  it('takes pacing from the environment', () => {
    const [aws, gcp, azure] = cloudIamProviders(
      options({ PROD_ACCESS_AWS_CALLS_PER_SECOND: '3', PROD_ACCESS_GCP_CONCURRENCY: '2', PROD_ACCESS_AZURE_CALLS_PER_SECOND: '7' }),
    );
    expect(aws?.limits?.callsPerSecond).toBe(3);
    expect(gcp?.limits?.concurrency).toBe(2);
    expect(azure?.limits?.callsPerSecond).toBe(7);
  });

  it.each([
    ['aws', { PROD_ACCESS_AWS_CONCURRENCY: 'many' }, 'PROD_ACCESS_AWS_CONCURRENCY'],
    ['gcp', { PROD_ACCESS_GCP_CALLS_PER_SECOND: '0' }, 'PROD_ACCESS_GCP_CALLS_PER_SECOND'],
    ['azure', { AZURE_CLOUD: 'Mars' }, 'AZURE_CLOUD'],
  ])('stops the start on a mistyped %s setting, naming the variable', (kind, env, variable) => {
    let error: unknown;
    try {
      cloudIamProviders(options(env));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).provider).toBe(kind);
    expect((error as ProviderError).code).toBe('misconfigured');
    expect((error as ProviderError).message).toContain(variable);
  });
});
