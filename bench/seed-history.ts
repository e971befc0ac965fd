import { performance } from 'node:perf_hooks';
import { getTableColumns, getTableName, sql, type Table } from 'drizzle-orm';
import { providerKinds } from '../src/adapters/iam/provider-kinds';
import { DrizzleAccessStore, requestColumns } from '../src/adapters/store/drizzle-access-store';
import type { Database } from '../src/adapters/store/open-database';
import { accessRequests, alerts, approvals, grants } from '../src/adapters/store/schema';
import { activatePolicy } from '../src/app/activate-policy';
import { stamp, type Origin } from '../src/app/origin';
import type { AccessRequest, RequestState } from '../src/domain/access-request';
import { viaChat, viaCli, type ActingVia } from '../src/domain/acting-via';
import { breakGlassUnreviewedAlert, grantFailedAlert, type Finding } from '../src/domain/alert';
import { chainHash, GENESIS_HASH } from '../src/domain/audit-chain';
import { SYSTEM_ACTOR, type AuditEvent } from '../src/domain/audit-event';
import { formatDuration } from '../src/domain/duration';
import { email, type Email } from '../src/domain/email';
import { approve, deny } from '../src/domain/lifecycle/approve';
import { cancel, timeOut } from '../src/domain/lifecycle/end-request';
import { applyExtension, openExtension } from '../src/domain/lifecycle/extend';
import { markGranted, markGrantFailed } from '../src/domain/lifecycle/grant';
import { openRequest } from '../src/domain/lifecycle/open-request';
import { beginRevocation, completeRevocation } from '../src/domain/lifecycle/revoke';
import { requestEvent, type Transition } from '../src/domain/lifecycle/transition';
import { parsePolicy, type LoadedPolicy, type RolePolicy } from '../src/domain/policy';
import { requestIdFromBytes, type RequestId } from '../src/domain/request-id';
import { prng } from '../test/support/prng';

/**
 * The policy the seeded history ran under: eight roles on every provider kind, one to three
 * approvals, break-glass on the admin roles, leads who approve and security who are told.
 */
export const HISTORY_POLICY_TEXT = `version: 1
timezone: Europe/Berlin
businessHours: { days: [mon, tue, wed, thu, fri], start: "08:00", end: "19:00" }
channels:
  approvals: { slack: C0APPROVALS }
  security: { slack: C0SECURITY }
groups:
  leads:
    members: [__LEADS__]
  security:
    members: [__SECURITY__]
  engineering:
    members: ["*@example.com"]
admins: [group:security]
roles:
  prod-db-readonly:
    description: Read-only SQL on the production database
    provider: postgres
    target: { connectionEnv: PROD_DB_ADMIN_URL, role: prod_readonly }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 4h
    defaultDuration: 1h
    approvalTimeout: 30m
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
  prod-db-admin:
    description: Owner of the production database
    provider: postgres
    target: { connectionEnv: PROD_DB_ADMIN_URL, role: prod_owner }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 3
    maxDuration: 2h
    defaultDuration: 1h
    approvalTimeout: 30m
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
    breakGlass: { allowed: true, reviewWithin: 24h }
  aws-prod-readonly:
    description: ReadOnlyAccess in the production AWS account
    provider: aws
    target:
      instanceArn: arn:aws:sso:::instance/ssoins-1234567890abcdef
      identityStoreId: d-1234567890
      accountId: "111122223333"
      permissionSetArn: arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 8h
    defaultDuration: 2h
    approvalTimeout: 1h
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
  aws-prod-admin:
    description: AdministratorAccess in the production AWS account
    provider: aws
    target:
      instanceArn: arn:aws:sso:::instance/ssoins-1234567890abcdef
      identityStoreId: d-1234567890
      accountId: "111122223333"
      permissionSetArn: arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-abcdef1234567890
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 3
    maxDuration: 1h
    defaultDuration: 1h
    approvalTimeout: 30m
    ticket: { pattern: "^INC-[0-9]+$" }
    breakGlass: { allowed: true, reviewWithin: 12h }
  gcp-payments-viewer:
    description: Cloud SQL viewer in payments-prod
    provider: gcp
    target: { resource: projects/payments-prod, role: roles/cloudsql.viewer }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 4h
    defaultDuration: 2h
    approvalTimeout: 1h
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
  azure-payments-reader:
    description: Reader on the payments-prod resource group
    provider: azure
    target:
      scope: /subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/payments-prod
      roleDefinitionId: acdd72a7-3385-48ef-bd42-f606fba81ae7
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 4h
    defaultDuration: 1h
    approvalTimeout: 1h
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
  k8s-prod-exec:
    description: kubectl exec in the production clusters
    provider: local
    target: { environment: production, access: exec }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 2h
    defaultDuration: 30m
    approvalTimeout: 30m
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
    breakGlass: { allowed: true, reviewWithin: 24h }
  sandbox-admin:
    description: Admin on the sandbox environment
    provider: local
    target: { environment: sandbox }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 1
    maxDuration: 8h
    defaultDuration: 4h
    approvalTimeout: 2h
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
`;

