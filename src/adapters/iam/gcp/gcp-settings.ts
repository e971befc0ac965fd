/**
 * The GCP provider's settings from the environment: the Resource Manager endpoint and the pacing
 * limits. Pure: reads only the map it is given; every problem names the variable.
 */
import type { ProviderLimits } from '../../../ports/iam-provider';

export const ENDPOINT_ENV = 'GCP_RESOURCE_MANAGER_ENDPOINT';
export const CONCURRENCY_ENV = 'PROD_ACCESS_GCP_CONCURRENCY';
export const CALLS_PER_SECOND_ENV = 'PROD_ACCESS_GCP_CALLS_PER_SECOND';

/**
 * NB: Google's IAM quota page (cloud.google.com/iam/quotas, "IAM v1 API") allows 600 policy writes
 * and 6,000 reads per project per minute, shared with every other tool writing policies in that
 * project (Terraform, the console). Each grant or revoke costs one read and one write (more on an
 * etag conflict), so 4 operations a second is at most 240 writes a minute: 40% of the quota. Four at
 * a time: writes to ONE resource's policy are serialised inside the adapter anyway (they would only
 * conflict), so concurrency helps only across resources.
 */
export const DEFAULT_LIMITS: ProviderLimits = { concurrency: 4, callsPerSecond: 4 };

/** Where the SDK sends its REST calls: `https://host[:port]`, or plain http on loopback for tests. */
export interface ResourceManagerEndpoint {
  readonly protocol: 'http' | 'https';
  readonly host: string;
  readonly port: number;
}

export type SettingParse<T> = { ok: true; value: T } | { ok: false; message: string };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `undefined` (use Google's public endpoint) when the variable is unset or empty. */
export function parseEndpoint(env: Readonly<Record<string, string | undefined>>): SettingParse<ResourceManagerEndpoint | undefined> {
  const text = env[ENDPOINT_ENV]?.trim();
  if (text === undefined || text === '') return { ok: true, value: undefined };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: `${ENDPOINT_ENV} must be a URL like https://private.googleapis.com or https://host:port` };
  }
  const protocol = url.protocol === 'https:' ? 'https' : url.protocol === 'http:' ? 'http' : undefined;
  if (protocol === undefined) return { ok: false, message: `${ENDPOINT_ENV} must be an https:// URL` };
  // NB: plain http would send the bearer token in clear text; only a loopback test fake may have it.
  if (protocol === 'http' && !LOOPBACK.has(url.hostname)) {
    return { ok: false, message: `${ENDPOINT_ENV} may use http:// only on loopback (127.0.0.1, localhost, [::1]); use https:// for ${url.hostname}` };
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return { ok: false, message: `${ENDPOINT_ENV} must be a scheme, host and optional port only (the SDK adds /v3/…)` };
  }
  const port = url.port === '' ? (protocol === 'https' ? 443 : 80) : Number(url.port);
  return { ok: true, value: { protocol, host: url.hostname, port } };
}

/** The pacing limits, from the two variables when set (positive integers), else the documented defaults. */
export function parseLimits(env: Readonly<Record<string, string | undefined>>): SettingParse<ProviderLimits> {
  const concurrency = positiveInteger(env, CONCURRENCY_ENV, DEFAULT_LIMITS.concurrency);
  if (!concurrency.ok) return concurrency;
  const callsPerSecond = positiveInteger(env, CALLS_PER_SECOND_ENV, DEFAULT_LIMITS.callsPerSecond);
  if (!callsPerSecond.ok) return callsPerSecond;
  return { ok: true, value: { concurrency: concurrency.value, callsPerSecond: callsPerSecond.value } };
}

function positiveInteger(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): SettingParse<number> {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return { ok: true, value: fallback };
  if (!/^[0-9]{1,6}$/.test(text) || Number(text) < 1) {
    return { ok: false, message: `${name} must be a positive whole number (default ${fallback})` };
  }
  return { ok: true, value: Number(text) };
}
