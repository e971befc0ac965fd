import type { AccessRequest } from '../domain/access-request';
import type { Alert } from '../domain/alert';
import { findAnomalies } from '../domain/anomalies/find-anomalies';
import { byOpening, emptyHistory, personRole, type Decided, type Decision, type DetectionContext, type DetectionHistory, type Opening } from '../domain/anomalies/history';
import type { ChainedAuditEvent } from '../domain/audit-event';
import type { DetectionRules } from '../domain/detection-policy';
import { parseEmail, type Email } from '../domain/email';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';
import type { Origin } from './origin';
import { raiseAnomalies } from './raise-alert';

/** The detector's position in the audit log is stored as a notification cursor under this name. */
export const ANOMALY_DETECTOR = 'anomaly-detector';
/** The very first pass (a new install, or the first run of this version) looks this far back. */
export const FIRST_PASS_LOOKBACK_MS = 24 * 3_600_000;
/** Audit events read at once; a full batch is followed by another at once. */
export const DETECTION_BATCH = 2_000;

const origin: Origin = { via: 'scheduler' };

/** What one pass did, for the scheduler's log and for tests. */
export interface DetectionPass {
  /** Audit events read since the last pass (0 when another replica holds the detector's place). */
  readonly events: number;
  /** Findings of the rules, new or not. */
  readonly findings: number;
  /** Alerts this pass raised (each also an `alert_raised` event, posted once by the notifiers). */
  readonly raised: readonly Alert[];
}

/**
 * One detection pass. The audit log is the feed: the detector keeps its own place in it (leased
 * like a notifier's, so one replica reads at a time) and evaluates the rules at what is new since
 * (requests opened, grants made, decisions recorded), loading the history each rule's window needs
 * around it. Then the state rules (grants past their expiry, revocations failing) look at `now`.
 * Every finding has a key, and an alert is raised once per key, so a pass repeated after a crash,
 * or run by two replicas at once, raises nothing twice; a pass that finds the log ahead of it
 * (the service was down) catches up batch by batch.
 */
export async function detectAnomalies(ctx: AppContext, owner: string, options: { readonly batchSize?: number } = {}): Promise<DetectionPass> {
  const batchSize = options.batchSize ?? DETECTION_BATCH;
  const started = ctx.clock.now();
  let events = 0;
  let findings = 0;
  const raised: Alert[] = [];
  await ctx.store.startNotificationCursor(ANOMALY_DETECTOR, new Date(started.getTime() - FIRST_PASS_LOOKBACK_MS));
  for (;;) {
    const now = ctx.clock.now();
    const cursor = await ctx.store.claimNotificationCursor(ANOMALY_DETECTOR, owner, now, ctx.work.leaseMs);
    if (!cursor) break;
    let read: ChainedAuditEvent[] = [];
    try {
      read = await ctx.store.readAudit(cursor.lastSeq + 1, batchSize);
      if (read.length > 0) {
        const loaded = ctx.policy.current();
        const { rules } = loaded.policy.detection;
        const context: DetectionContext = { now, policy: loaded.policy, revocationAlertAfter: ctx.work.revocationAlertAfter };
        const found = findAnomalies(await loadHistory(ctx, read, rules), rules, context);
        findings += found.length;
        raised.push(...(await raiseAnomalies(ctx, found, origin)));
      }
    } catch (error) {
      // NB: nothing moves: the lease is freed and the same events are read again next time; what
      // was raised before the failure is not raised twice (the keys).
      await ctx.store.saveNotificationCursor(ANOMALY_DETECTOR, owner, { lastSeq: cursor.lastSeq, attempts: 0 }).catch(() => undefined);
      throw error;
    }
    const last = read[read.length - 1];
    await ctx.store.saveNotificationCursor(ANOMALY_DETECTOR, owner, { lastSeq: last ? last.seq : cursor.lastSeq, attempts: 0 });
    events += read.length;
    if (read.length < batchSize) break;
  }
  const state = await detectFromState(ctx);
  return { events, findings: findings + state.findings, raised: [...raised, ...state.raised] };
}

/** The state rules at `now`: grants still live past their expiry, revocations that keep failing. */
async function detectFromState(ctx: AppContext): Promise<{ findings: number; raised: Alert[] }> {
  const loaded = ctx.policy.current();
  const { rules } = loaded.policy.detection;
  if (!rules.overdueGrant.enabled && !rules.revocationFailing.enabled) return { findings: 0, raised: [] };
  const now = ctx.clock.now();
  const liveGrants = await ctx.store.liveGrantsNeedingAttention(new Date(now.getTime() - rules.overdueGrant.grace * 60_000));
  const history: DetectionHistory = { ...emptyHistory, liveGrants };
  const found = findAnomalies(history, rules, { now, policy: loaded.policy, revocationAlertAfter: ctx.work.revocationAlertAfter });
  return { findings: found.length, raised: await raiseAnomalies(ctx, found, origin) };
}

