/**
 * Where the Azure provider sends its calls and how hard it may drive them, read from the environment.
 * Pure: takes the environment as a value, returns settings or the problems, never throws.
 */
import type { ProviderLimits } from '../../../ports/iam-provider';

export const azureClouds = ['AzurePublicCloud', 'AzureChinaCloud', 'AzureUSGovernment'] as const;
export type AzureCloud = (typeof azureClouds)[number];

export interface AzureEndpoints {
  /** Azure Resource Manager, e.g. https://management.azure.com (no trailing slash). */
  readonly resourceManager: string;
  /** Microsoft Graph, e.g. https://graph.microsoft.com (no trailing slash, no /v1.0). */
  readonly graph: string;
  /** The Entra ID login host for @azure/identity, e.g. https://login.microsoftonline.com. */
  readonly authorityHost: string;
  /** Token scope for ARM calls. */
  readonly resourceManagerScope: string;
  /** Token scope for Graph calls. */
  readonly graphScope: string;
}

export interface AzureSettings {
  readonly endpoints: AzureEndpoints;
  readonly limits: ProviderLimits;
  /**
   * `PROD_ACCESS_AZURE_DISABLE_INSTANCE_DISCOVERY=true`: @azure/identity's `disableInstanceDiscovery`,
   * for a login host Microsoft's instance discovery does not know (Azure Stack, a private authority,
   * a test fake). Off by default: discovery is what validates the authority.
   */
  readonly disableInstanceDiscovery: boolean;
}

// NB: hosts from Microsoft's national cloud tables (learn.microsoft.com/graph/deployments and
// @azure/identity's AzureAuthorityHosts). US Government here is GCC High / L4; DoD (L5) uses
// dod-graph.microsoft.us: set AZURE_GRAPH_ENDPOINT for it.
const CLOUDS: Readonly<Record<AzureCloud, { resourceManager: string; graph: string; authorityHost: string }>> = {
  AzurePublicCloud: { resourceManager: 'https://management.azure.com', graph: 'https://graph.microsoft.com', authorityHost: 'https://login.microsoftonline.com' },
  AzureChinaCloud: { resourceManager: 'https://management.chinacloudapi.cn', graph: 'https://microsoftgraph.chinacloudapi.cn', authorityHost: 'https://login.chinacloudapi.cn' },
  AzureUSGovernment: { resourceManager: 'https://management.usgovcloudapi.net', graph: 'https://graph.microsoft.us', authorityHost: 'https://login.microsoftonline.us' },
};

/**
 * NB: ARM throttles per principal, subscription and region with a token bucket ("Request limits and
 * throttling", learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling,
 * limits since 2024): writes and deletes refill at 10 per second (bucket 200), reads at 25. A
 * revocation is one write (the AdminRemove request), sometimes preceded by a read. 5 per second
 * uses half the write refill, leaving the rest to grants and to other automation under the same
 * principal; 4 at once keeps the bucket from draining in a burst of expiries.
 */
export const DEFAULT_AZURE_LIMITS: ProviderLimits = { concurrency: 4, callsPerSecond: 5 };

export type SettingsResult = { ok: true; value: AzureSettings } | { ok: false; problems: readonly string[] };

/**
 * Reads `AZURE_CLOUD` (a shorthand for all three hosts), then `AZURE_RESOURCE_MANAGER_ENDPOINT`,
 * `AZURE_GRAPH_ENDPOINT` and `AZURE_AUTHORITY_HOST` (each wins over the shorthand), the optional token
 * audiences `AZURE_RESOURCE_MANAGER_AUDIENCE` / `AZURE_GRAPH_AUDIENCE` (for private endpoints whose
 * host is not the audience), and `PROD_ACCESS_AZURE_CONCURRENCY` / `PROD_ACCESS_AZURE_CALLS_PER_SECOND`.
 */
export function azureSettingsFrom(env: Readonly<Record<string, string | undefined>>): SettingsResult {
  const problems: string[] = [];
  const cloudName = nonEmpty(env['AZURE_CLOUD']);
  let cloud = CLOUDS.AzurePublicCloud;
  if (cloudName !== undefined) {
    const known = azureClouds.find((c) => c.toLowerCase() === cloudName.toLowerCase());
    if (known === undefined) problems.push(`AZURE_CLOUD must be one of ${azureClouds.join(', ')}`);
    else cloud = CLOUDS[known];
  }
  const resourceManager = endpoint(env, 'AZURE_RESOURCE_MANAGER_ENDPOINT', cloud.resourceManager, problems);
  const graph = endpoint(env, 'AZURE_GRAPH_ENDPOINT', cloud.graph, problems);
  const authorityHost = endpoint(env, 'AZURE_AUTHORITY_HOST', cloud.authorityHost, problems);
  const resourceManagerAudience = endpoint(env, 'AZURE_RESOURCE_MANAGER_AUDIENCE', resourceManager, problems);
  const graphAudience = endpoint(env, 'AZURE_GRAPH_AUDIENCE', graph, problems);
  const concurrency = positiveInteger(env, 'PROD_ACCESS_AZURE_CONCURRENCY', DEFAULT_AZURE_LIMITS.concurrency, problems);
  const callsPerSecond = positiveInteger(env, 'PROD_ACCESS_AZURE_CALLS_PER_SECOND', DEFAULT_AZURE_LIMITS.callsPerSecond, problems);
  const discovery = nonEmpty(env['PROD_ACCESS_AZURE_DISABLE_INSTANCE_DISCOVERY'])?.toLowerCase();
  if (discovery !== undefined && discovery !== 'true' && discovery !== 'false') problems.push('PROD_ACCESS_AZURE_DISABLE_INSTANCE_DISCOVERY must be true or false');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      disableInstanceDiscovery: discovery === 'true',
      endpoints: {
        resourceManager,
        graph,
        authorityHost,
        resourceManagerScope: `${resourceManagerAudience}/.default`,
        graphScope: `${graphAudience}/.default`,
      },
      limits: { concurrency, callsPerSecond },
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function endpoint(env: Readonly<Record<string, string | undefined>>, name: string, fallback: string, problems: string[]): string {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} must be an https:// URL`);
    return fallback;
  }
  // NB: the Azure SDK refuses to send a bearer token over plain http, and so do we for Graph.
  if (url.protocol !== 'https:') problems.push(`${name} must be an https:// URL`);
  else if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    problems.push(`${name} must be a plain base URL (no query, fragment or credentials)`);
  }
  return value.replace(/\/+$/, '');
}

function positiveInteger(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, problems: string[]): number {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    problems.push(`${name} must be a positive integer`);
    return fallback;
  }
  return Number(value);
}
