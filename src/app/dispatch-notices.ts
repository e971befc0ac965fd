import type { RequestId } from '../domain/request-id';
import { retryDelayMs, type Backoff } from '../domain/retry-backoff';
import type { Notifier } from '../ports/notifier';
import type { AppContext } from './app-context';
import { NotificationError } from './errors';

/** What one call did, for the scheduler's loop and for tests. */
export interface NoticeBatch {
  /** Events read; a full batch means more may be waiting. */
  readonly read: number;
  readonly delivered: number;
  /** Given up for good (rejected, or failing past the attempt limit): logged, not retried. */
  readonly skipped: number;
  /** True when delivery stopped at an event that will be retried after a backoff. */
  readonly blocked: boolean;
}

/** Retries of one notice: 2 s doubling to 5 min. */
export const NOTICE_BACKOFF: Backoff = { baseMs: 2_000, capMs: 5 * 60_000 };
/**
 * A notice that keeps failing is skipped after this many attempts (20 to 40 minutes of retries,
 * with jitter), so one bad message cannot hold up all the others for ever.
 */
export const NOTICE_MAX_ATTEMPTS = 15;

const NOTHING: NoticeBatch = { read: 0, delivered: 0, skipped: 0, blocked: false };

/**
 * Delivers the audit events that `notifier` has not yet had, in order, from its stored position. The
 * audit log is the outbox: events are written with their state change, so a notice cannot be lost to
 * a crash or a chat outage; delivery stops at a failing event and resumes there after a backoff.
 * The position is leased, so with several replicas one delivers at a time.
 */
export async function dispatchNotices(ctx: AppContext, notifier: Notifier, owner: string, limit: number): Promise<NoticeBatch> {
  const cursor = await ctx.store.claimNotificationCursor(notifier.name, owner, ctx.clock.now(), ctx.work.leaseMs);
  if (!cursor) return NOTHING;
  const log = ctx.logger.child({ notifier: notifier.name });
  let lastSeq = cursor.lastSeq;
  let delivered = 0;
  let skipped = 0;
  let events;
  try {
    events = await ctx.store.readAudit(cursor.lastSeq + 1, limit);
    for (const event of events) {
      const request = event.requestId ? await ctx.store.findRequest(event.requestId as RequestId) : undefined;
      try {
        await notifier.deliver(request ? { event, request } : { event });
        delivered += 1;
      } catch (error) {
        const attempts = event.seq === cursor.lastSeq + 1 ? cursor.attempts + 1 : 1;
        const retry = !(error instanceof NotificationError && error.code === 'rejected') && attempts < NOTICE_MAX_ATTEMPTS;
        const message = error instanceof Error ? error.message : String(error);
        if (retry) {
          const nextAttemptAt = new Date(ctx.clock.now().getTime() + retryDelayMs(attempts, ctx.work.random.next(), NOTICE_BACKOFF));
          log.warn({ err: error, seq: event.seq, action: event.action, attempts, nextAttemptAt }, 'notice not delivered; retried after a backoff');
          await ctx.store.saveNotificationCursor(notifier.name, owner, { lastSeq, attempts, nextAttemptAt, lastError: message });
          return { read: events.length, delivered, skipped, blocked: true };
        }
        log.error({ err: error, seq: event.seq, action: event.action, attempts }, 'notice given up; the audit log still has the event');
        skipped += 1;
      }
      lastSeq = event.seq;
    }
  } catch (error) {
    // NB: the database failed; save what was delivered so far if possible, else the lease lapses.
    await ctx.store.saveNotificationCursor(notifier.name, owner, { lastSeq, attempts: 0 }).catch(() => undefined);
    throw error;
  }
  await ctx.store.saveNotificationCursor(notifier.name, owner, { lastSeq, attempts: 0 });
  return { read: events.length, delivered, skipped, blocked: false };
}
