import type { AccessRequest } from '../domain/access-request';
import type { Alert } from '../domain/alert';
import { SYSTEM_ACTOR } from '../domain/audit-event';
import { requestEvent } from '../domain/lifecycle/transition';
import type { StoreTransaction } from '../ports/access-store';
import { stamp, type Origin } from './origin';

/**
 * Records a security alert and its `alert_raised` audit event in the caller's transaction. An alert
 * of the same kind for the same request is raised once: a repeat writes nothing and returns false.
 * The event reaches the security channel through the notifiers, like every other event.
 */
export async function raiseAlert(
  tx: StoreTransaction,
  alert: Alert,
  request: AccessRequest,
  origin: Origin,
  policySha: string,
  now: Date,
): Promise<boolean> {
  if (!(await tx.raiseAlert(alert, now))) return false;
  const event = requestEvent('alert_raised', SYSTEM_ACTOR, request, { alert: alert.kind, message: alert.message });
  await tx.appendAudit(stamp([event], origin, policySha), now);
  return true;
}
