import { acknowledgingAlerts, checkCliSecurityAction } from '../domain/acting-via';
import type { Alert } from '../domain/alert';
import type { AuditEvent } from '../domain/audit-event';
import type { Email } from '../domain/email';
import { refuse } from '../domain/lifecycle/transition';
import { matchesAny } from '../domain/policy';
import type { AppContext } from './app-context';
import { actingVia, stamp, viaCliNote, type Origin } from './origin';
import type { Outcome } from './outcome';

/**
 * A member of the policy's security group (`detection.securityGroup`; through a Slack user group
 * too, when the platform vouches for it in `platformGroups`) acknowledges an alert: who, when and
 * from where are stored and audited (`alert_acknowledged`), and the alert's message in the security
 * channel then shows it. A second acknowledgement changes nothing and says who was first. From the
 * CLI, where `--as` is only a claim, the OS user must also be one of `detection.cliOperators`.
 */
export async function acknowledgeAlert(ctx: AppContext, alertId: number, by: Email, origin: Origin, platformGroups?: ReadonlySet<string>): Promise<Outcome<Alert>> {
  const loaded = ctx.policy.current();
  const { policy } = loaded;
  const group = policy.detection.securityGroup;
  if (!policy.groups.has(group)) {
    return refuse('not_authorised', `The policy defines no group ${group} (detection.securityGroup), so nobody can acknowledge alerts yet; ask security to define it.`);
  }
  if (!matchesAny(policy, [{ group }], by, platformGroups)) {
    return refuse('not_authorised', `Only members of the security group ${group} may acknowledge alerts, and ${by} is not one.`);
  }
  const cli = checkCliSecurityAction(policy.detection.cliOperators, actingVia(origin), acknowledgingAlerts);
  if (!cli.ok) return cli;
  return ctx.store.transaction(async (tx) => {
    const alert = await tx.lockAlert(alertId);
    if (!alert) return refuse('no_such_alert', `There is no alert ${alertId}.`);
    if (alert.acknowledged) return { ok: true, value: alert, changed: false };
    const now = ctx.clock.now();
    const { osGroups: _groups, ...recorded } = origin;
    const acknowledged = await tx.acknowledgeAlert(alertId, by, now, recorded);
    const event: AuditEvent = {
      action: 'alert_acknowledged',
      actor: by,
      ...(alert.requestId ? { requestId: alert.requestId } : {}),
      data: { alertId: alert.id, rule: alert.rule, severity: alert.severity, key: alert.key, ...(cli.operator ? { operator: cli.operator } : {}) },
    };
    await tx.appendAudit(stamp([event], origin, loaded.sha256), now);
    return { ok: true, value: acknowledged, changed: true };
  });
}

/** What the person who acknowledged is told: done, or who was first. */
export function acknowledgementText(alert: Alert, changed: boolean): string {
  const ack = alert.acknowledged;
  if (!ack) return `Alert ${alert.id} is open.`;
  const who = `${ack.by}${viaCliNote(ack.osUser)}`;
  return changed ? `Alert ${alert.id} acknowledged by ${who}.` : `Alert ${alert.id} was already acknowledged by ${who} at ${ack.at.toISOString()}; nothing changed.`;
}
