import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileSink, SiemNotifier, type LineSink } from '../../../src/adapters/notify/siem/siem-notifier';
import { siemLine } from '../../../src/adapters/notify/siem/siem-record';
import type { Database } from '../../../src/adapters/store/open-database';
import { checkDrift } from '../../../src/app/drift/check-drift';
import { dispatchNotices } from '../../../src/app/dispatch-notices';
import { requestAccess } from '../../../src/app/request-access';
import type { ChainedAuditEvent } from '../../../src/domain/audit-event';
import { email } from '../../../src/domain/email';
import type { RequestId } from '../../../src/domain/request-id';
import { cliOrigin, createHarness, type Harness } from '../../support/app-harness';
import { dave, value } from '../../support/revocation-fixtures';
import { createPgliteDatabase } from '../../support/test-database';

/** A sink that keeps the lines, and fails its next write when told to. */
class MemorySink implements LineSink {
  readonly lines: string[] = [];
  failNext = false;
  async write(line: string): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('ENOSPC: no space left on device');
    }
    this.lines.push(line);
  }
  async close(): Promise<void> {}
}

describe('SiemNotifier', () => {
  let database: Database;
  let h: Harness;
  let sink: MemorySink;
  let notifier: SiemNotifier;
  const deliver = () => dispatchNotices(h.ctx, notifier, 'test', 100);
  const records = () => sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const events = async (): Promise<ChainedAuditEvent[]> => h.ctx.store.readAudit(1, 1000);

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database);
    sink = new MemorySink();
    notifier = new SiemNotifier(sink);
    // NB: a notifier starts at the end of the log: this first call sets its position.
    await deliver();
  });
  afterEach(async () => {
    await database.close();
  });

  it('writes each audit event as one JSON line of the documented shape', async () => {
    // Given dave's request, opened from the CLI
    const opened = value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '2h', ticket: 'OPS-1', reason: 'rotate the signing keys' }, cliOrigin));

    // When the notices are delivered
    await deliver();

    // Then one line, exactly this
    const [event] = (await events()).filter((e) => e.action === 'request_opened');
    if (!event) throw new Error('no request_opened event');
    expect(sink.lines).toHaveLength(1);
    expect(sink.lines[0]?.endsWith('\n')).toBe(true);
    expect(sink.lines[0]?.indexOf('\n')).toBe((sink.lines[0]?.length ?? 0) - 1);
    expect(records()[0]).toEqual({
      schema: 'prod-access.audit.v1',
      timestamp: '2026-03-03T10:00:00.000Z',
      seq: event.seq,
      action: 'request_opened',
      actor: 'dave@example.com',
      requestId: opened.id,
      requester: 'dave@example.com',
      resource: { role: 'sandbox-admin', provider: 'local', target: { environment: 'sandbox' } },
      ticket: 'OPS-1',
      reason: 'rotate the signing keys',
      origin: { via: 'cli', osUser: 'tester', osUserFrom: 'process' },
      policySha: h.ctx.policy.current().sha256,
      prevHash: event.prevHash,
      hash: event.hash,
      data: event.data,
    });
  });

  it('keeps every key for an event about no request, with null where there is nothing', async () => {
    // Given a drift alert (about no request) from access found at the local provider
    const role = h.ctx.policy.current().policy.roles.get('prod-readonly');
    if (!role) throw new Error('the example policy has prod-readonly');
    await h.local.grant({ requestId: 'ZZZZZZZZ' as RequestId, role: 'prod-readonly', principal: email('frank@example.com'), provider: 'local', target: role.target, expiresAt: h.clock.now() });
    await checkDrift(h.ctx, { trigger: 'cli', origin: { via: 'scheduler' } });

    await deliver();

    const alert = records().find((r) => r.action === 'alert_raised');
    expect(alert).toMatchObject({ actor: 'system', requestId: null, requester: null, resource: null, ticket: null, reason: null, origin: { via: 'scheduler' } });
    expect(Object.keys(alert ?? {})).toEqual(['schema', 'timestamp', 'seq', 'action', 'actor', 'requestId', 'requester', 'resource', 'ticket', 'reason', 'origin', 'policySha', 'prevHash', 'hash', 'data']);
    const drift = records().find((r) => r.action === 'drift_checked');
    expect(drift?.resource).toBeNull();
  });

  it('never lets a reason with a line break forge a line of its own', () => {
    const forged = '\n{"schema":"prod-access.audit.v1","action":"access_revoked"}';
    const line = siemLine({ seq: 9, occurredAt: new Date(0), actor: 'dave@example.com', action: 'request_opened', requestId: 'AAAAAAAA', data: { reason: forged }, prevHash: '0'.repeat(64), hash: '1'.repeat(64) });
    expect(line.split('\n')).toHaveLength(2);
    expect((JSON.parse(line) as { reason: string }).reason).toBe(forged);
  });

  it('escapes the separators that JSON leaves raw, which some line readers split on', () => {
    // Given a principal name from a provider with NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR, DEL and CSI in it
    const principal = 'pa_x\u0085{"forged":1}\u2028\u2029\u007f\u009b2K';
    const line = siemLine({ seq: 9, occurredAt: new Date(0), actor: 'system', action: 'drift_checked', requestId: null, data: { principal }, prevHash: '0'.repeat(64), hash: '1'.repeat(64) });
    // Then the line holds none of them raw, and reads back as it was
    expect(line.slice(0, -1)).not.toMatch(/[\u007f-\u009f\u2028\u2029\n\r]/);
    expect(line.slice(0, -1).split(/\r\n|[\n\r\v\f\u001c-\u001e\u0085\u2028\u2029]/)).toHaveLength(1);
    expect((JSON.parse(line) as { data: { principal: string } }).data.principal).toBe(principal);
  });

  it('does not move past a line it could not write, and writes it, in order, on the retry', async () => {
    // Given the sink fails once
    value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '2h', ticket: 'OPS-1', reason: 'rotate the signing keys' }, cliOrigin));
    value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-2', reason: 'check the nightly export' }, cliOrigin));
    sink.failNext = true;

    // When delivery runs, fails, and runs again after the backoff
    const failed = await deliver();
    h.clock.advance(10);
    await deliver();

    // Then both lines are there once each, in chain order
    expect(failed).toMatchObject({ blocked: true, delivered: 0 });
    expect(records().map((r) => [r.action, r.ticket])).toEqual([
      ['request_opened', 'OPS-1'],
      ['request_opened', 'OPS-2'],
    ]);
  });
});

describe('fileSink', () => {
  it('appends to a file only its owner can read', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-siem-'));
    try {
      const file = path.join(dir, 'audit.jsonl');
      const first = await fileSink(file);
      await first.write('{"seq":1}\n');
      await first.close();
      const second = await fileSink(file);
      await second.write('{"seq":2}\n');
      await second.close();
      expect(readFileSync(file, 'utf8')).toBe('{"seq":1}\n{"seq":2}\n');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
