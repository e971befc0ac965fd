import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import { decidedPoints, decidedWithin, decisionsByPerson } from './decisions';
import { windowStart, type DetectionContext, type DetectionHistory } from './history';

/**
 * Reciprocal approvals: A approved B's request and B approved A's within `window`, so each may be
 * approving the other's access in return. Evaluated at each new approval; fires at most once per
 * pair per window (laid end to end from the epoch).
 */
export function reciprocal(history: DetectionHistory, settings: DetectionRules['reciprocal'], _context: DetectionContext): Finding[] {
  const byPerson = decisionsByPerson(history);
  const windowMs = settings.window * 60_000;
  const found = new Map<string, Finding>();
  for (const point of decidedPoints(history)) {
    const other = point.request.requester;
    if (!point.approved || other === point.by) continue;
    const returned = decidedWithin(byPerson.get(other) ?? [], point.at, windowMs).filter((d) => d.approved && d.request.requester === point.by);
    const latest = returned[returned.length - 1];
    if (!latest) continue;
    const [first, second] = [point.by, other].sort();
    const key = `reciprocal:${first}:${second}:${windowStart(point.at, settings.window)}`;
    if (found.has(key)) continue;
    found.set(key, {
      rule: 'reciprocal',
      severity: settings.severity,
      key,
      requestId: point.request.id,
      message:
        `${point.by} and ${other} approve each other's requests: ${point.by} approved ${other}'s ${point.request.id} (${point.request.role}) ` +
        `and ${other} approved ${point.by}'s ${latest.request.id} (${latest.request.role}) within ${formatDuration(settings.window)}.`,
    });
  }
  return [...found.values()];
}
