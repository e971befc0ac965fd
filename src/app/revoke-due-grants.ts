import { revocationFailingFinding } from '../domain/anomalies/revocation-failing';
import type { AccessRequest } from '../domain/access-request';
import type { RequestId } from '../domain/request-id';
import { retryDelayMs } from '../domain/retry-backoff';
import type { Random } from '../ports/random';
import type { AppContext } from './app-context';
import type { Origin } from './origin';
import { ProviderPacing } from './provider-pacing';
import { raiseAlert } from './raise-alert';
import { ProviderError } from './errors';
import { deferredUntilOf, finishRevocations, revokeAtProvider, startRevocations, type ProviderRevocation } from './revoke-access';

/** Who is working and how: the scheduler's settings for one sweep. */
export interface RevocationWorker {
  /** This process's lease owner id (hostname:pid:random). */
  readonly owner: string;
  /** How long a claim holds. Work is started only in its first half, so it finishes under the lease. */
  readonly leaseMs: number;
  /** Grants claimed at once. */
  readonly batchSize: number;
  /** Grants revoked at the same time within a batch, for providers without limits of their own. */
  readonly concurrency: number;
  /** Per provider: how many at a time and how fast (from the provider's `limits`); kept across sweeps. */
  readonly pacing?: ProviderPacing;
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
  /** Grants the provider cannot revoke yet by its own rules: due again when it said (not failures). */
  readonly deferred: number;
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
  if (claims.length === 0) return { claimed: 0, revoked: 0, failed: 0, released: 0, deferred: 0 };
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
  const counts = { claimed: claims.length, revoked: 0, failed: claims.length - started.length, released: 0, deferred: 0 };

  // Step 2: the providers, a few at a time. NB: a claim is only exclusive while its lease holds;
  // work started late could overlap with a replica that takes the lapsed lease over, so what is not
  // started in time is handed back (it is `revoking`, so it stays due).
  const startBy = claimedAt.getTime() + worker.leaseMs / 2;
  const results: { request: AccessRequest; result: ProviderRevocation }[] = [];
  const pacing = worker.pacing ?? new ProviderPacing(worker.concurrency);
  // NB: each provider is driven at its own pace, side by side: a slow cloud does not hold up the others.
  const byProvider = new Map<string, AccessRequest[]>();
  for (const request of started) byProvider.set(request.resource.provider, [...(byProvider.get(request.resource.provider) ?? []), request]);
  const revokeAll = async (kind: string, queue: readonly AccessRequest[]): Promise<void> => {
    const pace = pacing.paceOf(ctx.iam.get(kind), kind);
    let next = 0;
    const work = async (): Promise<void> => {
      for (let request = queue[next++]; request !== undefined; request = queue[next++]) {
        if (request.state === 'revoked') {
          counts.revoked += 1;
          continue;
        }
        if (ctx.clock.now().getTime() >= startBy) {
          await ctx.store.releaseLease(request.id, worker.owner);
          counts.released += 1;
          continue;
        }
        results.push({ request, result: await revokeAtProvider(ctx, request, pace.pacer ? () => pace.pacer!.turn() : undefined) });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(pace.concurrency, queue.length)) }, work));
  };
  await Promise.all([...byProvider].map(([kind, queue]) => revokeAll(kind, queue)));
  if (results.length === 0) return counts;

  // Step 3: `revoked` or `revocation_failed` for each, in one transaction.
  const finished = await ctx.store.transaction((tx) => finishRevocations(ctx, tx, results, origin, loaded));
  const confirmed = new Set(finished.flatMap((o) => (o.ok && o.value.state === 'revoked' ? [o.value.id] : [])));

  for (const { request, result } of results) {
    if (confirmed.has(request.id)) {
      counts.revoked += 1;
      continue;
    }
    const failure = result.ok ? `request ${request.id} was not recorded as revoked` : describe(result.error);
    const deferredUntil = result.ok ? undefined : deferredUntilOf(result.error);
    if (deferredUntil) {
      counts.deferred += 1;
      await recordDeferral(ctx, worker, request.id, failure, deferredUntil);
      continue;
    }
    counts.failed += 1;
    const retryAt = !result.ok && result.error instanceof ProviderError ? result.error.retryAt : undefined;
    await recordFailure(ctx, worker, request.id, attemptsBefore.get(request.id) ?? 0, failure, retryAt);
  }
  return counts;
}

/**
 * The provider cannot remove the access yet by its own rules (Azure: not within 5 minutes of the
 * assignment) and said when it can: the grant stays due for exactly then. Not a failure: the attempt
 * is not counted, so it neither alerts security nor lengthens the backoff.
 */
async function recordDeferral(ctx: AppContext, worker: RevocationWorker, id: RequestId, reason: string, until: Date): Promise<void> {
  try {
    await ctx.store.recordRevocationFailure(id, worker.owner, reason, until, { countAttempt: false });
    ctx.logger.info({ requestId: id, retryAt: until }, 'the provider deferred the revocation; it is retried then');
  } catch (error) {
    ctx.logger.error({ err: error, requestId: id }, 'recording a deferred revocation failed; retried when the lease lapses');
  }
}

async function recordFailure(ctx: AppContext, worker: RevocationWorker, id: RequestId, attemptsBefore: number, failure: string, retryAt?: Date): Promise<void> {
  const log = ctx.logger.child({ requestId: id, owner: worker.owner });
  const backoff = ctx.clock.now().getTime() + retryDelayMs(attemptsBefore + 1, worker.random.next());
  // NB: a throttling answer's Retry-After is honoured when it asks for longer than the backoff.
  const nextAttemptAt = new Date(Math.max(backoff, retryAt?.getTime() ?? 0));
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

/**
 * Security hears once per grant that its revocation keeps failing (the `revocationFailing` rule, at
 * the policy's severity, unless the policy turns it off); the retries go on regardless.
 */
async function alertRevocationFailing(ctx: AppContext, id: RequestId, attempts: number, lastError: string): Promise<void> {
  const loaded = ctx.policy.current();
  const settings = loaded.policy.detection.rules.revocationFailing;
  if (!settings.enabled) return;
  const raised = await ctx.store.transaction(async (tx) => {
    const request = await tx.lockRequest(id);
    if (!request || request.state === 'revoked') return false;
    return (await raiseAlert(tx, revocationFailingFinding(request, attempts, lastError, settings.severity), origin, loaded.sha256, ctx.clock.now(), request)) !== undefined;
  });
  if (raised) ctx.logger.error({ requestId: id, attempts }, 'revocation keeps failing; security alerted');
}
