import { ChainVerifier, checkSegment, describeBreak, GENESIS_HASH, hashedFields, type ChainBreak } from '../domain/audit-chain';
import type { ChainedAuditEvent } from '../domain/audit-event';
import type { AccessStore, AuditStateGap } from '../ports/access-store';
import type { ChainChecker, StoredPageCheck } from '../ports/chain-checker';

// NB: measured on PostgreSQL: statements of up to 2,000 rows read faster than larger ones (large
// results outlive the young generation and cost major GCs), and a page is also what one thread hashes.
const PAGE = 2_000;
/** How many state rows without their events a report names. */
const GAPS_NAMED = 5;
/** Below this many events, starting threads costs more than hashing in this one. */
const PARALLEL_FROM = 20_000;

export type VerifyReport =
  | { ok: true; count: number; head?: { seq: number; hash: string }; message: string }
  | { ok: false; count: number; message: string };

export interface VerifyOptions {
  /** Hashes pages elsewhere (worker threads), for a log of at least `parallelFrom` events. */
  readonly parallel?: ChainChecker;
  readonly parallelFrom?: number;
  /** Events per page read (and per segment hashed). */
  readonly pageSize?: number;
  /** After each page: how many events are verified so far, of how many the log held when verify began. */
  readonly onProgress?: (verified: number, total: number) => void;
}

/**
 * Hashes in the calling thread. NB: it first lets pending I/O run, so the read of the next page is
 * sent before this page is hashed and the database works meanwhile.
 */
const inThisThread: ChainChecker = {
  parallelism: 1,
  check: async (segment) => {
    await new Promise((resolve) => setImmediate(resolve));
    return checkSegment(segment);
  },
  close: async () => undefined,
};

/**
 * Recomputes the whole chain from the first event, then checks that the state tables agree with
 * it: every request, approval and grant has the event that created it, and every request an event
 * names still exists. With `head` (a `seq:hash` recorded outside the database earlier), also
 * proves that event is still in the chain with the same hash, so a cut-off tail or a rewritten
 * history is caught.
 *
 * The log is read page by page (a bounded primary-key range each), never whole: each page is
 * handed to the checker as a segment that starts from the stored hash of the event before it, and
 * the checks are read back in order, so the first broken link is named exactly as by one walk.
 */
export async function verifyAuditLog(store: AccessStore, head?: { seq: number; hash: string }, options: VerifyOptions = {}): Promise<VerifyReport> {
  // NB: the chain is verified up to the head read now: events appended while verify runs are
  // not a break, and a log whose tail was cut off is caught by a head recorded earlier.
  const stored = await store.auditHead();
  const last = stored?.seq ?? 0;
  // NB: the state check is one long query (a pass over every event, grouped by request): on
  // PostgreSQL it runs on its own connection while the chain is walked. Only a request opened while
  // verify runs can differ between the two snapshots, and it has its event in both or neither.
  const gapsFound = store.auditStateGaps(GAPS_NAMED);
  gapsFound.catch(() => undefined); // awaited below unless the chain is broken
  const walked = await walkChain(store, last, options);
  if (walked.break) return { ok: false, count: walked.count, message: `audit chain broken: ${describeBreak(walked.break)}` };
  const result = { count: walked.count, head: walked.last };
  if (result.head.seq !== last) {
    return { ok: false, count: result.count, message: `audit chain broken: event ${result.head.seq + 1} is missing (the log holds events up to ${last})` };
  }
  if (stored && result.head.hash !== stored.hash) {
    return { ok: false, count: result.count, message: `audit chain broken: the last event ${last} does not match its chain` };
  }
  const tip = result.count > 0 ? result.head : undefined;
  if (head) {
    const problem = await headProblem(head, tip, (seq) => store.auditEventAt(seq));
    if (problem) return { ok: false, count: result.count, message: problem };
  }
  const gaps = await gapsFound;
  if (gaps.total > 0) {
    const more = gaps.total > gaps.first.length ? `; and ${gaps.total - gaps.first.length} more` : '';
    return {
      ok: false,
      count: result.count,
      message: `audit chain intact (${result.count} event${result.count === 1 ? '' : 's'}), but the state tables disagree with it in ${gaps.total} place${gaps.total === 1 ? '' : 's'}: ${gaps.first.map(describeGap).join('; ')}${more}`,
    };
  }
  const headText = tip ? ` (head ${tip.seq}:${tip.hash})` : '';
  return {
    ok: true,
    count: result.count,
    ...(tip ? { head: tip } : {}),
    message: `audit chain intact: ${result.count} event${result.count === 1 ? '' : 's'} verified${headText}${head ? `; recorded head ${head.seq} is in the chain` : ''}; every request, approval and grant has the event that created it`,
  };
}

