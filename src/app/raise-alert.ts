import type { AccessRequest } from '../domain/access-request';
import type { Alert, Finding } from '../domain/alert';
import { SYSTEM_ACTOR, type AuditEvent } from '../domain/audit-event';
import { requestEvent } from '../domain/lifecycle/transition';
import type { StoreTransaction } from '../ports/access-store';
import type { AppContext } from './app-context';
import { stamp, type Origin } from './origin';

/**
 * Stores a finding as an alert, with its `alert_raised` audit event, in the caller's transaction,
 * and returns it. A finding whose key was raised before (by this process or another replica, before
 * a restart) writes nothing and returns undefined: the key is unique, so the event, and with it the
 * message in the security channel (the notifiers post from the event), happens once.
 * `request`: the request the finding is about, as it stands, for the event's facts (role, ticket, …).
 */
export async function raiseAlert(tx: StoreTransaction, finding: Finding, origin: Origin, policySha: string, now: Date, request?: AccessRequest): Promise<Alert | undefined> {
  const alert = await tx.raiseAlert(finding, now);
  if (!alert) return undefined;
  const facts = { alertId: alert.id, rule: alert.rule, severity: alert.severity, key: alert.key, message: alert.message };
  const event: AuditEvent = request
    ? requestEvent('alert_raised', SYSTEM_ACTOR, request, facts)
    : { action: 'alert_raised', actor: SYSTEM_ACTOR, ...(finding.requestId ? { requestId: finding.requestId } : {}), data: facts };
  await tx.appendAudit(stamp([event], origin, policySha), now);
  return alert;
}

/**
 * Raises findings made outside a transaction (the detection pass; drift reconciliation): keys raised
 * already are skipped with one read, and each new finding gets its own short transaction (in key
 * order, so replicas raising the same findings at once never wait on each other in a cycle).
 * Returns the alerts this call raised; a replica that lost the race for a key gets nothing for it.
 */
export async function raiseAnomalies(ctx: AppContext, findings: readonly Finding[], origin: Origin): Promise<Alert[]> {
  if (findings.length === 0) return [];
  const raisedBefore = await ctx.store.raisedAlertKeys(findings.map((f) => f.key));
  const fresh = new Map<string, Finding>();
  for (const finding of findings) if (!raisedBefore.has(finding.key) && !fresh.has(finding.key)) fresh.set(finding.key, finding);
  const raised: Alert[] = [];
  const { sha256 } = ctx.policy.current();
  for (const finding of [...fresh.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const alert = await ctx.store.transaction(async (tx) => {
      const [request] = finding.requestId ? await tx.listRequests({ ids: [finding.requestId], limit: 1 }) : [];
      return raiseAlert(tx, finding, origin, sha256, ctx.clock.now(), request);
    });
    if (alert) raised.push(alert);
  }
  return raised;
}
