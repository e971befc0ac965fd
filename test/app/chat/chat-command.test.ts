import { CHAT_USAGE, parseChatCommand } from '../../../src/app/chat/chat-command';
import { toPlainText } from '../../../src/domain/rich-text';

describe('parseChatCommand', () => {
  it('opens the form when there is no text', () => {
    expect(parseChatCommand('   ')).toEqual({ ok: true, command: { kind: 'open_form' } });
  });

  it('reads a one-line request, keeping the reason as typed after the ticket', () => {
    expect(parseChatCommand('prod-readonly 2h INC-4211 payouts  stuck since 09:00')).toEqual({
      ok: true,
      command: { kind: 'request', role: 'prod-readonly', duration: '2h', ticket: 'INC-4211', reason: 'payouts stuck since 09:00', breakGlass: false },
    });
  });

  it('reads break-glass, extend, revoke, cancel and status with typeable ids', () => {
    expect(parseChatCommand('break-glass sandbox-admin 30m INC-9 sandbox down')).toMatchObject({ ok: true, command: { kind: 'request', breakGlass: true, reason: 'sandbox down' } });
    expect(parseChatCommand('extend kp6n-6yar 1h the migration needs longer')).toEqual({
      ok: true,
      command: { kind: 'extend', id: 'KP6N6YAR', duration: '1h', reason: 'the migration needs longer' },
    });
    expect(parseChatCommand('revoke KP6N6YAR')).toEqual({ ok: true, command: { kind: 'revoke', id: 'KP6N6YAR' } });
    expect(parseChatCommand('CANCEL kp6n6yar')).toEqual({ ok: true, command: { kind: 'cancel', id: 'KP6N6YAR' } });
    expect(parseChatCommand('status KP6N6YAR')).toEqual({ ok: true, command: { kind: 'status', id: 'KP6N6YAR' } });
    expect(parseChatCommand('list')).toEqual({ ok: true, command: { kind: 'list' } });
    expect(parseChatCommand('roles')).toEqual({ ok: true, command: { kind: 'roles' } });
    expect(parseChatCommand('help')).toEqual({ ok: true, command: { kind: 'help' } });
  });

  it('says what to type for incomplete commands', () => {
    expect(parseChatCommand('prod-readonly 2h')).toEqual({ ok: false, text: expect.arrayContaining([expect.objectContaining({ text: expect.stringContaining('<role> <duration> <ticket> <reason') })]) });
    expect(parseChatCommand('revoke')).toEqual({ ok: false, text: expect.arrayContaining([expect.objectContaining({ text: expect.stringContaining('Which request?') })]) });
    expect(parseChatCommand('extend KP6N6YAR 1h')).toEqual({ ok: false, text: expect.arrayContaining([expect.objectContaining({ text: expect.stringContaining('how much longer and why') })]) });
    expect(parseChatCommand('break-glass sandbox-admin 30m')).toEqual({ ok: false, text: expect.arrayContaining([expect.objectContaining({ text: expect.stringContaining('Break-glass needs') })]) });
  });

  it('quotes bad input in its message instead of echoing it raw', () => {
    const parsed = parseChatCommand('revoke <!channel>');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.text).toContainEqual({ kind: 'verbatim', text: '"<!channel>"' });
    if (!parsed.ok) expect(toPlainText(parsed.text)).toContain('"<!channel>" is not a request id');
    const unknown = parseChatCommand('<@U123>\u0007');
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(toPlainText(unknown.text)).toContain('There is no command "<@U123>"');
  });

  it('writes the commands of its help as code, the bot\'s own words, not as text to escape', () => {
    expect(CHAT_USAGE).toContainEqual({ kind: 'code', text: '/prod-access revoke <id>' });
    expect(CHAT_USAGE.filter((s) => s.kind === 'verbatim')).toEqual([]);
    expect(toPlainText(CHAT_USAGE).split('\n')[4]).toBe('`/prod-access revoke <id>` give access back early');
  });
});
