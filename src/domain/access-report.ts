import type { AccessRequest, RequestState } from './access-request';
import { requestLifecycleActions, type ChainedAuditEvent } from './audit-event';
import { formatDuration } from './duration';

/**
 * The auditors' report: one entry per request, with who asked for what and why, who decided and
 * when, the grant window, how it ended, and the policy (by SHA-256) that governed each decision.
 * Pure: built from a request and the audit events about it.
 */

/** One decision about a request, from its audit event. */
export interface ReportDecision {
  /** The audit action: `request_opened`, `approval_recorded`, `request_denied`, `access_granted`, … */
  readonly action: string;
  /** Who decided: a person's e-mail, or `system` (expiry, time-out, the scheduler). */
  readonly by: string;
  readonly at: string;
  /** The SHA-256 of the policy in force when it was decided (every audit event records it). */
  readonly policySha: string | null;
  /** `cli`, `slack`, `teams`, `scheduler`, `service`. */
  readonly via: string | null;
  /** For a decision typed in a terminal: the OS user who typed it. */
  readonly osUser: string | null;
  /** The audit event's place in the chain, to find it with `audit export`. */
  readonly seq: number;
}

export interface ReportEntry {
  readonly request: string;
  readonly kind: AccessRequest['kind'];
  /** For an extension: the request whose grant it extends. */
  readonly extends: string | null;
  readonly openedAt: string;
  readonly requester: string;
  readonly role: string;
  readonly provider: string;
  readonly target: Readonly<Record<string, string>>;
  readonly duration: string;
  readonly ticket: string;
  readonly reason: string;
  readonly breakGlass: boolean;
  readonly state: RequestState;
  /** `revoked (expired)`, `denied`, `active`, …: the state, with how it ended when it did. */
  readonly outcome: string;
  readonly approvalsRequired: number;
  readonly approvals: readonly { readonly by: string; readonly at: string; readonly osUser: string | null; readonly policySha: string | null }[];
  readonly denial: { readonly by: string; readonly at: string; readonly reason: string; readonly osUser: string | null; readonly policySha: string | null } | null;
  readonly grant: { readonly grantedAt: string; readonly expiresAt: string; readonly policySha: string | null } | null;
  readonly ended: { readonly at: string; readonly cause: string | null; readonly by: string | null; readonly osUser: string | null } | null;
  /** The policy in force when the request was opened. */
  readonly policyAtOpen: string;
  /** Every decision, in the order of the audit log. */
  readonly decisions: readonly ReportDecision[];
}

/** The report entry of `request`; `events` are the audit events about it, in chain order (others are ignored). */
export function reportEntry(request: AccessRequest, events: readonly ChainedAuditEvent[]): ReportEntry {
  const decisions = events.filter((e) => e.requestId === request.id && requestLifecycleActions.has(e.action)).map(decisionOf);
  const shaOf = (action: string, by?: string) => decisions.find((d) => d.action === action && (by === undefined || d.by === by))?.policySha ?? null;
  return {
    request: request.id,
    kind: request.kind,
    extends: request.parentId ?? null,
    openedAt: request.createdAt.toISOString(),
    requester: request.requester,
    role: request.role,
    provider: request.resource.provider,
    target: request.resource.target,
    duration: formatDuration(request.duration),
    ticket: request.ticket,
    reason: request.reason,
    breakGlass: request.breakGlass,
    state: request.state,
    outcome: request.endCause ? `${request.state} (${request.endCause.replace('_', ' ')})` : request.state,
    approvalsRequired: request.approvalsRequired,
    approvals: request.approvals.map((a) => ({ by: a.approver, at: a.at.toISOString(), osUser: a.osUser ?? null, policySha: shaOf('approval_recorded', a.approver) })),
    denial: request.denial
      ? { by: request.denial.by, at: request.denial.at.toISOString(), reason: request.denial.reason, osUser: request.denial.osUser ?? null, policySha: shaOf('request_denied') }
      : null,
    grant: request.grant ? { grantedAt: request.grant.grantedAt.toISOString(), expiresAt: request.grant.expiresAt.toISOString(), policySha: shaOf('access_granted') } : null,
    ended: request.endedAt ? { at: request.endedAt.toISOString(), cause: request.endCause ?? null, by: request.endedBy ?? null, osUser: request.endedByOsUser ?? null } : null,
    policyAtOpen: request.policySha,
    decisions,
  };
}

function decisionOf(event: ChainedAuditEvent): ReportDecision {
  const data = event.data as { policySha?: unknown; origin?: { via?: unknown; osUser?: unknown } };
  return {
    action: event.action,
    by: event.actor,
    at: event.occurredAt.toISOString(),
    policySha: typeof data.policySha === 'string' ? data.policySha : null,
    via: typeof data.origin?.via === 'string' ? data.origin.via : null,
    osUser: typeof data.origin?.osUser === 'string' ? data.origin.osUser : null,
    seq: event.seq,
  };
}

/** The figures of a report, for its head and for `/prod-access report` in chat. */
export interface ReportSummary {
  readonly requests: number;
  readonly extensions: number;
  readonly granted: number;
  readonly breakGlass: number;
  /** Requests by state, every state present. */
  readonly byState: Readonly<Record<RequestState, number>>;
  /** Most requested first (ties by name). */
  readonly byRole: readonly [string, number][];
  readonly byRequester: readonly [string, number][];
  /** Approvals given, by approver. */
  readonly byApprover: readonly [string, number][];
}

/** Adds entries up, one at a time (a report is streamed, never held whole). */
export class ReportTally {
  private requests = 0;
  private extensions = 0;
  private granted = 0;
  private breakGlass = 0;
  private readonly states = new Map<RequestState, number>();
  private readonly roles = new Map<string, number>();
  private readonly requesters = new Map<string, number>();
  private readonly approvers = new Map<string, number>();

  add(entry: ReportEntry): void {
    this.requests += 1;
    if (entry.kind === 'extension') this.extensions += 1;
    if (entry.grant) this.granted += 1;
    if (entry.breakGlass) this.breakGlass += 1;
    bump(this.states, entry.state);
    bump(this.roles, entry.role);
    bump(this.requesters, entry.requester);
    for (const a of entry.approvals) bump(this.approvers, a.by);
  }

  summary(): ReportSummary {
    const byState = Object.fromEntries(
      (['pending', 'approved', 'active', 'revoking', 'revoked', 'denied', 'cancelled', 'timed_out', 'failed'] as const).map((s) => [s, this.states.get(s) ?? 0]),
    ) as Record<RequestState, number>;
    return {
      requests: this.requests,
      extensions: this.extensions,
      granted: this.granted,
      breakGlass: this.breakGlass,
      byState,
      byRole: ranked(this.roles),
      byRequester: ranked(this.requesters),
      byApprover: ranked(this.approvers),
    };
  }
}

function bump<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function ranked(counts: ReadonlyMap<string, number>): [string, number][] {
  return [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
}
