import { alertCard, approvalCardView, personMessageCard, replyCard, requestFormCard, securityLineCard } from '../../../../src/adapters/chat/teams/teams-cards';
import { cardText, localTime, plainText, richBlocks, utcTime } from '../../../../src/adapters/chat/teams/teams-text';
import { alertView } from '../../../../src/app/chat/alert-view';
import { approvalCard } from '../../../../src/app/chat/approval-card';
import type { Alert } from '../../../../src/domain/alert';
import { email } from '../../../../src/domain/email';
import { CHAT_USAGE } from '../../../../src/app/chat/chat-command';
import { code, say } from '../../../../src/domain/rich-text';
import { loadPolicy, pendingRequest } from '../../../domain/fixtures';

const INJECTION = '<at>alice</at> **urgent** _x_ [click](https://evil.example) # head {{DATE(2017-02-14T06:00:00Z, SHORT)}} <b>bold</b> &lt;';

/** Where each piece of text in a card sits: the type of the element that holds it. */
function textsByType(value: unknown): { type: string; text: string }[] {
  const out: { type: string; text: string }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    for (const key of ['text', 'title', 'label', 'placeholder', 'value', 'errorMessage'] as const) {
      if (typeof o[key] === 'string') out.push({ type: `${String(o.type)}.${key}`, text: o[key] as string });
    }
    Object.values(o).forEach(walk);
  };
  walk(value);
  return out;
}

describe('cardText', () => {
  it('keeps markdown, HTML and mention syntax as typed: a TextRun shows it literally', () => {
    expect(cardText('**bold** _it_ [x](https://evil.example) <at>bob</at> <b>b</b> &amp;')).toBe('**bold** _it_ [x](https://evil.example) <at>bob</at> <b>b</b> &amp;');
  });

  it('breaks {{ so no client reads a date or time function into user text', () => {
    expect(cardText('{{DATE(2017-02-14T06:00:00Z, SHORT)}} and {{{x')).toBe('{\u200b{DATE(2017-02-14T06:00:00Z, SHORT)}} and {\u200b{\u200b{x');
    expect(cardText('{{')).not.toContain('{{');
  });

  it('drops control characters and normalises line breaks', () => {
    expect(cardText('payouts\r\nstuck\u0007\u001b[31m\ttoo\u2028x')).toBe('payouts\nstuck[31mtoox');
  });

  it('cuts long text with an ellipsis, never inside a surrogate pair', () => {
    expect(cardText('abcdef', 4)).toBe('abc…');
    const cut = cardText(`ab\u{1F525}cd`, 4);
    expect(cut).toBe('ab…');
  });
});

describe('plainText', () => {
  it('puts everything on one trimmed line, cut to its limit', () => {
    expect(plainText('  two\nlines\r\n\u0007 ', 100)).toBe('two lines');
    expect(plainText('x'.repeat(20), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('richBlocks', () => {
  it('styles only the bot’s own words: commands monospace, bold bold, what people typed plain', () => {
    const [block] = richBlocks(say`Type ${code('/prod-access roles')} for ${'**not bold**'}`);
    expect(block?.inlines).toEqual([
      { type: 'TextRun', text: 'Type ' },
      { type: 'TextRun', text: '/prod-access roles', fontType: 'Monospace' },
      { type: 'TextRun', text: ' for ' },
      { type: 'TextRun', text: '**not bold**' },
    ]);
  });

  it('makes one block per line', () => {
    expect(richBlocks(CHAT_USAGE).length).toBe(CHAT_USAGE.filter((s) => s.text.includes('\n')).length + 1);
  });
});

describe('times', () => {
  it('shows an instant in the reader’s zone with the card’s own functions, built only from a date', () => {
    const at = new Date('2026-03-03T10:00:00.123Z');
    expect(localTime(at)).toBe('{{DATE(2026-03-03T10:00:00Z, SHORT)}} {{TIME(2026-03-03T10:00:00Z)}}');
    expect(utcTime(at)).toBe('2026-03-03 10:00 UTC');
  });
});

describe('cards', () => {
  const policy = loadPolicy().policy;
  const request = pendingRequest({ reason: INJECTION });
  const alert: Alert = { id: 7, rule: 'ticketReuse', severity: 'medium', key: 'ticket_reuse:x', message: `Ticket ${INJECTION} is behind 4 requests.`, raisedAt: new Date() };
  // NB: an address the policy can admit (`*@corp.example`) with markdown in it.
  const acknowledged: Alert = { ...alert, acknowledged: { by: email('a**urgent**@corp.example'), at: new Date(), via: 'cli', osUser: 'secops' } };

  it.each([
    ['the approval card', () => approvalCardView(approvalCard(request, policy, true), { error: INJECTION })],
    ['a reply', () => replyCard({ ok: false, text: say`Your reason ${INJECTION} is not enough` })],
    ['a direct message', () => personMessageCard(`dave was granted: ${INJECTION}`, request, true, new Date())],
    ['a security line', () => securityLineCard(`denied: ${INJECTION}`, true)],
    ['the request form, refilled', () => requestFormCard([...policy.roles.values()], { reason: INJECTION, ticket: INJECTION }, { field: 'ticket', message: INJECTION })],
    ['an open alert', () => alertCard(alertView(alert, 'security'))],
    ['an acknowledged alert', () => alertCard(alertView(acknowledged, 'security'))],
  ])('puts user text in %s only where nothing is parsed', (_, build) => {
    const texts = textsByType(build());
    const carrying = texts.filter((t) => t.text.includes('**urgent**'));
    // Then it is there, and only in TextRuns (never markdown) or input values (plain)
    expect(carrying.length).toBeGreaterThan(0);
    expect(new Set(carrying.map((t) => t.type))).toEqual(new Set(carrying.map((t) => t.type).filter((t) => t === 'TextRun.text' || t === 'Input.Text.value')));
    // And no date function reaches shown text (an input's value is only edited, never evaluated), and no mention entity exists
    expect(texts.filter((t) => t.type !== 'Input.Text.value' && t.text.includes('{{DATE(2017'))).toEqual([]);
    expect(JSON.stringify(build())).not.toContain('"entities"');
  });
});
