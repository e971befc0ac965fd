import type { Notice } from '../ports/notifier';

/** Who hears about an event: the requester, security, or both (chat notifiers route on this). */
export interface NoticeSummary {
  /** One plain-text line for the security channel's audit feed and the log; never markup. */
  readonly text: string;
  /** An alert for security (failures, unreviewed break-glass), not routine. */
  readonly alert: boolean;
  /** The requester should be told directly (granted, denied, expiring, revoked, failed). */
  readonly tellRequester: boolean;
}

/**
 * The platform-neutral one-line summary of a notice, or undefined for events nobody needs to be
 * told about one by one (single approvals show on the approval card; policy events are in the log).
 * Chat adapters escape the text for their markup; it carries user text (reasons) as typed.
 */
export function summarizeNotice(notice: Notice): NoticeSummary | undefined {
  const { event } = notice;
  const d = event.data as Record<string, unknown>;
  const who = str(d.requester);
  const role = str(d.role);
  const id = event.requestId ?? '';
  const ticket = d.ticket ? `, ticket ${str(d.ticket)}` : '';
  const line = (text: string, flags: Partial<Omit<NoticeSummary, 'text'>> = {}): NoticeSummary => ({
    text,
    alert: flags.alert ?? false,
    tellRequester: flags.tellRequester ?? false,
  });
  switch (event.action) {
    case 'request_opened':
      return line(`${who} asked for ${d.breakGlass ? 'break-glass ' : ''}${role} for ${str(d.duration)} (request ${id}${ticket}): ${str(d.reason)}`);
    case 'request_approved':
      return line(`${id}: ${role} for ${who} approved`);
    case 'request_denied':
      return line(`${event.actor} denied ${role} for ${who} (request ${id}): ${str(d.denialReason)}`, { tellRequester: true });
    case 'request_cancelled':
      return line(`${who} cancelled request ${id} for ${role}`);
    case 'request_timed_out':
      return line(`Request ${id} for ${role} by ${who} timed out without a decision`, { tellRequester: true });
    case 'access_granted':
      return line(`${who} was granted ${d.breakGlass ? 'break-glass ' : ''}${role} until ${str(d.expiresAt)} (request ${id}${ticket})`, { tellRequester: true });
    case 'grant_failed':
      return line(`Granting ${role} to ${who} failed (request ${id}): ${str(d.error)}`, { tellRequester: true });
    case 'grant_extended':
      return line(`${role} for ${who} extended by ${str(d.added)} until ${str(d.expiresAt)} (request ${id})`, { tellRequester: true });
    case 'extension_failed':
      return line(`Extension ${id} of ${role} for ${who} could not be applied: ${str(d.error)}`, { tellRequester: true });
    case 'grant_shortened':
      return line(`${role} for ${who} shortened to end at ${str(d.expiresAt)}: the policy's maximum is now ${str(d.maxDuration)} (request ${id})`, { tellRequester: true });
    case 'access_expiring_soon':
      return line(`${role} for ${who} expires at ${str(d.expiresAt)} (request ${id})`, { tellRequester: true });
    case 'access_revoked':
      return line(
        `${role} revoked from ${who} (request ${id}, ${str(d.cause).replace('_', ' ')})${d.accessRemoved === false && d.note ? `; ${str(d.note)}` : ''}`,
        { tellRequester: true },
      );
    case 'revocation_failed':
      return line(`Revoking ${role} from ${who} failed (request ${id}): ${str(d.error)}; retrying`);
    case 'alert_raised':
      return line(str(d.message), { alert: true });
    case 'break_glass_reviewed':
      return line(`Break-glass ${id} (${role} for ${who}) reviewed by ${event.actor}`);
    case 'approval_recorded':
    case 'revocation_started':
    case 'policy_activated':
    case 'policy_rejected':
      return undefined;
    default:
      return undefined;
  }
}

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}
