import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import { decidedPoints, decidedWithin, decisionsByPerson } from './decisions';
import { windowStart, type DetectionContext, type DetectionHistory } from './history';

/**
 * An approver who approves nearly everything within seconds: of their decisions (approvals,
 * reviews and denials) within `window`, at least `minDecisions`, at least `share` were approvals
 * given within `withinSeconds` of the request being opened. Evaluated at each new decision; fires
 * at most once per approver per window (laid end to end from the epoch).
 */
export function rubberStamp(history: DetectionHistory, settings: DetectionRules['rubberStamp'], _context: DetectionContext): Finding[] {
  const byPerson = decisionsByPerson(history);
  const windowMs = settings.window * 60_000;
  const found = new Map<string, Finding>();
  for (const point of decidedPoints(history)) {
    if (!point.approved) continue;
    const decisions = decidedWithin(byPerson.get(point.by) ?? [], point.at, windowMs);
    const fast = decisions.filter((d) => d.approved && d.at.getTime() - d.request.createdAt.getTime() <= settings.withinSeconds * 1000);
    if (decisions.length < settings.minDecisions || fast.length < settings.share * decisions.length) continue;
    const key = `rubber_stamp:${point.by}:${windowStart(point.at, settings.window)}`;
    if (found.has(key)) continue;
    found.set(key, {
      rule: 'rubberStamp',
      severity: settings.severity,
      key,
      message:
        `${point.by} approved ${fast.length} of their ${decisions.length} decisions within ${formatDuration(settings.window)} ` +
        `(${Math.floor((100 * fast.length) / decisions.length)}%) no more than ${settings.withinSeconds}s after the request was opened ` +
        `(threshold ${Math.round(settings.share * 100)}% of at least ${settings.minDecisions}); the latest is ${point.request.id}.`,
    });
  }
  return [...found.values()];
}
