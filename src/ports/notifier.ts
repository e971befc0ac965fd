import type { AccessRequest } from '../domain/access-request';
import type { ChainedAuditEvent } from '../domain/audit-event';

/**
 * Something that happened, for people to hear about: an audit event, with the request it concerns
 * as it stands now (so a card shows the latest state even when the notice is delivered late).
 */
export interface Notice {
  readonly event: ChainedAuditEvent;
  /** Undefined for events about no request (policy changes). */
  readonly request?: AccessRequest;
}

/**
 * A way to tell people: a chat platform (approval cards, DMs, the security channel) or the log.
 * Notices are read from the audit log in order, after the state change has committed, so nothing a
 * notifier fails to send is lost: it is delivered again later. A notifier decides itself which
 * events it shows and how.
 */
export interface Notifier {
  /** Stable and unique per notifier: its delivery position is stored under this name. */
  readonly name: string;
  /**
   * Delivers one notice. Throws `NotificationError` with code `unavailable` to have it retried
   * (outage, rate limit), or `rejected` when retrying cannot help (it is then skipped and logged).
   * Must tolerate a repeat of the last notice (a crash after sending, before the position was saved).
   */
  deliver(notice: Notice): Promise<void>;
}
