import { timeOut } from '../domain/lifecycle/end-request';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import type { Origin } from './origin';

/** What one call did, for the scheduler's loop and for tests. */
export interface TimeOutBatch {
  /** Pending requests found past their deadline; a full batch means more may be due. */
  readonly claimed: number;
  /** Requests this call moved to `timed_out` (the others were decided or timed out meanwhile). */
  readonly timedOut: number;
}

const origin: Origin = { via: 'scheduler' };

/**
 * Ends pending requests that got no decision by their deadline. Each is re-read under its row
 * lock and timed out with its audit event in one transaction, so a decision arriving at the same
 * moment, or another replica sweeping too, resolves to exactly one outcome.
 */
export async function timeOutRequests(ctx: AppContext, limit: number): Promise<TimeOutBatch> {
  const ids = await ctx.store.claimTimedOutRequests(ctx.clock.now(), limit);
  let timedOut = 0;
  for (const id of ids) {
    const loaded = ctx.policy.current();
    const outcome = await ctx.store.transaction(async (tx) => {
      const request = await tx.lockRequest(id);
      if (!request) return notFound(id);
      const now = ctx.clock.now();
      return commitTransition(tx, timeOut(request, now), origin, loaded.sha256, now);
    });
    if (outcome.ok && outcome.changed) {
      timedOut += 1;
      ctx.logger.info({ requestId: id }, 'request timed out without a decision');
    }
  }
  return { claimed: ids.length, timedOut };
}
