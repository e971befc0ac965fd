import { requestLifecycleActions } from '../../domain/audit-event';
import type { Email } from '../../domain/email';
import type { Policy } from '../../domain/policy';
import type { Notice, Notifier } from '../../ports/notifier';
import { alertView } from './alert-view';
import type { AppContext } from '../app-context';
import { summarizeNotice } from '../notice-summary';
import { approvalCard, isFirstTime } from './approval-card';
import type { ChatPlatform } from './chat-platform';

/** Events the security channel gets a line for: grants, denials, break-glass, revocations, failures, alerts. */
const SECURITY_EVENTS = new Set([
  'access_granted',
  'request_denied',
  'grant_failed',
  'grant_extended',
  'grant_shortened',
  'extension_failed',
  'access_revoked',
  'revocation_failed',
  'revocation_deferred',
  'break_glass_reviewed',
  'digest_published',
  'checkpoint_signed',
  'drift_grant_missing',
  'drift_access_revoked',
  'drift_revocation_failed',
  'drift_run_approved',
]);

/**
 * NB: delivery is at least once: a notice whose security line fails is retried whole, so its card
 * update (idempotent) and its DM may be sent again. A lost message would be worse than a repeat.
 *
 * Turns notices into chat messages on one platform: the approval card in the approvals channel
 * (posted when the request opens, updated in place as it moves on), a direct message to the
 * requester when something happens to their access, and a line in the security channel. The
 * routing is the same for every platform; the platform only lays messages out.
 */
export class ChatNotifier implements Notifier {
  readonly name: string;

  constructor(
    private readonly ctx: AppContext,
    private readonly platform: ChatPlatform,
  ) {
    this.name = platform.kind;
  }

  async deliver(notice: Notice): Promise<void> {
    const { event, request } = notice;
    if (event.action === 'alert_raised' || event.action === 'alert_acknowledged') return this.deliverAlert(notice);
    const policy = this.ctx.policy.current().policy;
    // NB: events about no request (the weekly digest, checkpoints) go to the security channel only.
    if (!request) return this.toSecurityOnly(notice, policy.channels.security[this.platform.kind]);
    // NB: a role may send its cards to a channel of its own (its approvers' team channel).
    const roleChannel = policy.roles.get(request.role)?.channels?.approvals[this.platform.kind];
    const channels = { approvals: roleChannel ?? policy.channels.approvals[this.platform.kind], security: policy.channels.security[this.platform.kind] };
    const summary = summarizeNotice(notice);
    // NB: break-glass reaches security as the anomaly rules' alert (with its Acknowledge button) and
    // the grant's line; a line of its own when it is asked for only if the policy turns that alert off.
    const breakGlassOpened = event.action === 'request_opened' && request.breakGlass && !policy.detection.rules.breakGlass.enabled;

    if (requestLifecycleActions.has(event.action)) {
      const card = approvalCard(request, policy, await isFirstTime(this.ctx, request));
      const posted = await this.ctx.store.chatCard(this.platform.kind, request.id);
      if (posted) {
        await this.platform.updateApprovalCard(posted, card);
      } else if (event.action === 'request_opened' && channels.approvals) {
        // NB: a crash between posting and recording would post a second card on redelivery; the
        // record is written at once to keep that window to one round trip.
        const ref = await this.platform.postApprovalCard(channels.approvals, card);
        await this.ctx.store.recordChatCard(this.platform.kind, request.id, ref, this.ctx.clock.now());
      }
    }
    if (summary?.tellRequester) {
      const notes = this.ctx.iam.get(request.resource.provider)?.notes;
      const note = event.action === 'access_granted' ? notes?.granted : event.action === 'access_revoked' && request.endCause === 'revoked_early' ? notes?.revoked : undefined;
      await this.platform.tellPerson(request.requester, {
        text: note ? `${summary.text}\n${note}` : summary.text,
        request,
        action: event.action,
        offerExtend: event.action === 'access_expiring_soon' && request.state === 'active',
      });
    }
    if (summary && channels.security && (SECURITY_EVENTS.has(event.action) || breakGlassOpened)) {
      await this.platform.postToSecurity(channels.security, summary.text, summary.alert || breakGlassOpened);
    }
    if (this.platform.refreshPeople) await this.platform.refreshPeople(peopleConcerned(policy, request.requester, request.role));
  }

  private async toSecurityOnly(notice: Notice, channel: string | undefined): Promise<void> {
    const summary = summarizeNotice(notice);
    if (summary && channel && SECURITY_EVENTS.has(notice.event.action)) await this.platform.postToSecurity(channel, summary.text, summary.alert);
  }

  /**
   * An alert is a message of its own in the security channel, with an Acknowledge button: posted
   * once (where it went is recorded, so a redelivery updates it instead) and updated in place when
   * it is acknowledged. An alert raised before alerts had ids (its event names none) stays one line.
   */
  private async deliverAlert(notice: Notice): Promise<void> {
    const { policy } = this.ctx.policy.current();
    const channel = policy.channels.security[this.platform.kind];
    const id = Number(notice.event.data.alertId);
    const alert = Number.isInteger(id) && id > 0 ? await this.ctx.store.findAlert(id) : undefined;
    if (!alert) {
      const summary = summarizeNotice(notice);
      if (notice.event.action === 'alert_raised' && summary && channel) await this.platform.postToSecurity(channel, summary.text, true);
      return;
    }
    const view = alertView(alert, policy.detection.securityGroup);
    const posted = await this.ctx.store.alertMessage(this.platform.kind, alert.id);
    if (posted) {
      await this.platform.updateAlert(posted, view);
    } else if (notice.event.action === 'alert_raised' && channel) {
      // NB: as for approval cards, the record is written at once: a crash between posting and
      // recording would post a second message on redelivery.
      const ref = await this.platform.postAlert(channel, view);
      await this.ctx.store.recordAlertMessage(this.platform.kind, alert.id, ref, this.ctx.clock.now());
    }
  }
}

/** The requester and the role's approvers listed by address (their home views show this request). */
function peopleConcerned(policy: Policy, requester: Email, role: string): Email[] {
  const people = new Set<Email>([requester]);
  for (const ref of policy.roles.get(role)?.approvers ?? []) {
    if (ref.email) people.add(ref.email);
    for (const member of (ref.group ? policy.groups.get(ref.group)?.members : undefined) ?? []) {
      if (!member.startsWith('*@')) people.add(member as Email);
    }
  }
  return [...people];
}
