import type { AlertKind } from '../../domain/alert';
import { SYSTEM_ACTOR } from '../../domain/audit-event';
import type { Severity } from '../../domain/detection-policy';
import type { RequestId } from '../../domain/request-id';
import type { StoreTransaction } from '../../ports/access-store';
import { stamp, type Origin } from '../origin';

/** A drift alert: about no single request, deduplicated by `key`. */
export interface DriftAlert {
  readonly kind: Extract<AlertKind, 'drift' | 'drift_held'>;
  /** The same key is raised once, across runs, replicas and restarts. */
  readonly key: string;
  readonly severity: Severity;
  readonly message: string;
}

/**
 * Records a drift alert and its `alert_raised` audit event in the caller's transaction; a repeat of
 * the same key writes nothing and returns false. The event reaches the security channel through
 * the notifiers, like every other alert.
 *
 * NB: the one place drift raises alerts. Until the generalised alert API (dedupe keys and
 * severities of their own, issue 13 part A) lands, the dedupe key rides in the `alerts.request_id`
 * column, which has no foreign key: switch this function to that API and nothing else changes.
 */
export async function raiseDriftAlert(tx: StoreTransaction, alert: DriftAlert, origin: Origin, policySha: string, now: Date): Promise<boolean> {
  if (!(await tx.raiseAlert({ kind: alert.kind, requestId: alert.key as RequestId, message: alert.message }, now))) return false;
  const event = { action: 'alert_raised' as const, actor: SYSTEM_ACTOR, data: { alert: alert.kind, rule: 'drift', severity: alert.severity, key: alert.key, message: alert.message } };
  await tx.appendAudit(stamp([event], origin, policySha), now);
  return true;
}
