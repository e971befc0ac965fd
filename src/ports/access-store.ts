import type { AccessRequest, RequestState } from '../domain/access-request';
import type { Alert, Finding } from '../domain/alert';
import type { Decision, LiveGrant as GrantNeedingAttention, Opening } from '../domain/anomalies/history';
import type { AuditEvent, ChainedAuditEvent, StoredAuditEvent } from '../domain/audit-event';
import type { Checkpoint } from '../domain/checkpoint';
import type { DigestFigures } from '../domain/digest';
import type { Period } from '../domain/digest-schedule';
import type { LiveGrant } from '../domain/drift';
import type { DriftRun, DriftRunState, DriftRunTrigger, ProviderResult, StoredFinding } from '../domain/drift-run';
import type { Email } from '../domain/email';
import type { RequestId } from '../domain/request-id';

/**
 * Everything written inside one `transaction` commits together or not at all: a state change
 * is never stored without its audit events, nor the reverse.
 */
export interface AccessStore {
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;

  findRequest(id: RequestId): Promise<AccessRequest | undefined>;
  /** Newest first. */
  listRequests(filter: RequestFilter): Promise<AccessRequest[]>;

  /** The last event of the chain, or undefined when the log is empty. */
  auditHead(): Promise<{ seq: number; hash: string } | undefined>;
  /** Events with `seq` in [fromSeq, fromSeq + limit), in order: the pages `audit verify` walks. */
  readAudit(fromSeq: number, limit: number): Promise<ChainedAuditEvent[]>;
  /**
   * `readAudit` as the database holds the events, time and data as text, unparsed: the cheap form
   * `audit verify` reads on one thread and hashes on others. One statement: keep `limit` to a page.
   */
  readStoredAudit(fromSeq: number, limit: number): Promise<StoredAuditEvent[]>;
  /** Events that occurred in [since, until), in `seq` order, for export. */
  readAuditBetween(range: { since?: Date; until?: Date }, afterSeq: number, limit: number): Promise<ChainedAuditEvent[]>;
  /** How many events occurred in [since, until): what `audit export` shows its progress against. */
  countAuditBetween(range: { since?: Date; until?: Date }): Promise<number>;
  /** The event with this `seq`, if present. */
  auditEventAt(seq: number): Promise<ChainedAuditEvent | undefined>;
  /**
   * Where the state tables and the audit log disagree: rows with no event that created them, and
   * request ids that events name but `access_requests` lacks. The first `limit` (by kind, then
   * request id) and how many in all; one set-based statement, so one snapshot.
   */
  auditStateGaps(limit: number): Promise<{ total: number; first: AuditStateGap[] }>;

  /**
   * The weekly digest's figures for `period`, read in one snapshot with SQL aggregates: live grants
   * count up to `asOf`, and alerts are open or acknowledged as of it. `bucketDays` sizes the bars
   * of the per-day picture.
   */
  digestFigures(period: Period, asOf: Date, bucketDays: number): Promise<DigestFigures>;
  /** The last event that occurred before `until` (the chain's head at that time), if any. */
  auditHeadBefore(until: Date): Promise<{ seq: number; hash: string } | undefined>;
  /** When the first event of the log occurred, if there is one. */
  firstAuditAt(): Promise<Date | undefined>;
  /** The digest posted for the period with this key (`periodKey`), if any. */
  postedDigest(period: string): Promise<PostedDigest | undefined>;
  /** The end of the latest period a digest was posted for, if any. */
  latestDigestUntil(): Promise<Date | undefined>;
  /** Every stored checkpoint, oldest first. */
  checkpoints(): Promise<StoredCheckpoint[]>;

  /** The text of a policy that was in force, by its SHA-256. */
  policyText(sha256: string): Promise<string | undefined>;
  /** The SHA-256 of the policy most recently activated, if any. */
  activePolicySha(): Promise<string | undefined>;

