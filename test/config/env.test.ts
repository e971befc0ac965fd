import { loadConfig } from '../../src/config/env';

describe('loadConfig', () => {
  it('runs on the embedded defaults with nothing set', () => {
    const loaded = loadConfig({});
    expect(loaded.ok).toBe(true);
    if (loaded.ok) {
      expect(loaded.config).toMatchObject({ port: 3000, work: { grantMaxAttempts: 5, revocationAlertAfter: 3, expiryNoticeMinutes: 10 } });
      expect(loaded.config.slack).toBeUndefined();
    }
  });

  it('turns Slack on in Socket Mode or HTTP mode from the tokens', () => {
    const socket = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' });
    expect(socket).toMatchObject({ ok: true, config: { slack: { botToken: 'xoxb-1', appToken: 'xapp-1' } } });
    const http = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's3cret', SLACK_API_URL: 'http://127.0.0.1:9/api/' });
    expect(http).toMatchObject({ ok: true, config: { slack: { botToken: 'xoxb-1', signingSecret: 's3cret', apiUrl: 'http://127.0.0.1:9/api/' } } });
  });

  it('says which Slack setting is missing or wrong, naming the variable', () => {
    const errors = (env: Record<string, string>) => {
      const loaded = loadConfig(env);
      return loaded.ok ? [] : loaded.errors;
    };
    expect(errors({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([expect.stringMatching(/^SLACK_APP_TOKEN: or SLACK_SIGNING_SECRET is needed/)]);
    expect(errors({ SLACK_APP_TOKEN: 'xapp-1' })).toEqual(['SLACK_BOT_TOKEN: is needed when any other SLACK_ variable is set']);
    expect(errors({ SLACK_BOT_TOKEN: 'xoxp-user', SLACK_APP_TOKEN: 'xapp-1' })).toEqual(['SLACK_BOT_TOKEN: must be a bot token (xoxb-…)']);
    expect(errors({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_API_URL: 'https://slack.com/api' })).toEqual([
      'SLACK_API_URL: must be a URL ending in /, like https://slack.com/api/',
    ]);
    expect(errors({ GRANT_MAX_ATTEMPTS: '0' })[0]).toMatch(/^GRANT_MAX_ATTEMPTS: /);
  });

  it('sends the SIEM lines to stdout unless AUDIT_LOG_FILE names a file, or is off', () => {
    expect(loadConfig({})).toMatchObject({ ok: true, config: { auditLog: { to: 'stdout' } } });
    expect(loadConfig({ AUDIT_LOG_FILE: '-' })).toMatchObject({ ok: true, config: { auditLog: { to: 'stdout' } } });
    expect(loadConfig({ AUDIT_LOG_FILE: 'off' })).toMatchObject({ ok: true, config: { auditLog: { to: 'off' } } });
    expect(loadConfig({ AUDIT_LOG_FILE: '/var/log/prod-access/audit.jsonl' })).toMatchObject({ ok: true, config: { auditLog: { to: 'file', path: '/var/log/prod-access/audit.jsonl' } } });
  });
});
