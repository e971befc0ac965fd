import type { AccessRequest } from '../access-request';
import type { Email } from '../email';
import type { RequestId } from '../request-id';
import type { Decided, DetectionHistory } from './history';

/** One decision a person made on a request: an approval (or break-glass review), or a denial. */
export interface Decision {
  readonly by: Email;
  readonly request: AccessRequest;
  readonly at: Date;
  readonly approved: boolean;
}

/** Every decision on the requests of the history, per person who made it, oldest first. */
export function decisionsByPerson(history: DetectionHistory): Map<Email, Decision[]> {
  const byPerson = new Map<Email, Decision[]>();
  const add = (decision: Decision) => {
    const list = byPerson.get(decision.by);
    if (list) list.push(decision);
    else byPerson.set(decision.by, [decision]);
  };
  for (const request of history.requests.values()) {
    for (const approval of request.approvals) add({ by: approval.approver, request, at: approval.at, approved: true });
    if (request.denial) add({ by: request.denial.by, request, at: request.denial.at, approved: false });
  }
  for (const list of byPerson.values()) list.sort((a, b) => a.at.getTime() - b.at.getTime() || compareIds(a.request.id, b.request.id));
  return byPerson;
}

/** The decision behind a `decided` point, found on its request, once per (person, request). */
export function decidedPoints(history: DetectionHistory): Decision[] {
  const seen = new Set<string>();
  const points: Decision[] = [];
  for (const { by, requestId } of history.decided) {
    const key = `${by}\n${requestId}`;
    const request = history.requests.get(requestId);
    if (seen.has(key) || !request) continue;
    seen.add(key);
    const decision = decisionOf(request, by);
    if (decision) points.push(decision);
  }
  return points.sort((a, b) => a.at.getTime() - b.at.getTime() || compareIds(a.request.id, b.request.id));
}

function decisionOf(request: AccessRequest, by: Decided['by']): Decision | undefined {
  const approval = request.approvals.find((a) => a.approver === by);
  if (approval) return { by, request, at: approval.at, approved: true };
  if (request.denial?.by === by) return { by, request, at: request.denial.at, approved: false };
  return undefined;
}

/** Decisions in `list` (oldest first) made in (`at` − `windowMs`, `at`]. */
export function decidedWithin(list: readonly Decision[], at: Date, windowMs: number): Decision[] {
  const from = at.getTime() - windowMs;
  return list.filter((d) => d.at.getTime() > from && d.at.getTime() <= at.getTime());
}

function compareIds(a: RequestId, b: RequestId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
