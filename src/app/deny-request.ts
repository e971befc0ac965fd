import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import { deny } from '../domain/lifecycle/approve';
import type { RequestId } from '../domain/request-id';
import { cleanText } from '../domain/text';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import { actingVia, type Origin } from './origin';
import type { Outcome } from './outcome';

const MAX_DENIAL_REASON = 500;

/** One deny ends a pending request; the reason is required so the requester knows what to fix. */
export async function denyRequest(
  ctx: AppContext,
  id: RequestId,
  by: Email,
  reasonText: string,
  origin: Origin,
  /** Policy groups the chat platform vouches `by` belongs to (Slack user groups). */
  platformGroups?: ReadonlySet<string>,
): Promise<Outcome<AccessRequest>> {
  const reason = cleanText(reasonText);
  if (reason.length < 3 || reason.length > MAX_DENIAL_REASON) {
    return { ok: false, refusal: { code: 'bad_reason', message: `Give the requester a reason for the denial (3 to ${MAX_DENIAL_REASON} characters).` } };
  }
  const loaded = ctx.policy.current();
  return ctx.store.transaction(async (tx) => {
    const request = await tx.lockRequest(id);
    if (!request) return notFound(id);
    const now = ctx.clock.now();
    return commitTransition(tx, deny(request, by, reason, loaded.policy, now, platformGroups, actingVia(origin)), origin, loaded.sha256, now);
  });
}
