import type { RequestId } from './request-id';

export const auditActions = [
  'request_opened',
  'approval_recorded',
  'request_approved',
  'request_denied',
  'request_cancelled',
  'request_timed_out',
  'access_granted',
  'grant_failed',
  'grant_extended',
  'extension_failed',
  'break_glass_reviewed',
  'revocation_started',
  'revocation_failed',
  'revocation_deferred',
  'access_revoked',
  'access_expiring_soon',
  'grant_shortened',
  'alert_raised',
  'alert_acknowledged',
  'policy_activated',
  'policy_rejected',
  /** The weekly digest, with its text and the signed checkpoint of the chain's head at the period's end. */
  'digest_published',
  /** A checkpoint signed on demand (`prod-access audit checkpoint`). */
  'checkpoint_signed',
  // Drift reconciliation (README, "Drift reconciliation"): a run compared providers with live grants;
  // a live grant's access was missing at its provider; access without a grant was revoked, or its
  // revocation failed; a person approved a run the guard had held.
  'drift_checked',
  'drift_grant_missing',
  'drift_access_revoked',
  'drift_revocation_failed',
  'drift_run_approved',
] as const;
export type AuditAction = (typeof auditActions)[number];

/**
 * The actions that move a request along (opened, decided, granted, changed, ended): what its
 * approval card shows, and the decisions an access report lists. Notices, alerts and drift are not.
 */
export const requestLifecycleActions: ReadonlySet<string> = new Set<AuditAction>([
  'request_opened',
  'approval_recorded',
  'request_approved',
  'request_denied',
  'request_cancelled',
  'request_timed_out',
  'access_granted',
  'grant_failed',
  'grant_extended',
  'extension_failed',
  'grant_shortened',
  'break_glass_reviewed',
  'revocation_started',
  'access_revoked',
]);

/** The actor of events that no person caused (expiry, time-outs, policy reloads). */
export const SYSTEM_ACTOR = 'system';

/** An audit event as the domain emits it, before the store gives it a place in the chain. */
export interface AuditEvent {
  readonly action: AuditAction;
  /** The person's e-mail, or `system`. */
  readonly actor: string;
  readonly requestId?: RequestId;
  /** JSON only: role, resource, ticket, reason, policy hash, origin (`via`, OS user), … */
  readonly data: Readonly<Record<string, unknown>>;
}

/** An audit event in the chain. */
export interface ChainedAuditEvent {
  readonly seq: number;
  readonly occurredAt: Date;
  readonly actor: string;
  readonly action: string;
  readonly requestId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * An audit event as the database holds it, read for checking: `occurredAt` as ISO 8601 UTC text
 * with milliseconds (the form the hash covers) and `data` as JSON text, neither parsed yet. NB: the
 * cheap form to read and to hand to worker threads; parsing is left to whoever hashes it.
 */
export interface StoredAuditEvent {
  readonly seq: number;
  readonly occurredAt: string;
  readonly actor: string;
  readonly action: string;
  readonly requestId: string | null;
  readonly data: string;
  readonly prevHash: string;
  readonly hash: string;
}
