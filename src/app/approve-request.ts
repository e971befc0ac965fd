import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import { approve } from '../domain/lifecycle/approve';
import { applyExtension } from '../domain/lifecycle/extend';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import { grantAccess } from './grant-access';
import type { Origin } from './origin';
import { actingVia, stamp } from './origin';
import type { Outcome } from './outcome';

/**
 * Records an approval. Concurrent clicks and redeliveries are serialised on the request's row
 * lock, so exactly one of them completes the approval. When the last approval arrives the
 * access is granted (or, for an extension, the live grant is extended in the same transaction).
 */
export async function approveRequest(
  ctx: AppContext,
  id: RequestId,
  by: Email,
  origin: Origin,
  /** Policy groups the chat platform vouches `by` belongs to (Slack user groups). */
  platformGroups?: ReadonlySet<string>,
): Promise<Outcome<AccessRequest>> {
  const loaded = ctx.policy.current();
  const outcome = await ctx.store.transaction(async (tx): Promise<Outcome<AccessRequest>> => {
    const request = await tx.lockRequest(id);
    if (!request) return notFound(id);
    const now = ctx.clock.now();
    const transition = approve(request, by, loaded.policy, now, platformGroups, actingVia(origin));
    if (!transition.ok || transition.request.kind !== 'extension' || transition.request.state !== 'approved' || transition.events.length === 0) {
      const committed = await commitTransition(tx, transition, origin, loaded.sha256, now);
      // NB: the lease commits with the approval, so the scheduler leaves the first grant attempt to
      // this process; if it dies before granting, the lease lapses and the scheduler grants.
      if (committed.ok && committed.changed && committed.value.state === 'approved') {
        await tx.leaseGrant(id, ctx.work.instance, new Date(now.getTime() + ctx.work.leaseMs));
      }
      return committed;
    }
    // NB: lock order is always extension, then parent; nothing locks a parent before its extension.
    const parent = request.parentId ? await tx.lockRequest(request.parentId) : undefined;
    if (!parent) return notFound(request.parentId ?? id);
    const applied = applyExtension(parent, transition.request, loaded.policy, now);
    const extension = await tx.saveRequest(applied.extension);
    if (applied.parent !== parent) await tx.saveRequest(applied.parent);
    await tx.appendAudit(stamp([...transition.events, ...applied.events], origin, loaded.sha256), now);
    return { ok: true, value: extension, changed: true };
  });
  // NB: only the click that approved grants; a repeat finds the grant made, or in the scheduler's hands.
  if (outcome.ok && outcome.changed && outcome.value.kind === 'access' && outcome.value.state === 'approved') {
    const granted = await grantAccess(ctx, id, origin, { owner: ctx.work.instance, attempts: 0 });
    return granted.ok ? { ...granted, changed: true } : granted;
  }
  return outcome;
}
