import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import { count, groupBy, listOf, isAccess, openedWithin, pick, windowStart, type DetectionContext, type DetectionHistory } from './history';

/**
 * More requests than usual: a person who opens `perPerson` access requests, or a role asked for
 * `perRole` times, within `window`. Evaluated at each request opened; fires at most once per person
 * (or role) per window, laid end to end from the epoch (the key ends with the window's start).
 */
export function requestSpike(history: DetectionHistory, settings: DetectionRules['requestSpike'], _context: DetectionContext): Finding[] {
  const access = history.openings.filter(isAccess);
  const byPerson = groupBy(access, (r) => r.requester);
  const byRole = groupBy(access, (r) => r.role);
  const found = new Map<string, Finding>();
  const span = formatDuration(settings.window);
  for (const request of pick(history, history.opened).filter(isAccess)) {
    const mine = openedWithin(byPerson.get(request.requester) ?? [], request.createdAt, settings.window);
    if (mine.length >= settings.perPerson) {
      const key = `request_spike:person:${request.requester}:${windowStart(request.createdAt, settings.window)}`;
      if (!found.has(key)) {
        const roles = [...new Set(mine.map((r) => r.role))].sort();
        found.set(key, {
          rule: 'requestSpike',
          severity: settings.severity,
          key,
          requestId: request.id,
          message:
            `${request.requester} opened ${count(mine.length, 'request')} within ${span} (threshold ${settings.perPerson}), ` +
            `for ${listOf(roles)}; the latest is ${request.id} (ticket ${request.ticket}).`,
        });
      }
    }
    const role = openedWithin(byRole.get(request.role) ?? [], request.createdAt, settings.window);
    if (role.length >= settings.perRole) {
      const key = `request_spike:role:${request.role}:${windowStart(request.createdAt, settings.window)}`;
      if (!found.has(key)) {
        const people = new Set(role.map((r) => r.requester)).size;
        found.set(key, {
          rule: 'requestSpike',
          severity: settings.severity,
          key,
          requestId: request.id,
          message: `${request.role} was asked for ${count(role.length, 'time')} by ${count(people, 'person', 'people')} within ${span} (threshold ${settings.perRole}); the latest is ${request.id} by ${request.requester}.`,
        });
      }
    }
  }
  return [...found.values()];
}
