import { revocationFailingAlert } from '../domain/alert';
import type { AccessRequest } from '../domain/access-request';
import type { RequestId } from '../domain/request-id';
import { retryDelayMs } from '../domain/retry-backoff';
import type { Random } from '../ports/random';
import type { AppContext } from './app-context';
import type { Origin } from './origin';
import { raiseAlert } from './raise-alert';
import { finishRevocations, revokeAtProvider, startRevocations, type ProviderRevocation } from './revoke-access';

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
 * failure) and revokes them in three steps: one transaction records `revoking` for the whole batch,
 * the providers are asked (a few at a time), and one transaction records `revoked` for every grant
 * the provider confirmed and `revocation_failed` for the others. Each state change is still
 * committed with its own audit events; a batch shares the commits, which is what makes a thousand
 * grants expiring in the same second end on time. A failure leaves the grant `revoking`, counts the
 * attempt and schedules the next one with capped exponential backoff and jitter; after
 * `work.revocationAlertAfter` failures in a row security is alerted, once.
 */
export async function revokeDueGrants(ctx: AppContext, worker: RevocationWorker): Promise<RevocationBatch> {
  const claimedAt = ctx.clock.now();
  const claims = await ctx.store.claimDueRevocations(claimedAt, worker.owner, worker.leaseMs, worker.batchSize);
  if (claims.length === 0) return { claimed: 0, revoked: 0, failed: 0, released: 0 };
  const loaded = ctx.policy.current();
  const attemptsBefore = new Map(claims.map((c) => [c.requestId, c.attempts]));

  // Step 1: `revoking` for the batch, in one transaction.
  const started = await ctx.store.transaction(async (tx) => {
    // NB: the cause recorded by an earlier start (an early revoke) is kept; `expired` is the default.
    const outcomes = await startRevocations(ctx, tx, claims.map((c) => c.requestId), undefined, 'expired', origin, loaded);
    return outcomes.flatMap((outcome, i) => {
      if (outcome.ok) return [outcome.value];
      ctx.logger.warn({ requestId: claims[i]?.requestId, refusal: outcome.refusal }, 'claimed grant could not be revoked');
      return [];
    });
  });
  const counts = { claimed: claims.length, revoked: 0, failed: claims.length - started.length, released: 0 };

  // Step 2: the providers, a few at a time. NB: a claim is only exclusive while its lease holds;
  // work started late could overlap with a replica that takes the lapsed lease over, so what is not
  // started in time is handed back (it is `revoking`, so it stays due).
  const startBy = claimedAt.getTime() + worker.leaseMs / 2;
  const results: { request: AccessRequest; result: ProviderRevocation }[] = [];
  let next = 0;
  const work = async (): Promise<void> => {
    for (let request = started[next++]; request !== undefined; request = started[next++]) {
      if (request.state === 'revoked') {
        counts.revoked += 1;
        continue;
      }
      if (ctx.clock.now().getTime() >= startBy) {
        await ctx.store.releaseLease(request.id, worker.owner);
        counts.released += 1;
        continue;
      }
      results.push({ request, result: await revokeAtProvider(ctx, request) });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(worker.concurrency, started.length)) }, work));
  if (results.length === 0) return counts;

  // Step 3: `revoked` or `revocation_failed` for each, in one transaction.
  const finished = await ctx.store.transaction((tx) => finishRevocations(ctx, tx, results, origin, loaded));
  const confirmed = new Set(finished.flatMap((o) => (o.ok && o.value.state === 'revoked' ? [o.value.id] : [])));

  for (const { request, result } of results) {
    if (confirmed.has(request.id)) {
      counts.revoked += 1;
      continue;
    }
    counts.failed += 1;
    const failure = result.ok ? `request ${request.id} was not recorded as revoked` : describe(result.error);
    await recordFailure(ctx, worker, request.id, attemptsBefore.get(request.id) ?? 0, failure);
  }
  return counts;
}

async function recordFailure(ctx: AppContext, worker: RevocationWorker, id: RequestId, attemptsBefore: number, failure: string): Promise<void> {
  const log = ctx.logger.child({ requestId: id, owner: worker.owner });
  const nextAttemptAt = new Date(ctx.clock.now().getTime() + retryDelayMs(attemptsBefore + 1, worker.random.next()));
  try {
    const recorded = await ctx.store.recordRevocationFailure(id, worker.owner, failure, nextAttemptAt);
    log.warn({ attempts: recorded, nextAttemptAt, error: failure }, 'revocation not confirmed; access stays due and will be retried');
    if (recorded >= ctx.work.revocationAlertAfter) await alertRevocationFailing(ctx, id, recorded, failure);
  } catch (error) {
    // NB: the failure could not be recorded (database down): the lease lapses and the grant is
    // claimed again then, so it still stays due.
    log.error({ err: error, error: failure }, 'revocation not confirmed, and recording the failure failed; retried when the lease lapses');
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
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
