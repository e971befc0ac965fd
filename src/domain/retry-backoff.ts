/** How long to wait before retrying something that failed: capped exponential backoff with jitter. */
export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/** Revocation retries: 5 s after the first failure, doubling, never more than 5 min apart. */
export const REVOCATION_BACKOFF: Backoff = { baseMs: 5_000, capMs: 5 * 60_000 };

/**
 * The delay after the `attempts`-th consecutive failure (1 for the first): `base · 2^(attempts-1)`,
 * capped, of which the upper half is random ("equal jitter"). `random` is in [0, 1).
 */
export function retryDelayMs(attempts: number, random: number, backoff: Backoff = REVOCATION_BACKOFF): number {
  // NB: the exponent is bounded so that 2^n stays finite whatever the attempt count.
  const exponent = Math.min(Math.max(0, Math.floor(attempts) - 1), 30);
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** exponent);
  // NB: half fixed, half random: retries of many grants that failed together (a provider outage)
  // spread out instead of arriving together, yet a retry never comes sooner than half the delay.
  const jitter = Math.min(Math.max(random, 0), 1);
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter);
}