export interface SeedOptions {
  /** Access requests to open (default 100,000); extensions of them come on top (about 10 %). */
  readonly requests?: number;
  /** How many weeks the history spans (default 12), ending at `until`. */
  readonly weeks?: number;
  /** The end of the history (default Monday 2026-03-02 09:00 in Berlin); requests still open then stay open. */
  readonly until?: Date;
  /** Same seed, same history: ids, people, times and hashes (default 13). */
  readonly seed?: number;
}

/** What was seeded: the window, the people and the counts a digest or an anomaly pass can be checked against. */
export interface SeededHistory {
  readonly since: Date;
  readonly until: Date;
  readonly policy: LoadedPolicy;
  readonly engineers: readonly Email[];
  readonly leads: readonly Email[];
  readonly security: readonly Email[];
  /** The patterns planted for the anomaly rules to find. */
  readonly planted: {
    /** Leads who approve within seconds, and approve a large share of everything. */
    readonly rubberStampers: readonly Email[];
    /** Two leads who approve each other's requests. */
    readonly reciprocal: readonly [Email, Email];
    /** People who always ask for the role's maximum duration. */
    readonly alwaysMaximum: readonly Email[];
    /** People who put the same ticket on every request. */
    readonly ticketReuse: readonly { readonly person: Email; readonly ticket: string }[];
  };
  readonly requests: number;
  readonly extensions: number;
  readonly events: number;
  readonly approvals: number;
  readonly grants: number;
  readonly breakGlass: number;
  readonly alerts: number;
  /** Requests by their state at `until` (live ones are `pending`, `active`, …). */
  readonly byState: Readonly<Record<RequestState, number>>;
  readonly head: { readonly seq: number; readonly hash: string };
  readonly seconds: number;
}

const DAY = 86_400_000;
const MINUTE = 60_000;
// NB: Monday 09:00 in Berlin, when the weekly digest is due by default: the morning's requests are still open.
const DEFAULT_UNTIL = new Date('2026-03-02T08:00:00.000Z');
// NB: how many audit events go into one INSERT, and how many requests into one row batch.
const EVENT_BATCH = 10_000;
const ROW_BATCH = 1_000;
const WRITERS = 3;

const FIRST = ['ana', 'ben', 'chen', 'dana', 'eli', 'fatima', 'gus', 'hana', 'ivan', 'jo', 'kai', 'lena', 'marco', 'nia', 'omar', 'pia', 'quinn', 'ravi', 'sara', 'tom', 'uma', 'vik', 'wen', 'yara', 'zoe', 'anton', 'bea', 'carl', 'dev', 'emma'];
const LAST = ['keller', 'novak', 'silva', 'okafor', 'tanaka', 'meyer', 'rossi', 'larsen', 'haddad', 'kowalski', 'nguyen', 'moreau', 'schmidt', 'costa', 'ito', 'berg', 'fischer', 'walsh', 'jansen', 'petrov'];
const REASONS = [
  'payouts stuck since 09:00, need to inspect the queue',
  'investigate elevated 5xx on checkout after the deploy',
  'rotate the database credentials as planned in the ticket',
  'backfill missing invoices for the February run',
  'debug slow queries reported by the support team',
  'apply the hotfix migration for the ledger table',
  'check replication lag on the reporting replica',
  'clean up orphaned volumes flagged by the cost report',
  'verify the IAM change requested by the auditors',
  'restart the stuck consumer group on the events cluster',
  'export the dataset requested by legal for the case',
  'investigate the pager alert on disk usage',
];
const DENIALS = ['use the read-only role for this', 'please link the incident ticket', 'wait for the change window', 'ask your lead first'];

