import { retryDelayMs } from '../domain/retry-backoff';
import type { ClaimedRevocation } from '../ports/access-store';
import type { Random } from '../ports/random';
import type { AppContext } from './app-context';
import type { Origin } from './origin';
import { raiseAlert } from './raise-alert';
import { revokeAccess } from './revoke-access';
import { revocationFailingAlert } from '../domain/alert';
import type { RequestId } from '../domain/request-id';

/** Who is working and how: the scheduler's settings for one sweep. */
export interface RevocationWorker {
  /** This process's lease owner id (hostname:pid:random). */
  readonly owner: string;
  /** How long a claim holds. Work is started only in its first half, so it finishes under the lease. */
  readonly leaseMs: number;
  /** Grants claimed at once. */
  readonly batchSize: number;
  /** Grants revoked at the same time within a batch. */
  readonly concurrency: number;
  /** Jitter for the retry backoff. */
  readonly random: Random;
}

/** What one call did, for the scheduler's loop and for tests. */
export interface RevocationBatch {
  /** Grants claimed; a full batch means more may be due. */
  readonly claimed: number;
  /** Grants now confirmed revoked (by this call, or found already done). */
  readonly revoked: number;
  /** Grants whose revocation failed: still due, retried after a backoff. */
  readonly failed: number;
  /** Grants claimed but not started before half the lease had passed; handed back. */
  readonly released: number;
}

const origin: Origin = { via: 'scheduler' };

/**
 * Claims a batch of grants that are due (expired, or a revocation left unconfirmed by a crash or a
 * failure) and revokes each through `revokeAccess`, which records `revoked` only once the provider
 * confirms. A failure leaves the grant `revoking`, counts the attempt and schedules the next one
 * with capped exponential backoff and jitter; the grant is never recorded as revoked.
 */
export async function revokeDueGrants(ctx: AppContext, worker: RevocationWorker): Promise<RevocationBatch> {
  const claimedAt = ctx.clock.now();
  const claims = await ctx.store.claimDueRevocations(claimedAt, worker.owner, worker.leaseMs, worker.batchSize);
  // NB: a claim is only exclusive while its lease holds; work started late could overlap with a
  // replica that takes the lapsed lease over, so what is not started in time is handed back.
  const startBy = claimedAt.getTime() + worker.leaseMs / 2;
  const counts = { claimed: claims.length, revoked: 0, failed: 0, released: 0 };
  let next = 0;
  const work = async (): Promise<void> => {
    for (let claim = claims[next++]; claim !== undefined; claim = claims[next++]) {
      if (ctx.clock.now().getTime() >= startBy) {
        await ctx.store.releaseLease(claim.requestId, worker.owner);
        counts.released += 1;
        continue;
      }
      counts[await revokeClaimed(ctx, worker, claim)] += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(worker.concurrency, claims.length)) }, work));
  return counts;
}

async function revokeClaimed(ctx: AppContext, worker: RevocationWorker, claim: ClaimedRevocation): Promise<'revoked' | 'failed'> {
  const log = ctx.logger.child({ requestId: claim.requestId, owner: worker.owner });
  let failure: string;
  try {
    // NB: for a request already `revoking` (crash, earlier failure) this is a repeat of the start,
    // and it continues with the provider call; a cause recorded earlier (an early revoke) is kept.
    const outcome = await revokeAccess(ctx, claim.requestId, undefined, 'expired', origin);
    if (outcome.ok && outcome.value.state === 'revoked') {
      await ctx.store.releaseLease(claim.requestId, worker.owner);
      return 'revoked';
    }
    failure = outcome.ok ? `request is ${outcome.value.state} after revocation` : outcome.refusal.message;
  } catch (error) {
    failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  const attempts = claim.attempts + 1;
  const nextAttemptAt = new Date(ctx.clock.now().getTime() + retryDelayMs(attempts, worker.random.next()));
  try {
    const recorded = await ctx.store.recordRevocationFailure(claim.requestId, worker.owner, failure, nextAttemptAt);
    log.warn({ attempts: recorded, nextAttemptAt, error: failure }, 'revocation not confirmed; access stays due and will be retried');
    if (recorded >= ctx.work.revocationAlertAfter) await alertRevocationFailing(ctx, claim.requestId, recorded, failure);
  } catch (error) {
    // NB: the failure could not be recorded (database down): the lease lapses and the grant is
    // claimed again then, so it still stays due.
    log.error({ err: error, error: failure }, 'revocation not confirmed, and recording the failure failed; retried when the lease lapses');
  }
  return 'failed';
}

/** Security hears once per grant that its revocation keeps failing; the retries go on regardless. */
async function alertRevocationFailing(ctx: AppContext, id: RequestId, attempts: number, lastError: string): Promise<void> {
  const loaded = ctx.policy.current();
  const raised = await ctx.store.transaction(async (tx) => {
    const request = await tx.lockRequest(id);
    if (!request || request.state === 'revoked') return false;
    return raiseAlert(tx, revocationFailingAlert(request, attempts, lastError), request, origin, loaded.sha256, ctx.clock.now());
  });
  if (raised) ctx.logger.error({ requestId: id, attempts }, 'revocation keeps failing; security alerted');
}
