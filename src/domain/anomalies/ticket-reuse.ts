import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import { count, groupBy, listOf, isAccess, openedWithin, pick, ticketOf, windowStart, type DetectionContext, type DetectionHistory } from './history';

/**
 * One ticket behind many access requests (`requests`) or several people's (`people`) within
 * `window`: a ticket is meant to justify one piece of work. Tickets compare without case. Fires at
 * most once per ticket per window (laid end to end from the epoch).
 */
export function ticketReuse(history: DetectionHistory, settings: DetectionRules['ticketReuse'], _context: DetectionContext): Finding[] {
  const byTicket = groupBy(history.openings.filter(isAccess), ticketOf);
  const found = new Map<string, Finding>();
  for (const request of pick(history, history.opened).filter(isAccess)) {
    const ticket = ticketOf(request);
    const same = openedWithin(byTicket.get(ticket) ?? [], request.createdAt, settings.window);
    const people = [...new Set(same.map((r) => r.requester))].sort();
    if (same.length < settings.requests && people.length < settings.people) continue;
    const key = `ticket_reuse:${ticket}:${windowStart(request.createdAt, settings.window)}`;
    if (found.has(key)) continue;
    const why = people.length >= settings.people ? `${count(people.length, 'person', 'people')} (threshold ${settings.people})` : `${count(same.length, 'request')} (threshold ${settings.requests})`;
    found.set(key, {
      rule: 'ticketReuse',
      severity: settings.severity,
      key,
      requestId: request.id,
      message:
        `Ticket ${ticket} was used by ${why} within ${formatDuration(settings.window)}: ` +
        `${count(same.length, 'request')} (${listOf(same.map((r) => r.id))}) by ${listOf(people)}.`,
    });
  }
  return [...found.values()];
}