/**
 * What the rules need around a batch of events: the requests the events name, and each enabled
 * rule's window before them (see `DetectionHistory` for what is guaranteed).
 */
async function loadHistory(ctx: AppContext, events: readonly ChainedAuditEvent[], rules: DetectionRules): Promise<DetectionHistory> {
  const opened: RequestId[] = [];
  const granted: RequestId[] = [];
  const decided: Decided[] = [];
  for (const event of events) {
    const id = event.requestId as RequestId | null;
    if (!id) continue;
    if (event.action === 'request_opened') opened.push(id);
    else if (event.action === 'access_granted') granted.push(id);
    else if (event.action === 'approval_recorded' || event.action === 'request_denied') {
      const by = parseEmail(event.actor);
      if (by) decided.push({ by, requestId: id });
    }
  }
  const focusIds = [...new Set([...opened, ...granted, ...decided.map((d) => d.requestId)])];
  if (focusIds.length === 0) return { ...emptyHistory, opened, granted, decided };
  const requests = new Map<RequestId, AccessRequest>((await ctx.store.listRequests({ ids: focusIds, limit: focusIds.length })).map((r) => [r.id, r]));

  const openedAccess = opened.flatMap((id) => {
    const request = requests.get(id);
    return request && request.kind === 'access' ? [request] : [];
  });
  const openings = new Map<RequestId, Opening>();
  const keep = (list: readonly Opening[]) => {
    for (const opening of list) openings.set(opening.id, opening);
  };
  const recentOpenings = new Map<Email, Opening[]>();
  if (openedAccess.length > 0) {
    const times = openedAccess.map((r) => r.createdAt.getTime());
    const [first, last] = [Math.min(...times), Math.max(...times)];
    const since = (minutes: number) => new Date(first - minutes * 60_000);
    const until = new Date(last);
    const people = [...new Set(openedAccess.map((r) => r.requester))];
    if (rules.requestSpike.enabled) {
      keep(await ctx.store.accessRequestsOpened({ requesters: people, roles: [...new Set(openedAccess.map((r) => r.role))] }, since(rules.requestSpike.window), until));
    }
    if (rules.ticketReuse.enabled) keep(await ctx.store.accessRequestsOpened({ tickets: [...new Set(openedAccess.map((r) => r.ticket))] }, since(rules.ticketReuse.window), until));
    if (rules.maxDuration.enabled) {
      // NB: per person, the `lastRequests` before their first request in this batch, then all of theirs since.
      const firstOf = new Map<Email, number>();
      for (const r of openedAccess) firstOf.set(r.requester, Math.min(firstOf.get(r.requester) ?? Infinity, r.createdAt.getTime()));
      const before = await ctx.store.accessRequestsBefore([...firstOf].map(([person, at]) => ({ person, before: new Date(at) })), rules.maxDuration.lastRequests);
      const fromFirst = await ctx.store.accessRequestsOpened({ requesters: people }, new Date(first - 1), until);
      const seen = new Set<RequestId>();
      for (const opening of [...before, ...fromFirst]) {
        if (seen.has(opening.id)) continue;
        seen.add(opening.id);
        recentOpenings.set(opening.requester, [...(recentOpenings.get(opening.requester) ?? []), opening]);
      }
      for (const list of recentOpenings.values()) list.sort(byOpening);
    }
  }

  const firstGrants = new Map<string, RequestId>();
  if (rules.firstGrant.enabled) {
    const pairs = granted.flatMap((id) => {
      const request = requests.get(id);
      return request?.grant ? [{ person: request.requester, role: request.role }] : [];
    });
    for (const first of await ctx.store.firstGrantsOf(pairs)) firstGrants.set(personRole(first.person, first.role), first.requestId);
  }

  let decisions: Decision[] = [];
  const windows = [rules.rubberStamp.enabled ? rules.rubberStamp.window : 0, rules.reciprocal.enabled ? rules.reciprocal.window : 0];
  const decisionWindow = Math.max(...windows);
  if (decided.length > 0 && decisionWindow > 0) {
    const times = decided.flatMap((d) => {
      const request = requests.get(d.requestId);
      const at = request?.approvals.find((a) => a.approver === d.by)?.at ?? (request?.denial?.by === d.by ? request.denial.at : undefined);
      return at ? [at.getTime()] : [];
    });
    if (times.length > 0) {
      // NB: the deciders' own decisions (rubber stamps) and their requesters' (did they return the favour?).
      const people = [...new Set(decided.flatMap((d) => {
        const requester = requests.get(d.requestId)?.requester;
        return requester ? [d.by, requester] : [d.by];
      }))];
      decisions = await ctx.store.decisionsBy(people, new Date(Math.min(...times) - decisionWindow * 60_000), new Date(Math.max(...times)));
    }
  }
  return { opened, granted, decided, requests, openings: [...openings.values()], recentOpenings, decisions, firstGrants, liveGrants: [] };
}
