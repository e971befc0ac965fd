import type { Email } from './email';
import type { Minutes } from './duration';
import type { RequestId } from './request-id';

export const requestStates = [
  'pending',
  'approved',
  'active',
  'revoking',
  'revoked',
  'denied',
  'cancelled',
  'timed_out',
  'failed',
] as const;
export type RequestState = (typeof requestStates)[number];

/** States from which nothing further happens. */
export const finalStates: readonly RequestState[] = ['revoked', 'denied', 'cancelled', 'timed_out', 'failed'];

/** `access`: a new grant. `extension`: more time on the live grant of `parentId`, approved like a request. */
export const requestKinds = ['access', 'extension'] as const;
export type RequestKind = (typeof requestKinds)[number];

/** What is granted: the provider and its target, snapshotted when the request is opened. */
export interface Resource {
  readonly provider: string;
  readonly target: Readonly<Record<string, string>>;
}

export interface Approval {
  readonly approver: Email;
  readonly at: Date;
  /** The OS user who typed it, when it came from the CLI (where the approver's address is only a claim). */
  readonly osUser?: string;
}

export interface Denial {
  readonly by: Email;
  readonly at: Date;
  readonly reason: string;
  /** The OS user who typed it, when it came from the CLI. */
  readonly osUser?: string;
}

/** The time window of access actually granted; the clock starts when the provider confirms. */
export interface GrantWindow {
  readonly grantedAt: Date;
  readonly expiresAt: Date;
}

export const endCauses = ['expired', 'revoked_early', 'policy_changed', 'grant_failed', 'parent_ended'] as const;
export type EndCause = (typeof endCauses)[number];

export interface AccessRequest {
  readonly id: RequestId;
  readonly kind: RequestKind;
  /** For an extension: the request whose grant it extends. */
  readonly parentId?: RequestId;
  readonly requester: Email;
  readonly role: string;
  readonly resource: Resource;
  readonly duration: Minutes;
  readonly ticket: string;
  readonly reason: string;
  readonly breakGlass: boolean;
  readonly state: RequestState;
  readonly approvalsRequired: number;
  /** Distinct approvers, in the order they approved. For break-glass, the after-the-fact review. */
  readonly approvals: readonly Approval[];
  readonly denial?: Denial;
  readonly createdAt: Date;
  /** Pending: when the request times out. Break-glass: when the after-the-fact review is due. */
  readonly decisionDeadline: Date;
  readonly grant?: GrantWindow;
  readonly endedAt?: Date;
  readonly endCause?: EndCause;
  /** Who revoked early, or who cancelled. */
  readonly endedBy?: Email;
  /** The OS user who revoked or cancelled it, when that came from the CLI. */
  readonly endedByOsUser?: string;
  /** The OS user who opened it, when it was opened from the CLI (absent: from chat). */
  readonly osUser?: string;
  /** SHA-256 of the policy text in force when the request was opened. */
  readonly policySha: string;
  /** Approved or failed: what the provider said when the last grant attempt failed (its own words, never a secret). */
  readonly grantError?: string;
  /** Optimistic concurrency: incremented by the store on every save. */
  readonly version: number;
}

/** Break-glass access counts as reviewed once it has as many distinct approvals as the role requires. */
export function isReviewed(request: AccessRequest): boolean {
  return request.breakGlass && request.approvals.length >= request.approvalsRequired;
}
