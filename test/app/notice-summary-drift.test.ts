import { summarizeNotice } from '../../src/app/notice-summary';
import type { ChainedAuditEvent } from '../../src/domain/audit-event';

function event(action: string, data: Record<string, unknown>, actor = 'system'): ChainedAuditEvent {
  return { seq: 1, occurredAt: new Date('2026-03-03T10:00:00Z'), actor, action, requestId: null, data, prevHash: '0'.repeat(64), hash: '1'.repeat(64) };
}

describe('the notice lines of drift events', () => {
  it('say nothing about a run that found nothing new, was not held, and could list everything', () => {
    const quiet = event('drift_checked', { run: 3, unexpected: 1, missing: 0, newUnexpected: 0, newMissing: 0, held: false, providers: { postgres: { listed: 4 } } });
    expect(summarizeNotice({ event: quiet })).toBeUndefined();
  });

  it('sum up a run with news, a hold, or a provider that could not list', () => {
    const loud = event('drift_checked', {
      run: 3,
      unexpected: 2,
      missing: 1,
      newUnexpected: 1,
      newMissing: 1,
      held: true,
      heldReason: '2 of 2 accesses listed (100%) is more than detection.drift.maxRevokeShare (20%)',
      providers: { postgres: { listed: 2 }, aws: { error: 'throttled' } },
    });
    expect(summarizeNotice({ event: loud })?.text).toBe(
      'Drift run 3: 2 access(es) without a live grant (1 new); 1 live grant(s) missing at the provider (1 new); ' +
        'revocations held: 2 of 2 accesses listed (100%) is more than detection.drift.maxRevokeShare (20%); aws could not list: throttled',
    );
  });

  it('name the access revoked or not revoked, and who approved a held run', () => {
    const subject = { run: 4, provider: 'postgres', role: 'pg-readonly', principal: 'pa_frank', person: 'frank@example.com' };
    expect(summarizeNotice({ event: event('drift_access_revoked', { ...subject, removed: true, approvedRun: 3 }, 'erin@example.com') })?.text).toBe(
      'Drift run 4: revoked pg-readonly for pa_frank (frank@example.com) at postgres, access no live grant explained (held run 3, approved by erin@example.com)',
    );
    expect(summarizeNotice({ event: event('drift_revocation_failed', { ...subject, error: 'connection refused' }) })).toEqual({
      text: 'Drift run 4: could not revoke pg-readonly for pa_frank (frank@example.com) at postgres: connection refused. Remove it by hand.',
      alert: true,
      tellRequester: false,
    });
    const approved = event('drift_run_approved', { run: 3, approvalRun: 4, origin: { via: 'cli', osUser: 'tom' } }, 'erin@example.com');
    expect(summarizeNotice({ event: approved })?.text).toBe(
      'erin@example.com (via CLI, by OS user tom) approved held drift run 3: what it found without a live grant, and still is, is revoked (run 4)',
    );
  });
});
