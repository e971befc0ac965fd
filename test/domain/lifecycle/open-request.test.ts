import { MAX_REASON_LENGTH, MAX_TICKET_LENGTH, openRequest } from '../../../src/domain/lifecycle/open-request';
import { nextStepWords, refusalText } from '../../../src/domain/lifecycle/transition';
import { code, say, toPlainText } from '../../../src/domain/rich-text';
import { expectRequestFacts, loadPolicy, people, refused, requestId, requestInput, succeeded } from '../fixtures';

const NOW = new Date('2026-03-03T10:00:00Z');
const ID = requestId('REQ00001');

describe('openRequest', () => {
  const loaded = loadPolicy();

  it('opens a pending request for an eligible requester', () => {
    // Given dave, an engineer, asking for db-admin for 2h
    const input = requestInput();
    // When
    const { request, events } = succeeded(openRequest(input, ID, loaded, NOW));
    // Then
    expect(request).toEqual({
      id: ID,
      kind: 'access',
      requester: people.dave,
      role: 'db-admin',
      resource: { provider: 'local', target: { environment: 'production', access: 'admin' } },
      duration: 120,
      ticket: 'INC-4211',
      reason: 'payouts stuck since 09:00, need to inspect the queue',
      breakGlass: false,
      state: 'pending',
      approvalsRequired: 2,
      approvals: [],
      createdAt: NOW,
      decisionDeadline: new Date('2026-03-03T10:30:00Z'),
      policySha: loaded.sha256,
      version: 0,
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'request_opened',
      actor: people.dave,
      data: { duration: '2h', approvalsRequired: 2, decisionDeadline: '2026-03-03T10:30:00.000Z' },
    });
    expectRequestFacts(events[0], request);
  });

  it('reads the role name in any case and with spaces around it', () => {
    // Given / When
    const { request } = succeeded(openRequest(requestInput({ role: ' DB-Admin ' }), ID, loaded, NOW));
    // Then
    expect(request.role).toBe('db-admin');
  });

  it('refuses a role the policy does not define, quoting the input', () => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ role: 'root\u202e' }), ID, loaded, NOW));
    // Then
    expect(refusal).toMatchObject({ code: 'unknown_role', message: 'There is no role "root".', hint: 'roles' });
  });

  it('points to the roles as a next step, never as one front end\'s command, and keeps the quoted input apart', () => {
    // Given / When a role name that looks like markup
    const refusal = refused(openRequest(requestInput({ role: '*root*' }), ID, loaded, NOW));
    // Then the input is verbatim, and each front end words the next step its own way
    expect(refusal.text).toEqual([
      { kind: 'plain', text: 'There is no role ' },
      { kind: 'verbatim', text: '"*root*"' },
      { kind: 'plain', text: '.' },
    ]);
    expect(refusal.hint).toBe('roles');
    expect(toPlainText(refusalText(refusal, (hint) => nextStepWords(hint, (verb) => say`Run ${code(`tool ${verb}`)}`)))).toBe(
      'There is no role "*root*". Run `tool roles` to see the roles you may request.',
    );
  });

  it.each(['99999d', '367d', '99999999999999999999999h'])('refuses %j, past any limit, with the role\'s own maximum', (duration) => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ duration }), ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'duration_too_long', message: `${duration} is longer than the 4h maximum for db-admin.` });
  });

  it('refuses a requester the policy does not list', () => {
    // Given mallory, outside example.com
    // When
    const refusal = refused(openRequest(requestInput({ requester: people.mallory }), ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({
      code: 'not_eligible',
      message: 'You are not allowed to request db-admin: the policy does not list you among its requesters.',
      hint: 'roles',
    });
  });

  it('uses the role default when no duration is given', () => {
    // Given no duration, then an empty one
    const { duration: _omitted, ...withoutDuration } = requestInput();
    // When
    const omitted = succeeded(openRequest(withoutDuration, ID, loaded, NOW));
    const blank = succeeded(openRequest(requestInput({ duration: '  ' }), ID, loaded, NOW));
    // Then
    expect(omitted.request.duration).toBe(60);
    expect(blank.request.duration).toBe(60);
    expect(omitted.events[0]?.data['duration']).toBe('1h');
  });

  it('accepts exactly the role maximum', () => {
    // Given / When
    const { request } = succeeded(openRequest(requestInput({ duration: '4h' }), ID, loaded, NOW));
    // Then
    expect(request.duration).toBe(240);
  });

  it('refuses a duration over the role maximum, naming both', () => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ duration: '4h1m' }), ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'duration_too_long', message: '4h1m is longer than the 4h maximum for db-admin.' });
  });

  it('refuses text that is not a duration', () => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ duration: '5x' }), ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'bad_duration', message: 'Duration "5x" is not a duration like 30m, 2h or 1d.' });
  });

  it('refuses a zero duration as too short', () => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ duration: '0m' }), ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('bad_duration');
    expect(refusal.message).toContain('too short');
  });

  it('requires a ticket, saying what one looks like', () => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ ticket: '  ' }), ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({
      code: 'bad_ticket',
      message: 'A ticket is required for db-admin: a ticket matching ^(OPS|INC)-[0-9]+$, such as OPS-1.',
    });
  });

  it('refuses a ticket with a newline in it', () => {
    // Given a ticket that would smuggle a second line into a card
    // When
    const refusal = refused(openRequest(requestInput({ ticket: 'INC-1\nINC-2' }), ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('bad_ticket');
    expect(refusal.message).toContain('is not a ticket id: use one word');
    expect(refusal.message).not.toContain('\n');
  });

  it('refuses a ticket that does not match the role pattern', () => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ ticket: 'JIRA-12' }), ID, loaded, NOW));
    // Then
    expect(refusal).toMatchObject({
      code: 'bad_ticket',
      message: '"JIRA-12" is not a ticket for db-admin: expected a ticket matching ^(OPS|INC)-[0-9]+$, such as OPS-1.',
    });
  });

  it('refuses a 100-character ticket even when it matches the pattern, echoing only 20 characters', () => {
    // Given
    const ticket = `INC-${'1'.repeat(96)}`;
    expect(ticket).toHaveLength(100);
    expect(ticket.length).toBeGreaterThan(MAX_TICKET_LENGTH);
    // When
    const refusal = refused(openRequest(requestInput({ ticket }), ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('bad_ticket');
    expect(refusal.message.startsWith(`"INC-${'1'.repeat(16)}…" is not a ticket id`)).toBe(true);
  });

  it('accepts a ticket of exactly the maximum length', () => {
    // Given
    const ticket = `INC-${'1'.repeat(MAX_TICKET_LENGTH - 4)}`;
    // When
    const { request } = succeeded(openRequest(requestInput({ ticket }), ID, loaded, NOW));
    // Then
    expect(request.ticket).toBe(ticket);
  });

  it.each([
    ['a single dot', '.'],
    ['ten dots', '..........'],
    ['nine letters', 'abcdefghi'],
    ['punctuation padded out to length', '!!!??? ... --- a b'],
  ])('refuses %s as a reason', (_what, reason) => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ reason }), ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('bad_reason');
    expect(refusal.message).toContain('at least 10 characters of words');
  });

  it('refuses a 10 kB reason, saying how long it is', () => {
    // Given
    const reason = 'payouts stuck '.repeat(732).slice(0, 10_240);
    // When
    const refusal = refused(openRequest(requestInput({ reason }), ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('bad_reason');
    expect(refusal.message).toContain(`keep it to ${MAX_REASON_LENGTH}`);
    expect(refusal.message).toMatch(/^The reason is 10\d{3} characters long/);
  });

  it('strips control characters from the reason before checking and storing it', () => {
    // Given a reason with a newline, a NUL, a bidi override and a zero-width space
    const reason = 'payouts\nstuck\u0000 since\u202e 09:00\u200b';
    // When
    const { request, events } = succeeded(openRequest(requestInput({ reason }), ID, loaded, NOW));
    // Then
    expect(request.reason).toBe('payouts stuck since 09:00');
    expect(events[0]?.data['reason']).toBe('payouts stuck since 09:00');
  });

  it('does not count control characters towards the minimum length', () => {
    // Given five letters padded with invisible characters to well over ten
    const reason = 'ab\u200b\u200b\u200bcde\u0000\u0000\u0000\u0000';
    // When
    const refusal = refused(openRequest(requestInput({ reason }), ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('bad_reason');
  });

  it('opens break-glass access approved at once, with the review deadline', () => {
    // Given a role that allows break-glass within a 24h review window
    // When
    const { request, events } = succeeded(openRequest(requestInput({ breakGlass: true }), ID, loaded, NOW));
    // Then
    expect(request.state).toBe('approved');
    expect(request.breakGlass).toBe(true);
    expect(request.approvals).toEqual([]);
    expect(request.decisionDeadline).toEqual(new Date('2026-03-04T10:00:00Z'));
    expect(events.map((e) => e.action)).toEqual(['request_opened']);
    expect(events[0]?.data).toMatchObject({ breakGlass: true, decisionDeadline: '2026-03-04T10:00:00.000Z' });
    expectRequestFacts(events[0], request);
  });

  it('refuses break-glass where the role does not allow it', () => {
    // Given readonly, which does not allow break-glass
    // When
    const refusal = refused(openRequest(requestInput({ role: 'readonly', breakGlass: true }), ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'break_glass_not_allowed', message: 'Break-glass is not allowed for readonly; make a normal request instead.' });
  });

  it('checks eligibility before break-glass, so an outsider learns nothing about the role', () => {
    // Given / When
    const refusal = refused(openRequest(requestInput({ role: 'readonly', breakGlass: true, requester: people.mallory }), ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('not_eligible');
  });

  it('records the hash of the policy in force', () => {
    // Given a different policy text
    const other = loadPolicy(`${loadPolicy().text}# edited\n`);
    // When
    const { request } = succeeded(openRequest(requestInput(), ID, other, NOW));
    // Then
    expect(request.policySha).toBe(other.sha256);
    expect(request.policySha).not.toBe(loaded.sha256);
  });
});
