import type { AccessRequest } from '../access-request';
import { SYSTEM_ACTOR } from '../audit-event';
import type { Email } from '../email';
import { describeState } from './approve';
import { refuse, requestEvent, type Transition } from './transition';

/** The requester withdraws a pending request. */
export function cancel(request: AccessRequest, by: Email, now: Date): Transition {
  if (request.state === 'cancelled' && request.endedBy === by) return { ok: true, request, events: [] };
  if (by !== request.requester) {
    return refuse('not_requester', `Only ${request.requester} can cancel request ${request.id}.`);
  }
  if (request.state !== 'pending') {
    return refuse('not_pending', `Request ${request.id} is ${describeState(request)}; only a pending request can be cancelled${request.state === 'active' ? ' (use revoke to give access back)' : ''}.`);
  }
  const next: AccessRequest = { ...request, state: 'cancelled', endedAt: now, endedBy: by };
  return { ok: true, request: next, events: [requestEvent('request_cancelled', by, next)] };
}

/** A pending request with no decision by its deadline. */
export function timeOut(request: AccessRequest, now: Date): Transition {
  if (request.state !== 'pending') return refuse('not_pending', `Request ${request.id} is ${describeState(request)}.`);
  if (now < request.decisionDeadline) return refuse('not_pending', `Request ${request.id} is still within its approval window.`);
  const next: AccessRequest = { ...request, state: 'timed_out', endedAt: now };
  return {
    ok: true,
    request: next,
    events: [requestEvent('request_timed_out', SYSTEM_ACTOR, next, { approvals: request.approvals.map((a) => a.approver) })],
  };
}
