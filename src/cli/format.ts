import type { AccessRequest } from '../domain/access-request';
import type { Alert } from '../domain/alert';
import { formatDuration } from '../domain/duration';
import type { Email } from '../domain/email';
import { nextStepWords, type RefusalHint } from '../domain/lifecycle/transition';
import type { RolePolicy } from '../domain/policy';
import { code, say, type RichText } from '../domain/rich-text';
import { viaCliNote } from '../app/origin';

/** A request as JSON for scripts: the domain's fields, dates as ISO strings. */
export function requestJson(request: AccessRequest): Record<string, unknown> {
  return JSON.parse(JSON.stringify(request)) as Record<string, unknown>;
}

/** An alert as JSON for scripts: every field, dates as ISO strings, `requestId` and `acknowledged` null when absent. */
export function alertJson(alert: Alert): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...alert, requestId: alert.requestId ?? null, acknowledged: alert.acknowledged ?? null })) as Record<string, unknown>;
}

export function timeLeft(request: AccessRequest, now: Date): string {
  if (!request.grant) return '-';
  const minutes = Math.ceil((request.grant.expiresAt.getTime() - now.getTime()) / 60_000);
  return minutes > 0 ? formatDuration(minutes) : 'due';
}

/** A request for people: one fact per line. */
export function describeRequest(request: AccessRequest, now: Date): string {
  const lines = [
    `request   ${request.id}${request.kind === 'extension' ? ` (extension of ${request.parentId})` : ''}${request.breakGlass ? ' BREAK-GLASS' : ''}`,
    `state     ${request.state}`,
    `requester ${request.requester}${viaCliNote(request.osUser)}`,
    `role      ${request.role} (${request.resource.provider} ${JSON.stringify(request.resource.target)})`,
    `duration  ${formatDuration(request.duration)}`,
    `ticket    ${request.ticket}`,
    `reason    ${request.reason}`,
    `approvals ${request.approvals.length} of ${request.approvalsRequired}${request.approvals.length ? `: ${request.approvals.map((a) => `${a.approver}${viaCliNote(a.osUser)}`).join(', ')}` : ''}`,
    `opened    ${request.createdAt.toISOString()}`,
  ];
  if (request.state === 'pending') lines.push(`deadline  ${request.decisionDeadline.toISOString()}`);
  if (request.denial) lines.push(`denied    by ${request.denial.by}${viaCliNote(request.denial.osUser)}: ${request.denial.reason}`);
  if (request.grant) {
    lines.push(`granted   ${request.grant.grantedAt.toISOString()}`);
    lines.push(`expires   ${request.grant.expiresAt.toISOString()}${request.state === 'active' ? ` (${timeLeft(request, now)} left)` : ''}`);
  }
  if (request.endedAt) lines.push(`ended     ${request.endedAt.toISOString()}${request.endCause ? ` (${request.endCause})` : ''}${request.endedBy ? ` by ${request.endedBy}${viaCliNote(request.endedByOsUser)}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A refusal's next step as a CLI command, for the person the command ran `--as`:
 * "Run `prod-access roles --as dave@example.com` to see the roles you may request."
 */
export function cliNextStep(as: Email | undefined): (hint: RefusalHint) => RichText {
  return (hint) => nextStepWords(hint, (verb) => say`Run ${code(`prod-access ${verb} --as ${as ?? '<email>'}`)}`);
}

/** A role as JSON for scripts: what a requester needs to know, durations as typed in the policy. */
export function roleJson(role: RolePolicy): Record<string, unknown> {
  return {
    name: role.name,
    description: role.description,
    provider: role.provider,
    maxDuration: formatDuration(role.maxDuration),
    defaultDuration: formatDuration(role.defaultDuration),
    approvals: role.approvals,
    approvalTimeout: formatDuration(role.approvalTimeout),
    ticket: { pattern: role.ticket.pattern.source, ...(role.ticket.example ? { example: role.ticket.example } : {}) },
    reasonMinLength: role.reason.minLength,
    breakGlass: role.breakGlass.allowed ? { allowed: true, reviewWithin: formatDuration(role.breakGlass.reviewWithin) } : { allowed: false },
    // NB: whether approve, deny and break-glass on this role may come from the CLI at all (see `cli` in the policy).
    cliDecisions: role.cli !== undefined,
  };
}

/** What a request is waiting for, or until when it runs: one table cell. */
export function requestWhen(request: AccessRequest): string {
  if (request.state === 'pending') return `${request.approvals.length} of ${request.approvalsRequired} approvals, decide by ${request.decisionDeadline.toISOString()}`;
  if ((request.state === 'active' || request.state === 'revoking') && request.grant) return `until ${request.grant.expiresAt.toISOString()}`;
  return request.endedAt ? `ended ${request.endedAt.toISOString()}` : '-';
}