/**
 * Walks events 1..last page by page, keeping at most twice the checker's parallelism of pages in
 * flight (in memory), and merges the checks in order. Pages are read here, one ahead of the checks,
 * unless the checker reads them itself. Stops at the first break, and after a page that came back
 * short (events missing at its end: the caller names the first of them).
 */
async function walkChain(store: AccessStore, last: number, options: VerifyOptions): Promise<{ count: number; last: { seq: number; hash: string }; break?: ChainBreak }> {
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? PAGE));
  const checker = options.parallel && last >= (options.parallelFrom ?? PARALLEL_FROM) ? options.parallel : inThisThread;
  const checkPage = checker.checkStored ?? readHereAndCheck(store, checker);
  const inFlight: { expected: number; page: Promise<StoredPageCheck> }[] = [];
  let verified = 0;
  let tip = { seq: 0, hash: GENESIS_HASH };
  let found: ChainBreak | undefined;
  let ended = false;
  const settleOldest = async (): Promise<void> => {
    const oldest = inFlight.shift();
    if (!oldest) return;
    const { check, read } = await oldest.page;
    if (ended) return;
    verified += check.count;
    if (check.last) tip = check.last;
    found = check.break;
    // NB: a short page ends the walk (its missing events are the break).
    ended = check.break !== undefined || read < oldest.expected;
    options.onProgress?.(verified, last);
  };
  try {
    for (let from = 1; from <= last && !ended; from += pageSize) {
      const expected = Math.min(pageSize, last - from + 1);
      const page = checkPage(from, expected);
      page.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
      inFlight.push({ expected, page });
      while (inFlight.length >= 2 * checker.parallelism && !ended) await settleOldest();
    }
    while (inFlight.length > 0 && !ended) await settleOldest();
  } finally {
    // NB: after a break, pages still being read or checked are of no interest; let them finish quietly.
    ended = true;
    await Promise.allSettled(inFlight.map((f) => f.page));
  }
  return found ? { count: verified, last: tip, break: found } : { count: verified, last: tip };
}

/**
 * Pages read in this thread, one after the other, each checked from the stored hash of the event
 * before it. NB: not from a verified hash: should that event be broken, its own page names the
 * break first, and this page's result is never read.
 */
function readHereAndCheck(store: AccessStore, checker: ChainChecker): (from: number, limit: number) => Promise<StoredPageCheck> {
  let previous: Promise<string> = Promise.resolve(GENESIS_HASH);
  return (from, limit) => {
    const read = previous.then(async (prevHash) => ({ prevHash, events: await store.readStoredAudit(from, limit) }));
    previous = read.then(
      ({ prevHash, events }) => events.at(-1)?.hash ?? prevHash,
      () => GENESIS_HASH,
    );
    return read.then(async ({ prevHash, events }) => ({ check: await checker.check({ start: { seq: from, prevHash }, events }), read: events.length }));
  };
}

function describeGap(gap: AuditStateGap): string {
  switch (gap.kind) {
    case 'request_without_event':
      return `request ${gap.requestId} has no request_opened event`;
    case 'approval_without_event':
      return `the approval of request ${gap.requestId} by ${gap.approver ?? '?'} has no approval_recorded event`;
    case 'grant_without_event':
      return `the grant of request ${gap.requestId} has no access_granted event`;
    case 'events_without_request':
      return `events name request ${gap.requestId}, which is not in access_requests`;
  }
}

/** Why a recorded head is not in a verified chain ending at `tip`, or undefined when it is. */
async function headProblem(
  head: { seq: number; hash: string },
  tip: { seq: number; hash: string } | undefined,
  eventAt: (seq: number) => Promise<{ hash: string } | undefined> | { hash: string } | undefined,
): Promise<string | undefined> {
  if (!tip || tip.seq < head.seq) {
    return `recorded head ${head.seq}:${head.hash.slice(0, 12)}… is missing: the log ends at ${tip ? tip.seq : 'nothing'}; events were cut off`;
  }
  const event = await eventAt(head.seq);
  if (!event || event.hash !== head.hash) {
    return `recorded head ${head.seq}:${head.hash.slice(0, 12)}… does not match event ${head.seq} (hash ${event?.hash.slice(0, 12) ?? 'none'}…): the history was rewritten`;
  }
  return undefined;
}

