import { reportEntry, ReportTally, type ReportEntry, type ReportSummary } from '../../domain/access-report';
import type { AccessRequest } from '../../domain/access-request';
import type { ChainedAuditEvent } from '../../domain/audit-event';
import type { RequestId } from '../../domain/request-id';
import type { AccessStore } from '../../ports/access-store';

/** Requests read at once; each page's decisions are read in one more query. */
export const REPORT_PAGE = 500;

/**
 * The auditors' report over the requests opened in [since, until): each entry is handed to `write`
 * as soon as it is built, in the order the requests were opened (a year of requests is never held
 * in memory), and the figures come back at the end. Decisions made after `until` about a request
 * opened in the window are part of its entry: the report tells each request's whole story.
 */
export async function accessReport(
  store: AccessStore,
  range: { since: Date; until: Date },
  write: (entry: ReportEntry) => Promise<void> | void,
  pageSize: number = REPORT_PAGE,
): Promise<ReportSummary> {
  const tally = new ReportTally();
  let after: { createdAt: Date; id: RequestId } | undefined;
  let page: AccessRequest[];
  do {
    page = await store.requestsOpenedBetween(range, after, pageSize);
    const events = new Map<string, ChainedAuditEvent[]>();
    for (const event of await store.auditEventsOfRequests(page.map((r) => r.id))) {
      if (event.requestId === null) continue;
      events.set(event.requestId, [...(events.get(event.requestId) ?? []), event]);
    }
    for (const request of page) {
      const entry = reportEntry(request, events.get(request.id) ?? []);
      tally.add(entry);
      await write(entry);
    }
    const last = page.at(-1);
    after = last && { createdAt: last.createdAt, id: last.id };
  } while (page.length === pageSize);
  return tally.summary();
}
