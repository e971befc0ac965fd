import { ChainVerifier, describeBreak, GENESIS_HASH, hashedFields } from '../domain/audit-chain';
import type { ChainedAuditEvent } from '../domain/audit-event';
import type { AccessStore } from '../ports/access-store';

const PAGE = 2_000;

export type VerifyReport =
  | { ok: true; count: number; head?: { seq: number; hash: string }; message: string }
  | { ok: false; count: number; message: string };

/**
 * Recomputes the whole chain from the first event. With `head` (a `seq:hash` recorded outside
 * the database earlier), also proves that event is still in the chain with the same hash, so a
 * cut-off tail or a rewritten history is caught.
 */
export async function verifyAuditLog(store: AccessStore, head?: { seq: number; hash: string }): Promise<VerifyReport> {
  const verifier = new ChainVerifier();
  // NB: the next page is read while this one is hashed, so the database and the hashing overlap.
  let from = 1;
  let next = store.readAudit(from, PAGE);
  for (;;) {
    const page = await next;
    from += PAGE;
    if (page.length === PAGE) next = store.readAudit(from, PAGE);
    let intact = true;
    for (const event of page) if (!(intact = verifier.add(event))) break;
    if (page.length < PAGE || !intact) {
      if (page.length === PAGE) await next.catch(() => undefined);
      break;
    }
  }
  // NB: a chain whose last events were deleted ends early without a visible gap; comparing with
  // the highest stored seq catches a hole at the end only when later rows remain, so the recorded
  // head (below) is what catches truncation.
  const result = verifier.result();
  if (!result.ok) return { ok: false, count: result.count, message: `audit chain broken: ${describeBreak(result.break)}` };
  const stored = await store.auditHead();
  if (stored && stored.seq !== result.head.seq) {
    return { ok: false, count: result.count, message: `audit chain broken: it ends at event ${result.head.seq} but events up to ${stored.seq} exist` };
  }
  const tip = result.count > 0 ? result.head : undefined;
  if (head) {
    if (!tip || tip.seq < head.seq) {
      return {
        ok: false,
        count: result.count,
        message: `recorded head ${head.seq}:${head.hash.slice(0, 12)}… is missing: the log ends at ${tip ? tip.seq : 'nothing'}; events were cut off`,
      };
    }
    const event = await store.auditEventAt(head.seq);
    if (!event || event.hash !== head.hash) {
      return {
        ok: false,
        count: result.count,
        message: `recorded head ${head.seq}:${head.hash.slice(0, 12)}… does not match event ${head.seq} (hash ${event?.hash.slice(0, 12) ?? 'none'}…): the history was rewritten`,
      };
    }
  }
  const headText = tip ? ` (head ${tip.seq}:${tip.hash})` : '';
  return {
    ok: true,
    count: result.count,
    ...(tip ? { head: tip } : {}),
    message: `audit chain intact: ${result.count} event${result.count === 1 ? '' : 's'} verified${headText}${head ? `; recorded head ${head.seq} is in the chain` : ''}`,
  };
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
export function verifyExportLines(lines: Iterable<string>): VerifyReport {
  let verifier: ChainVerifier | undefined;
  let first: ChainedAuditEvent | undefined;
  let lineNo = 0;
  for (const raw of lines) {
    lineNo += 1;
    if (raw.trim() === '') continue;
    const event = parseExportLine(raw);
    if (typeof event === 'string') return { ok: false, count: verifier?.result().count ?? 0, message: `line ${lineNo}: ${event}` };
    if (!verifier) {
      first = event;
      verifier = new ChainVerifier({ seq: event.seq, prevHash: event.prevHash });
    }
    if (!verifier.add(event)) break;
  }
  if (!verifier || !first) return { ok: false, count: 0, message: 'the export holds no events' };
  const result = verifier.result();
  if (!result.ok) return { ok: false, count: result.count, message: `export broken: ${describeBreak(result.break)}` };
  const start =
    first.prevHash === GENESIS_HASH && first.seq === 1
      ? 'from the first event of the log'
      : `from event ${first.seq}, which links to an earlier event with hash ${first.prevHash}`;
  return {
    ok: true,
    count: result.count,
    head: result.head,
    message: `export intact: ${result.count} event${result.count === 1 ? '' : 's'} verified ${start}; last ${result.head.seq}:${result.head.hash}`,
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
  return {
    seq: v.seq as number,
    occurredAt,
    actor: v.actor,
    action: v.action,
    requestId: v.requestId,
    data: v.data as Record<string, unknown>,
    prevHash: v.prevHash,
    hash: v.hash,
  };
}