  /**
   * Claims up to `limit` grants that are due for revocation, oldest expiry first, and returns them.
   * Due: the request is `active` and its grant expired at or before `now`, or it is `revoking` (a
   * revocation started and was never confirmed: a crash, a provider failure). Only grants whose
   * lease is free or lapsed and whose `next_attempt_at` (backoff) has passed are claimed. The claim
   * is one statement that skips rows other replicas hold (`FOR UPDATE SKIP LOCKED`) and leases the
   * rest to `owner` until `now + leaseMs`, so no two replicas work on one grant at the same time.
   */
  claimDueRevocations(now: Date, owner: string, leaseMs: number, limit: number): Promise<ClaimedRevocation[]>;
  /** Gives up `owner`'s lease on the grant of `id` (no-op when someone else holds it). */
  releaseLease(id: RequestId, owner: string): Promise<void>;
  /** Everyone who holds a lease on any work right now (grants, revocations, notice delivery). */
  leaseOwners(): Promise<string[]>;
  /** Frees every lease these owners hold (they are known to be dead), so their work is due at once. */
  releaseLeasesOf(owners: readonly string[]): Promise<number>;
  /**
   * Records a failed revocation attempt: increments `revoke_attempts`, keeps `error` as the last
   * one, and (when `owner` still holds the lease, or nobody does) sets the next attempt and frees
   * the lease. Returns the number of failed attempts so far (0 when the request has no grant).
   * `countAttempt: false` for a revocation the provider deferred by its own rules: not a failure, so
   * it neither counts towards the alert nor lengthens the backoff.
   */
  recordRevocationFailure(id: RequestId, owner: string, error: string, nextAttemptAt: Date, options?: { readonly countAttempt?: boolean }): Promise<number>;
  /**
   * Claims up to `limit` approved requests whose grant is due: never attempted (a crash between the
   * approval and the provider call) or failed earlier and past its backoff. Like
   * `claimDueRevocations`: one statement, `FOR UPDATE SKIP LOCKED`, leased to `owner` until
   * `now + leaseMs`; a lease taken by the approving process keeps the scheduler away meanwhile.
   */
  claimDueGrants(now: Date, owner: string, leaseMs: number, limit: number): Promise<ClaimedGrant[]>;
  /** Gives up `owner`'s grant lease on request `id` (no-op when someone else holds it). */
  releaseGrantLease(id: RequestId, owner: string): Promise<void>;
  /** Like `recordRevocationFailure`, for a grant attempt; returns the failed attempts so far. */
  recordGrantFailure(id: RequestId, owner: string, error: string, nextAttemptAt: Date): Promise<number>;
  /**
   * Break-glass requests whose review window has passed without enough reviews and that have no
   * `breakGlassUnreviewed` alert yet, oldest deadline first.
   */
  unreviewedBreakGlass(now: Date, limit: number): Promise<RequestId[]>;
  /**
   * Leases `notifier`'s delivery cursor to `owner` until `now + leaseMs` and returns it, or undefined
   * when another process holds it or its backoff has not passed. A notifier seen for the first time
   * starts at the current end of the audit log: it is not sent the history from before it existed.
   */
  claimNotificationCursor(notifier: string, owner: string, now: Date, leaseMs: number): Promise<NotificationCursor | undefined>;
  /**
   * Creates `notifier`'s cursor, if it has none, just before the first event that occurred at or
   * after `since` (the end of the log when there is none): a reader of the log that should start a
   * little in the past (the anomaly detector's first pass) rather than at the end.
   */
  startNotificationCursor(notifier: string, since: Date): Promise<void>;
  /** Saves where delivery got to and frees the lease (only while `owner` holds it). */
  saveNotificationCursor(notifier: string, owner: string, cursor: NotificationCursorUpdate): Promise<void>;
  /**
   * Up to `limit` pending requests whose decision deadline is at or before `now`, oldest deadline
   * first. Rows another transaction holds locked (being decided right now) are skipped, not waited for.
   */
  claimTimedOutRequests(now: Date, limit: number): Promise<RequestId[]>;
  /**
   * The earliest expiry after `after` of a live (`active`) grant, for the scheduler's wake-up timer.
   * Grants already expired are left out: they are due now, not later.
   */
  nextExpiry(after: Date): Promise<Date | undefined>;