/** A binary min-heap of timed steps; ties run in the order they were scheduled. */
class Agenda {
  private readonly items: { at: number; n: number; run: (at: number) => void }[] = [];
  private n = 0;
  get size(): number {
    return this.items.length;
  }
  add(at: number, run: (at: number) => void): void {
    const items = this.items;
    items.push({ at, n: this.n++, run });
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [items[i], items[p]] = [items[p] as (typeof items)[number], items[i] as (typeof items)[number]];
      i = p;
    }
  }
  peek(): number | undefined {
    return this.items[0]?.at;
  }
  pop(): { at: number; run: (at: number) => void } | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (!top || !last || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.less(l, m)) m = l;
      if (r < items.length && this.less(r, m)) m = r;
      if (m === i) break;
      [items[i], items[m]] = [items[m] as (typeof items)[number], items[i] as (typeof items)[number]];
      i = m;
    }
    return top;
  }
  private less(a: number, b: number): boolean {
    const x = this.items[a] as { at: number; n: number };
    const y = this.items[b] as { at: number; n: number };
    return x.at < y.at || (x.at === y.at && x.n < y.n);
  }
}

/** A request while the simulation runs: its state, its saves, and what is written with it. */
interface Life {
  request: AccessRequest;
  saves: number;
  /** For an extension: the request it extends, which writes it (its parent_id references it). */
  readonly parent?: Life;
  readonly extensions: Life[];
  grant?: { revokedAt?: Date; attempts: number; lastError?: string };
  /** What may still change the row: its own lifecycle, a break-glass review window, each open extension. */
  holds: number;
  written: boolean;
}

/**
 * Seeds a realistic history straight into the database, as the bot would have written it over
 * `weeks`: every request goes through the real domain transitions (open, approve, deny, cancel,
 * time out, grant, extend, revoke, break-glass and its review), in time order, on a simulated
 * clock; the audit events are stamped, hash-chained and inserted 10,000 per statement, and the
 * state rows (requests, approvals, grants, alerts) in batches. The chain verifies and the state
 * tables agree with it, so `audit verify` passes.
 *
 * The spread: requests mostly on weekdays in Berlin office hours, some at night and at weekends;
 * a few heavy requesters among 400 engineers; 14 leads who approve (two of them within seconds,
 * nearly always; two who approve each other); a handful of people who always ask for the maximum
 * or reuse one ticket; roles needing one, two or three approvals; about 1 % break-glass (a tenth
 * never reviewed), 5 % denied, 3 % cancelled, 2.5 % timed out, 6 % of grants given back early,
 * 15 % extended, and a few grants and revocations that fail. That makes about 8 audit events per
 * request: a million events take about 126,000 requests.
 * For an empty database (migrated): it does not look at what is already there.
 */
