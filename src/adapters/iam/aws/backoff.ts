/**
 * Bounded retries for throttled calls, and the waits between status polls. Pure: time and
 * randomness come from the caller, so tests never sleep.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** The first retry waits between base/2 and base; each later one doubles, up to `capMs`. */
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * NB: four tries over at most 0.25 + 0.5 + 1 s = 1.75 s. The SDK's own retries are switched off
 * (maxAttempts 1, see the provider) so this is the only retry loop: AWS's standard mode would wait up
 * to 20 s per retry on throttling, and the engine already retries an `unavailable` later, paced.
 */
export const DEFAULT_THROTTLE_RETRY: RetryPolicy = { attempts: 4, baseMs: 250, capMs: 2_000 };

/**
 * NB: Identity Center usually finishes an assignment within seconds, but provisioning a permission
 * set into an account for the first time takes longer; about a minute in all, then `unavailable` and
 * the engine's next try asks again (a repeated create answers ConflictException or succeeds).
 */
export const DEFAULT_POLL_DELAYS_MS: readonly number[] = [500, 1_000, 2_000, 3_000, 4_000, ...Array<number>(9).fill(5_000)];

/** "Equal jitter": half the exponential step for sure, the other half at random, never above the cap. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + (step / 2) * Math.min(1, Math.max(0, random())));
}

/** The longest a caller can wait in `retryWhile` with this policy: what "bounded" means in numbers. */
export function worstCaseWaitMs(policy: RetryPolicy): number {
  let total = 0;
  for (let retry = 1; retry < policy.attempts; retry++) total += Math.min(policy.capMs, policy.baseMs * 2 ** (retry - 1));
  return total;
}

export interface RetryHooks {
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /** Told before each retry (for a log line). */
  readonly onRetry?: (error: unknown, retry: number, delayMs: number) => void;
}

/**
 * Runs `call`; while it fails with an error `retryable` accepts and tries are left, waits and tries
 * again. The last error is rethrown as it came, for the caller to classify.
 */
export async function retryWhile<T>(call: () => Promise<T>, retryable: (error: unknown) => boolean, policy: RetryPolicy, hooks: RetryHooks): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= policy.attempts || !retryable(error)) throw error;
      const delay = backoffDelay(attempt, policy, hooks.random);
      hooks.onRetry?.(error, attempt, delay);
      await hooks.sleep(delay);
    }
  }
}
