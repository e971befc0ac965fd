import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import { approve } from '../domain/lifecycle/approve';
import { applyExtension } from '../domain/lifecycle/extend';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import { grantAccess } from './grant-access';
import type { Origin } from './origin';
import { stamp } from './origin';
import type { Outcome } from './outcome';

/**
 * Records an approval. Concurrent clicks and redeliveries are serialised on the request's row
 * lock, so exactly one of them completes the approval. When the last approval arrives the
 * access is granted (or, for an extension, the live grant is extended in the same transaction).
 */
export async function approveRequest(ctx: AppContext, id: RequestId, by: Email, origin: Origin): Promise<Outcome<AccessRequest>> {
  const loaded = ctx.policy.current();
  const outcome = await ctx.store.transaction(async (tx): Promise<Outcome<AccessRequest>> => {
    const request = await tx.lockRequest(id);
    if (!request) return notFound(id);
    const now = ctx.clock.now();
    const transition = approve(request, by, loaded.policy, now);
    if (!transition.ok || transition.request.kind !== 'extension' || transition.request.state !== 'approved' || transition.events.length === 0) {
      return commitTransition(tx, transition, origin, loaded.sha256, now);
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
  // NB: also when nothing changed: an approved request that was never granted (provider down,
  // process stopped in between) is granted on the next approval click. Grants are idempotent.
  if (outcome.ok && outcome.value.kind === 'access' && outcome.value.state === 'approved') {
    return grantAccess(ctx, id, origin);
  }
  return outcome;
}
