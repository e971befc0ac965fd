/**
 * When to try an Azure call again after throttling or an outage: bounded exponential backoff with
 * full jitter, honouring `Retry-After` while it fits in the budget. Pure: randomness and the
 * elapsed time come from the caller.
 */

export interface RetryPolicy {
  /** Calls in all, the first included (>= 1). */
  readonly maxAttempts: number;
  /** The first backoff's ceiling; doubled each attempt. */
  readonly baseDelayMs: number;
  /** No single wait is longer. */
  readonly maxDelayMs: number;
  /** All waits together stay within this; a `Retry-After` beyond it ends the retries. */
  readonly budgetMs: number;
}

/** 4 calls, waits of up to 0.25 s, 0.5 s, 1 s (or what Retry-After asks, up to 2 s), 4 s in all. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 2_000, budgetMs: 4_000 };

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * After failed attempt number `attempt` (1-based), having already waited `waitedMs`: wait how long,
 * or give up. `retryAfterMs` is the server's own ask (Retry-After); `random` is in [0, 1).
 */
export function nextRetry(policy: RetryPolicy, attempt: number, waitedMs: number, retryAfterMs: number | undefined, random: number): RetryDecision {
  if (attempt >= policy.maxAttempts) return { retry: false };
  const left = policy.budgetMs - waitedMs;
  if (retryAfterMs !== undefined) {
    // NB: waiting less than the server asked only earns another 429; if its ask does not fit, stop now
    // and hand its time to the caller as retryAt.
    if (retryAfterMs > policy.maxDelayMs || retryAfterMs > left) return { retry: false };
    return { retry: true, delayMs: Math.max(0, retryAfterMs) };
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1), left);
  if (ceiling <= 0) return { retry: false };
  return { retry: true, delayMs: Math.floor(random * ceiling) };
}

/**
 * A `Retry-After` header in milliseconds: delta-seconds or an HTTP date (relative to `nowMs`).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined;
}

/** Validates a policy given by a caller (tests shorten it). */
export function checkRetryPolicy(policy: RetryPolicy): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) problems.push('maxAttempts must be a positive integer');
  for (const key of ['baseDelayMs', 'maxDelayMs', 'budgetMs'] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0) problems.push(`${key} must be a non-negative number`);
  }
  return problems;
}
