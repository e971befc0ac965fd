import type { IamProvider, ProviderLimits } from '../ports/iam-provider';

/**
 * Spaces calls to one provider at most `callsPerSecond` apart, across batches and sweeps: a thousand
 * grants expiring in the same second are revoked as fast as the cloud allows, and no faster, so the
 * revocations do not trip its throttling and back off. No burst: the first call goes at once, every
 * later one waits its turn. One pacer per provider per process; replicas each pace their own calls
 * (N replicas may reach N times the rate, which the adapters' throttling retries absorb).
 */
export class CallPacer {
  private nextAt = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;

  constructor(
    callsPerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    if (!(callsPerSecond > 0)) throw new Error(`callsPerSecond must be positive, not ${callsPerSecond}`);
    this.intervalMs = 1000 / callsPerSecond;
  }

  /** Resolves when this caller's turn comes; turns are given in call order. */
  async turn(): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    if (at > now) await this.sleep(at - now);
  }
}

/** How the revocation engine drives one provider: its concurrency, and its pacer when it has a rate. */
export interface ProviderPace {
  readonly concurrency: number;
  readonly pacer: CallPacer | undefined;
}

/** One pace per provider kind, made on first use from the provider's `limits` (or the engine's concurrency). */
export class ProviderPacing {
  private readonly paces = new Map<string, { limits: ProviderLimits | undefined; pace: ProviderPace }>();

  constructor(private readonly defaultConcurrency: number) {}

  paceOf(provider: IamProvider | undefined, kind: string): ProviderPace {
    const limits = provider?.limits;
    const known = this.paces.get(kind);
    // NB: a provider may learn its limits late (loaded on first use): a change makes a new pace.
    if (known && known.limits === limits) return known.pace;
    const pace: ProviderPace = {
      concurrency: Math.max(1, limits?.concurrency ?? this.defaultConcurrency),
      pacer: limits ? new CallPacer(limits.callsPerSecond) : undefined,
    };
    this.paces.set(kind, { limits, pace });
    return pace;
  }
}
