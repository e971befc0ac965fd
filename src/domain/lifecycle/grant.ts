import type { AccessRequest } from '../access-request';
import { SYSTEM_ACTOR } from '../audit-event';
import { addMinutes } from '../duration';
import { describeState } from './approve';
import { refuse, requestEvent, type Transition } from './transition';

/**
 * The provider confirmed the grant: the request becomes `active` and its clock starts now, not
 * when it was asked for.
 */
export function markGranted(request: AccessRequest, now: Date): Transition {
  if (request.state === 'active') return { ok: true, request, events: [] };
  if (request.state !== 'approved' || request.kind !== 'access') {
    return refuse('not_pending', `Request ${request.id} is ${describeState(request)}; it cannot be granted.`);
  }
  const grant = { grantedAt: now, expiresAt: addMinutes(now, request.duration) };
  const next: AccessRequest = { ...request, state: 'active', grant };
  return {
    ok: true,
    request: next,
    events: [requestEvent('access_granted', SYSTEM_ACTOR, next, { grantedAt: grant.grantedAt.toISOString(), expiresAt: grant.expiresAt.toISOString() })],
  };
}

/** The provider refused the grant, for good: the request is `failed`. */
export function markGrantFailed(request: AccessRequest, error: string, now: Date): Transition {
  if (request.state !== 'approved') {
    return refuse('not_pending', `Request ${request.id} is ${describeState(request)}.`);
  }
  const next: AccessRequest = { ...request, state: 'failed', endedAt: now, endCause: 'grant_failed' };
  return { ok: true, request: next, events: [requestEvent('grant_failed', SYSTEM_ACTOR, next, { error })] };
}
