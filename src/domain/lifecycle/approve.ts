import { isReviewed, type AccessRequest } from '../access-request';
import { checkCliDecision, checkDistinctOperator, viaChat, type ActingVia } from '../acting-via';
import type { Email } from '../email';
import { matchesAny, platformOnlyGroups, type Policy } from '../policy';
import { refuse, requestEvent, type Transition } from './transition';

/**
 * Records `by`'s approval. The request becomes `approved` once it has as many distinct approvers
 * as its role requires. The requester never counts, and each person counts once: a repeated
 * approval is an outcome with no event. On live break-glass access, approvals are the review
 * after the fact.
 */
export function approve(
  request: AccessRequest,
  by: Email,
  policy: Policy,
  now: Date,
  platformGroups: ReadonlySet<string> = new Set(),
  via: ActingVia = viaChat,
): Transition {
  if (request.approvals.some((a) => a.approver === by)) {
    return { ok: true, request, events: [] };
  }
  if (by === request.requester) {
    return refuse('self_approval', `You cannot approve your own request ${request.id}; it needs ${request.approvalsRequired} other approver${request.approvalsRequired === 1 ? '' : 's'}.`);
  }
  const role = policy.roles.get(request.role);
  if (!role) {
    // NB: the request stays as it is: the role may come back with the next policy, and until then it
    // can still be cancelled, denied by an admin, or left to time out.
    const what = request.state === 'pending' ? ` It can still be cancelled by ${request.requester} or denied by an admin; otherwise it times out at ${request.decisionDeadline.toISOString()}.` : '';
    return refuse('unknown_role', `Role ${request.role} is no longer in the policy, so request ${request.id} cannot be approved.${what}`);
  }
  const cli = checkCliDecision(role, request.role, via, `approve request ${request.id}`);
  if (!cli.ok) return cli;
  if (!matchesAny(policy, role.approvers, by, platformGroups)) {
    return refuse('not_approver', `You are not an approver for ${request.role}, so you cannot approve request ${request.id}.`);
  }
  const groupsVia = platformOnlyGroups(policy, role.approvers, by, platformGroups);
  const reviewing = request.breakGlass && (request.state === 'active' || request.state === 'approved' || request.state === 'revoking' || request.state === 'revoked');
  // NB: approved but not yet granted (the provider was down, or the process stopped in between):
  // another approval changes nothing, and lets the caller try the grant again.
  if (!reviewing && request.state === 'approved') return { ok: true, request, events: [] };
  if (!reviewing && request.state !== 'pending') {
    return refuse('not_pending', `Request ${request.id} is ${describeState(request)}; there is nothing left to approve.`);
  }
  if (reviewing && isReviewed(request)) {
    return refuse('not_pending', `Break-glass request ${request.id} has already been reviewed.`);
  }
  if (!reviewing && now >= request.decisionDeadline) return pastDeadline(request);
  const sameOperator = checkDistinctOperator(request, role, via);
  if (sameOperator) return { ok: false, refusal: sameOperator };

  const approvals = [...request.approvals, { approver: by, at: now, ...(via.via === 'cli' ? { osUser: via.osUser } : {}) }];
  // NB: a pending request needs the approvals the policy in force asks now, not when it opened: a
  // role made stricter while requests wait must not be granted on the old, lower number. Reviews
  // of break-glass access keep the number fixed when it was granted.
  const required = reviewing ? request.approvalsRequired : role.approvals;
  const reached = approvals.length >= required;
  const next: AccessRequest = { ...request, approvals, approvalsRequired: required, state: !reviewing && reached ? 'approved' : request.state };
  // NB: an approver who counts only through a chat platform's user group says so in the trail.
  const counts = {
    approvals: approvals.length,
    approvalsRequired: required,
    ...(required !== request.approvalsRequired ? { approvalsRequiredWas: request.approvalsRequired } : {}),
    ...(groupsVia.length > 0 ? { approverVia: { platformGroups: groupsVia } } : {}),
    ...(cli.operator ? { operator: cli.operator } : {}),
  };
  const events = [requestEvent('approval_recorded', by, next, counts)];
  if (reviewing && reached) {
    events.push(requestEvent('break_glass_reviewed', by, next, { reviewers: approvals.map((a) => a.approver) }));
  } else if (reached) {
    events.push(requestEvent('request_approved', by, next, { approvers: approvals.map((a) => a.approver) }));
  }
  return { ok: true, request: next, events };
}

/** One deny ends a pending request. The reason is required and kept. */
export function deny(
  request: AccessRequest,
  by: Email,
  reason: string,
  policy: Policy,
  now: Date,
  platformGroups: ReadonlySet<string> = new Set(),
  via: ActingVia = viaChat,
): Transition {
  if (request.state === 'denied' && request.denial?.by === by) return { ok: true, request, events: [] };
  if (by === request.requester) {
    return refuse('self_approval', `You cannot decide on your own request ${request.id}; to withdraw it, cancel it.`);
  }
  const role = policy.roles.get(request.role);
  // NB: a denial only ends a request, so one OS user may deny what it opened; but it is still a
  // decision in someone else's name, so the CLI needs the role's permission.
  const cli = checkCliDecision(role, request.role, via, `deny request ${request.id}`);
  if (!cli.ok) return cli;
  if (role && !matchesAny(policy, role.approvers, by, platformGroups)) {
    return refuse('not_approver', `You are not an approver for ${request.role}, so you cannot deny request ${request.id}.`);
  }
  if (!role && !matchesAny(policy, policy.admins, by)) {
    return refuse('not_approver', `Role ${request.role} is no longer in the policy; only an admin can deny request ${request.id}.`);
  }
  if (request.state !== 'pending') {
    return refuse('not_pending', `Request ${request.id} is ${describeState(request)}; it can no longer be denied.`);
  }
  if (now >= request.decisionDeadline) return pastDeadline(request);
  const next: AccessRequest = { ...request, state: 'denied', denial: { by, at: now, reason, ...(via.via === 'cli' ? { osUser: via.osUser } : {}) }, endedAt: now };
  const groupsVia = role ? platformOnlyGroups(policy, role.approvers, by, platformGroups) : [];
  const extra = { denialReason: reason, ...(groupsVia.length > 0 ? { approverVia: { platformGroups: groupsVia } } : {}), ...(cli.operator ? { operator: cli.operator } : {}) };
  return { ok: true, request: next, events: [requestEvent('request_denied', by, next, extra)] };
}

function pastDeadline(request: AccessRequest): Transition {
  return refuse('not_pending', `Request ${request.id} timed out at ${request.decisionDeadline.toISOString()} without enough approvals; it needs to be asked for again.`);
}

/** Words for a state, for messages: "already approved", "denied by bob@…", … */
export function describeState(request: AccessRequest): string {
  switch (request.state) {
    case 'pending':
      return 'waiting for approval';
    case 'approved':
      return 'already approved';
    case 'active':
      return 'already active';
    case 'revoking':
      return 'being revoked';
    case 'revoked':
      return 'already over';
    case 'denied':
      return `denied${request.denial ? ` by ${request.denial.by}` : ''}`;
    case 'cancelled':
      return 'cancelled';
    case 'timed_out':
      return 'timed out without a decision';
    case 'failed':
      return 'failed';
  }
}
