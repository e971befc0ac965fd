import type { ProviderLimits } from '../../../ports/iam-provider';

/**
 * NB: "IAM Identity Center APIs have a collective throttle limit maximum of 20 transactions per
 * second (TPS). The CreateAccountAssignment has a maximum rate of 10 outstanding async calls"
 * (IAM Identity Center User Guide, "Quotas", throttle limits, docs.aws.amazon.com/singlesignon/
 * latest/userguide/limits.html; not adjustable). The 20 TPS is shared by every caller of the
 * instance (the console, Terraform, other automation) and each grant or revoke costs several calls
 * (look-up, listing, create or delete, status polls), so the bot starts at most 10 per second, and
 * runs at most 5 at once, half the 10 outstanding assignment operations AWS allows.
 */
export const DEFAULT_AWS_LIMITS: ProviderLimits = { concurrency: 5, callsPerSecond: 10 };

export const AWS_CONCURRENCY_ENV = 'PROD_ACCESS_AWS_CONCURRENCY';
export const AWS_CALLS_PER_SECOND_ENV = 'PROD_ACCESS_AWS_CALLS_PER_SECOND';
/** The SDK's standard per-service endpoint variables (service ids "SSO Admin" and "identitystore"). */
export const AWS_ENDPOINT_ENVS = ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_SSO_ADMIN', 'AWS_ENDPOINT_URL_IDENTITYSTORE'] as const;

export type SettingsParse<T> = { ok: true; value: T } | { ok: false; problems: readonly string[] };

/** The pacing limits from the environment, each a positive integer; defaults where unset. */
export function awsLimitsFrom(env: Readonly<Record<string, string | undefined>>): SettingsParse<ProviderLimits> {
  const problems: string[] = [];
  const concurrency = positiveInteger(env, AWS_CONCURRENCY_ENV, DEFAULT_AWS_LIMITS.concurrency, problems);
  const callsPerSecond = positiveInteger(env, AWS_CALLS_PER_SECOND_ENV, DEFAULT_AWS_LIMITS.callsPerSecond, problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { concurrency, callsPerSecond } };
}

/**
 * Problems with the endpoint variables the SDK reads by itself: the SDK would only fail at the first
 * call, with a message that does not name the variable.
 */
export function awsEndpointProblems(env: Readonly<Record<string, string | undefined>>): readonly string[] {
  const problems: string[] = [];
  for (const name of AWS_ENDPOINT_ENVS) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let protocol: string | undefined;
    try {
      protocol = new URL(value).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'https:' && protocol !== 'http:') problems.push(`${name} must be an http(s) URL like https://sso.eu-central-1.amazonaws.com`);
  }
  return problems;
}

function positiveInteger(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw.trim()) < 1 || !Number.isSafeInteger(Number(raw.trim()))) {
    // NB: the value is echoed: it is a number someone typed, not a secret.
    problems.push(`${name} must be a positive integer (got ${JSON.stringify(raw).slice(0, 20)})`);
    return fallback;
  }
  return Number(raw.trim());
}
