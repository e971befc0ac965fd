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

  it('resolves AUDIT_SIGNING_KEY_FILE against the working directory, and leaves it unset when empty', () => {
    expect(loadConfig({ AUDIT_SIGNING_KEY_FILE: 'keys/audit.pem' })).toMatchObject({ ok: true, config: { auditSigningKeyFile: `${process.cwd()}/keys/audit.pem` } });
    const empty = loadConfig({ AUDIT_SIGNING_KEY_FILE: ' ' });
    expect(empty.ok && empty.config.auditSigningKeyFile).toBeUndefined();
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

  describe('Microsoft Teams', () => {
    const APP = '11111111-2222-4333-8444-555555555555';
    const TENANT = 'AAAAAAAA-0000-4000-8000-000000000001';
    const OTHER = 'bbbbbbbb-0000-4000-8000-000000000002';
    const errors = (env: Record<string, string>) => {
      const loaded = loadConfig(env);
      return loaded.ok ? [] : loaded.errors;
    };

    it('turns Teams on for a single-tenant app with a password, serving its own tenant by default', () => {
      const loaded = loadConfig({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TENANT_ID: TENANT });
      expect(loaded).toMatchObject({
        ok: true,
        config: { teams: { anonymous: false, appId: APP, appType: 'SingleTenant', tenantId: TENANT.toLowerCase(), credential: { kind: 'password', password: 'pw' }, tenants: [TENANT.toLowerCase()], authority: 'https://login.microsoftonline.com' } },
      });
      const none = loadConfig({});
      expect(none.ok && none.config.teams).toBeUndefined();
    });

    it('takes a certificate instead of a password, a managed identity, and a multi-tenant app with its tenants', () => {
      expect(loadConfig({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_TENANT_ID: TENANT, MICROSOFT_APP_CERT_FILE: 'bot.pem', MICROSOFT_APP_CERT_KEY_FILE: 'bot.key' })).toMatchObject({
        ok: true,
        config: { teams: { credential: { kind: 'certificate', certFile: expect.stringMatching(/\/bot\.pem$/), keyFile: expect.stringMatching(/\/bot\.key$/) } } },
      });
      expect(loadConfig({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_TENANT_ID: TENANT, MICROSOFT_APP_TYPE: 'UserAssignedMSI' })).toMatchObject({ ok: true, config: { teams: { appType: 'UserAssignedMSI', credential: { kind: 'managed_identity' } } } });
      expect(loadConfig({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TYPE: 'MultiTenant', TEAMS_TENANTS: `${TENANT}, ${OTHER}` })).toMatchObject({
        ok: true,
        config: { teams: { appType: 'MultiTenant', tenants: [TENANT.toLowerCase(), OTHER] } },
      });
    });

    it('says which Teams setting is missing or wrong, naming the variable', () => {
      expect(errors({ MICROSOFT_APP_PASSWORD: 'pw' })).toEqual(['MICROSOFT_APP_ID: is needed when MICROSOFT_APP_PASSWORD is set (or TEAMS_ANONYMOUS=true to try the bot locally without one)']);
      expect(errors({ MICROSOFT_APP_ID: 'not-a-guid', MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TENANT_ID: TENANT })[0]).toMatch(/^MICROSOFT_APP_ID: must be the bot's Microsoft App ID/);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_TENANT_ID: TENANT })).toEqual([expect.stringMatching(/^MICROSOFT_APP_PASSWORD: or a certificate .* is needed for a SingleTenant app/)]);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw' })).toEqual([expect.stringMatching(/^MICROSOFT_APP_TENANT_ID: is needed for a SingleTenant app/)]);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TYPE: 'MultiTenant' })).toEqual([expect.stringMatching(/^TEAMS_TENANTS: is needed for a MultiTenant app/)]);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TENANT_ID: TENANT, MICROSOFT_APP_TYPE: 'Multi' })[0]).toMatch(/^MICROSOFT_APP_TYPE: must be one of SingleTenant, MultiTenant, UserAssignedMSI/);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TENANT_ID: TENANT, MICROSOFT_APP_CERT_FILE: 'a.pem', MICROSOFT_APP_CERT_KEY_FILE: 'a.key' })).toEqual([
        'MICROSOFT_APP_PASSWORD: and a certificate (MICROSOFT_APP_CERT_FILE) are both set: keep one credential',
      ]);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_TENANT_ID: TENANT, MICROSOFT_APP_CERT_FILE: 'a.pem' })).toEqual([expect.stringMatching(/^MICROSOFT_APP_CERT_KEY_FILE: is needed with MICROSOFT_APP_CERT_FILE/)]);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_TENANT_ID: TENANT, MICROSOFT_APP_TYPE: 'UserAssignedMSI', MICROSOFT_APP_PASSWORD: 'pw' })[0]).toMatch(/^MICROSOFT_APP_TYPE: UserAssignedMSI uses the managed identity/);
      expect(errors({ MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TENANT_ID: TENANT, TEAMS_TENANTS: 'contoso.com' })).toEqual(['TEAMS_TENANTS: must be tenant ids (GUIDs) separated by commas']);
    });

    it('takes a plain-HTTP authority only on loopback (a test key server)', () => {
      const base = { MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TENANT_ID: TENANT };
      expect(loadConfig({ ...base, MICROSOFT_AUTHORITY: 'http://127.0.0.1:8080/' })).toMatchObject({ ok: true, config: { teams: { authority: 'http://127.0.0.1:8080' } } });
      expect(errors({ ...base, MICROSOFT_AUTHORITY: 'http://login.example.com' })[0]).toMatch(/^MICROSOFT_AUTHORITY: must be an https:\/\/ URL/);
    });

    it('takes anonymous mode only alone, and never in production', () => {
      expect(loadConfig({ TEAMS_ANONYMOUS: 'true' })).toMatchObject({ ok: true, config: { teams: { anonymous: true, tenants: [] } } });
      expect(errors({ TEAMS_ANONYMOUS: 'true', MICROSOFT_APP_ID: APP, MICROSOFT_APP_PASSWORD: 'pw', MICROSOFT_APP_TENANT_ID: TENANT })).toEqual([expect.stringMatching(/^TEAMS_ANONYMOUS: cannot be true with MICROSOFT_APP_ID set/)]);
      expect(errors({ TEAMS_ANONYMOUS: 'true', MICROSOFT_APP_PASSWORD: 'pw' })).toEqual([expect.stringMatching(/^TEAMS_ANONYMOUS: cannot be true with MICROSOFT_APP_PASSWORD set/)]);
      expect(errors({ TEAMS_ANONYMOUS: 'true', NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^TEAMS_ANONYMOUS: cannot be true with NODE_ENV=production/)]);
      expect(loadConfig({ TEAMS_ANONYMOUS: 'false' })).toMatchObject({ ok: true, config: {} });
    });
  });

  it('sends the SIEM lines to stdout unless AUDIT_LOG_FILE names a file, or is off', () => {
    expect(loadConfig({})).toMatchObject({ ok: true, config: { auditLog: { to: 'stdout' } } });
    expect(loadConfig({ AUDIT_LOG_FILE: '-' })).toMatchObject({ ok: true, config: { auditLog: { to: 'stdout' } } });
    expect(loadConfig({ AUDIT_LOG_FILE: 'off' })).toMatchObject({ ok: true, config: { auditLog: { to: 'off' } } });
    expect(loadConfig({ AUDIT_LOG_FILE: '/var/log/prod-access/audit.jsonl' })).toMatchObject({ ok: true, config: { auditLog: { to: 'file', path: '/var/log/prod-access/audit.jsonl' } } });
  });
});
