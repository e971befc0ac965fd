import type { AccessRequest } from '../domain/access-request';
import { openExtension, type ExtensionInput } from '../domain/lifecycle/extend';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';
import { notFound } from './commit-transition';
import { StoreError } from './errors';
import type { Origin } from './origin';
import { actingVia, stamp } from './origin';
import type { Outcome } from './outcome';

/** Asks for more time on live access: a new request of kind `extension`, approved like any other. */
export async function extendAccess(ctx: AppContext, parentId: RequestId, input: ExtensionInput, origin: Origin): Promise<Outcome<AccessRequest>> {
  const loaded = ctx.policy.current();
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.store.transaction(async (tx): Promise<Outcome<AccessRequest>> => {
        // NB: locking the parent serialises two extension requests for the same grant.
        const parent = await tx.lockRequest(parentId);
        if (!parent) return notFound(parentId);
        const pending = await tx.listRequests({ requester: parent.requester, states: ['pending'], role: parent.role });
        const pendingExtension = pending.find((r) => r.kind === 'extension' && r.parentId === parent.id)?.id;
        const now = ctx.clock.now();
        const transition = openExtension(parent, input, pendingExtension, ctx.ids.newRequestId(), loaded, now, actingVia(origin));
        if (!transition.ok) return transition;
        await tx.insertRequest(transition.request);
        await tx.appendAudit(stamp(transition.events, origin, loaded.sha256), now);
        return { ok: true, value: transition.request, changed: true };
      });
    } catch (error) {
      if (error instanceof StoreError && error.code === 'duplicate_id' && attempt < 5) continue;
      throw error;
    }
  }
}
