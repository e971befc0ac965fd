import { ChainVerifier, describeBreak, GENESIS_HASH, hashedFields } from '../domain/audit-chain';
import type { ChainedAuditEvent } from '../domain/audit-event';
import type { AccessStore, AuditStateGap } from '../ports/access-store';

const PAGE = 2_000;
/** How many state rows without their events a report names. */
const GAPS_NAMED = 5;

export type VerifyReport =
  | { ok: true; count: number; head?: { seq: number; hash: string }; message: string }
  | { ok: false; count: number; message: string };

/**
 * Recomputes the whole chain from the first event, then checks that the state tables agree with
 * it: every request, approval and grant has the event that created it, and every request an event
 * names still exists. With `head` (a `seq:hash` recorded outside the database earlier), also
 * proves that event is still in the chain with the same hash, so a cut-off tail or a rewritten
 * history is caught.
 */
export async function verifyAuditLog(store: AccessStore, head?: { seq: number; hash: string }): Promise<VerifyReport> {
  // NB: the chain is verified up to the head read now: events appended while verify runs are
  // not a break, and a log whose tail was cut off is caught by a head recorded earlier.
  const stored = await store.auditHead();
  const last = stored?.seq ?? 0;
  const verifier = new ChainVerifier();
  // NB: the next page is read while this one is hashed, so the database and the hashing overlap.
  let from = 1;
  let next = last > 0 ? store.readAudit(from, Math.min(PAGE, last)) : Promise.resolve([]);
  while (from <= last) {
    const page = await next;
    const nextFrom = from + PAGE;
    if (page.length === PAGE && nextFrom <= last) next = store.readAudit(nextFrom, Math.min(PAGE, last - nextFrom + 1));
    let intact = true;
    for (const event of page) if (!(intact = verifier.add(event))) break;
    if (!intact || page.length < Math.min(PAGE, last - from + 1)) {
      if (nextFrom <= last && page.length === PAGE) await next.catch(() => undefined);
      break;
    }
    from = nextFrom;
  }
  const result = verifier.result();
  if (!result.ok) return { ok: false, count: result.count, message: `audit chain broken: ${describeBreak(result.break)}` };
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
  const gaps = await store.auditStateGaps(GAPS_NAMED);
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
export async function verifyExportLines(lines: Iterable<string> | AsyncIterable<string>, head?: { seq: number; hash: string }): Promise<VerifyReport> {
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
