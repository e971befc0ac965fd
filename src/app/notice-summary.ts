import { checkpointText } from '../domain/checkpoint';
import { alertRules, alertTitles, type AlertRule } from '../domain/alert';
import type { Notice } from '../ports/notifier';
import { viaCliNote } from './origin';

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
  // NB: a decision typed in a terminal says so, with the OS user who typed it: there the e-mail is only a claim.
  const origin = (d.origin ?? {}) as { via?: unknown; osUser?: unknown };
  const actorVia = origin.via === 'cli' ? viaCliNote(str(origin.osUser)) : '';
  const approvals = notice.request?.approvals ?? [];
  const ended = notice.request;
  const revokedBy = d.cause === 'revoked_early' && ended?.endedBy && ended.endedBy !== ended.requester ? ` by ${ended.endedBy}${viaCliNote(ended.endedByOsUser)}` : '';
  const approvedBy = approvals.length > 0 ? `; approved by ${approvals.map((a) => `${a.approver}${viaCliNote(a.osUser)}`).join(', ')}` : '';
  const line = (text: string, flags: Partial<Omit<NoticeSummary, 'text'>> = {}): NoticeSummary => ({
    text,
    alert: flags.alert ?? false,
    tellRequester: flags.tellRequester ?? false,
  });
  switch (event.action) {
    case 'request_opened':
      return line(`${who}${actorVia} asked for ${d.breakGlass ? 'break-glass ' : ''}${role} for ${str(d.duration)} (request ${id}${ticket}): ${str(d.reason)}`);
    case 'request_approved':
      return line(`${id}: ${role} for ${who} approved`);
    case 'request_denied':
      return line(`${event.actor}${actorVia} denied ${role} for ${who} (request ${id}): ${str(d.denialReason)}`, { tellRequester: true });
    case 'request_cancelled':
      return line(`${who} cancelled request ${id} for ${role}`);
    case 'request_timed_out':
      return line(`Request ${id} for ${role} by ${who} timed out without a decision`, { tellRequester: true });
    case 'access_granted': {
      // NB: a grant capped by a maximum lowered after the request was made says so, or the requester
      // would plan on time they do not have.
      const capped = (d.capped ?? undefined) as { requested?: unknown; maxDuration?: unknown } | undefined;
      const cap = capped ? `; granted for ${str(d.duration)}, not the ${str(capped.requested)} asked: the policy's maximum for ${role} is now ${str(capped.maxDuration)}` : '';
      return line(`${who} was granted ${d.breakGlass ? 'break-glass ' : ''}${role} until ${str(d.expiresAt)} (request ${id}${ticket})${cap}${d.breakGlass ? '' : approvedBy}`, { tellRequester: true });
    }
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
        `${role} revoked from ${who}${revokedBy} (request ${id}, ${str(d.cause).replace('_', ' ')})${d.accessRemoved === false && d.note ? `; ${str(d.note)}` : ''}`,
        { tellRequester: true },
      );
    case 'revocation_failed':
      return line(`Revoking ${role} from ${who} failed (request ${id}): ${str(d.error)}; retrying`);
    case 'revocation_deferred':
      return line(`Revoking ${role} from ${who} waits for the provider (request ${id}): ${str(d.error)}; it is removed at ${str(d.retryAt)}`, { tellRequester: true });
    case 'alert_raised':
      return line(str(d.message), { alert: true });
    case 'alert_acknowledged': {
      const title = alertRules.includes(d.rule as AlertRule) ? ` (${alertTitles[d.rule as AlertRule]})` : '';
      return line(`Alert ${str(d.alertId)}${title} acknowledged by ${event.actor}${actorVia}`);
    }
    case 'break_glass_reviewed':
      return line(`Break-glass ${id} (${role} for ${who}) reviewed by ${approvals.length > 0 ? approvedBy.slice('; approved by '.length) : event.actor}`);
    case 'digest_published':
      // NB: the text was written with the event, checkpoint included, so every notifier posts the same words.
      return line(str(d.text));
    case 'checkpoint_signed': {
      const c = (d.checkpoint ?? {}) as Record<string, unknown>;
      const signed = checkpointText({ period: str(c.period), seq: Number(c.seq), hash: str(c.hash), signedAt: new Date(str(c.signedAt)), keyId: str(c.keyId), signature: str(c.signature) });
      return line(`Audit checkpoint signed on demand${actorVia} (check it with openssl alone: README, "Signed checkpoints"):\n${signed.trimEnd()}`);
    }
    case 'drift_checked':
      return driftCheckedLine(d);
    case 'drift_grant_missing':
      return line(
        `Drift run ${str(d.run)}: request ${id} (${role} for ${who}) is live, but its access is missing at ${str(d.provider)}. ` +
          'Someone removed it outside prod-access, or the provider lost it; the grant ends as planned.',
      );
    case 'drift_access_revoked':
      return line(
        `Drift run ${str(d.run)}: ${d.removed === false ? 'found already gone' : 'revoked'} ${role} for ${principalText(d)} at ${str(d.provider)}, access no live grant explained` +
          `${d.approvedRun !== undefined ? ` (held run ${str(d.approvedRun)}, approved by ${event.actor}${actorVia})` : ''}`,
      );
    case 'drift_revocation_failed':
      return line(`Drift run ${str(d.run)}: could not revoke ${role} for ${principalText(d)} at ${str(d.provider)}: ${str(d.error)}. Remove it by hand.`, { alert: true });
    case 'drift_run_approved':
      return line(`${event.actor}${actorVia} approved held drift run ${str(d.run)}: what it found without a live grant, and still is, is revoked (run ${str(d.approvalRun)})`);
    case 'approval_recorded':
    case 'revocation_started':
    case 'policy_activated':
    case 'policy_rejected':
      return undefined;
    default:
      return undefined;
  }
}

/** A drift run's line for the log; none for a run that found nothing new and was not held. */
function driftCheckedLine(d: Record<string, unknown>): NoticeSummary | undefined {
  const providers = (d.providers ?? {}) as Record<string, { error?: unknown }>;
  const failed = Object.entries(providers).filter(([, r]) => r.error !== undefined);
  const newOnes = Number(d.newUnexpected ?? 0) + Number(d.newMissing ?? 0);
  if (newOnes === 0 && d.held !== true && failed.length === 0) return undefined;
  const parts = [
    `${str(d.unexpected)} access(es) without a live grant (${str(d.newUnexpected)} new)`,
    `${str(d.missing)} live grant(s) missing at the provider (${str(d.newMissing)} new)`,
    ...(d.held === true ? [`revocations held: ${str(d.heldReason)}`] : []),
    ...failed.map(([kind, r]) => `${kind} could not list: ${str(r.error)}`),
  ];
  return { text: `Drift run ${str(d.run)}: ${parts.join('; ')}`, alert: false, tellRequester: false };
}

/** `pa_frank (frank@example.com)`, or the principal alone when nobody is mapped to it. */
function principalText(d: Record<string, unknown>): string {
  return d.person !== undefined && d.person !== d.principal ? `${str(d.principal)} (${str(d.person)})` : str(d.principal);
}

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}
