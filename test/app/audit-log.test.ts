import type { Database } from '../../src/adapters/store/open-database';
import { WorkerChainChecker } from '../../src/adapters/threads/worker-chain-checker';
import { activatePolicy, recordPolicyRefusal } from '../../src/app/activate-policy';
import { approveRequest } from '../../src/app/approve-request';
import { exportAuditLog } from '../../src/app/export-audit-log';
import { requestAccess } from '../../src/app/request-access';
import { verifyAuditLog, verifyExportLines, type VerifyOptions } from '../../src/app/verify-audit-log';
import { chainHash } from '../../src/domain/audit-chain';
import { email } from '../../src/domain/email';
import { cliOrigin, createHarness, examplePolicyText, loadPolicy, rawSql, type Harness } from '../support/app-harness';
import { storeBackends } from '../support/test-database';

const dave = email('dave@example.com');

// NB: one pool of hashing threads for the file: starting threads is the slow part.
const threads = new WorkerChainChecker(2);
afterAll(() => threads.close());

describe.each(storeBackends)('audit log on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
    // Given some history: three requests, one of them approved once
    for (const ticket of ['OPS-1', 'OPS-2', 'OPS-3']) {
      const outcome = await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '1h', ticket, reason: 'rotate the sandbox signing keys' }, cliOrigin);
      if (!outcome.ok) throw new Error(outcome.refusal.message);
      h.clock.advance(1);
    }
    const [first] = await h.ctx.store.listRequests({ requester: dave });
    if (first) await approveRequest(h.ctx, first.id, email('alice@example.com'), cliOrigin);
  });
  afterEach(async () => {
    await database.close();
  });

  /** Tampering as a database superuser would: with the append-only triggers switched off. */
  async function tamper(statement: string): Promise<void> {
    await rawSql(database, `ALTER TABLE audit_events DISABLE TRIGGER USER; ${statement}; ALTER TABLE audit_events ENABLE TRIGGER USER;`);
  }

  it('verifies an untouched chain and reports its head', async () => {
    const report = await verifyAuditLog(h.ctx.store);
    expect(report).toMatchObject({ ok: true, count: 4, head: { seq: 4 } });
    expect(report.message).toContain('4 events verified');
    expect(report.message).toContain('every request, approval and grant has the event that created it');
  });

  it('names state rows written behind the app, with no event that created them', async () => {
    // When a request, an approval and a grant are inserted directly, with no audit event
    await rawSql(
      database,
      `CREATE TEMP TABLE forged AS SELECT * FROM access_requests WHERE ticket = 'OPS-1';
       UPDATE forged SET id = 'FORGED01';
       INSERT INTO access_requests SELECT * FROM forged;
       DROP TABLE forged;
       INSERT INTO approvals (request_id, approver, approved_at) SELECT id, 'mallory@example.com', now() FROM access_requests WHERE ticket = 'OPS-2' AND id <> 'FORGED01';
       INSERT INTO grants (request_id, provider, target, principal, role, granted_at, expires_at)
         SELECT id, provider, target, requester, role, now(), now() + interval '1 hour' FROM access_requests WHERE id = 'FORGED01'`,
    );
    const [opsTwo] = await h.ctx.store.listRequests({ requester: dave }).then((all) => all.filter((r) => r.ticket === 'OPS-2'));

    // Then the chain still verifies, but verify fails and names each row and what is missing
    const report = await verifyAuditLog(h.ctx.store);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('audit chain intact (4 events), but the state tables disagree with it in 3 places');
    expect(report.message).toContain('request FORGED01 has no request_opened event');
    expect(report.message).toContain(`the approval of request ${opsTwo?.id ?? '?'} by mallory@example.com has no approval_recorded event`);
    expect(report.message).toContain('the grant of request FORGED01 has no access_granted event');
  });

  it('names requests whose events were deleted while the rows remain, even when the chain left is intact', async () => {
    // Given the last request and its approval (events 3 and 4, the tail: what is left still chains)
    const [last] = await h.ctx.store.listRequests({ requester: dave });

    // When their events are deleted
    await tamper('DELETE FROM audit_events WHERE seq >= 3');

    // Then verify names the request and the approval left without their events
    const report = await verifyAuditLog(h.ctx.store);
    expect(report.ok).toBe(false);
    expect(report.message).toContain(`request ${last?.id ?? '?'} has no request_opened event`);
    expect(report.message).toContain(`the approval of request ${last?.id ?? '?'} by alice@example.com has no approval_recorded event`);
  });

  it('names a request that events speak of but the state tables no longer hold', async () => {
    // When a request is deleted behind the app (its events stay)
    const [opsOne] = await h.ctx.store.listRequests({ requester: dave }).then((all) => all.filter((r) => r.ticket === 'OPS-1'));
    await rawSql(database, `DELETE FROM access_requests WHERE ticket = 'OPS-1'`);

    // Then verify names it
    const report = await verifyAuditLog(h.ctx.store);
    expect(report.ok).toBe(false);
    expect(report.message).toContain(`events name request ${opsOne?.id ?? '?'}, which is not in access_requests`);
  });

  it('names the first few disagreements and counts the rest', async () => {
    // When seven approvals are inserted behind the app
    await rawSql(
      database,
      `INSERT INTO approvals (request_id, approver, approved_at)
         SELECT r.id, 'forger' || n || '@example.com', now() FROM access_requests r, generate_series(1, 7) n WHERE r.ticket = 'OPS-1'`,
    );

    // Then the report names five and counts the other two
    const report = await verifyAuditLog(h.ctx.store);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('disagree with it in 7 places');
    expect(report.message.match(/has no approval_recorded event/g)).toHaveLength(5);
    expect(report.message).toMatch(/; and 2 more$/);
  });

  it('names the event whose content was edited behind the app', async () => {
    // When someone rewrites the reason of event 2
    await tamper(`UPDATE audit_events SET data = jsonb_set(data, '{reason}', '"nothing to see"') WHERE seq = 2`);

    // Then verify names event 2 as altered
    const report = await verifyAuditLog(h.ctx.store);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('event 2 was altered');
  });

  it('names the event that was deleted from the middle', async () => {
    await tamper('DELETE FROM audit_events WHERE seq = 2');
    const report = await verifyAuditLog(h.ctx.store);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('event 2 is missing');
  });

  it('catches a cut-off tail with a head recorded earlier', async () => {
    // Given a head recorded outside the database
    const head = await h.ctx.store.auditHead();
    if (!head) throw new Error('no head');

    // When the last event is deleted
    await tamper(`DELETE FROM audit_events WHERE seq = ${head.seq}`);

    // Then the chain alone still looks fine (the state check names the approval that lost its
    // event), and the recorded head proves the cut
    const alone = await verifyAuditLog(h.ctx.store);
    expect(alone.message).toContain('audit chain intact (3 events)');
    expect(alone.message).toContain('has no approval_recorded event');
    const report = await verifyAuditLog(h.ctx.store, head);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('cut off');
  });

  it('catches a rewritten history whose hashes were recomputed, with a head recorded earlier', async () => {
    // Given a head recorded outside the database
    const head = await h.ctx.store.auditHead();
    const last = head && (await h.ctx.store.auditEventAt(head.seq));
    if (!head || !last) throw new Error('no head');

    // When the last event is rewritten and its hash recomputed, so the chain is self-consistent
    const data = { ...last.data, reason: 'nothing to see' };
    const hash = chainHash(last.prevHash, { ...last, data });
    await tamper(`UPDATE audit_events SET data = '${JSON.stringify(data).replace(/'/g, "''")}'::jsonb, hash = '${hash}' WHERE seq = ${head.seq}`);

    // Then the chain alone verifies, but the recorded head does not match
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
    const report = await verifyAuditLog(h.ctx.store, head);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('rewritten');
  });

  it('exports JSON Lines that verify without the database, and catches an edited export', async () => {
    // When the log is exported
    const lines: string[] = [];
    const count = await exportAuditLog(h.ctx.store, {}, (line) => void lines.push(line.trimEnd()));

    // Then the export verifies on its own
    expect(count).toBe(4);
    expect(await verifyExportLines(lines)).toMatchObject({ ok: true, count: 4 });

    // And an edit to one line is named
    const edited = lines.map((line, i) => (i === 1 ? line.replace('OPS-2', 'OPS-9') : line));
    const report = await verifyExportLines(edited);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('event 2 was altered');
  });

  it('refuses an export line with a key the hash does not cover', async () => {
    // Given a verified export
    const lines: string[] = [];
    await exportAuditLog(h.ctx.store, {}, (line) => void lines.push(line.trimEnd()));
    // When someone adds an unhashed "approvedBy" and a duplicate actor to event 2
    const forged = lines.map((line, i) => (i === 1 ? line.replace('{"seq":2,', '{"seq":2,"approvedBy":"ciso@example.com","actor":"x",') : line));
    // Then the line is refused
    const report = await verifyExportLines(forged);
    expect(report.ok).toBe(false);
    expect(report.message).toContain('line 2: not exactly as exported');
  });

  it('proves a recorded head against an export, and catches an export cut short', async () => {
    const head = await h.ctx.store.auditHead();
    if (!head) throw new Error('no head');
    const lines: string[] = [];
    await exportAuditLog(h.ctx.store, {}, (line) => void lines.push(line.trimEnd()));
    expect(await verifyExportLines(lines, head)).toMatchObject({ ok: true });
    const cut = await verifyExportLines(lines.slice(0, -1), head);
    expect(cut.ok).toBe(false);
    expect(cut.message).toContain('cut off');
  });

  it('verifies up to the head it read first, so events appended meanwhile are no break', async () => {
    // Given verify has started (its head is read), when another event lands before it finishes
    const report = verifyAuditLog(h.ctx.store);
    await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '1h', ticket: 'OPS-4', reason: 'rotate the sandbox signing keys' }, cliOrigin);
    // Then the chain it read is intact
    expect((await report).ok).toBe(true);
  });

  it('exports a time window that still verifies from its first event', async () => {
    const lines: string[] = [];
    await exportAuditLog(h.ctx.store, { since: new Date('2026-03-03T10:01:00Z'), until: new Date('2026-03-03T10:02:00Z') }, (l) => void lines.push(l));
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([2]);
    expect(await verifyExportLines(lines)).toMatchObject({ ok: true, count: 1 });
  });

  describe('in pages, hashed in worker threads', () => {
    /**
     * Verify with pages of `pageSize` hashed by worker threads, counting the pages they checked: pages
     * read here, and (on PostgreSQL, where threads can open connections of their own) pages the
     * threads read themselves. Both must give the same report.
     */
    async function verifyInThreads(pageSize: number, head?: { seq: number; hash: string }, onProgress?: VerifyOptions['onProgress']) {
      let segments = 0;
      const parallel = { parallelism: threads.parallelism, check: (s: Parameters<typeof threads.check>[0]) => ((segments += 1), threads.check(s)), close: async () => undefined };
      const report = await verifyAuditLog(h.ctx.store, head, { parallel, parallelFrom: 0, pageSize, ...(onProgress ? { onProgress } : {}) });
      const url = (database as { url?: string }).url;
      if (url) {
        const readers = new WorkerChainChecker(2, { databaseUrl: url });
        try {
          const read = readers.checkStored;
          let pages = 0;
          const counting = { ...readers, parallelism: 2, check: () => Promise.reject(new Error('pages are read by the threads')), checkStored: (from: number, limit: number) => ((pages += 1), (read as NonNullable<typeof read>)(from, limit)), close: async () => undefined };
          const byReaders = await verifyAuditLog(h.ctx.store, head, { parallel: counting, parallelFrom: 0, pageSize });
          expect({ byReaders, pages: pages > 0 }).toEqual({ byReaders: report, pages: true });
        } finally {
          await readers.close();
        }
      }
      return { report, segments };
    }

    it('reports an untouched chain as one walk does, and its progress page by page', async () => {
      // Given the four events; when verified in pages of one and of three, in threads
      const progress: [number, number][] = [];
      const inOnes = await verifyInThreads(1, undefined, (done, total) => progress.push([done, total]));
      const inThrees = await verifyInThreads(3);

      // Then the reports are the single walk's, every page went to the threads, and progress counted up
      const single = await verifyAuditLog(h.ctx.store);
      expect(single.ok).toBe(true);
      expect(inOnes).toEqual({ report: single, segments: 4 });
      expect(inThrees).toEqual({ report: single, segments: 2 });
      expect(progress).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    });

    it.each([
      ['an edited event', `UPDATE audit_events SET data = jsonb_set(data, '{reason}', '"nothing to see"') WHERE seq = 3`, 'audit chain broken: event 3 was altered'],
      ['an edit to the first and the last event (the first is named)', `UPDATE audit_events SET actor = 'mallory@example.com' WHERE seq IN (1, 4)`, 'audit chain broken: event 1 was altered'],
      ['a deleted event', 'DELETE FROM audit_events WHERE seq = 2', 'audit chain broken: event 2 is missing'],
      ['a re-linked event', `UPDATE audit_events SET prev_hash = (SELECT prev_hash FROM audit_events WHERE seq = 3) WHERE seq = 4`, 'audit chain broken: event 4 does not link to the event before it'],
      ['data that is not an object any more', `UPDATE audit_events SET data = '"x"'::jsonb WHERE seq = 2`, 'audit chain broken: event 2 was altered'],
    ])('names %s as one walk does, wherever the pages end', async (_what, statement, expected) => {
      // Given the tampering
      await tamper(statement);

      // When verified in one walk and in pages of 1, 2 and 3 hashed in threads
      const single = await verifyAuditLog(h.ctx.store);
      const paged = await Promise.all([1, 2, 3].map((size) => verifyInThreads(size)));

      // Then every report names the same first broken link, after as many intact events
      expect(single.message).toContain(expected);
      for (const { report } of paged) expect({ ok: report.ok, count: report.count, message: report.message.slice(0, expected.length) }).toEqual({ ok: false, count: single.count, message: expected });
    });

    it('finds the state gaps and a rewritten recorded head as one walk does', async () => {
      // Given a head recorded, then the last event rewritten with a recomputed hash, and a forged approval
      const head = await h.ctx.store.auditHead();
      const last = head && (await h.ctx.store.auditEventAt(head.seq));
      if (!head || !last) throw new Error('no head');
      const data = { ...last.data, reason: 'nothing to see' };
      await tamper(`UPDATE audit_events SET data = '${JSON.stringify(data).replace(/'/g, "''")}'::jsonb, hash = '${chainHash(last.prevHash, { ...last, data })}' WHERE seq = ${head.seq}`);
      await rawSql(database, `INSERT INTO approvals (request_id, approver, approved_at) SELECT id, 'mallory@example.com', now() FROM access_requests WHERE ticket = 'OPS-3'`);

      // When / Then
      expect((await verifyInThreads(2, head)).report).toEqual(await verifyAuditLog(h.ctx.store, head));
      expect((await verifyInThreads(2, head)).report.message).toContain('the history was rewritten');
      const gaps = (await verifyInThreads(2)).report;
      expect(gaps).toEqual(await verifyAuditLog(h.ctx.store));
      expect(gaps.message).toContain('by mallory@example.com has no approval_recorded event');
    });

    it('keeps to the single thread for a log smaller than parallelFrom', async () => {
      // Given / When
      let segments = 0;
      const parallel = { parallelism: 2, check: () => ((segments += 1), Promise.reject(new Error('not expected'))), close: async () => undefined };
      const report = await verifyAuditLog(h.ctx.store, undefined, { parallel, parallelFrom: 5, pageSize: 1 });
      // Then
      expect({ ok: report.ok, segments }).toEqual({ ok: true, segments: 0 });
    });

    it('fails, rather than reporting a result, when a hashing thread fails', async () => {
      // Given a checker whose threads have failed
      const failing = { parallelism: 2, check: () => Promise.reject(new Error('hashing thread failed')), close: async () => undefined };
      // When / Then
      await expect(verifyAuditLog(h.ctx.store, undefined, { parallel: failing, parallelFrom: 0, pageSize: 1 })).rejects.toThrow('hashing thread failed');
    });
  });

  it('records a policy coming into force once, with what changed', async () => {
    const deps = { store: h.ctx.store, clock: h.clock };
    const first = loadPolicy(examplePolicyText);
    const second = loadPolicy(examplePolicyText.replace('maxDuration: 4h', 'maxDuration: 2h').replace(/  prod-readonly:[\s\S]*$/, ''));

    // When the same policy is activated twice, then a changed one
    expect(await activatePolicy(deps, first, ['local'], { via: 'service' }, 'test.yaml')).toEqual({ activated: true });
    expect(await activatePolicy(deps, first, ['local'], { via: 'service' }, 'test.yaml')).toEqual({ activated: false });
    expect(await activatePolicy(deps, second, ['local'], { via: 'service' }, 'test.yaml')).toEqual({ activated: true });
    await recordPolicyRefusal(deps, 'f'.repeat(64), ['roles.x.maxDuration: bad'], second.sha256, { via: 'service' }, 'test.yaml');

    // Then the log holds two activations (the second with its diff) and the refusal
    const events = (await h.ctx.store.readAudit(1, 100)).filter((e) => e.action.startsWith('policy_'));
    expect(events.map((e) => e.action)).toEqual(['policy_activated', 'policy_activated', 'policy_rejected']);
    expect(events[1]?.data).toMatchObject({ policySha: second.sha256, previousPolicySha: first.sha256, rolesRemoved: ['prod-readonly'], rolesChanged: ['sandbox-admin'], rolesAdded: [] });
    expect(events[2]?.data).toMatchObject({ policySha: second.sha256, errors: ['roles.x.maxDuration: bad'] });
    expect(await h.ctx.store.policyText(first.sha256)).toBe(examplePolicyText);
    expect(await h.ctx.store.activePolicySha()).toBe(second.sha256);
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
  });
});
