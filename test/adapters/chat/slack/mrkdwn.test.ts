import { escapeMrkdwn, fitSection, plainText, slackDate } from '../../../../src/adapters/chat/slack/mrkdwn';

describe('escapeMrkdwn', () => {
  it('turns mentions, broadcasts and links into literal text', () => {
    expect(escapeMrkdwn('<!channel> <!here> <!everyone> <@U123> <#C123> <https://x.example|click>')).toBe(
      '&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U123&gt; &lt;#C123&gt; &lt;https://x.example|click&gt;',
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

  it('keeps the characters of a plain URL, so the link Slack makes of it still works', () => {
    expect(escapeMrkdwn('see https://wiki.example/Runbook_Payouts?a=1&b=*2* for _why_')).toBe('see https://wiki.example/Runbook_Payouts?a=1&amp;b=*2* for \u02cdwhy\u02cd');
  });

  it('keeps emoji codes (harmless) and line breaks, and drops control characters', () => {
    expect(escapeMrkdwn(':rotating_light: payouts at 10:30_now_\r\nstuck\u0007\u001b[31m\ttoo')).toBe(':rotating_light: payouts at 10:30\u02cdnow\u02cd\nstuck[31mtoo');
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

  it('never cuts an escaped entity in half', () => {
    expect(fitSection(`${'a'.repeat(8)}&amp;`, 11)).toBe(`${'a'.repeat(8)}…`);
  });
});

describe('slackDate', () => {
  it('renders in the reader time zone with a UTC fallback', () => {
    expect(slackDate(new Date('2026-03-03T10:00:00.000Z'))).toBe('<!date^1772532000^{date_short_pretty} {time}|2026-03-03 10:00 UTC>');
  });
});
