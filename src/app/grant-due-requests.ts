import type { AppContext } from './app-context';
import { grantAccess } from './grant-access';
import type { Origin } from './origin';

/** What one call did, for the scheduler's loop and for tests. */
export interface GrantBatch {
  /** Approved requests claimed; a full batch means more may be due. */
  readonly claimed: number;
  /** Now active. */
  readonly granted: number;
  /** Still approved (retried after a backoff) or given up as `failed`. */
  readonly failed: number;
}

const origin: Origin = { via: 'scheduler' };

/**
 * Grants approved requests that were not granted when they were approved: the provider was down,
 * or the approving process stopped before it called the provider. Each is claimed under a lease, so
 * no two replicas grant the same request, and a failure backs off, then gives up (see grantAccess).
 */
export async function grantDueRequests(ctx: AppContext, owner: string, limit: number): Promise<GrantBatch> {
  const claims = await ctx.store.claimDueGrants(ctx.clock.now(), owner, ctx.work.leaseMs, limit);
  let granted = 0;
  let failed = 0;
  for (const claim of claims) {
    try {
      const outcome = await grantAccess(ctx, claim.requestId, origin, { owner, attempts: claim.attempts });
      if (outcome.ok && outcome.value.state === 'active') granted += 1;
      else failed += 1;
    } catch (err) {
      // NB: the database failed mid-way; the lease lapses and the request is claimed again then.
      ctx.logger.error({ err, requestId: claim.requestId }, 'granting an approved request failed; retried when its lease lapses');
      failed += 1;
    }
  }
  return { claimed: claims.length, granted, failed };
}
