import type { AccessRequest } from '../../domain/access-request';
import type { Email } from '../../domain/email';
import type { AlertView } from './alert-view';
import type { ApprovalCard } from './approval-card';

/** Where a posted message lives, to update it in place later. */
export interface MessageRef {
  readonly channel: string;
  /** Slack `ts`, Teams activity id. */
  readonly messageId: string;
}

/** Something one person is told directly (a DM). */
export interface PersonMessage {
  /** Plain text; the platform escapes it. */
  readonly text: string;
  readonly request: AccessRequest;
  /** The event that caused it (`access_granted`, `access_expiring_soon`, …). */
  readonly action: string;
  /** Offer an Extend button (the expiring-soon notice). */
  readonly offerExtend: boolean;
}

/**
 * The port a chat platform implements for the bot to speak: approval cards in a channel, updated in
 * place; direct messages; one-line summaries and alerts (updated in place when acknowledged) in the
 * security channel. Failures throw
 * `NotificationError` (`unavailable` is retried later, `rejected` is skipped).
 */
export interface ChatPlatform {
  /** The platform's key in the policy's `channels` (`slack`, `teams`). */
  readonly kind: 'slack' | 'teams';
  /** Posts a request's approval card; returns where it is. */
  postApprovalCard(channel: string, card: ApprovalCard): Promise<MessageRef>;
  /** Replaces a posted card with its current view (approvals so far, outcome, buttons or none). */
  updateApprovalCard(ref: MessageRef, card: ApprovalCard): Promise<void>;
  /** Tells one person something directly; a person the platform does not know is skipped. */
  tellPerson(who: Email, message: PersonMessage): Promise<void>;
  /** Posts one line to the security channel; `alert` marks it as needing attention. */
  postToSecurity(channel: string, text: string, alert: boolean): Promise<void>;
  /** Posts an alert to the security channel, with an Acknowledge button while it is open; returns where it is. */
  postAlert(channel: string, alert: AlertView): Promise<MessageRef>;
  /** Replaces a posted alert with its current view (who acknowledged it, and when; no button). */
  updateAlert(ref: MessageRef, alert: AlertView): Promise<void>;
  /** Something changed for these people: refresh whatever per-person view the platform has (App Home). */
  refreshPeople?(who: readonly Email[]): Promise<void>;
}
