import type { AccessRequest } from '../../src/domain/access-request';
import { byOpening, personRole, type Decision, type DetectionHistory, type Opening } from '../../src/domain/anomalies/history';
import type { Email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';

/**
 * The history the anomaly rules would see if everything in `requests` were new and nothing else
 * existed: every request opened, granted and decided is a point, and every window is complete.
 */
export function completeHistory(requests: readonly AccessRequest[]): DetectionHistory {
  const sorted = [...requests].sort(byOpening);
  const recentOpenings = new Map<Email, Opening[]>();
  for (const r of sorted) recentOpenings.set(r.requester, [...(recentOpenings.get(r.requester) ?? []), r]);
  const firstGrants = new Map<string, RequestId>();
  for (const r of sorted.filter((x) => x.grant).sort((a, b) => (a.grant?.grantedAt.getTime() ?? 0) - (b.grant?.grantedAt.getTime() ?? 0))) {
    const key = personRole(r.requester, r.role);
    if (!firstGrants.has(key)) firstGrants.set(key, r.id);
  }
  const decisions: Decision[] = sorted.flatMap((r) => [
    ...r.approvals.map((a) => ({ by: a.approver, at: a.at, approved: true, request: r })),
    ...(r.denial ? [{ by: r.denial.by, at: r.denial.at, approved: false, request: r }] : []),
  ]);
  return {
    opened: sorted.map((r) => r.id),
    granted: sorted.filter((r) => r.grant).map((r) => r.id),
    decided: decisions.map((d) => ({ by: d.by, requestId: d.request.id })),
    requests: new Map(sorted.map((r) => [r.id, r])),
    openings: sorted,
    recentOpenings,
    decisions,
    firstGrants,
    liveGrants: [],
  };
}
