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

  it('keeps formatting characters visible but unable to pair up, keeps line breaks, drops control characters', () => {
    const escaped = escapeMrkdwn('*bold* _it_ ~s~ `code`\nnext\u0007');
    expect(escaped).toBe('*\u200dbold*\u200d _\u200dit_\u200d ~\u200ds~\u200d `\u200dcode`\u200d\nnext');
    expect(escaped).not.toMatch(/\*[^\u200d]/);
  });
});

describe('plainText and fitSection', () => {
  it('cuts to the limit with an ellipsis', () => {
    expect(plainText('abcdef', 4)).toBe('abc…');
    expect(plainText('  ok  ', 4)).toBe('ok');
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
