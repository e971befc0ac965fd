import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import type { LoadedPolicy } from '../domain/policy';
import { beginRevocation, completeRevocation, type RevocationCause } from '../domain/lifecycle/revoke';
import { requestEvent, type Transition } from '../domain/lifecycle/transition';
import { SYSTEM_ACTOR, type AuditEvent } from '../domain/audit-event';
import type { RequestId } from '../domain/request-id';
import type { StoreTransaction } from '../ports/access-store';
import type { AppContext } from './app-context';
import { ProviderError } from './errors';
import { commitTransitions, notFound } from './commit-transition';
import { grantSpecOf, providerFor } from './grant-access';
import type { Origin } from './origin';
import { actingVia, stamp } from './origin';
import type { Outcome } from './outcome';

/**
 * Ends live access: records `revoking`, asks the provider, and records `revoked` only once the
 * provider confirms. When the provider fails the request stays `revoking` (still due), a
 * `revocation_failed` event is written, and the error is thrown for the caller to report.
 * `by` is the person revoking early, or undefined for the system (expiry, policy change).
 */
export async function revokeAccess(
  ctx: AppContext,
  id: RequestId,
  by: Email | undefined,
  cause: RevocationCause,
  origin: Origin,
): Promise<Outcome<AccessRequest>> {
  const loaded = ctx.policy.current();
  const [started = notFound(id)] = await ctx.store.transaction((tx) => startRevocations(ctx, tx, [id], by, cause, origin, loaded));
  if (!started.ok || started.value.state === 'revoked') return started;

  const result = await revokeAtProvider(ctx, started.value);
  const [outcome = notFound(id)] = await ctx.store.transaction((tx) => finishRevocations(ctx, tx, [{ request: started.value, result }], origin, loaded));
  if (!result.ok) throw result.error;
  if (outcome.ok && outcome.changed) ctx.logger.info({ requestId: id, accessRemoved: result.removed, cause }, 'access revoked');
  return outcome.ok ? { ...outcome, changed: started.changed || outcome.changed } : outcome;
}

/** What the provider said about one revocation. */
export type ProviderRevocation = { ok: true; removed: boolean; coveredBy?: RequestId } | { ok: false; error: unknown };

/**
 * Step 1, in the caller's transaction: records `revoking` for each request (or finds it so already:
 * a crash, an earlier failure; a cause recorded then, such as an early revoke, is kept). One
 * outcome per id, in order.
 */
export async function startRevocations(
  ctx: AppContext,
  tx: StoreTransaction,
  ids: readonly RequestId[],
  by: Email | undefined,
  cause: RevocationCause,
  origin: Origin,
  loaded: LoadedPolicy,
): Promise<Outcome<AccessRequest>[]> {
  const locked = new Map((await tx.lockRequests(ids)).map((r) => [r.id, r]));
  const now = ctx.clock.now();
  const transitions = ids.map((id) => {
    const request = locked.get(id);
    return request ? beginRevocation(request, cause, by, loaded.policy, now, actingVia(origin)) : notFound(id);
  });
  return commitTransitions(tx, transitions, origin, loaded.sha256, now);
}

/**
 * Step 2, outside any transaction: asks the provider to remove the access, unless another live grant
 * still covers the same role and target for the same person (a second request while the first
 * runs): ending one grant must not cut the other short. Never throws.
 */
export async function revokeAtProvider(ctx: AppContext, request: AccessRequest, waitTurn?: () => Promise<void>): Promise<ProviderRevocation> {
  try {
    const provider = providerFor(ctx, request);
    // NB: a provider that gives each request access of its own (a GCP binding per request) removes
    // only this request's, so it is asked even while another grant covers the same role and target.
    const coveredBy = provider.grantsPerRequest ? undefined : await otherLiveGrant(ctx, request);
    if (coveredBy) return { ok: true, removed: false, coveredBy };
    await waitTurn?.();
    const { removed } = await provider.revoke(grantSpecOf(request, request.grant?.expiresAt ?? ctx.clock.now()));
    return { ok: true, removed };
  } catch (error) {
    ctx.logger.error({ err: error, requestId: request.id, provider: request.resource.provider }, 'revocation failed; access is still live and stays due');
    return { ok: false, error };
  }
}

