import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import { matchesAny } from '../domain/policy';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';

/** A person's own requests, newest first (what `/prod-access list` shows). */
export function listMyRequests(ctx: AppContext, who: Email, limit = 20): Promise<AccessRequest[]> {
  return ctx.store.listRequests({ requester: who, limit });
}

/**
 * Pending requests `who` may approve and has not yet: not their own, on a role that is still in the
 * policy and lists them among its approvers (directly, or through `platformGroups`, the policy groups
 * a chat platform vouches they belong to; the CLI has none). What chat's Home tab and the CLI's
 * `pending` show, so both offer the same requests.
 */
export async function listAwaitingMyApproval(ctx: AppContext, who: Email, platformGroups: ReadonlySet<string> = new Set(), limit = 100): Promise<AccessRequest[]> {
  const policy = ctx.policy.current().policy;
  const pending = await ctx.store.listRequests({ states: ['pending'], limit });
  return pending.filter((r) => {
    const role = policy.roles.get(r.role);
    return r.requester !== who && role !== undefined && matchesAny(policy, role.approvers, who, platformGroups) && !r.approvals.some((a) => a.approver === who);
  });
}

/** Every live grant, newest first: `active`, and `revoking` (access not yet confirmed removed). */
export function listLiveGrants(ctx: AppContext, limit = 1000): Promise<AccessRequest[]> {
  return ctx.store.listRequests({ states: ['active', 'revoking'], limit });
}

export function showRequest(ctx: AppContext, id: RequestId): Promise<AccessRequest | undefined> {
  return ctx.store.findRequest(id);
}
