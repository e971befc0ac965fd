import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import { localClock, isOffHours } from '../policy';
import { pick, type DetectionContext, type DetectionHistory } from './history';

/**
 * Access requested, or granted, outside the policy's business hours (in its time zone). One alert
 * per request: a request opened at night and granted at night is one anomaly, not two.
 */
export function offHours(history: DetectionHistory, settings: DetectionRules['offHours'], { policy }: DetectionContext): Finding[] {
  const found = new Map<string, Finding>();
  const add = (finding: Finding) => {
    if (!found.has(finding.key)) found.set(finding.key, finding);
  };
  const when = (at: Date) => `${localClock(policy, at)} (${policy.timezone}), outside business hours`;
  for (const request of pick(history, history.opened)) {
    if (!isOffHours(policy, request.createdAt)) continue;
    const what = request.kind === 'extension' ? `asked to extend ${request.role} by ${formatDuration(request.duration)}` : `asked for ${request.role}`;
    add({
      rule: 'offHours',
      severity: settings.severity,
      key: `off_hours:${request.id}`,
      requestId: request.id,
      message: `${request.requester} ${what} at ${when(request.createdAt)} (request ${request.id}, ticket ${request.ticket}).`,
    });
  }
  for (const request of pick(history, history.granted)) {
    if (!request.grant || !isOffHours(policy, request.grant.grantedAt)) continue;
    add({
      rule: 'offHours',
      severity: settings.severity,
      key: `off_hours:${request.id}`,
      requestId: request.id,
      message: `${request.requester} was granted ${request.role} at ${when(request.grant.grantedAt)} (request ${request.id}, ticket ${request.ticket}).`,
    });
  }
  return [...found.values()];
}
