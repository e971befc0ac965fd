import type { AccessRequest } from '../access-request';
import { SYSTEM_ACTOR } from '../audit-event';
import { addMinutes, formatDuration, type Minutes } from '../duration';
import { refuse, requestEvent, type Transition } from './transition';

/** The rule for every grant: its whole length, from when it began, is at most the role's maximum. */
export function latestExpiry(grantedAt: Date, maxDuration: Minutes): Date {
  return addMinutes(grantedAt, maxDuration);
}

/**
 * The role's maximum was lowered below what a live grant has in all: its expiry moves to
 * `grantedAt + maxDuration`, or to now when that has already passed (the scheduler then revokes it).
 * A grant already within the maximum is left alone.
 */
export function shortenToMaximum(request: AccessRequest, maxDuration: Minutes, now: Date): Transition {
  if (request.state !== 'active' || !request.grant) return refuse('not_active', `Request ${request.id} has no live grant to shorten.`);
  const limit = latestExpiry(request.grant.grantedAt, maxDuration);
  if (request.grant.expiresAt <= limit) return { ok: true, request, events: [] };
  const expiresAt = limit > now ? limit : now;
  const next: AccessRequest = { ...request, grant: { ...request.grant, expiresAt } };
  return {
    ok: true,
    request: next,
    events: [
      requestEvent('grant_shortened', SYSTEM_ACTOR, next, {
        cause: 'policy_changed',
        maxDuration: formatDuration(maxDuration),
        previousExpiresAt: request.grant.expiresAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
      }),
    ],
  };
}
