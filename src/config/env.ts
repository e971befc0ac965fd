import path from 'node:path';
import { z } from 'zod';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
      message: 'must be a postgres:// or postgresql:// URL, or unset for the embedded database under DATA_DIR',
    }),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  POLICY_FILE: z.string().trim().min(1).default('manifests/policy.example.yaml'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  /** How often the policy file is checked for changes, in milliseconds. */
  POLICY_POLL_MS: z.coerce.number().int().min(100).max(3_600_000).default(2000),
  /** Failed grant attempts (provider unavailable) before an approved request is given up. */
  GRANT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** Failed revocation attempts in a row before security is alerted. */
  REVOCATION_ALERT_AFTER: z.coerce.number().int().min(1).max(100).default(3),
  /** Minutes before expiry that the expiring-soon notice is sent. */
  EXPIRY_NOTICE_MINUTES: z.coerce.number().int().min(1).max(1440).default(10),
  /** Where every audit event goes as one JSON line for a SIEM: unset or `-` stdout, `off` nowhere, else a file. */
  AUDIT_LOG_FILE: optionalText,
  SLACK_BOT_TOKEN: optionalText.refine((v) => v === undefined || v.startsWith('xoxb-'), { message: 'must be a bot token (xoxb-…)' }),
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText.refine((v) => v === undefined || v.startsWith('xapp-'), { message: 'must be an app-level token (xapp-…) with connections:write' }),
  SLACK_TEAM_ID: optionalText.refine((v) => v === undefined || /^T[A-Z0-9]{2,}$/.test(v), { message: 'must be a Slack workspace id like T0123ABCD' }),
  SLACK_ENTERPRISE_ID: optionalText.refine((v) => v === undefined || /^E[A-Z0-9]{2,}$/.test(v), { message: 'must be an Enterprise Grid organisation id like E0123ABCD' }),
  SLACK_API_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+\/.*\/$/.test(v), { message: 'must be a URL ending in /, like https://slack.com/api/' }),
}).superRefine((e, ctx) => {
  const slackVars = ['SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SLACK_API_URL', 'SLACK_TEAM_ID', 'SLACK_ENTERPRISE_ID'] as const;
  if (!e.SLACK_BOT_TOKEN && slackVars.some((v) => e[v] !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'is needed when any other SLACK_ variable is set' });
  }
  if (e.SLACK_BOT_TOKEN && !e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_APP_TOKEN'], message: 'or SLACK_SIGNING_SECRET is needed: SLACK_APP_TOKEN for Socket Mode (no public URL), SLACK_SIGNING_SECRET for HTTP mode' });
  }
});

export interface Config {
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly policyFile: string;
  readonly port: number;
  readonly host: string;
  readonly logLevel: (typeof logLevels)[number];
  readonly policyPollMs: number;
  readonly work: { readonly grantMaxAttempts: number; readonly revocationAlertAfter: number; readonly expiryNoticeMinutes: number };
  /** The SIEM lines (README, "SIEM"): to stdout (the default), a file, or off. */
  readonly auditLog: { readonly to: 'stdout' } | { readonly to: 'file'; readonly path: string } | { readonly to: 'off' };
  /** Set when SLACK_BOT_TOKEN is. */
  readonly slack?: {
    readonly botToken: string;
    /** HTTP mode: requests to `/slack/events` are verified with it. */
    readonly signingSecret?: string;
    /** Socket Mode (preferred when set): no public URL needed. */
    readonly appToken?: string;
    /** The Web API base URL, `https://slack.com/api/` unless a proxy or a test says otherwise. */
    readonly apiUrl?: string;
    /** The workspace (`T…`) whose members count; must be the bot token's own. Default: the token's. */
    readonly teamId?: string;
    /** An Enterprise Grid organisation (`E…`) whose members count; must be the token's own. */
    readonly enterpriseId?: string;
  };
}

export type ConfigParse = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Reads the environment once, at start. Paths are resolved against the working directory. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConfigParse {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  }
  const e = parsed.data;
  return {
    ok: true,
    config: {
      ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
      dataDir: path.resolve(e.DATA_DIR),
      policyFile: path.resolve(e.POLICY_FILE),
      port: e.PORT,
      host: e.HOST,
      logLevel: e.LOG_LEVEL,
      policyPollMs: e.POLICY_POLL_MS,
      ...(e.SLACK_BOT_TOKEN
        ? {
            slack: {
              botToken: e.SLACK_BOT_TOKEN,
              ...(e.SLACK_SIGNING_SECRET ? { signingSecret: e.SLACK_SIGNING_SECRET } : {}),
              ...(e.SLACK_APP_TOKEN ? { appToken: e.SLACK_APP_TOKEN } : {}),
              ...(e.SLACK_API_URL ? { apiUrl: e.SLACK_API_URL } : {}),
              ...(e.SLACK_TEAM_ID ? { teamId: e.SLACK_TEAM_ID } : {}),
              ...(e.SLACK_ENTERPRISE_ID ? { enterpriseId: e.SLACK_ENTERPRISE_ID } : {}),
            },
          }
        : {}),
      auditLog:
        e.AUDIT_LOG_FILE === undefined || e.AUDIT_LOG_FILE === '-' ? { to: 'stdout' } : e.AUDIT_LOG_FILE === 'off' ? { to: 'off' } : { to: 'file', path: path.resolve(e.AUDIT_LOG_FILE) },
      work: { grantMaxAttempts: e.GRANT_MAX_ATTEMPTS, revocationAlertAfter: e.REVOCATION_ALERT_AFTER, expiryNoticeMinutes: e.EXPIRY_NOTICE_MINUTES },
    },
  };
}
