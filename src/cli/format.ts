import type { AccessRequest } from '../domain/access-request';
import { formatDuration } from '../domain/duration';
import { viaCliNote } from '../app/origin';

/** A request as JSON for scripts: the domain's fields, dates as ISO strings. */
export function requestJson(request: AccessRequest): Record<string, unknown> {
  return JSON.parse(JSON.stringify(request)) as Record<string, unknown>;
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
