import { SYSTEM_ACTOR } from '../domain/audit-event';
import { requestEvent } from '../domain/lifecycle/transition';
import type { AppContext } from './app-context';
import { stamp, type Origin } from './origin';

const origin: Origin = { via: 'scheduler' };

/**
 * Records an `access_expiring_soon` event for each live grant that expires within
 * `work.expiryNoticeMinutes` and has not had one for its current expiry; the notifiers turn it into
 * a message to the requester. Marking the grant and writing the event share a transaction, so each
 * expiry gets exactly one notice, whichever replica gets there first. Returns how many were due.
 */
export async function noticeExpiringGrants(ctx: AppContext, limit: number): Promise<number> {
  const loaded = ctx.policy.current();
  return ctx.store.transaction(async (tx) => {
    const now = ctx.clock.now();
    const until = new Date(now.getTime() + ctx.work.expiryNoticeMinutes * 60_000);
    const ids = await tx.claimExpiryNotices(now, until, limit);
    if (ids.length === 0) return 0;
    const requests = await tx.listRequests({ ids, limit: ids.length });
    const events = requests.map((request) =>
      requestEvent('access_expiring_soon', SYSTEM_ACTOR, request, { expiresAt: request.grant?.expiresAt.toISOString() ?? null }),
    );
    await tx.appendAudit(stamp(events, origin, loaded.sha256), now);
    return ids.length;
  });
}
