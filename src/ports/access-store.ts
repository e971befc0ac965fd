import type { AccessRequest, RequestState } from '../domain/access-request';
import type { Alert } from '../domain/alert';
import type { AuditEvent, ChainedAuditEvent, StoredAuditEvent } from '../domain/audit-event';
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
   * `break_glass_unreviewed` alert yet, oldest deadline first.
   */
  unreviewedBreakGlass(now: Date, limit: number): Promise<RequestId[]>;
  /**
   * Leases `notifier`'s delivery cursor to `owner` until `now + leaseMs` and returns it, or undefined
   * when another process holds it or its backoff has not passed. A notifier seen for the first time
   * starts at the current end of the audit log: it is not sent the history from before it existed.
   */
  claimNotificationCursor(notifier: string, owner: string, now: Date, leaseMs: number): Promise<NotificationCursor | undefined>;
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
   * Keys recorded before `forgetBefore` are deleted.
   */
  recordChatDelivery(key: string, at: Date, forgetBefore: Date): Promise<boolean>;

  /** Cheap round trip for readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
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
  /** Records an alert; false (and nothing written) when one of its kind was raised for the request already. */
  raiseAlert(alert: Alert, at: Date): Promise<boolean>;
  /**
   * Marks up to `limit` live grants expiring in (now, until] that have had no expiring-soon notice
   * as noticed, and returns their requests' ids. Rows other transactions hold are skipped.
   */
  claimExpiryNotices(now: Date, until: Date, limit: number): Promise<RequestId[]>;
}
