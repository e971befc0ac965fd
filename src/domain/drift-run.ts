import type { Email } from './email';
import type { FoundAccess, MissingAccess, UnexpectedAccess } from './drift';
import type { RequestId } from './request-id';

/**
 * One drift reconciliation run as it is stored and shown (`prod-access drift show <run>`).
 * - `running`: leased, asking the providers;
 * - `done`: compared, alerted, and (where the policy says so) revoked;
 * - `held`: the guard stopped its revocations; it waits for `drift approve`;
 * - `approved`: a held run a person approved (the revocations ran as a run of their own);
 * - `failed`: it stopped on an error (the database, a bug); the next run starts afresh;
 * - `abandoned`: its process died mid-run and its lease lapsed.
 */
export const driftRunStates = ['running', 'done', 'held', 'approved', 'failed', 'abandoned'] as const;
export type DriftRunState = (typeof driftRunStates)[number];

/** `schedule`: the cron job; `cli`: `prod-access drift check`; `approval`: `prod-access drift approve`. */
export const driftRunTriggers = ['schedule', 'cli', 'approval'] as const;
export type DriftRunTrigger = (typeof driftRunTriggers)[number];

/**
 * What happened to access without a live grant:
 * `alert_only` (detection.drift.revoke off), `held` (the guard held the run), `cannot_revoke` (the
 * provider cannot remove what it lists), `revoking` (recorded before the provider is asked; stays so
 * if the process dies meanwhile, and the next run tries again), `revoked`, `already_gone` (removed
 * before we got to it), `explained` (a grant made since the comparison explains it: kept),
 * `revoke_failed` (see `error`).
 */
export const unexpectedOutcomes = ['alert_only', 'held', 'cannot_revoke', 'revoking', 'revoked', 'already_gone', 'explained', 'revoke_failed'] as const;
export type UnexpectedOutcome = (typeof unexpectedOutcomes)[number];

export type StoredFinding =
  | {
      readonly kind: 'unexpected';
      readonly key: string;
      readonly provider: string;
      readonly role: string;
      readonly principal: string;
      readonly person?: string;
      readonly requestId?: string;
      readonly expiresAt?: string;
      readonly detail: string;
      /** Not in the previous run: alerted by this one. */
      readonly new: boolean;
      readonly outcome: UnexpectedOutcome;
      readonly error?: string;
    }
  | {
      readonly kind: 'missing';
      readonly key: string;
      readonly provider: string;
      readonly role: string;
      readonly requestId: string;
      readonly requester: string;
      readonly grantedAt: string;
      readonly expiresAt: string;
      readonly new: boolean;
    };

/** Per provider kind: how much it listed, why it could not, or why it was not asked. */
export type ProviderResult = { readonly listed: number } | { readonly error: string } | { readonly skipped: string };

export interface DriftRun {
  readonly id: number;
  readonly trigger: DriftRunTrigger;
  readonly scheduledFor?: Date;
  readonly state: DriftRunState;
  readonly startedAt: Date;
  readonly finishedAt?: Date;
  readonly listed: number;
  readonly unexpected: number;
  readonly missing: number;
  readonly revoked: number;
  readonly revokeFailed: number;
  readonly held: boolean;
  readonly heldReason?: string;
  readonly approvesRun?: number;
  readonly approvedBy?: Email;
  readonly approvedAt?: Date;
  readonly approvedOsUser?: string;
  readonly providers: Readonly<Record<string, ProviderResult>>;
  readonly findings: readonly StoredFinding[];
}

export function storedUnexpected(finding: UnexpectedAccess, isNew: boolean, outcome: UnexpectedOutcome, error?: string): StoredFinding {
  const a = finding.access;
  return {
    kind: 'unexpected',
    key: finding.key,
    provider: a.provider,
    role: a.role,
    principal: a.principal,
    ...(a.person !== undefined ? { person: a.person } : {}),
    ...(a.requestId !== undefined ? { requestId: a.requestId } : {}),
    ...(a.expiresAt !== undefined ? { expiresAt: a.expiresAt.toISOString() } : {}),
    detail: a.detail,
    new: isNew,
    outcome,
    ...(error !== undefined ? { error } : {}),
  };
}

export function storedMissing(finding: MissingAccess, isNew: boolean): StoredFinding {
  const g = finding.grant;
  return {
    kind: 'missing',
    key: finding.key,
    provider: g.provider,
    role: g.role,
    requestId: g.requestId,
    requester: g.requester,
    grantedAt: g.grantedAt.toISOString(),
    expiresAt: g.expiresAt.toISOString(),
    new: isNew,
  };
}

/** A stored finding of access back as found access (to revoke what a held run found). */
export function accessOf(finding: Extract<StoredFinding, { kind: 'unexpected' }>): FoundAccess {
  return {
    provider: finding.provider,
    role: finding.role,
    principal: finding.principal,
    ...(finding.person !== undefined ? { person: finding.person as Email } : {}),
    ...(finding.requestId !== undefined ? { requestId: finding.requestId as RequestId } : {}),
    ...(finding.expiresAt !== undefined ? { expiresAt: new Date(finding.expiresAt) } : {}),
    detail: finding.detail,
  };
}
