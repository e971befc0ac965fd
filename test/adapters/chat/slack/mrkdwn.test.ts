import { escapeMrkdwn, fitSection, mrkdwn, plainText, richMrkdwn, slackDate, splitSections } from '../../../../src/adapters/chat/slack/mrkdwn';
import { CHAT_USAGE } from '../../../../src/app/chat/chat-command';
import { code, say } from '../../../../src/domain/rich-text';

describe('escapeMrkdwn', () => {
  it('turns mentions, broadcasts and labelled links into literal text', () => {
    expect(escapeMrkdwn('<!channel> <!here> <!everyone> <@U123> <#C123> <https://x.example|click>')).toBe(
      // NB: the URL typed inside the label syntax links only to itself, shown as typed.
      '&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U123&gt; &lt;#C123&gt; &lt;<https://x.example>|click&gt;',
    );
  });

  it('escapes an ampersand first, so existing entities stay literal', () => {
    expect(escapeMrkdwn('a &lt; b & c')).toBe('a &amp;lt; b &amp; c');
  });

  it('shows formatting characters as look-alikes that cannot pair up into bold, italics, strike-through or code', () => {
    const escaped = escapeMrkdwn('*bold* _it_ ~s~ `code` ```block```');
    expect(escaped).toBe('\u2217bold\u2217 \u02cdit\u02cd \u223cs\u223c \u02cbcode\u02cb \u02cb\u02cb\u02cbblock\u02cb\u02cb\u02cb');
    expect(escaped).not.toMatch(/[*_~`]/);
  });

  it('refuses to let a line start a block quote, and keeps a > inside a line as it was', () => {
    expect(escapeMrkdwn('> approved by the CISO\nok > fine\n>> twice')).toBe('\u00ad&gt; approved by the CISO\nok &gt; fine\n\u00ad&gt;&gt; twice');
  });

  it('makes a typed URL an explicit link to exactly what was typed, so nothing inside it is formatted', () => {
    expect(escapeMrkdwn('see https://wiki.example/Runbook_Payouts?a=1&b=*2* for _why_')).toBe('see <https://wiki.example/Runbook_Payouts?a=1&amp;b=*2*> for \u02cdwhy\u02cd');
    expect(escapeMrkdwn('https://host/*x*')).toBe('<https://host/*x*>');
  });

  it('ends a typed URL before a | that would give the link a label hiding its target, and before trailing punctuation', () => {
    expect(escapeMrkdwn('https://evil.example|ok')).toBe('<https://evil.example>|ok');
    expect(escapeMrkdwn('(see https://wiki.example/a_b).')).toBe('(see <https://wiki.example/a_b>).');
  });

  it('keeps emoji codes (harmless) and line breaks, and drops control characters', () => {
    expect(escapeMrkdwn(':rotating_light: payouts at 10:30_now_\r\nstuck\u0007\u001b[31m\ttoo')).toBe(':rotating_light: payouts at 10:30\u02cdnow\u02cd\nstuck[31mtoo');
  });

  it('escapes an emoji-like code whose underscores could italicise', () => {
    expect(escapeMrkdwn(':_x_: and :a_: and :white_check_mark:')).toBe(':\u02cdx\u02cd: and :a\u02cd: and :white_check_mark:');
  });

  it('escapes an underscore beside a sign inside an emoji-like code, which could italicise too', () => {
    // :-_x: … :x_-: would open italics after `-` and close them before `-`
    expect(escapeMrkdwn(':-_x: approved by the CFO :x_-: and :+1: and :flag-us:')).toBe(':-\u02cdx: approved by the CFO :x\u02cd-: and :+1: and :flag-us:');
  });
});

describe('richMrkdwn', () => {
  it('formats the bot\'s own words with real mrkdwn and escapes only what people typed', () => {
    const text = say`There is no role ${'"*root* <!channel>"'}. Type ${code('/prod-access roles')} to see them.`;
    expect(richMrkdwn(text)).toBe('There is no role "\u2217root\u2217 &lt;!channel&gt;". Type `/prod-access roles` to see them.');
  });

  it('shows the help with real backticks around each command, its < > escaped as Slack asks', () => {
    const help = richMrkdwn(CHAT_USAGE);
    expect(help).toContain('`/prod-access revoke &lt;id&gt;` give access back early');
    expect(help).not.toMatch(/[\u2217\u02cd\u223c\u02cb]/);
  });

  it('cannot be closed early by a backtick inside code', () => {
    expect(richMrkdwn([code('a`b')])).toBe('`a\u02cbb`');
  });
});

describe('mrkdwn', () => {
  it('turns off Slack\'s automatic linking of URLs, channel names and mentions', () => {
    expect(mrkdwn('x')).toEqual({ type: 'mrkdwn', text: 'x', verbatim: true });
  });
});

describe('plainText and fitSection', () => {
  it('cuts to the limit with an ellipsis', () => {
    expect(plainText('abcdef', 4)).toBe('abc…');
    expect(plainText('  ok  ', 4)).toBe('ok');
  });

  it('keeps line breaks and drops control characters', () => {
    expect(plainText('one\ntwo\u0000\u0008', 150)).toBe('one\ntwo');
  });

  it('never cuts an emoji in half', () => {
    expect(plainText('ab\u{1F525}cd', 4)).toBe('ab…');
    expect(fitSection(`ab\u{1F525}cd`, 4)).toBe('ab…');
  });

  it('never cuts a link in half', () => {
    expect(fitSection(`${'a'.repeat(8)} <https://x.example/abc>`, 14)).toBe(`${'a'.repeat(8)} …`);
  });

  it('never cuts an escaped entity in half', () => {
    expect(fitSection(`${'a'.repeat(8)}&amp;`, 11)).toBe(`${'a'.repeat(8)}…`);
  });
});

describe('slackDate', () => {
  it('renders in the reader time zone with a UTC fallback', () => {
    expect(slackDate(new Date('2026-03-03T10:00:00.000Z'))).toBe('<!date^1772532000^{date_short_pretty} {time}|2026-03-03 10:00 UTC>');
  });
});

describe('splitSections', () => {
  it('keeps every line of a text that escaping made longer than one section, the last one (a checkpoint) intact', () => {
    // Given a digest whose addresses are full of `&` (each becomes `&amp;`), fitted to 2,900 characters before escaping
    const lines = Array.from({ length: 30 }, (_, i) => `${'&'.repeat(60)}@corp.example: ${i} grants`);
    const text = escapeMrkdwn([...lines, 'Checkpoint (Ed25519, key 1a2b3c): 2026-03-02T08:00:00Z 4711 abcdef…'].join('\n'));
    expect(text.length).toBeGreaterThan(3000);

    // When it is cut into sections
    const sections = splitSections(text);

    // Then each fits, they are cut at line breaks, and together they are the whole text
    expect(sections.length).toBeGreaterThan(1);
    expect(sections.every((section) => section.length <= 3000)).toBe(true);
    expect(sections.join('\n')).toBe(text);
    expect(sections.at(-1)).toContain('Checkpoint (Ed25519, key 1a2b3c)');
  });

  it('shortens only a single line longer than a section, and leaves a short text as one section', () => {
    expect(splitSections('short\ntext')).toEqual(['short\ntext']);
    const long = splitSections(`${'x'.repeat(5000)}\nnext`);
    expect(long).toEqual([`${'x'.repeat(2999)}…`, 'next']);
  });
});
