import { describeDriftRun } from '../../src/cli/drift-format';
import type { DriftRun } from '../../src/domain/drift-run';

describe('describeDriftRun', () => {
  it('shows the providers’ words (principals, details, errors) with control characters escaped, never raw', () => {
    // Given a run that found a role whose name holds terminal escape sequences, and a provider error holding one
    const esc = 'pa_x\u001b[1A\u001b[2K';
    const run: DriftRun = {
      id: 3,
      trigger: 'cli',
      state: 'done',
      startedAt: new Date('2026-03-03T10:00:00.000Z'),
      listed: 1,
      unexpected: 1,
      missing: 0,
      revoked: 0,
      revokeFailed: 0,
      held: false,
      providers: { postgres: { listed: 1 }, aws: { error: 'throttled\u001b]8;;http://evil\u0007' } },
      findings: [{ kind: 'unexpected', key: 'k', provider: 'postgres', role: 'pg-readonly', principal: esc, detail: `login "${esc}" is a member of "ro"`, new: true, outcome: 'alert_only' }],
    };

    // When it is described for the terminal
    const text = describeDriftRun(run);

    // Then no control character but the line feeds reaches it, and each shows as an escape
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('pg-readonly  pa_x\\x1b[1A\\x1b[2K');
    expect(text).toContain('aws could not list (throttled\\x1b]8;;http://evil\\x07)');
  });
});
