import type { AccessRequest, EndCause } from '../access-request';
import { SYSTEM_ACTOR } from '../audit-event';
import { checkCliDecision, viaChat, type ActingVia } from '../acting-via';
import type { Email } from '../email';
import { matchesAny, type Policy } from '../policy';
import { describeState } from './approve';
import { refuse, requestEvent, type Transition } from './transition';

export type RevocationCause = Extract<EndCause, 'expired' | 'revoked_early' | 'policy_changed'>;

/** Who may give access back early: the requester, the role's approvers and the policy's admins. */
export function mayRevoke(request: AccessRequest, by: Email, policy: Policy): boolean {
  if (by === request.requester) return true;
  const role = policy.roles.get(request.role);
  return (role !== undefined && matchesAny(policy, role.approvers, by)) || matchesAny(policy, policy.admins, by);
}

/**
 * Starts revoking live access. The request stays `revoking` until the provider confirms; it is
 * never recorded as revoked before that.
 */
export function beginRevocation(
  request: AccessRequest,
  cause: RevocationCause,
  by: Email | undefined,
  policy: Policy,
  now: Date,
  via: ActingVia = viaChat,
): Transition {
  if (by !== undefined && !mayRevoke(request, by, policy)) {
    return refuse('not_authorised', `Only ${request.requester}, an approver of ${request.role} or an admin can revoke request ${request.id}.`);
  }
  // NB: giving back one's own access is not a decision; revoking someone else's is.
  const cli = by !== undefined && by !== request.requester ? checkCliDecision(policy.roles.get(request.role), request.role, via, `revoke ${request.requester}'s access`) : { ok: true as const };
  if (!cli.ok) return cli;
  if (request.state === 'revoking' || request.state === 'revoked') return { ok: true, request, events: [] };
  if (request.state !== 'active') {
    return refuse('not_active', `Request ${request.id} is ${describeState(request)}; there is no live access to revoke${request.state === 'pending' ? ' (cancel it instead)' : ''}.`);
  }
  if (cause === 'expired' && request.grant && now < request.grant.expiresAt) {
    return refuse('not_active', `Request ${request.id} has not expired yet.`);
  }
  const next: AccessRequest = { ...request, state: 'revoking', endCause: cause, ...(by ? { endedBy: by } : {}), ...(by && via.via === 'cli' ? { endedByOsUser: via.osUser } : {}) };
  return { ok: true, request: next, events: [requestEvent('revocation_started', by ?? SYSTEM_ACTOR, next, { cause, ...(cli.operator ? { operator: cli.operator } : {}) })] };
}

/**
 * The provider confirmed. `accessRemoved` is false when the provider had nothing to remove, or
 * when another live grant still covers the same access (the audit trail says which).
 */
export function completeRevocation(request: AccessRequest, accessRemoved: boolean, now: Date, note?: string): Transition {
  if (request.state === 'revoked') return { ok: true, request, events: [] };
  if (request.state !== 'revoking') return refuse('not_active', `Request ${request.id} is ${describeState(request)}.`);
  const next: AccessRequest = { ...request, state: 'revoked', endedAt: now };
  return {
    ok: true,
    request: next,
    events: [requestEvent('access_revoked', SYSTEM_ACTOR, next, { cause: request.endCause, accessRemoved, ...(note ? { note } : {}) })],
  };
}
