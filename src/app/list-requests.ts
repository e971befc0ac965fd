import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';

/** A person's own requests, newest first (what `/prod-access list` shows). */
export function listMyRequests(ctx: AppContext, who: Email, limit = 20): Promise<AccessRequest[]> {
  return ctx.store.listRequests({ requester: who, limit });
}

/** Every live grant, newest first: `active`, and `revoking` (access not yet confirmed removed). */
export function listLiveGrants(ctx: AppContext, limit = 1000): Promise<AccessRequest[]> {
  return ctx.store.listRequests({ states: ['active', 'revoking'], limit });
}

export function showRequest(ctx: AppContext, id: RequestId): Promise<AccessRequest | undefined> {
  return ctx.store.findRequest(id);
}
