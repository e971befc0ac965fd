import { hash } from 'node:crypto';
import type { ChainedAuditEvent, StoredAuditEvent } from './audit-event';
import { canonicalJson } from './canonical-json';

/** The `prev_hash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers, in the form that is canonicalised (RFC 8785). */
export function hashedFields(event: Omit<ChainedAuditEvent, 'prevHash' | 'hash'>): Record<string, unknown> {
  return {
    seq: event.seq,
    occurredAt: event.occurredAt.toISOString(),
    actor: event.actor,
    action: event.action,
    requestId: event.requestId,
    data: event.data,
  };
}

/**
 * hash = lower-case hex SHA-256 of the UTF-8 bytes of (prevHash ‖ JCS(fields)), where JCS is the
 * RFC 8785 canonical JSON of {seq, occurredAt, actor, action, requestId, data}. The README
 * documents this so that an auditor can re-check an export independently.
 */
export function chainHash(prevHash: string, event: Omit<ChainedAuditEvent, 'prevHash' | 'hash'>): string {
  return linkHash(prevHash, event.seq, event.occurredAt.toISOString(), event.actor, event.action, event.requestId, canonicalJson(event.data));
}

/**
 * The hash of an event as the database holds it (`occurredAt` as its ISO 8601 text, `data` as JSON
 * text), or undefined when its data is not JSON at all.
 */
export function storedChainHash(event: StoredAuditEvent): string | undefined {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return undefined;
  }
  return linkHash(event.prevHash, event.seq, event.occurredAt, event.actor, event.action, event.requestId, canonicalJson(data));
}

/**
 * NB: the six covered fields written in their canonical order (action, actor, data, occurredAt,
 * requestId, seq: sorted by UTF-16 code units) without sorting them for every event; the result is
 * exactly JCS of the object `hashedFields` returns (test/domain/audit-chain.test.ts checks both).
 */
function linkHash(prevHash: string, seq: number, occurredAt: string, actor: string, action: string, requestId: string | null, data: string): string {
  const canonical = `{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)},"data":${data},"occurredAt":${JSON.stringify(occurredAt)},"requestId":${requestId === null ? 'null' : JSON.stringify(requestId)},"seq":${canonicalJson(seq)}}`;
  // NB: the one-shot hash (Node ≥ 20.12) is several times cheaper than a Hash object per event,
  // which is what `audit verify` spends most of its time on.
  return hash('sha256', prevHash + canonical, 'hex');
}

export type ChainBreak =
  | { kind: 'gap'; expectedSeq: number; foundSeq: number }
  | { kind: 'prev_hash_mismatch'; seq: number; expected: string; found: string }
  | { kind: 'hash_mismatch'; seq: number; expected: string; found: string }
  | { kind: 'unreadable'; seq: number };

export type ChainResult = { ok: true; count: number; head: { seq: number; hash: string } } | { ok: false; count: number; break: ChainBreak };

/** Incremental verifier: feed events in `seq` order; the first break is kept. */
export class ChainVerifier {
  private expectedSeq: number;
  private lastHash: string;
  private count = 0;
  private broken: ChainBreak | undefined;

  constructor(start: { seq: number; prevHash: string } = { seq: 1, prevHash: GENESIS_HASH }) {
    this.expectedSeq = start.seq;
    this.lastHash = start.prevHash;
  }

  /** Returns false once the chain is broken; further events are ignored. */
  add(event: ChainedAuditEvent): boolean {
    return this.link(event, () => chainHash(event.prevHash, event));
  }

  /** `add` for an event as the database holds it (see `StoredAuditEvent`). */
  addStored(event: StoredAuditEvent): boolean {
    return this.link(event, () => storedChainHash(event));
  }

  private link(event: { seq: number; prevHash: string; hash: string }, recompute: () => string | undefined): boolean {
    if (this.broken) return false;
    if (event.seq !== this.expectedSeq) {
      this.broken = { kind: 'gap', expectedSeq: this.expectedSeq, foundSeq: event.seq };
      return false;
    }
    if (event.prevHash !== this.lastHash) {
      this.broken = { kind: 'prev_hash_mismatch', seq: event.seq, expected: this.lastHash, found: event.prevHash };
      return false;
    }
    const recomputed = recompute();
    if (recomputed === undefined) {
      this.broken = { kind: 'unreadable', seq: event.seq };
      return false;
    }
    if (recomputed !== event.hash) {
      this.broken = { kind: 'hash_mismatch', seq: event.seq, expected: recomputed, found: event.hash };
      return false;
    }
    this.lastHash = event.hash;
    this.expectedSeq += 1;
    this.count += 1;
    return true;
  }

  result(): ChainResult {
    if (this.broken) return { ok: false, count: this.count, break: this.broken };
    return { ok: true, count: this.count, head: { seq: this.expectedSeq - 1, hash: this.lastHash } };
  }
}

/**
 * A run of consecutive events to check on its own: `start` is the seq the first should have and the
 * hash it should link to (the stored hash of the event before it), so that segments can be checked
 * in parallel and their results read in order as one chain.
 */
export interface ChainSegment {
  readonly start: { readonly seq: number; readonly prevHash: string };
  readonly events: readonly StoredAuditEvent[];
}

/** What checking a segment found: how many events verified, the last of them, and the first break. */
export interface SegmentCheck {
  readonly count: number;
  readonly last?: { readonly seq: number; readonly hash: string };
  readonly break?: ChainBreak;
}

/**
 * Checks one segment. Its result is what `ChainVerifier` would find at these events after walking
 * every event before them intact, so the first segment (in seq order) with a break names the same
 * first broken link as one walk over the whole chain.
 */
export function checkSegment(segment: ChainSegment): SegmentCheck {
  const verifier = new ChainVerifier(segment.start);
  for (const event of segment.events) if (!verifier.addStored(event)) break;
  const result = verifier.result();
  if (!result.ok) return { count: result.count, break: result.break };
  return result.count > 0 ? { count: result.count, last: result.head } : { count: 0 };
}

/** One sentence naming the first broken or missing link, for `audit verify`. */
export function describeBreak(brk: ChainBreak): string {
  switch (brk.kind) {
    case 'gap':
      return brk.foundSeq > brk.expectedSeq
        ? `event ${brk.expectedSeq}${brk.foundSeq - brk.expectedSeq > 1 ? `–${brk.foundSeq - 1}` : ''} is missing (next present is ${brk.foundSeq})`
        : `event ${brk.foundSeq} appears out of order (expected ${brk.expectedSeq})`;
    case 'prev_hash_mismatch':
      return `event ${brk.seq} does not link to the event before it (prev_hash ${brk.found.slice(0, 12)}…, expected ${brk.expected.slice(0, 12)}…)`;
    case 'hash_mismatch':
      return `event ${brk.seq} was altered: its content hashes to ${brk.expected.slice(0, 12)}…, stored hash is ${brk.found.slice(0, 12)}…`;
    case 'unreadable':
      return `event ${brk.seq} was altered: its data is not JSON`;
  }
}
