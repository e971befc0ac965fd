/**
 * How long to wait before retrying a throttled or conflicting call: capped exponential backoff with
 * full jitter (the delay is uniform in [0, min(cap, base * 2^attempt)]), never shorter than what the
 * server asked for with Retry-After. Pure: randomness comes from the caller.
 */

export interface BackoffPolicy {
  /** Tries after the first one; 0 disables retries. */
  readonly retries: number;
  readonly baseMs: number;
  readonly capMs: number;
  /** The most all waits of one call may add up to; a Retry-After beyond it ends the retries. */
  readonly budgetMs: number;
}

/** A few tries within a few seconds, as the brief for throttling asks (tests pass tiny numbers). */
export const DEFAULT_BACKOFF: BackoffPolicy = { retries: 4, baseMs: 200, capMs: 2_000, budgetMs: 5_000 };

/**
 * The wait before retry number `attempt` (0 for the first retry), or `undefined` when no retry is
 * left: out of tries, or the wait would overrun the budget already `spentMs` into.
 */
export function nextDelay(policy: BackoffPolicy, attempt: number, spentMs: number, random: number, retryAfterMs?: number): number | undefined {
  if (attempt >= policy.retries) return undefined;
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  const jittered = Math.floor(Math.max(0, Math.min(1, random)) * ceiling);
  const delay = retryAfterMs !== undefined ? Math.max(retryAfterMs, jittered) : jittered;
  return spentMs + delay > policy.budgetMs ? undefined : delay;
}

/**
 * Milliseconds from an HTTP `Retry-After` (seconds, or an HTTP date) or a google.rpc.RetryInfo
 * `retryDelay` ("1.5s"); `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  const seconds = /^(\d+(?:\.\d+)?)s?$/.exec(text);
  if (seconds) return Math.round(Number(seconds[1]) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, date - now.getTime());
}
