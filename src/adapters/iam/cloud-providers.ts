import type { Logger } from 'pino';
import { ProviderError } from '../../app/errors';
import type { Email } from '../../domain/email';
import type { GrantSpec, IamProvider, ProviderAccess, ProviderLimits } from '../../ports/iam-provider';
import { awsEndpointProblems, awsLimitsFrom } from './aws/aws-settings';
import { azureSettingsFrom } from './azure/azure-settings';
import { GCP_PROPAGATION_NOTE, GCP_REVOCATION_NOTE } from './gcp/gcp-propagation-note';
import { parseEndpoint, parseLimits } from './gcp/gcp-settings';

export interface CloudProvidersOptions {
  /** `process.env`: each cloud's endpoint, credential and pacing variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** The person's own principal at a provider kind from the policy in force (`identities`), read at call time. */
  readonly principalOf: (who: Email, kind: string) => string | undefined;
}

/**
 * The three cloud providers, always offered (a policy may name `aws`, `gcp` or `azure`), each loaded
 * on first use: a bot that grants only PostgreSQL roles never loads a cloud SDK, and starts as fast
 * and small as before. Their settings (pacing, endpoints) are checked now, so a mistyped variable
 * stops the start with its name rather than failing the first grant hours later.
 */
export function cloudIamProviders(options: CloudProvidersOptions): IamProvider[] {
  const { env, logger } = options;
  const common = (kind: string) => ({ env, logger, resolvePrincipal: (who: Email) => options.principalOf(who, kind) });

  const awsLimits = awsLimitsFrom(env);
  const awsProblems = [...(awsLimits.ok ? [] : awsLimits.problems), ...awsEndpointProblems(env)];
  const gcpLimits = parseLimits(env);
  const gcpEndpoint = parseEndpoint(env);
  const gcpProblems = [...(gcpLimits.ok ? [] : [gcpLimits.message]), ...(gcpEndpoint.ok ? [] : [gcpEndpoint.message])];
  const azure = azureSettingsFrom(env);
  for (const [kind, problems] of [['aws', awsProblems], ['gcp', gcpProblems], ['azure', azure.ok ? [] : azure.problems]] as const) {
    if (problems.length > 0) throw new ProviderError('misconfigured', kind, problems.join('; '));
  }

  return [
    new LazyProvider('aws', awsLimits.ok ? awsLimits.value : undefined, { grantsPerRequest: false, extends: false }, async () =>
      (await import('./aws/aws-iam-provider')).createAwsIamProvider(common('aws')),
    ),
    new LazyProvider(
      'gcp',
      gcpLimits.ok ? gcpLimits.value : undefined,
      { grantsPerRequest: true, extends: true, notes: { granted: GCP_PROPAGATION_NOTE, revoked: GCP_REVOCATION_NOTE } },
      async () => (await import('./gcp/gcp-iam-provider')).createGcpIamProvider(common('gcp')),
    ),
    new LazyProvider('azure', azure.ok ? azure.value.limits : undefined, { grantsPerRequest: false, extends: true }, async () =>
      (await import('./azure/azure-iam-provider')).createAzureIamProvider(common('azure')),
    ),
  ];
}

/**
 * A provider whose adapter (and SDK) is imported on its first call. What the engine reads without
 * calling (kind, limits, grantsPerRequest, whether it extends, notes) is known up front.
 */
class LazyProvider implements IamProvider {
  readonly grantsPerRequest: boolean;
  readonly notes: IamProvider['notes'];
  readonly extend: ((spec: GrantSpec) => Promise<void>) | undefined;
  private loading: Promise<IamProvider> | undefined;

  constructor(
    readonly kind: string,
    readonly limits: ProviderLimits | undefined,
    traits: { readonly grantsPerRequest: boolean; readonly extends: boolean; readonly notes?: IamProvider['notes'] },
    private readonly load: () => Promise<IamProvider>,
  ) {
    this.grantsPerRequest = traits.grantsPerRequest;
    this.notes = traits.notes;
    this.extend = traits.extends ? async (spec) => (await this.provider()).extend?.(spec) : undefined;
  }

  async grant(spec: GrantSpec): Promise<void> {
    await (await this.provider()).grant(spec);
  }

  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    return (await this.provider()).revoke(spec);
  }

  async check(spec: GrantSpec, role: { readonly maxDurationMinutes: number }): Promise<void> {
    await (await this.provider()).check?.(spec, role);
  }

  async listGranted(roles: readonly { readonly role: string; readonly target: Readonly<Record<string, string>> }[]): Promise<readonly ProviderAccess[]> {
    return (await this.provider()).listGranted?.(roles) ?? [];
  }

  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (loading) await (await loading.catch(() => undefined))?.close?.();
  }

  private provider(): Promise<IamProvider> {
    if (!this.loading) {
      // NB: a failed load (a credential chain that throws at construction) is not kept: the next call tries again.
      this.loading = this.load().catch((error: unknown) => {
        this.loading = undefined;
        throw error instanceof ProviderError ? error : new ProviderError('misconfigured', this.kind, `the ${this.kind} provider could not be set up: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
    }
    return this.loading;
  }
}