  /** Where `platform` posted the approval card of request `id`, if it did. */
  chatCard(platform: string, id: RequestId): Promise<{ channel: string; messageId: string } | undefined>;
  /** Records where a card was posted (a second record for the same request is ignored). */
  recordChatCard(platform: string, id: RequestId, ref: { channel: string; messageId: string }, at: Date): Promise<void>;
  /**
   * Records that a chat delivery (`key`: a platform's own id for one command, click or form
   * submission) is being acted on at `at`. True the first time; false when the key was recorded
   * since `forgetBefore`, so a replay or redelivery does nothing twice, whichever replica gets it.
   * Keys of the same platform (the part of `key` up to its first `:`) recorded before
   * `forgetBefore` are deleted; each platform keeps its own window.
   */
  recordChatDelivery(key: string, at: Date, forgetBefore: Date): Promise<boolean>;

  /**
   * Requests opened in [since, until), oldest first, with approvals and grant windows, in pages:
   * `after` is the last request of the previous page. For `prod-access report`.
   */
  requestsOpenedBetween(range: { since: Date; until: Date }, after: { createdAt: Date; id: RequestId } | undefined, limit: number): Promise<AccessRequest[]>;
  /** Every audit event about these requests, in `seq` order (their decisions, for reports). */
  auditEventsOfRequests(ids: readonly RequestId[]): Promise<ChainedAuditEvent[]>;

  /**
   * Access the bot stands behind, for drift: grants whose request is `active` or `revoking` and whose
   * revocation is not confirmed, and approved requests being granted.
   */
  liveGrants(): Promise<LiveGrant[]>;
  /**
   * Starts a drift run, leased to `owner` until `now + leaseMs`: `claimed` with its id; `busy` when
   * another run holds a lease (one at a time across replicas and the CLI); `duplicate` when a run for
   * the same `scheduledFor` tick exists already. Runs whose process died (`running`, lease lapsed)
   * are marked `abandoned` first. One transaction under an advisory lock.
   */
  claimDriftRun(claim: DriftClaim): Promise<{ claimed: number } | { busy: { id: number; startedAt: Date } } | { duplicate: true }>;
  /** Frees `owner`'s lease on run `id`; a run still `running` ends as `failed` (it stopped on an error). */
  endDriftRun(id: number, owner: string, at: Date): Promise<void>;
  driftRun(id: number): Promise<DriftRun | undefined>;
  /** The newest runs first. */
  listDriftRuns(limit: number): Promise<DriftRun[]>;
  /**
   * The last run before `id` that compared (done, held or approved): its findings' keys, those whose
   * revocation failed, and whether it was held, so a finding, a failing revocation or a hold is told
   * to security once while it lasts.
   */
  previousDriftRun(id: number): Promise<PreviousDriftRun | undefined>;

  /** One alert, by id. */
  findAlert(id: number): Promise<Alert | undefined>;
  /** Alerts, newest first; `open`: only those not acknowledged yet. At most `limit` (default 50). */
  listAlerts(filter: { readonly open?: boolean; readonly limit?: number }): Promise<Alert[]>;
  /** Which of these dedupe keys have been raised already: a cheap look before raising, without locks. */
  raisedAlertKeys(keys: readonly string[]): Promise<Set<string>>;
  /** Where `platform` posted alert `id`, if it did. */
  alertMessage(platform: string, id: number): Promise<{ channel: string; messageId: string } | undefined>;
  /** Records where an alert was posted (a second record for the same alert is ignored). */
  recordAlertMessage(platform: string, id: number, ref: { channel: string; messageId: string }, at: Date): Promise<void>;

  // The anomaly rules' history (see `DetectionHistory`): each a range or index scan, never the whole table.
  /**
   * Access requests opened in (`since`, `until`] by any of `requesters`, for any of `roles`, or with
   * any of `tickets` (compared without case): the facts of each opening, oldest first.
   */
  accessRequestsOpened(match: { readonly requesters?: readonly Email[]; readonly roles?: readonly string[]; readonly tickets?: readonly string[] }, since: Date, until: Date): Promise<Opening[]>;
  /** For each person, their last `count` access requests opened before `before`. */
  accessRequestsBefore(people: readonly { readonly person: Email; readonly before: Date }[], count: number): Promise<Opening[]>;
  /** Every approval, review and denial any of `people` made in (`since`, `until`], oldest first. */
  decisionsBy(people: readonly Email[], since: Date, until: Date): Promise<Decision[]>;
  /** For each (person, role), the request of that person's first grant of that role, if any. */
  firstGrantsOf(pairs: readonly { readonly person: Email; readonly role: string }[]): Promise<{ person: Email; role: string; requestId: RequestId }[]>;
  /** Live grants (active or revoking) that expired before `expiredBefore`, or whose revocation has failed. */
  liveGrantsNeedingAttention(expiredBefore: Date): Promise<GrantNeedingAttention[]>;

