import type { ChainSegment, SegmentCheck } from '../domain/audit-chain';

/** A page of the log checked by a checker that read it itself: the check, and how many events it read. */
export interface StoredPageCheck {
  readonly check: SegmentCheck;
  readonly read: number;
}

/**
 * Recomputes the hashes of segments of the audit chain (`checkSegment`), possibly several at once:
 * in the calling thread, or in worker threads. Results are the segments' own; reading them in
 * order as one chain is the caller's job.
 */
export interface ChainChecker {
  /** How many segments it works on at once: the caller keeps about twice as many in flight. */
  readonly parallelism: number;
  check(segment: ChainSegment): Promise<SegmentCheck>;
  /**
   * Present when the checker can read the log itself (its threads hold their own database
   * connections): checks the events with seq in [from, from + limit) as stored, starting from the
   * stored hash of event from − 1 (the genesis hash for event 1), so nothing passes through the caller.
   */
  readonly checkStored?: (from: number, limit: number) => Promise<StoredPageCheck>;
  /** Stops any threads it started; further checks fail. */
  close(): Promise<void>;
}