export async function seedHistory(database: Database, options: SeedOptions = {}): Promise<SeededHistory> {
  const started = performance.now();
  const total = options.requests ?? 100_000;
  const until = options.until ?? DEFAULT_UNTIL;
  const since = new Date(until.getTime() - (options.weeks ?? 12) * 7 * DAY);
  const random = prng(options.seed ?? 13);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);

  // People
  const names = FIRST.flatMap((f) => LAST.map((l) => `${f}.${l}`));
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [names[i], names[j]] = [names[j] as string, names[i] as string];
  }
  const engineers = names.slice(0, 400).map((n) => email(`${n}@example.com`));
  const leads = engineers.slice(0, 14);
  const security = names.slice(400, 403).map((n) => email(`${n}@example.com`));
  const [stamperA, stamperB, mutualA, mutualB] = leads as [Email, Email, Email, Email, ...Email[]];
  const alwaysMax = new Set(engineers.slice(20, 23));
  const ticketReusers = new Map(engineers.slice(30, 33).map((e, i) => [e, `INC-${4211 + i}`]));
  // NB: a few people ask much more than others (weights ~ 1 / rank^0.8).
  const weights = engineers.map((_, i) => 1 / (i + 1) ** 0.8);
  const cumulative: number[] = [];
  weights.reduce((sum, w) => (cumulative.push(sum + w), sum + w), 0);
  const requester = (): Email => {
    // NB: the reciprocal pair are leads, whom the weights below almost never pick: 1 request in 50 is
    // theirs, so they do approve each other (in a small history too).
    if (random() < 0.02) return random() < 0.5 ? mutualA : mutualB;
    const x = random() * (cumulative.at(-1) ?? 1);
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    // NB: the heavy requesters are engineers, not the leads who approve them.
    return engineers[(lo + 14) % engineers.length] as Email;
  };

  const parsed = parsePolicy(
    HISTORY_POLICY_TEXT.replace("__LEADS__", leads.join(", ")).replace("__SECURITY__", security.join(", ")),
    providerKinds,
  );
  if (!parsed.ok) throw new Error(`the history policy is invalid: ${parsed.errors.join('; ')}`);
  const loaded = parsed.loaded;
  const policy = loaded.policy;
  const roleWeights: [string, number][] = [
    ['prod-db-readonly', 24],
    ['aws-prod-readonly', 18],
    ['prod-db-admin', 12],
    ['gcp-payments-viewer', 12],
    ['azure-payments-reader', 8],
    ['k8s-prod-exec', 14],
    ['aws-prod-admin', 6],
    ['sandbox-admin', 6],
  ];
  const roleTotal = roleWeights.reduce((s, [, w]) => s + w, 0);
  const pickRole = (): RolePolicy => {
    let x = random() * roleTotal;
    for (const [name, w] of roleWeights) if ((x -= w) < 0) return policy.roles.get(name) as RolePolicy;
    return policy.roles.get('prod-db-readonly') as RolePolicy;
  };

  // Arrivals: weekday office hours in Berlin (UTC+1 in this window) much more than nights and weekends.
  const arrivals: number[] = [];
  const firstDay = Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate());
  const days = Math.ceil((until.getTime() - firstDay) / DAY);
  while (arrivals.length < total) {
    const day = firstDay + Math.floor(random() * days) * DAY;
    const dow = new Date(day).getUTCDay();
    const hourLocal = Math.floor(random() * 24);
    const office = hourLocal >= 8 && hourLocal < 19;
    const evening = hourLocal >= 19 && hourLocal < 23;
    const weight = (dow === 0 || dow === 6 ? 0.12 : 1) * (office ? 1 : evening ? 0.15 : 0.04);
    const at = day + (hourLocal - 1) * 3_600_000 + Math.floor(random() * 3_600_000);
    if (random() < weight && at >= since.getTime() && at < until.getTime()) arrivals.push(at);
  }
  arrivals.sort((a, b) => a - b);

  const store = new DrizzleAccessStore(database.db);
  await activatePolicy({ store, clock: { now: () => since } }, loaded, providerKinds, { via: 'service' }, 'bench/seed-history.ts');
  const afterPolicy = await store.auditHead();
  let seq = afterPolicy?.seq ?? 0;
  let prevHash = afterPolicy?.hash ?? GENESIS_HASH;

  // Writing: events in chain order, rows when a request can change no more (or at the end).
  let eventJson: string[] = [];
  let doneRows: Life[] = [];
  let alertRows: (Finding & { raisedAt: Date })[] = [];
  // NB: up to WRITERS statements in flight (on as many pooled connections) while the next batch is
  // simulated and hashed. Rows go after the events that created them have been sent, in order, so a
  // request row never waits on its parent's: parents are written before their extensions.
  const inFlight: Promise<unknown>[] = [];
  let rowsWritten: Promise<unknown> = Promise.resolve();
  const send = async (write: () => Promise<unknown>) => {
    while (inFlight.length >= WRITERS) await inFlight.shift();
    const sent = write();
    sent.catch(() => undefined);
    inFlight.push(sent);
  };
  const counts = { events: 0, approvals: 0, grants: 0, breakGlass: 0, alerts: 0, extensions: 0 };
  const chainEvent = (event: AuditEvent, at: number) => {
    seq += 1;
    const dataText = JSON.stringify(event.data);
    const fields = { seq, occurredAt: new Date(at), actor: event.actor, action: event.action, requestId: event.requestId ?? null, data: JSON.parse(dataText) as Record<string, unknown> };
    const hash = chainHash(prevHash, fields);
    eventJson.push(
      `{"seq":${seq},"occurred_at":"${fields.occurredAt.toISOString()}","actor":${JSON.stringify(fields.actor)},"action":"${fields.action}","request_id":${fields.requestId === null ? 'null' : `"${fields.requestId}"`},"data":${dataText},"prev_hash":"${prevHash}","hash":"${hash}"}`,
    );
    prevHash = hash;
    counts.events += 1;
  };
  const flush = async (final: boolean) => {
    if (eventJson.length >= EVENT_BATCH || (final && eventJson.length > 0)) {
      const json = `[${eventJson.join(',')}]`;
      eventJson = [];
      await send(() => insertJson(database, 'audit_events', ['seq', 'occurred_at', 'actor', 'action', 'request_id', 'data', 'prev_hash', 'hash'], json));
    }
    if (doneRows.length >= ROW_BATCH || (final && doneRows.length > 0)) {
      const lives = doneRows;
      doneRows = [];
      // NB: row batches one after another (an extension's parent may be in the batch before).
      const previous = rowsWritten;
      await send(() => (rowsWritten = previous.then(() => writeRows(database, lives))));
    }
    if (alertRows.length >= ROW_BATCH || (final && alertRows.length > 0)) {
      const rows = alertRows;
      alertRows = [];
      await send(() => insertRows(database, alerts, rows.map((a) => ({ rule: a.rule, severity: a.severity, dedupeKey: a.key, requestId: a.requestId ?? null, raisedAt: a.raisedAt, message: a.message }))));
    }
    if (final) await Promise.all(inFlight);
  };

  // NB: a Slack-like user id per person, stable for the same address.
  const slack = (who: Email): Origin => ({ via: 'slack', platformUserId: `U0${[...who].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7).toString(36).toUpperCase()}`, platformTeamId: 'T0EXAMPLE' });
  const scheduler: Origin = { via: 'scheduler' };
  const agenda = new Agenda();
  const apply = (life: Life, transition: Transition, origin: Origin, at: number): boolean => {
    if (!transition.ok) return false;
    if (transition.events.length === 0) return true;
    life.request = transition.request;
    life.saves += 1;
    for (const event of stamp(transition.events, origin, loaded.sha256)) chainEvent(event, at);
    return true;
  };
  const record = (events: AuditEvent[], origin: Origin, at: number) => {
    for (const event of stamp(events, origin, loaded.sha256)) chainEvent(event, at);
  };
  const raise = (life: Life, alert: Finding, at: number) => {
    alertRows.push({ ...alert, raisedAt: new Date(at) });
    counts.alerts += 1;
    record([requestEvent('alert_raised', SYSTEM_ACTOR, life.request, { rule: alert.rule, severity: alert.severity, key: alert.key, message: alert.message })], scheduler, at);
  };
  /** One reason to keep a request's row open is gone; with none left, the row (and its extensions) is written. */
  const release = (life: Life): void => {
    if (life.parent) return release(life.parent);
    life.holds -= 1;
    if (life.holds > 0 || life.written) return;
    life.written = true;
    doneRows.push(life);
  };
  const newId = (): RequestId => requestIdFromBytes(Uint8Array.from({ length: 5 }, () => Math.floor(random() * 256)));
  const approversFor = (life: Life, n: number): Email[] => {
    const who = life.request.requester;
    const chosen: Email[] = [];
    if (who === mutualA && n > 0) chosen.push(mutualB);
    if (who === mutualB && n > 0) chosen.push(mutualA);
    if (random() < 0.35 && !chosen.includes(stamperA) && who !== stamperA) chosen.push(stamperA);
    else if (random() < 0.25 && !chosen.includes(stamperB) && who !== stamperB) chosen.push(stamperB);
    while (chosen.length < n) {
      const lead = pick(leads);
      if (lead !== who && !chosen.includes(lead)) chosen.push(lead);
    }
    return chosen.slice(0, n);
  };
  const approvalDelay = (approver: Email) => (approver === stamperA || approver === stamperB ? between(2_000, 25_000) : between(30_000, 18 * MINUTE));

  /** Grant an approved access request; then its expiry notice, early end or extension, and revocation. */
  const grant = (life: Life, at: number) => {
    const role = policy.roles.get(life.request.role) as RolePolicy;
    if (random() < 0.003) {
      apply(life, markGrantFailed(life.request, 'the provider refused the assignment: AccessDenied', new Date(at)), scheduler, at);
      raise(life, grantFailedAlert(life.request, 1, 'the provider refused the assignment: AccessDenied'), at);
      release(life);
      return;
    }
    if (!apply(life, markGranted(life.request, role.maxDuration, new Date(at)), scheduler, at)) throw new Error(`cannot grant ${life.request.id}`);
    life.grant = { attempts: 0 };
    counts.grants += 1;
    scheduleExpiry(life);
    const window = (life.request.grant?.expiresAt.getTime() ?? at) - at;
    if (random() < 0.06) {
      agenda.add(at + between(0.1, 0.8) * window, (t) => revoke(life, t, 'revoked_early'));
    } else if (random() < 0.16 && life.request.kind === 'access') {
      agenda.add(at + between(0.3, 0.7) * window, (t) => extend(life, t));
    }
  };
  const scheduleExpiry = (life: Life) => {
    const expiresAt = life.request.grant?.expiresAt.getTime() ?? 0;
    const notice = expiresAt - 10 * MINUTE;
    if (notice > (life.request.grant?.grantedAt.getTime() ?? expiresAt)) {
      agenda.add(notice + between(0, 1_000), (t) => {
        if (life.request.state !== 'active' || life.request.grant?.expiresAt.getTime() !== expiresAt) return;
        record([requestEvent('access_expiring_soon', SYSTEM_ACTOR, life.request, { expiresAt: new Date(expiresAt).toISOString() })], scheduler, t);
      });
    }
    agenda.add(expiresAt + between(100, 1_500), (t) => {
      if (life.request.state !== 'active' || life.request.grant?.expiresAt.getTime() !== expiresAt) return;
      revoke(life, t, 'expired');
    });
  };
  const revoke = (life: Life, at: number, cause: 'expired' | 'revoked_early') => {
    if (life.request.state !== 'active') return;
    const by = cause === 'revoked_early' ? life.request.requester : undefined;
    if (!apply(life, beginRevocation(life.request, cause, by, policy, new Date(at)), by ? slack(by) : scheduler, at)) throw new Error(`cannot revoke ${life.request.id}`);
    const attempt = (t: number) => {
      const grantState = life.grant as NonNullable<Life['grant']>;
      if (random() < (grantState.attempts === 0 ? 0.008 : 0.3)) {
        grantState.attempts += 1;
        grantState.lastError = 'ThrottlingException: Rate exceeded';
        record([requestEvent('revocation_failed', SYSTEM_ACTOR, life.request, { error: grantState.lastError })], scheduler, t + between(200, 2_000));
        if (grantState.attempts === 3) raise(
          life,
          {
            rule: 'revocationFailing',
            severity: 'high',
            key: `revocation_failing:${life.request.id}`,
            message: `Revoking ${life.request.role} from ${life.request.requester} (request ${life.request.id}) has failed 3 times; last error: ${grantState.lastError}.`,
          },
          t + 2_500,
        );
        agenda.add(t + between(30_000, 300_000), attempt);
        return;
      }
      const doneAt = t + between(150, 1_500);
      apply(life, completeRevocation(life.request, true, new Date(doneAt)), scheduler, doneAt);
      grantState.revokedAt = new Date(doneAt);
      release(life);
    };
    attempt(at);
  };
  const extend = (parent: Life, at: number) => {
    if (parent.request.state !== 'active') return;
    const opened = openExtension(parent.request, { requester: parent.request.requester, duration: pick(['30m', '1h']), reason: pick(REASONS) }, undefined, newId(), loaded, new Date(at));
    if (!opened.ok) return; // past the role's maximum: the person is told, nothing is written
    const life: Life = { request: opened.request, saves: 0, parent, extensions: [], holds: 1, written: false };
    apply(life, opened, slack(parent.request.requester), at);
    parent.extensions.push(life);
    parent.holds += 1;
    counts.extensions += 1;
    decide(life, at, (when) => {
      const applied = applyExtension(parent.request, life.request, policy, new Date(when));
      if (applied.extension !== life.request) life.saves += 1;
      life.request = applied.extension;
      if (applied.parent !== parent.request) {
        parent.request = applied.parent;
        parent.saves += 1;
        scheduleExpiry(parent);
      }
      record(applied.events, scheduler, when);
      release(life);
    });
  };
  /** Approvals (or a denial, cancellation or time-out) for a pending request; `approved` runs when it is. */
  const decide = (life: Life, at: number, approved: (at: number) => void) => {
    const deadline = life.request.decisionDeadline.getTime();
    const fate = random();
    if (fate < 0.03) {
      agenda.add(at + between(MINUTE, 10 * MINUTE), (t) => apply(life, cancel(life.request, life.request.requester, new Date(t)), slack(life.request.requester), t) && release(life));
      return;
    }
    if (fate < 0.055) {
      agenda.add(deadline + between(200, 2_000), (t) => apply(life, timeOut(life.request, new Date(t)), scheduler, t) && release(life));
      return;
    }
    const approvers = approversFor(life, life.request.approvalsRequired);
    if (fate < 0.105) {
      const denier = approvers[0] as Email;
      agenda.add(Math.min(at + approvalDelay(denier), deadline - 1_000), (t) => apply(life, deny(life.request, denier, pick(DENIALS), policy, new Date(t)), slack(denier), t) && release(life));
      return;
    }
    // NB: each approver takes their own time from the request; the last of them approves it.
    for (const approver of approvers) {
      agenda.add(Math.min(at + approvalDelay(approver), deadline - 1_000), (when) => {
        if (!apply(life, approve(life.request, approver, policy, new Date(when)), slack(approver), when)) throw new Error(`${approver} cannot approve ${life.request.id}`);
        if (life.request.state === 'approved') approved(when);
      });
    }
  };
  const open = (at: number) => {
    const person = requester();
    const role = pickRole();
    const breakGlass = role.breakGlass.allowed && random() < 0.04;
    const cli = random() < 0.05;
    const via: ActingVia = cli ? viaCli(person.split('@')[0] ?? 'ops', []) : viaChat;
    const duration = alwaysMax.has(person) || random() < 0.1 ? formatDuration(role.maxDuration) : random() < 0.7 ? '' : pick(['30m', '1h', '2h']);
    const ticket = ticketReusers.get(person) ?? `${role.ticket.pattern.source.includes('OPS') && random() < 0.6 ? 'OPS' : 'INC'}-${10_000 + Math.floor(random() * 90_000)}`;
    const opened = openRequest({ requester: person, role: role.name, duration, ticket, reason: pick(REASONS), breakGlass }, newId(), loaded, new Date(at), breakGlass ? viaChat : via);
    if (!opened.ok) {
      // NB: a duration past a role's maximum (2h on a 1h role): asked again with the default, as people do.
      const again = openRequest({ requester: person, role: role.name, ticket, reason: pick(REASONS), breakGlass }, newId(), loaded, new Date(at), breakGlass ? viaChat : via);
      if (!again.ok) throw new Error(`cannot open a request: ${again.refusal.message}`);
      return start(again, at, cli, person);
    }
    start(opened, at, cli, person);
  };
  const start = (opened: Extract<Transition, { ok: true }>, at: number, cli: boolean, person: Email) => {
    const life: Life = { request: opened.request, saves: 0, extensions: [], holds: opened.request.breakGlass ? 2 : 1, written: false };
    all.push(life);
    apply(life, opened, cli ? { via: 'cli', osUser: person.split('@')[0] ?? 'ops', osUserFrom: 'process' } : slack(person), at);
    if (life.request.breakGlass) {
      counts.breakGlass += 1;
      agenda.add(at + between(300, 2_000), (t) => grant(life, t));
      const reviewers = random() < 0.9 ? approversFor(life, life.request.approvalsRequired) : [];
      let t = at;
      for (const reviewer of reviewers) {
        t += between(20 * MINUTE, 8 * 60 * MINUTE);
        agenda.add(t, (when) => void apply(life, approve(life.request, reviewer, policy, new Date(when)), slack(reviewer), when));
      }
      // NB: reviews may come after the access ended; the row is written once the review window is over.
      agenda.add(life.request.decisionDeadline.getTime() + between(500, 1_500), (when) => {
        if (life.request.approvals.length < life.request.approvalsRequired) raise(life, breakGlassUnreviewedAlert(life.request), when);
        release(life);
      });
      return;
    }
    decide(life, at, (when) => agenda.add(when + between(300, 3_000), (t) => grant(life, t)));
  };

  // NB: only the lives not yet written are kept: finished ones leave with their row batch.
  let all: Life[] = [];
  const end = until.getTime();
  let next = 0;
  while (next < arrivals.length || (agenda.size > 0 && (agenda.peek() ?? end) < end)) {
    const arrival = arrivals[next];
    const step = agenda.peek();
    if (arrival !== undefined && (step === undefined || arrival <= step)) {
      open(arrival);
      next += 1;
    } else {
      const item = agenda.pop();
      if (!item || item.at >= end) break;
      item.run(item.at);
    }
    if (eventJson.length >= EVENT_BATCH || doneRows.length >= ROW_BATCH) {
      await flush(false);
      all = all.filter((l) => !l.written);
    }
  }
  for (const life of all) if (!life.written) doneRows.push(life);
  await flush(true);

  // Counts from the database, so the figures are what was written.
  const states = await database.db.execute(sql`SELECT state, count(*) AS n FROM access_requests GROUP BY state`);
  const byState = Object.fromEntries(
    ['pending', 'approved', 'active', 'revoking', 'revoked', 'denied', 'cancelled', 'timed_out', 'failed'].map((s) => [s, 0]),
  ) as Record<RequestState, number>;
  for (const row of (states as unknown as { rows: { state: RequestState; n: string | number }[] }).rows) byState[row.state] = Number(row.n);
  const approvalCount = await database.db.execute(sql`SELECT count(*) AS n FROM approvals`);
  counts.approvals = Number((approvalCount as unknown as { rows: { n: string | number }[] }).rows[0]?.n ?? 0);
  const head = await store.auditHead();
  return {
    since,
    until,
    policy: loaded,
    engineers,
    leads,
    security,
    planted: {
      rubberStampers: [stamperA, stamperB],
      reciprocal: [mutualA, mutualB],
      alwaysMaximum: [...alwaysMax],
      ticketReuse: [...ticketReusers].map(([person, ticket]) => ({ person, ticket })),
    },
    requests: Object.values(byState).reduce((a, b) => a + b, 0),
    extensions: counts.extensions,
    events: head?.seq ?? 0,
    approvals: counts.approvals,
    grants: counts.grants,
    breakGlass: counts.breakGlass,
    alerts: counts.alerts,
    byState,
    head: head ?? { seq: 0, hash: GENESIS_HASH },
    seconds: (performance.now() - started) / 1000,
  };
}