/** `seq:hash` as printed by `audit head`. */
export function parseHead(text: string): { seq: number; hash: string } | undefined {
  const match = /^\s*(\d{1,15}):([0-9a-f]{64})\s*$/i.exec(text);
  return match ? { seq: Number(match[1]), hash: (match[2] ?? '').toLowerCase() } : undefined;
}

/** One exported line: the event exactly as chained, with its hashes. */
export function exportLine(event: ChainedAuditEvent): string {
  return JSON.stringify({ ...hashedFields(event), prevHash: event.prevHash, hash: event.hash });
}

/**
 * Verifies a JSON Lines export with no database. An export that starts mid-chain (`--since`) is
 * checked from its first event; the first event's `prevHash` is reported for matching against
 * the live log or an earlier export.
 */
export async function verifyExportLines(
  lines: Iterable<string> | AsyncIterable<string>,
  head?: { seq: number; hash: string },
  onProgress?: (verified: number) => void,
): Promise<VerifyReport> {
  let verifier: ChainVerifier | undefined;
  let first: ChainedAuditEvent | undefined;
  let headSeen: { hash: string } | undefined;
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo += 1;
    if (raw.trim() === '') continue;
    const event = parseExportLine(raw);
    if (typeof event === 'string') return { ok: false, count: verifier?.result().count ?? 0, message: `line ${lineNo}: ${event}` };
    if (!verifier) {
      first = event;
      verifier = new ChainVerifier({ seq: event.seq, prevHash: event.prevHash });
    }
    if (!verifier.add(event)) break;
    if (head && event.seq === head.seq) headSeen = event;
    if (onProgress && lineNo % PAGE === 0) onProgress(verifier.result().count);
  }
  if (!verifier || !first) return { ok: false, count: 0, message: 'the export holds no events' };
  const result = verifier.result();
  if (!result.ok) return { ok: false, count: result.count, message: `export broken: ${describeBreak(result.break)}` };
  if (head) {
    if (first.seq > head.seq) return { ok: false, count: result.count, message: `the export starts at event ${first.seq}, after the recorded head ${head.seq}` };
    const problem = await headProblem(head, result.head, () => headSeen);
    if (problem) return { ok: false, count: result.count, message: problem };
  }
  const start =
    first.prevHash === GENESIS_HASH && first.seq === 1
      ? 'from the first event of the log'
      : `from event ${first.seq}, which links to an earlier event with hash ${first.prevHash}`;
  return {
    ok: true,
    count: result.count,
    head: result.head,
    message: `export intact: ${result.count} event${result.count === 1 ? '' : 's'} verified ${start}; last ${result.head.seq}:${result.head.hash}${head ? `; recorded head ${head.seq} is in it` : ''}`,
  };
}

function parseExportLine(raw: string): ChainedAuditEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'not valid JSON';
  }
  const v = value as Record<string, unknown>;
  const isStr = (x: unknown): x is string => typeof x === 'string';
  if (
    typeof v !== 'object' ||
    v === null ||
    !Number.isSafeInteger(v.seq) ||
    !isStr(v.occurredAt) ||
    !isStr(v.actor) ||
    !isStr(v.action) ||
    !(v.requestId === null || isStr(v.requestId)) ||
    typeof v.data !== 'object' ||
    v.data === null ||
    !isStr(v.prevHash) ||
    !isStr(v.hash)
  ) {
    return 'not an audit event (expected seq, occurredAt, actor, action, requestId, data, prevHash, hash)';
  }
  const occurredAt = new Date(v.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) return `occurredAt ${JSON.stringify(v.occurredAt)} is not a timestamp`;
  const event: ChainedAuditEvent = {
    seq: v.seq as number,
    occurredAt,
    actor: v.actor,
    action: v.action,
    requestId: v.requestId,
    data: v.data as Record<string, unknown>,
    prevHash: v.prevHash,
    hash: v.hash,
  };
  // NB: only what is hashed may be in a line: an extra key (say "approvedBy") or a duplicate key
  // would be read by people but not covered by the hash. Our export writes exactly this form.
  if (exportLine(event) !== raw.trim()) return 'not exactly as exported: extra, duplicate or reformatted fields are not covered by the hash';
  return event;
}
