import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import { cancel } from '../domain/lifecycle/end-request';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import type { Origin } from './origin';
import type { Outcome } from './outcome';

/** The requester withdraws a request that is still waiting for approval. */
export async function cancelRequest(ctx: AppContext, id: RequestId, by: Email, origin: Origin): Promise<Outcome<AccessRequest>> {
  const loaded = ctx.policy.current();
  return ctx.store.transaction(async (tx) => {
    const request = await tx.lockRequest(id);
    if (!request) return notFound(id);
    const now = ctx.clock.now();
    return commitTransition(tx, cancel(request, by, now), origin, loaded.sha256, now);
  });
}
