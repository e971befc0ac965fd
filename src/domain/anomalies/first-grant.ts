import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { personRole, pick, type DetectionContext, type DetectionHistory } from './history';

/** A person's first grant of a role: the grant that is the earliest of that person and role, ever. */
export function firstGrant(history: DetectionHistory, settings: DetectionRules['firstGrant'], _context: DetectionContext): Finding[] {
  return pick(history, history.granted)
    .filter((request) => request.kind === 'access' && request.grant && history.firstGrants.get(personRole(request.requester, request.role)) === request.id)
    .map((request) => ({
      rule: 'firstGrant',
      severity: settings.severity,
      key: `first_grant:${request.id}`,
      requestId: request.id,
      message: `${request.requester} was granted ${request.role} for the first time (request ${request.id}, ticket ${request.ticket}).`,
    }));
}
