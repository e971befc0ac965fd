import { alertTitles, type Alert, type AlertRule } from '../../domain/alert';
import type { Severity } from '../../domain/detection-policy';
import { viaCliNote } from '../origin';

/** What an alert's message offers: acknowledging it, while it is open. */
export type AlertAction = 'acknowledge';

/**
 * One platform-neutral view of an alert for the security channel: Slack lays it out in Block Kit,
 * Teams as an Adaptive Card, with the same facts and the same button. `message` is plain text that
 * may carry what people typed (a ticket); each platform escapes it for its own markup.
 */
export interface AlertView {
  readonly id: number;
  readonly rule: AlertRule;
  readonly severity: Severity;
  /** `High: Break-glass used`. */
  readonly headline: string;
  readonly message: string;
  readonly raisedAt: Date;
  readonly requestId?: string;
  /** `Open: a member of security acknowledges it here`, or who acknowledged it, from where. */
  readonly status: string;
  /** When the status involves a time (the acknowledgement), the instant: platforms render it in each reader's zone. */
  readonly statusAt?: Date;
  readonly actions: readonly AlertAction[];
}

export function alertView(alert: Alert, securityGroup: string): AlertView {
  const ack = alert.acknowledged;
  return {
    id: alert.id,
    rule: alert.rule,
    severity: alert.severity,
    headline: `${alert.severity.charAt(0).toUpperCase()}${alert.severity.slice(1)}: ${alertTitles[alert.rule]}`,
    message: alert.message,
    raisedAt: alert.raisedAt,
    ...(alert.requestId ? { requestId: alert.requestId } : {}),
    ...(ack
      ? { status: `Acknowledged by ${ack.by}${viaCliNote(ack.osUser)} at`, statusAt: ack.at }
      : { status: `Open: a member of ${securityGroup} acknowledges it here` }),
    actions: ack ? [] : ['acknowledge'],
  };
}
