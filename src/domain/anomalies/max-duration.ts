import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import type { Policy } from '../policy';
import { isAccess, listOf, pick, type DetectionContext, type DetectionHistory, type Opening } from './history';

/**
 * Durations repeatedly at the maximum: at least `of` of a person's last `lastRequests` access
 * requests asked for their role's maximum (as the policy in force says). Fires when a request
 * crosses the line (the last `lastRequests` before it did not), not again for every request while
 * the habit lasts; it fires anew once the person drops below and crosses again.
 */
export function maxDuration(history: DetectionHistory, settings: DetectionRules['maxDuration'], { policy }: DetectionContext): Finding[] {
  const findings: Finding[] = [];
  for (const request of pick(history, history.opened).filter(isAccess)) {
    const sequence = (history.recentOpenings.get(request.requester) ?? []).filter(isAccess);
    const at = sequence.findIndex((r) => r.id === request.id);
    if (at < 0) continue;
    const last = sequence.slice(Math.max(0, at - settings.lastRequests + 1), at + 1);
    const before = sequence.slice(Math.max(0, at - settings.lastRequests), at);
    const atMax = last.filter((r) => isAtMaximum(r, policy));
    if (atMax.length < settings.of || before.filter((r) => isAtMaximum(r, policy)).length >= settings.of) continue;
    findings.push({
      rule: 'maxDuration',
      severity: settings.severity,
      key: `max_duration:${request.requester}:${request.id}`,
      requestId: request.id,
      message:
        `${request.requester} asked for the role's maximum duration in ${atMax.length} of their last ${last.length} requests ` +
        `(${listOf(atMax.map((r) => `${r.role} ${formatDuration(r.duration)}`))}); the latest is ${request.id} (ticket ${request.ticket}).`,
    });
  }
  return findings;
}

function isAtMaximum(request: Opening, policy: Policy): boolean {
  const role = policy.roles.get(request.role);
  return role !== undefined && request.duration >= role.maxDuration;
}
