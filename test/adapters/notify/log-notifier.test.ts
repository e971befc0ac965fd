import { logSink as sink } from '../../support/log-sink';
import { LogNotifier } from '../../../src/adapters/notify/log/log-notifier';
import { createLogger } from '../../../src/config/logger';
import type { ChainedAuditEvent } from '../../../src/domain/audit-event';


function event(seq: number, action: string, data: Record<string, unknown>): ChainedAuditEvent {
  return { seq, occurredAt: new Date('2026-03-03T10:00:00.000Z'), actor: 'system', action, requestId: 'ABCDEFGH', data, prevHash: '0'.repeat(64), hash: String(seq).padStart(64, '0') };
}

describe('LogNotifier', () => {
  it('logs a grant as a notice and an alert as a warning, with user text under input', async () => {
    // Given a log notifier writing JSON lines to a sink
    const { stream, lines } = sink();
    const notifier = new LogNotifier(createLogger('info', stream));

    // When it is given a grant, an alert and an event nobody is told about one by one
    await notifier.deliver({ event: event(1, 'access_granted', { requester: 'dave@example.com', role: 'sandbox-admin', expiresAt: '2026-03-03T12:00:00.000Z', ticket: 'OPS-1' }) });
    await notifier.deliver({ event: event(2, 'alert_raised', { alert: 'revocation_failing', message: 'Revoking sandbox-admin from dave has failed 3 times' }) });
    await notifier.deliver({ event: event(3, 'approval_recorded', { requester: 'dave@example.com' }) });

    // Then two lines: the notice at info, the alert at warn
    const [granted, alert, ...rest] = lines();
    expect(rest).toEqual([]);
    expect(granted).toMatchObject({ level: 30, msg: 'notice', notice: 'access_granted', seq: 1, requestId: 'ABCDEFGH' });
    expect((granted?.input as { summary: string }).summary).toBe('dave@example.com was granted sandbox-admin until 2026-03-03T12:00:00.000Z (request ABCDEFGH, ticket OPS-1)');
    expect(alert).toMatchObject({ level: 40, msg: 'security alert', notice: 'alert_raised', input: { summary: 'Revoking sandbox-admin from dave has failed 3 times' } });
  });

  it('logs an acknowledgement as a notice naming the alert, who, and the terminal it came from', async () => {
    const { stream, lines } = sink();
    const notifier = new LogNotifier(createLogger('info', stream));
    const acked = { ...event(4, 'alert_acknowledged', { alertId: 12, rule: 'firstGrant', severity: 'low', key: 'first_grant:ABCDEFGH', origin: { via: 'cli', osUser: 'erin' } }), actor: 'erin@example.com' };
    await notifier.deliver({ event: acked });
    expect(lines()).toEqual([expect.objectContaining({ level: 30, msg: 'notice', notice: 'alert_acknowledged', input: { summary: 'Alert 12 (First grant of a role) acknowledged by erin@example.com (via CLI, by OS user erin)' } })]);
  });
});