/**
 * Step 3, in the caller's transaction: records `revoked` for each revocation the provider confirmed
 * (and marks its grant so), and a `revocation_failed` event for each it did not. One outcome per
 * item, in order; a failed one comes back still `revoking`.
 */
export async function finishRevocations(
  ctx: AppContext,
  tx: StoreTransaction,
  items: readonly { request: AccessRequest; result: ProviderRevocation }[],
  origin: Origin,
  loaded: LoadedPolicy,
): Promise<Outcome<AccessRequest>[]> {
  const now = ctx.clock.now();
  const locked = new Map((await tx.lockRequests(items.flatMap(({ request, result }) => (result.ok ? [request.id] : [])))).map((r) => [r.id, r]));
  const outcomes: Outcome<AccessRequest>[] = [];
  const completions: { index: number; removed: boolean; transition: Transition }[] = [];
  const failures: AuditEvent[] = [];
  items.forEach(({ request, result }, index) => {
    if (!result.ok) {
      // NB: a failure changes no row, only the log: the request stays `revoking`, still due.
      const message = result.error instanceof Error ? result.error.message : String(result.error);
      const deferredUntil = deferredUntilOf(result.error);
      failures.push(
        deferredUntil
          ? requestEvent('revocation_deferred', SYSTEM_ACTOR, request, { error: message, retryAt: deferredUntil.toISOString() })
          : requestEvent('revocation_failed', SYSTEM_ACTOR, request, { error: message }),
      );
      outcomes[index] = { ok: true, value: request, changed: false };
      return;
    }
    const current = locked.get(request.id);
    if (!current) {
      outcomes[index] = notFound(request.id);
      return;
    }
    const note = result.coveredBy ? `access kept: live grant ${result.coveredBy} covers the same role and target` : undefined;
    completions.push({ index, removed: result.removed, transition: completeRevocation(current, result.removed, now, note) });
  });
  const committed = await commitTransitions(tx, completions.map((c) => c.transition), origin, loaded.sha256, now);
  const revoked: { id: RequestId; accessRemoved: boolean }[] = [];
  committed.forEach((outcome, k) => {
    const completion = completions[k];
    if (!completion) return;
    outcomes[completion.index] = outcome;
    if (outcome.ok && outcome.changed && outcome.value.state === 'revoked') revoked.push({ id: outcome.value.id, accessRemoved: completion.removed });
  });
  if (failures.length > 0) await tx.appendAudit(stamp(failures, origin, loaded.sha256), now);
  // NB: in the same transaction as `revoked`, so the scheduler never claims a grant that is done.
  await tx.recordGrantsRevoked(revoked, now);
  return outcomes;
}

/** When a provider deferred a revocation by its own rules (`deferred` with a time), that time. */
export function deferredUntilOf(error: unknown): Date | undefined {
  return error instanceof ProviderError && error.code === 'deferred' ? error.retryAt : undefined;
}

async function otherLiveGrant(ctx: AppContext, request: AccessRequest): Promise<AccessRequest['id'] | undefined> {
  const live = await ctx.store.listRequests({ requester: request.requester, role: request.role, states: ['active'], limit: 100 });
  const sameTarget = (other: AccessRequest) =>
    other.resource.provider === request.resource.provider && JSON.stringify(sortKeys(other.resource.target)) === JSON.stringify(sortKeys(request.resource.target));
  return live.find((other) => other.id !== request.id && sameTarget(other))?.id;
}

function sortKeys(target: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(target).sort(([a], [b]) => (a < b ? -1 : 1));
}
