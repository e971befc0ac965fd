import type { AccessRequest, GrantWindow } from '../access-request';
import { SYSTEM_ACTOR } from '../audit-event';
import { addMinutes, formatDuration, type Minutes } from '../duration';
import { describeState } from './approve';
import { latestExpiry } from './shorten';
import { refuse, requestEvent, type Transition } from './transition';

/**
 * The window a grant made at `now` gets: the time asked for, but never past the role's maximum in
 * force now (the policy may have lowered it since the request was opened or approved).
 */
export function grantWindow(request: AccessRequest, maxDuration: Minutes, now: Date): GrantWindow & { readonly capped: boolean } {
  const asked = addMinutes(now, request.duration);
  const limit = latestExpiry(now, maxDuration);
  return asked > limit ? { grantedAt: now, expiresAt: limit, capped: true } : { grantedAt: now, expiresAt: asked, capped: false };
}

/**
 * The provider confirmed the grant: the request becomes `active` and its clock starts now, not
 * when it was asked for. It lasts what was asked, capped at `maxDuration`, the role's maximum in
 * the policy in force now; a capped grant says so in its event, so the requester is told.
 */
export function markGranted(request: AccessRequest, maxDuration: Minutes, now: Date): Transition {
  if (request.state === 'active') return { ok: true, request, events: [] };
  if (request.state !== 'approved' || request.kind !== 'access') {
    return refuse('not_pending', `Request ${request.id} is ${describeState(request)}; it cannot be granted.`);
  }
  const { capped, ...grant } = grantWindow(request, maxDuration, now);
  const next: AccessRequest = { ...request, state: 'active', grant };
  return {
    ok: true,
    request: next,
    events: [
      requestEvent('access_granted', SYSTEM_ACTOR, next, {
        grantedAt: grant.grantedAt.toISOString(),
        expiresAt: grant.expiresAt.toISOString(),
        duration: formatDuration(capped ? maxDuration : request.duration),
        ...(capped ? { capped: { requested: formatDuration(request.duration), maxDuration: formatDuration(maxDuration) } } : {}),
      }),
    ],
  };
}

/**
 * The grant cannot be made, for good: the provider refused it (`grant_failed`), or the role left the
 * policy between the approval and the grant (`policy_changed`). The request is `failed`.
 */
export function markGrantFailed(request: AccessRequest, error: string, now: Date, cause: 'grant_failed' | 'policy_changed' = 'grant_failed'): Transition {
  if (request.state !== 'approved') {
    return refuse('not_pending', `Request ${request.id} is ${describeState(request)}.`);
  }
  const next: AccessRequest = { ...request, state: 'failed', endedAt: now, endCause: cause };
  return { ok: true, request: next, events: [requestEvent('grant_failed', SYSTEM_ACTOR, next, { error, cause })] };
}
