import type { Severity } from '../../domain/detection-policy';
import type { StoreTransaction } from '../../ports/access-store';
import type { Origin } from '../origin';
import { raiseAlert } from '../raise-alert';

/** A drift alert: about no single request, deduplicated by `key`. */
export interface DriftAlert {
  /** `drift`: access no live grant explains; `drift_held`: a run's revocations wait for a person. */
  readonly kind: 'drift' | 'drift_held';
  /** The same key is raised once, across runs, replicas and restarts. */
  readonly key: string;
  readonly severity: Severity;
  readonly message: string;
}

/**
 * Records a drift alert and its `alert_raised` audit event in the caller's transaction, through the
 * alerts' own unique keys; a repeat of the same key writes nothing and returns false. The event
 * reaches the security channel through the notifiers, like every other alert, with its
 * Acknowledge button. The one place drift raises alerts.
 */
export async function raiseDriftAlert(tx: StoreTransaction, alert: DriftAlert, origin: Origin, policySha: string, now: Date): Promise<boolean> {
  const finding = { rule: alert.kind === 'drift' ? ('drift' as const) : ('driftHeld' as const), severity: alert.severity, key: alert.key, message: alert.message };
  return (await raiseAlert(tx, finding, origin, policySha, now)) !== undefined;
}
