import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ChainVerifier, chainHash, checkSegment, describeBreak, GENESIS_HASH, hashedFields, storedChainHash, type SegmentCheck } from '../../src/domain/audit-chain';
import type { ChainedAuditEvent, StoredAuditEvent } from '../../src/domain/audit-event';

type Unchained = Omit<ChainedAuditEvent, 'prevHash' | 'hash'>;

function sha256Hex(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
}

/** Links events the way the store does: each prev_hash is the hash before it. */
function chain(events: readonly Unchained[], prevHash: string = GENESIS_HASH): ChainedAuditEvent[] {
  const out: ChainedAuditEvent[] = [];
  let prev = prevHash;
  for (const event of events) {
    const hash = chainHash(prev, event);
    out.push({ ...event, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

function event(seq: number, action = 'approval_recorded', data: Record<string, unknown> = { role: 'db-admin' }): Unchained {
  return {
    seq,
    occurredAt: new Date(Date.parse('2026-03-03T10:00:00Z') + seq * 60_000),
    actor: 'alice@example.com',
    action,
    requestId: 'REQ00001',
    data,
  };
}

/** An event as the database gives it back for checking: time as ISO text, data as (jsonb-ordered) JSON text. */
function stored(event: ChainedAuditEvent): StoredAuditEvent {
  const keys = Object.keys(event.data).sort((x, y) => x.length - y.length || (x < y ? -1 : 1));
  const data = `{${keys.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(event.data[k])}`).join(', ')}}`;
  return { ...event, occurredAt: event.occurredAt.toISOString(), data };
}

function verify(events: readonly ChainedAuditEvent[], start?: { seq: number; prevHash: string }) {
  const verifier = new ChainVerifier(start);
  for (const e of events) verifier.add(e);
  return verifier.result();
}

describe('chainHash', () => {
  it('is sha256(prevHash ‖ RFC 8785 JSON of the event), recomputed by hand', () => {
    // Given a small event whose data keys are out of order and hold a non-ASCII character
    const prevHash = 'ab'.repeat(32);
    const e: Unchained = {
      seq: 7,
      occurredAt: new Date('2026-03-03T10:00:00Z'),
      actor: 'alice@example.com',
      action: 'request_opened',
      requestId: 'REQ00001',
      data: { role: 'db-admin', reason: 'zoë says "hi"', approvals: 2, breakGlass: false },
    };
    // And the canonical form written out by hand: keys sorted at every level, no white space
    const canonical =
      '{"action":"request_opened","actor":"alice@example.com",' +
      '"data":{"approvals":2,"breakGlass":false,"reason":"zoë says \\"hi\\"","role":"db-admin"},' +
      '"occurredAt":"2026-03-03T10:00:00.000Z","requestId":"REQ00001","seq":7}';
    // When
    const hash = chainHash(prevHash, e);
    // Then
    expect(hash).toBe(sha256Hex(prevHash + canonical));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes a null request id as JSON null', () => {
    // Given a policy event, which belongs to no request
    const e: Unchained = { seq: 1, occurredAt: new Date('2026-03-03T10:00:00Z'), actor: 'system', action: 'policy_activated', requestId: null, data: {} };
    // When
    const hash = chainHash(GENESIS_HASH, e);
    // Then
    expect(hash).toBe(
      sha256Hex(`${GENESIS_HASH}{"action":"policy_activated","actor":"system","data":{},"occurredAt":"2026-03-03T10:00:00.000Z","requestId":null,"seq":1}`),
    );
  });

  it('covers exactly seq, occurredAt, actor, action, requestId and data', () => {
    // Given / When
    const fields = hashedFields(event(3));
    // Then
    expect(Object.keys(fields).sort()).toEqual(['action', 'actor', 'data', 'occurredAt', 'requestId', 'seq']);
    expect(fields['occurredAt']).toBe('2026-03-03T10:03:00.000Z');
  });

  it('changes when the previous hash or any covered field changes', () => {
    // Given
    const base = event(1);
    const hash = chainHash(GENESIS_HASH, base);
    // When / Then
    expect(chainHash('1'.repeat(64), base)).not.toBe(hash);
    expect(chainHash(GENESIS_HASH, { ...base, seq: 2 })).not.toBe(hash);
    expect(chainHash(GENESIS_HASH, { ...base, occurredAt: new Date(base.occurredAt.getTime() + 1) })).not.toBe(hash);
    expect(chainHash(GENESIS_HASH, { ...base, actor: 'bob@example.com' })).not.toBe(hash);
    expect(chainHash(GENESIS_HASH, { ...base, action: 'request_denied' })).not.toBe(hash);
    expect(chainHash(GENESIS_HASH, { ...base, requestId: null })).not.toBe(hash);
    expect(chainHash(GENESIS_HASH, { ...base, data: { role: 'db-admin ' } })).not.toBe(hash);
  });

  it('is the hash of exactly the canonicalize package\'s JCS of hashedFields', () => {
    // Given events with every covered field set, data nested and in no particular order
    const events = [event(1), { ...event(2, 'policy_activated', { z: [1, { b: 2, a: 'é"\\\n' }], a: null }), requestId: null }, { ...event(3), actor: 'x"y' }];
    // When / Then
    for (const e of events) expect(chainHash('cd'.repeat(32), e)).toBe(sha256Hex('cd'.repeat(32) + (canonicalize(hashedFields(e)) ?? '')));
  });

  it('does not depend on the order of keys in data', () => {
    // Given the same data built in two orders
    const a = { ...event(1), data: { a: 1, b: { c: 2, d: 3 } } };
    const b = { ...event(1), data: { b: { d: 3, c: 2 }, a: 1 } };
    // When / Then
    expect(chainHash(GENESIS_HASH, a)).toBe(chainHash(GENESIS_HASH, b));
  });
});

describe('ChainVerifier', () => {
  const events = chain([event(1, 'request_opened'), event(2), event(3), event(4, 'request_approved'), event(5, 'access_granted')]);

  it('accepts a valid chain and reports its head', () => {
    // Given five linked events
    // When
    const result = verify(events);
    // Then
    expect(result).toEqual({ ok: true, count: 5, head: { seq: 5, hash: events[4]?.hash } });
  });

  it('accepts an empty chain with the genesis head', () => {
    // Given / When
    const result = verify([]);
    // Then
    expect(result).toEqual({ ok: true, count: 0, head: { seq: 0, hash: GENESIS_HASH } });
  });

  it('names an edited event as a hash mismatch', () => {
    // Given event 3's data changed after it was written
    const edited = events.map((e) => (e.seq === 3 ? { ...e, data: { role: 'db-admin', note: 'nothing to see' } } : e));
    // When
    const result = verify(edited);
    // Then
    expect(result).toEqual({
      ok: false,
      count: 2,
      break: { kind: 'hash_mismatch', seq: 3, expected: chainHash(events[1]?.hash ?? '', edited[2] as ChainedAuditEvent), found: events[2]?.hash },
    });
  });

  it('names a deleted event as a gap', () => {
    // Given event 3 removed
    const deleted = events.filter((e) => e.seq !== 3);
    // When
    const result = verify(deleted);
    // Then
    expect(result).toEqual({ ok: false, count: 2, break: { kind: 'gap', expectedSeq: 3, foundSeq: 4 } });
  });

  it('names a deletion hidden by renumbering as a prev_hash mismatch', () => {
    // Given event 3 removed and 4, 5 renumbered to 3, 4 with fresh hashes of their own
    const renumbered = [...events.slice(0, 2), ...chain([event(3, 'request_approved'), event(4, 'access_granted')], events[2]?.hash)];
    // When
    const result = verify(renumbered);
    // Then: event 3 now points at the deleted event's hash, not at event 2's
    expect(result).toEqual({ ok: false, count: 2, break: { kind: 'prev_hash_mismatch', seq: 3, expected: events[1]?.hash, found: events[2]?.hash } });
  });

  it('names a re-linked event as a prev_hash mismatch', () => {
    // Given event 4 re-hashed so that it links to event 2, skipping 3
    const relinked = [...events.slice(0, 3), ...chain([events[3] as Unchained], events[1]?.hash), events[4] as ChainedAuditEvent];
    // When
    const result = verify(relinked);
    // Then
    expect(result).toEqual({
      ok: false,
      count: 3,
      break: { kind: 'prev_hash_mismatch', seq: 4, expected: events[2]?.hash, found: events[1]?.hash },
    });
  });

  it('keeps the first break and ignores what follows', () => {
    // Given an edit at 2 and a gap at 4
    const broken = events.map((e) => (e.seq === 2 ? { ...e, actor: 'mallory@example.com' } : e)).filter((e) => e.seq !== 4);
    const verifier = new ChainVerifier();
    // When
    const accepted = broken.map((e) => verifier.add(e));
    // Then
    expect(accepted).toEqual([true, false, false, false]);
    const result = verifier.result();
    expect(result).toMatchObject({ ok: false, count: 1, break: { kind: 'hash_mismatch', seq: 2 } });
  });

  it('continues from a recorded head', () => {
    // Given the head (seq 2, hash of 2) recorded outside the database earlier
    const head = { seq: 2, hash: events[1]?.hash ?? '' };
    // When verifying only what came after it
    const result = verify(events.slice(2), { seq: head.seq + 1, prevHash: head.hash });
    // Then
    expect(result).toEqual({ ok: true, count: 3, head: { seq: 5, hash: events[4]?.hash } });
  });

  it('refuses to continue from a recorded head that is not in the chain', () => {
    // Given a head whose hash was never written
    const verifier = new ChainVerifier({ seq: 3, prevHash: 'f'.repeat(64) });
    // When
    for (const e of events.slice(2)) verifier.add(e);
    // Then
    expect(verifier.result()).toEqual({ ok: false, count: 0, break: { kind: 'prev_hash_mismatch', seq: 3, expected: 'f'.repeat(64), found: events[1]?.hash } });
  });
});

describe('storedChainHash', () => {
  it('is the chain hash of the event the stored text holds', () => {
    // Given a chained event and its stored form (ISO time, JSON text with jsonb's key order)
    const [first] = chain([{ ...event(1), data: { role: 'db-admin', reason: 'zoë says "hi"', approvals: 2, nested: { b: 1, a: [true, null] } } }]);
    if (!first) throw new Error('no event');
    // When / Then
    expect(storedChainHash(stored(first))).toBe(first.hash);
  });

  it('has no hash for data that is not JSON', () => {
    // Given / When / Then
    const [first] = chain([event(1)]);
    if (!first) throw new Error('no event');
    expect(storedChainHash({ ...stored(first), data: '{"role": ' })).toBeUndefined();
  });
});

describe('checkSegment', () => {
  const events = chain(Array.from({ length: 9 }, (_, i) => event(i + 1)));
  const rows = events.map(stored);

  /** The segments of `all` cut at `cuts`, each started as `audit verify` starts it (the stored hash before it). */
  function inSegments(all: readonly StoredAuditEvent[], cuts: readonly number[], firstSeq = 1): SegmentCheck[] {
    const bounds = [0, ...cuts, all.length];
    return bounds.slice(1).map((end, i) => {
      const begin = bounds[i] ?? 0;
      const before = all[begin - 1];
      return checkSegment({ start: { seq: firstSeq + begin, prevHash: before ? before.hash : GENESIS_HASH }, events: all.slice(begin, end) });
    });
  }

  /** What the segments say together, read in order: the first break, and how many verified before it. */
  function merged(checks: readonly SegmentCheck[]) {
    let count = 0;
    for (const check of checks) {
      count += check.count;
      if (check.break) return { ok: false, count, break: check.break };
    }
    return { ok: true, count };
  }

  it('verifies an intact segment and reports its last event', () => {
    // Given / When
    const check = checkSegment({ start: { seq: 4, prevHash: events[2]?.hash ?? '' }, events: rows.slice(3, 6) });
    // Then
    expect(check).toEqual({ count: 3, last: { seq: 6, hash: events[5]?.hash } });
  });

  it('reports nothing verified for an empty segment', () => {
    // Given / When / Then
    expect(checkSegment({ start: { seq: 4, prevHash: GENESIS_HASH }, events: [] })).toEqual({ count: 0 });
  });

  it('names the same first break as one walk over the whole chain, wherever the segments are cut', () => {
    // Given the chain tampered in each way verify must name: content edited, an event deleted, one
    // re-linked, data that is no longer JSON, and two edits (the first must win)
    const tampered: Record<string, StoredAuditEvent[]> = {
      edited: rows.map((r) => (r.seq === 5 ? { ...r, actor: 'mallory@example.com' } : r)),
      deleted: rows.filter((r) => r.seq !== 6),
      relinked: rows.map((r) => (r.seq === 4 ? { ...r, prevHash: events[1]?.hash ?? '' } : r)),
      unreadable: rows.map((r) => (r.seq === 3 ? { ...r, data: 'not json' } : r)),
      twice: rows.map((r) => (r.seq === 7 || r.seq === 3 ? { ...r, action: 'request_denied' } : r)),
    };
    for (const [name, all] of Object.entries(tampered)) {
      // When checked in one walk, and in segments cut at every pair of places
      const walk = new ChainVerifier();
      for (const r of all) if (!walk.addStored(r)) break;
      const expected = walk.result();
      for (let a = 0; a <= all.length; a++) {
        for (let b = a; b <= all.length; b++) {
          // Then the merged segments name the same break, after the same number of events
          expect({ name, a, b, ...merged(inSegments(all, [a, b])) }).toEqual({ name, a, b, ok: false, count: expected.count, break: !expected.ok && expected.break });
        }
      }
    }
  });

  it('names data that is not JSON', () => {
    // Given / When
    const check = checkSegment({ start: { seq: 1, prevHash: GENESIS_HASH }, events: [{ ...(rows[0] as StoredAuditEvent), data: '{' }] });
    // Then
    expect(check.break).toEqual({ kind: 'unreadable', seq: 1 });
    expect(describeBreak({ kind: 'unreadable', seq: 1 })).toBe('event 1 was altered: its data is not JSON');
  });
});

describe('describeBreak', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);

  it('names a single missing event', () => {
    // Given / When / Then
    expect(describeBreak({ kind: 'gap', expectedSeq: 3, foundSeq: 4 })).toBe('event 3 is missing (next present is 4)');
  });

  it('names a range of missing events', () => {
    // Given / When / Then
    expect(describeBreak({ kind: 'gap', expectedSeq: 3, foundSeq: 7 })).toBe('event 3–6 is missing (next present is 7)');
  });

  it('names an event out of order', () => {
    // Given / When / Then
    expect(describeBreak({ kind: 'gap', expectedSeq: 5, foundSeq: 2 })).toBe('event 2 appears out of order (expected 5)');
  });

  it('names an event that does not link to the one before it, with short hashes', () => {
    // Given / When / Then
    expect(describeBreak({ kind: 'prev_hash_mismatch', seq: 4, expected: a, found: b })).toBe(
      'event 4 does not link to the event before it (prev_hash bbbbbbbbbbbb…, expected aaaaaaaaaaaa…)',
    );
  });

  it('names an altered event, with short hashes', () => {
    // Given / When / Then
    expect(describeBreak({ kind: 'hash_mismatch', seq: 3, expected: a, found: b })).toBe(
      'event 3 was altered: its content hashes to aaaaaaaaaaaa…, stored hash is bbbbbbbbbbbb…',
    );
  });
});
