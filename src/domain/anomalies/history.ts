import type { AccessRequest } from '../access-request';
import type { Email } from '../email';
import type { Minutes } from '../duration';
import type { Policy } from '../policy';
import type { RequestId } from '../request-id';

/** A decision recorded since the last pass: `by` approved (or reviewed) or denied `requestId`. */
export interface Decided {
  readonly by: Email;
  readonly requestId: RequestId;
}

/** What the window rules know of a request: who opened it, when, for what, how long, which ticket. */
export type Opening = Pick<AccessRequest, 'id' | 'kind' | 'requester' | 'role' | 'ticket' | 'duration' | 'createdAt'>;

/** One decision a person made on a request: an approval (or break-glass review), or a denial. */
export interface Decision {
  readonly by: Email;
  readonly at: Date;
  readonly approved: boolean;
  readonly request: Opening;
}

/** A live grant (active, or being revoked) as the revocation scheduler sees it. */
export interface LiveGrant {
  /** The request, `active` or `revoking`, with its grant window. */
  readonly request: AccessRequest;
  /** Failed revocation attempts so far (0 when none was tried, or the last one succeeded). */
  readonly revokeAttempts: number;
  readonly lastError?: string;
}

/**
 * What the anomaly rules look at: what is new since the last pass (the points at which event rules
 * are evaluated) and the history around it. The loader guarantees, for every point:
 * - `requests` holds the requests the new events name, with approvals, denial and grant;
 * - `openings` holds every access request opened in each window rule's window before a request
 *   opened, that shares its person, role or ticket (spikes, ticket reuse). Extra ones do no harm:
 *   the rules filter by time;
 * - `recentOpenings` holds, per person who opened a request, all of their access requests from
 *   `maxDuration.lastRequests` before the first one opened up to the last, oldest first;
 * - `decisions` holds every decision made in the decision rules' window before a new decision by
 *   the person who made it and by the requester they decided for (rubber stamps, reciprocity),
 *   the new decisions included;
 * - `firstGrants` holds, per person and role granted, the request of that person's first grant of
 *   that role ever (see `personRole`).
 * Rules evaluate only at these points and only on facts that never change once written (when a
 * request was opened, its duration, ticket, approvals, grant time), so two replicas, or one pass
 * repeated after a crash, find the same anomalies with the same keys.
 */
export interface DetectionHistory {
  /** Requests opened since the last pass (access and extensions). */
  readonly opened: readonly RequestId[];
  /** Requests granted since the last pass. */
  readonly granted: readonly RequestId[];
  /** Approvals, reviews and denials recorded since the last pass. */
  readonly decided: readonly Decided[];
  readonly requests: ReadonlyMap<RequestId, AccessRequest>;
  readonly openings: readonly Opening[];
  readonly recentOpenings: ReadonlyMap<Email, readonly Opening[]>;
  readonly decisions: readonly Decision[];
  readonly firstGrants: ReadonlyMap<string, RequestId>;
  /** Live grants at `now` that are past their expiry or whose revocation has failed: state rules. */
  readonly liveGrants: readonly LiveGrant[];
}

/** Nothing new and no history: what a pass starts from. */
export const emptyHistory: DetectionHistory = {
  opened: [],
  granted: [],
  decided: [],
  requests: new Map(),
  openings: [],
  recentOpenings: new Map(),
  decisions: [],
  firstGrants: new Map(),
  liveGrants: [],
};

/** When the rules run, under which policy (business hours, time zone, role maximums). */
export interface DetectionContext {
  readonly now: Date;
  readonly policy: Policy;
  /** Failed revocations in a row after which `revocationFailing` fires (REVOCATION_ALERT_AFTER). */
  readonly revocationAlertAfter: number;
}

/** The `firstGrants` key of a person and a role. */
export function personRole(person: Email, role: string): string {
  return `${person}\n${role}`;
}

/**
 * The start of the fixed window that `at` falls in, as an ISO instant: windows are laid end to end
 * from the Unix epoch, so every replica puts one instant in the same window. A windowed rule fires
 * at most once per window and subject: its key ends with this.
 */
export function windowStart(at: Date, window: Minutes): string {
  const ms = window * 60_000;
  return new Date(Math.floor(at.getTime() / ms) * ms).toISOString();
}

/** Tickets compare without case or surrounding space: `ops-1` and `OPS-1 ` are one ticket. */
export function ticketOf(request: Pick<Opening, 'ticket'>): string {
  return request.ticket.trim().toUpperCase();
}

/** Access requests only: extensions ride on their request's ticket and duration. */
export function isAccess(request: Pick<Opening, 'kind'>): boolean {
  return request.kind === 'access';
}

/** Requests in `list` opened in (`at` − `window`, `at`], for a list sorted by `createdAt`. */
export function openedWithin<T extends Opening>(list: readonly T[], at: Date, window: Minutes): T[] {
  const from = at.getTime() - window * 60_000;
  return list.filter((r) => r.createdAt.getTime() > from && r.createdAt.getTime() <= at.getTime());
}

/** Groups requests by a key, each group sorted by when it was opened (then id). */
export function groupBy<T extends Opening>(requests: Iterable<T>, keyOf: (request: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const request of requests) {
    const key = keyOf(request);
    if (key === undefined) continue;
    const list = groups.get(key);
    if (list) list.push(request);
    else groups.set(key, [request]);
  }
  for (const list of groups.values()) list.sort(byOpening);
  return groups;
}

export function byOpening(a: Opening, b: Opening): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The requests of `ids` present in the history, each once, in opening order. */
export function pick(history: DetectionHistory, ids: readonly RequestId[]): AccessRequest[] {
  const seen = new Set<RequestId>();
  const out: AccessRequest[] = [];
  for (const id of ids) {
    const request = history.requests.get(id);
    if (request && !seen.has(id)) {
      seen.add(id);
      out.push(request);
    }
  }
  return out.sort(byOpening);
}

/** `1 request` / `3 requests`; `1 person` / `2 people`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** Up to `max` items joined by commas, then how many more: messages stay one readable sentence. */
export function listOf(items: readonly string[], max = 10): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
