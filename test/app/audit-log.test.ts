import type { Database } from '../../src/adapters/store/open-database';
import { activatePolicy, recordPolicyRefusal } from '../../src/app/activate-policy';
import { approveRequest } from '../../src/app/approve-request';
import { exportAuditLog } from '../../src/app/export-audit-log';
import { requestAccess } from '../../src/app/request-access';
import { verifyAuditLog, verifyExportLines } from '../../src/app/verify-audit-log';
import { chainHash } from '../../src/domain/audit-chain';
import { email } from '../../src/domain/email';
import { cliOrigin, createHarness, examplePolicyText, loadPolicy, rawSql, type Harness } from '../support/app-harness';
import { storeBackends } from '../support/test-database';

const dave = email('dave@example.com');

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

    // Then the chain alone still looks fine, but the recorded head proves the cut
    expect((await verifyAuditLog(h.ctx.store)).ok).toBe(true);
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
