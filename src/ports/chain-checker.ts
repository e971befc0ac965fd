import type { ChainSegment, SegmentCheck } from '../domain/audit-chain';

/**
 * Recomputes the hashes of segments of the audit chain (`checkSegment`), possibly several at once:
 * in the calling thread, or in worker threads. Results are the segments' own; reading them in
 * order as one chain is the caller's job.
 */
export interface ChainChecker {
  /** How many segments it works on at once: the caller keeps about twice as many in flight. */
  readonly parallelism: number;
  check(segment: ChainSegment): Promise<SegmentCheck>;
  /** Stops any threads it started; further checks fail. */
  close(): Promise<void>;
}
