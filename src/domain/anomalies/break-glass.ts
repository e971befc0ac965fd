import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import { pick, type DetectionContext, type DetectionHistory } from './history';

/** Any use of break-glass: access taken at once, to be reviewed after the fact. */
export function breakGlass(history: DetectionHistory, settings: DetectionRules['breakGlass'], _context: DetectionContext): Finding[] {
  return pick(history, history.opened)
    .filter((request) => request.breakGlass)
    .map((request) => ({
      rule: 'breakGlass',
      severity: settings.severity,
      key: `break_glass:${request.id}`,
      requestId: request.id,
      message:
        `${request.requester} used break-glass for ${request.role} for ${formatDuration(request.duration)} (request ${request.id}, ticket ${request.ticket}); ` +
        `it needs ${request.approvalsRequired} review${request.approvalsRequired === 1 ? '' : 's'} after the fact.`,
    }));
}