/** Requests (then their extensions), their approvals and grants, as the store would hold them. */
async function writeRows(database: Database, lives: readonly Life[]): Promise<void> {
  const parents = lives;
  const extensions = lives.flatMap((l) => l.extensions);
  for (const batch of [parents, extensions]) {
    if (batch.length === 0) continue;
    await insertRows(database, accessRequests, batch.map((l) => requestColumns({ ...l.request, version: l.saves })));
    const approvalRows = batch.flatMap((l) => l.request.approvals.map((a) => ({ requestId: l.request.id, approver: a.approver, approvedAt: a.at, osUser: a.osUser ?? null })));
    await insertRows(database, approvals, approvalRows);
    const grantRows = batch.flatMap((l) => {
      const g = l.request.grant;
      if (!g || l.request.kind !== 'access') return [];
      return [
        {
          requestId: l.request.id,
          provider: l.request.resource.provider,
          target: { ...l.request.resource.target },
          principal: l.request.requester,
          role: l.request.role,
          grantedAt: g.grantedAt,
          expiresAt: g.expiresAt,
          revokeAttempts: l.grant?.attempts ?? 0,
          lastError: l.grant?.lastError ?? null,
          revokedAt: l.grant?.revokedAt ?? null,
          accessRemoved: l.grant?.revokedAt ? true : null,
        },
      ];
    });
    await insertRows(database, grants, grantRows);
  }
}

/**
 * Rows keyed as in the schema (camelCase), inserted in one statement: one JSON parameter that
 * PostgreSQL turns into rows of the table's own type. NB: several times cheaper for the client
 * than a Drizzle multi-row insert, which builds a parameter per value.
 */
async function insertRows(database: Database, table: Table, rows: readonly Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = getTableColumns(table);
  const keys = Object.keys(rows[0] ?? {}).filter((key) => columns[key] !== undefined);
  const names = keys.map((key) => (columns[key] as { name: string }).name);
  const json = JSON.stringify(rows.map((row) => Object.fromEntries(keys.map((key, i) => [names[i], row[key] ?? null]))));
  await insertJson(database, getTableName(table), names, json);
}

/** `json` (an array of objects keyed by column name) into `table`'s `columns`; other columns take their defaults. */
async function insertJson(database: Database, table: string, columns: readonly string[], json: string): Promise<void> {
  const list = sql.raw(columns.map((c) => `"${c}"`).join(', '));
  await database.db.execute(sql`INSERT INTO ${sql.identifier(table)} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${sql.identifier(table)}, ${json}::json)`);
}