  /** Cheap round trip for readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A digest that was posted. */
export interface PostedDigest extends Period {
  readonly period: string;
  readonly postedAt: Date;
  readonly late: boolean;
}

/** A checkpoint as stored, with its row id for messages. */
export interface StoredCheckpoint extends Checkpoint {
  readonly id: number;
}

export interface PreviousDriftRun {
  readonly keys: ReadonlySet<string>;
  readonly failedKeys: ReadonlySet<string>;
  readonly held: boolean;
}

/** What starts a drift run (see `claimDriftRun`). */
export interface DriftClaim {
  readonly trigger: DriftRunTrigger;
  /** The cron tick it runs for; a tick is run once. */
  readonly scheduledFor?: Date;
  /** For an approval: the held run it carries out. */
  readonly approvesRun?: number;
  readonly owner: string;
  readonly now: Date;
  readonly leaseMs: number;
}

/** What a drift run found and did, written when it has compared (and again after its revocations). */
export interface DriftRunRecord {
  readonly state: Exclude<DriftRunState, 'running' | 'abandoned'>;
  readonly finishedAt: Date;
  readonly listed: number;
  readonly unexpected: number;
  readonly missing: number;
  readonly revoked: number;
  readonly revokeFailed: number;
  readonly held: boolean;
  readonly heldReason?: string;
  readonly providers: Readonly<Record<string, ProviderResult>>;
  readonly findings: readonly StoredFinding[];
}

/** An approved request claimed for granting by `claimDueGrants`. */
export interface ClaimedGrant {
  readonly requestId: RequestId;
  /** Failed grant attempts before this claim. */
  readonly attempts: number;
}

/**
 * One disagreement between state and log: a request without `request_opened`, an approval without
 * its approver's `approval_recorded`, a grant without `access_granted`, or events naming a request
 * that is not in `access_requests`.
 */
export interface AuditStateGap {
  readonly kind: 'request_without_event' | 'approval_without_event' | 'grant_without_event' | 'events_without_request';
  readonly requestId: string;
  /** For `approval_without_event`: whose approval it is. */
  readonly approver?: string;
}

/** A notifier's position in the audit log. */
export interface NotificationCursor {
  /** The last event delivered (or skipped for good). */
  readonly lastSeq: number;
  /** Failed deliveries of the event after `lastSeq`, for the backoff. */
  readonly attempts: number;
}

export interface NotificationCursorUpdate extends NotificationCursor {
  readonly nextAttemptAt?: Date;
  readonly lastError?: string;
}

/** A grant claimed for revocation by `claimDueRevocations`. */
export interface ClaimedRevocation {
  readonly requestId: RequestId;
  /** Failed revocation attempts before this claim, for the backoff. */
  readonly attempts: number;
}

export interface RequestFilter {
  readonly ids?: readonly RequestId[];
  readonly requester?: Email;
  readonly states?: readonly RequestState[];
  readonly role?: string;
  readonly limit?: number;
}

export interface StoreTransaction {
  /** Reads the request and locks its row until the transaction ends (SELECT … FOR UPDATE). */
  lockRequest(id: RequestId): Promise<AccessRequest | undefined>;
  /** `lockRequest` for many, locked in id order; returns those found, in the order of `ids`. */
  lockRequests(ids: readonly RequestId[]): Promise<AccessRequest[]>;
  /** Same as `AccessStore.listRequests`, inside the transaction (never call the store itself inside one). */
  listRequests(filter: RequestFilter): Promise<AccessRequest[]>;
  /** Inserts a new request; throws `StoreError` code `duplicate_id` when the id is taken. */
  insertRequest(request: AccessRequest): Promise<void>;
  /**
   * Writes the request's state, new approvals, denial, grant window and end, checking that the
   * stored version is `request.version` (throws `StoreError` code `version_conflict` otherwise).
   * Returns the request with its version incremented.
   */
  saveRequest(request: AccessRequest): Promise<AccessRequest>;
  /** `saveRequest` for many in one statement; any version conflict fails them all. */
  saveRequests(requests: readonly AccessRequest[]): Promise<AccessRequest[]>;
  /**
   * Appends events to the hash chain at `at`. Appends are serialised across processes (advisory
   * transaction lock), so the chain stays linear with any number of replicas.
   */
  appendAudit(events: readonly AuditEvent[], at: Date): Promise<ChainedAuditEvent[]>;
  /** Records a policy text by its SHA-256 (idempotent) and marks it as the active one. */
  recordPolicy(sha256: string, text: string, at: Date): Promise<void>;
  /** Same as `AccessStore.activePolicySha`, inside the transaction. */
  activePolicySha(): Promise<string | undefined>;
  policyText(sha256: string): Promise<string | undefined>;
  /**
   * Marks grants revoked at `at` (the provider confirmed), each with whether access was actually
   * removed, and frees their leases. Call it in the transaction that records `revoked`.
   */
  recordGrantsRevoked(revoked: readonly { id: RequestId; accessRemoved: boolean }[], at: Date): Promise<void>;
  /**
   * Leases the grant of approved request `id` to `owner` until `until`: the process that approved
   * makes the first attempt, and the scheduler's `claimDueGrants` leaves it alone meanwhile.
   */
  leaseGrant(id: RequestId, owner: string, until: Date): Promise<void>;
  /** Writes what drift run `id` found and did. */
  recordDriftRun(id: number, record: DriftRunRecord): Promise<void>;
  /** Reads drift run `id` and locks its row until the transaction ends. */
  lockDriftRun(id: number): Promise<DriftRun | undefined>;
  /** Marks a `held` run `approved` by `by`; false (nothing written) when it is not held (any more). */
  approveDriftRun(id: number, by: Email, osUser: string | undefined, at: Date): Promise<boolean>;
  /**
   * Claims `digest.period` for posting: true when this call recorded it, false when it was posted
   * already (by another replica, or before a restart). A concurrent claim waits for the first to
   * commit or roll back, so exactly one transaction posts each period.
   */
  claimDigest(digest: PostedDigest): Promise<boolean>;
  /** Same as `AccessStore.digestFigures`, inside the transaction. */
  digestFigures(period: Period, asOf: Date, bucketDays: number): Promise<DigestFigures>;
  /** Same as `AccessStore.auditHead`, inside the transaction. */
  auditHead(): Promise<{ seq: number; hash: string } | undefined>;
  /** Same as `AccessStore.auditHeadBefore`, inside the transaction. */
  auditHeadBefore(until: Date): Promise<{ seq: number; hash: string } | undefined>;
  /** Stores a signed checkpoint; returns its id. */
  recordCheckpoint(checkpoint: Checkpoint): Promise<number>;
  /**
   * Stores a finding as an alert raised at `at` and returns it; undefined (and nothing written) when
   * an alert with its key exists. NB: a replica inserting the same key at the same moment waits for
   * the first to commit and then inserts nothing, so the caller's audit event is written once.
   */
  raiseAlert(finding: Finding, at: Date): Promise<Alert | undefined>;
  /** Reads an alert and locks its row until the transaction ends. */
  lockAlert(id: number): Promise<Alert | undefined>;
  /** Records who acknowledged a (locked, unacknowledged) alert, when, and from where; returns it. */
  acknowledgeAlert(id: number, by: Email, at: Date, origin: Readonly<Record<string, unknown>>): Promise<Alert>;
  /**
   * Marks up to `limit` live grants expiring in (now, until] that have had no expiring-soon notice
   * as noticed, and returns their requests' ids. Rows other transactions hold are skipped.
   */
  claimExpiryNotices(now: Date, until: Date, limit: number): Promise<RequestId[]>;
}
