import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import { beginRevocation, completeRevocation, type RevocationCause } from '../domain/lifecycle/revoke';
import { requestEvent } from '../domain/lifecycle/transition';
import { SYSTEM_ACTOR } from '../domain/audit-event';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import { grantSpecOf, providerFor } from './grant-access';
import type { Origin } from './origin';
import { stamp } from './origin';
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
  const started = await ctx.store.transaction(async (tx) => {
    const request = await tx.lockRequest(id);
    if (!request) return notFound(id);
    const now = ctx.clock.now();
    return commitTransition(tx, beginRevocation(request, cause, by, loaded.policy, now), origin, loaded.sha256, now);
  });
  if (!started.ok || started.value.state === 'revoked') return started;

  const request = started.value;
  const log = ctx.logger.child({ requestId: id, provider: request.resource.provider });
  // NB: one person can hold the same access through two live grants (a second request while the
  // first runs). Ending one must not cut the other short: the provider is asked only when no
  // other live grant covers the same role and target, and the audit trail says which one does.
  const coveredBy = await otherLiveGrant(ctx, request);
  let removed = false;
  try {
    if (!coveredBy) ({ removed } = await providerFor(ctx, request).revoke(grantSpecOf(request, request.grant?.expiresAt ?? ctx.clock.now())));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error({ err: error }, 'revocation failed; access is still live and stays due');
    await ctx.store.transaction(async (tx) => {
      const now = ctx.clock.now();
      const event = requestEvent('revocation_failed', SYSTEM_ACTOR, request, { error: message });
      await tx.appendAudit(stamp([event], origin, loaded.sha256), now);
    });
    throw error;
  }
  const outcome = await ctx.store.transaction(async (tx) => {
    const current = await tx.lockRequest(id);
    if (!current) return notFound(id);
    const now = ctx.clock.now();
    const note = coveredBy ? `access kept: live grant ${coveredBy} covers the same role and target` : undefined;
    const completed = await commitTransition(tx, completeRevocation(current, removed, now, note), origin, loaded.sha256, now);
    // NB: in the same transaction as `revoked`, so the scheduler never claims a grant that is done.
    if (completed.ok && completed.changed) await tx.recordGrantRevoked(id, now, removed);
    return completed;
  });
  if (outcome.ok && outcome.changed) log.info({ accessRemoved: removed, cause }, 'access revoked');
  return outcome.ok ? { ...outcome, changed: started.changed || outcome.changed } : outcome;
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
