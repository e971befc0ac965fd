import type { AccessRequest, RequestState } from '../domain/access-request';
import type { AuditEvent, ChainedAuditEvent } from '../domain/audit-event';
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
  /** Events that occurred in [since, until), in `seq` order, for export. */
  readAuditBetween(range: { since?: Date; until?: Date }, afterSeq: number, limit: number): Promise<ChainedAuditEvent[]>;
  /** The event with this `seq`, if present. */
  auditEventAt(seq: number): Promise<ChainedAuditEvent | undefined>;

  /** The text of a policy that was in force, by its SHA-256. */
  policyText(sha256: string): Promise<string | undefined>;
  /** The SHA-256 of the policy most recently activated, if any. */
  activePolicySha(): Promise<string | undefined>;

  /** Cheap round trip for readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RequestFilter {
  readonly requester?: Email;
  readonly states?: readonly RequestState[];
  readonly role?: string;
  readonly limit?: number;
}

export interface StoreTransaction {
  /** Reads the request and locks its row until the transaction ends (SELECT … FOR UPDATE). */
  lockRequest(id: RequestId): Promise<AccessRequest | undefined>;
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
}
