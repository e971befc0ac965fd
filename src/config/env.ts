import path from 'node:path';
import { z } from 'zod';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const teamsAppTypes = ['SingleTenant', 'MultiTenant', 'UserAssignedMSI'] as const;
export type TeamsAppType = (typeof teamsAppTypes)[number];

/** `https://…`, or `http://` to a loopback address (a local test key server): never plain HTTP over a network. */
function isAuthorityUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.search || url.hash || url.username || url.password) return false;
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
  } catch {
    return false;
  }
}

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
  /** The Ed25519 private key (PEM, owner-only) that signs audit checkpoints; checked when it is used. */
  AUDIT_SIGNING_KEY_FILE: optionalText,
  /** Where every audit event goes as one JSON line for a SIEM: unset or `-` stdout, `off` nowhere, else a file. */
  AUDIT_LOG_FILE: optionalText,
  SLACK_BOT_TOKEN: optionalText.refine((v) => v === undefined || v.startsWith('xoxb-'), { message: 'must be a bot token (xoxb-…)' }),
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText.refine((v) => v === undefined || v.startsWith('xapp-'), { message: 'must be an app-level token (xapp-…) with connections:write' }),
  SLACK_TEAM_ID: optionalText.refine((v) => v === undefined || /^T[A-Z0-9]{2,}$/.test(v), { message: 'must be a Slack workspace id like T0123ABCD' }),
  SLACK_ENTERPRISE_ID: optionalText.refine((v) => v === undefined || /^E[A-Z0-9]{2,}$/.test(v), { message: 'must be an Enterprise Grid organisation id like E0123ABCD' }),
  SLACK_API_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^/]+\/.*\/$/.test(v), { message: 'must be a URL ending in /, like https://slack.com/api/' }),
  MICROSOFT_APP_ID: optionalText.refine((v) => v === undefined || GUID.test(v), { message: "must be the bot's Microsoft App ID, a GUID like 00000000-0000-0000-0000-000000000000 (Azure Bot resource, Configuration)" }),
  MICROSOFT_APP_PASSWORD: optionalText,
  MICROSOFT_APP_CERT_FILE: optionalText,
  MICROSOFT_APP_CERT_KEY_FILE: optionalText,
  MICROSOFT_APP_TENANT_ID: optionalText.refine((v) => v === undefined || GUID.test(v), { message: 'must be the Entra ID tenant id of the bot, a GUID' }),
  MICROSOFT_APP_TYPE: optionalText.refine((v) => v === undefined || (teamsAppTypes as readonly string[]).includes(v), { message: `must be one of ${teamsAppTypes.join(', ')} (the Azure Bot resource's "Type of App")` }),
  MICROSOFT_AUTHORITY: optionalText.refine((v) => v === undefined || isAuthorityUrl(v), { message: 'must be an https:// URL like https://login.microsoftonline.com (http:// only to a loopback address, for tests)' }),
  TEAMS_TENANTS: optionalText.refine((v) => v === undefined || v.split(',').every((t) => GUID.test(t.trim())), { message: 'must be tenant ids (GUIDs) separated by commas' }),
  TEAMS_ANONYMOUS: optionalText.refine((v) => v === undefined || v === 'true' || v === 'false', { message: 'must be true or false' }),
  NODE_ENV: optionalText,
}).superRefine((e, ctx) => {
  const slackVars = ['SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SLACK_API_URL', 'SLACK_TEAM_ID', 'SLACK_ENTERPRISE_ID'] as const;
  if (!e.SLACK_BOT_TOKEN && slackVars.some((v) => e[v] !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'is needed when any other SLACK_ variable is set' });
  }
  if (e.SLACK_BOT_TOKEN && !e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_APP_TOKEN'], message: 'or SLACK_SIGNING_SECRET is needed: SLACK_APP_TOKEN for Socket Mode (no public URL), SLACK_SIGNING_SECRET for HTTP mode' });
  }
  checkTeams(e, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }));
});

type Env = z.infer<typeof envSchema>;

/** The Teams variables hang together: an app id with the credential its app type needs, or anonymous mode alone. */
function checkTeams(e: Env, issue: (path: keyof Env, message: string) => void): void {
  const anonymous = e.TEAMS_ANONYMOUS === 'true';
  const appVars = ['MICROSOFT_APP_PASSWORD', 'MICROSOFT_APP_CERT_FILE', 'MICROSOFT_APP_CERT_KEY_FILE', 'MICROSOFT_APP_TENANT_ID', 'MICROSOFT_APP_TYPE', 'MICROSOFT_AUTHORITY'] as const;
  if (anonymous) {
    // NB: anonymous mode accepts requests with no token at all: it must never be on by accident next to real credentials.
    if (e.MICROSOFT_APP_ID) issue('TEAMS_ANONYMOUS', 'cannot be true with MICROSOFT_APP_ID set: anonymous mode accepts unauthenticated requests, and is only for trying the bot locally (Agents Playground). Unset one of them');
    else if (appVars.some((v) => e[v] !== undefined)) issue('TEAMS_ANONYMOUS', `cannot be true with ${appVars.filter((v) => e[v] !== undefined).join(', ')} set: anonymous mode uses no credentials`);
    if (e.NODE_ENV === 'production') issue('TEAMS_ANONYMOUS', 'cannot be true with NODE_ENV=production: anonymous mode is only for trying the bot locally');
    return;
  }
  if (!e.MICROSOFT_APP_ID) {
    const set = [...appVars, 'TEAMS_TENANTS' as const].filter((v) => e[v] !== undefined);
    if (set.length > 0) issue('MICROSOFT_APP_ID', `is needed when ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set (or TEAMS_ANONYMOUS=true to try the bot locally without one)`);
    return;
  }
  const type = (e.MICROSOFT_APP_TYPE ?? 'SingleTenant') as TeamsAppType;
  const certificate = e.MICROSOFT_APP_CERT_FILE !== undefined || e.MICROSOFT_APP_CERT_KEY_FILE !== undefined;
  if (e.MICROSOFT_APP_CERT_FILE === undefined && e.MICROSOFT_APP_CERT_KEY_FILE !== undefined) issue('MICROSOFT_APP_CERT_FILE', 'is needed with MICROSOFT_APP_CERT_KEY_FILE: the certificate (PEM) whose private key that file holds');
  if (e.MICROSOFT_APP_CERT_FILE !== undefined && e.MICROSOFT_APP_CERT_KEY_FILE === undefined) issue('MICROSOFT_APP_CERT_KEY_FILE', 'is needed with MICROSOFT_APP_CERT_FILE: the private key (PEM) of that certificate');
  if (type === 'UserAssignedMSI') {
    if (e.MICROSOFT_APP_PASSWORD !== undefined || certificate) issue('MICROSOFT_APP_TYPE', 'UserAssignedMSI uses the managed identity, not MICROSOFT_APP_PASSWORD or a certificate: unset them, or choose SingleTenant');
  } else if (e.MICROSOFT_APP_PASSWORD !== undefined && certificate) {
    issue('MICROSOFT_APP_PASSWORD', 'and a certificate (MICROSOFT_APP_CERT_FILE) are both set: keep one credential');
  } else if (e.MICROSOFT_APP_PASSWORD === undefined && !certificate) {
    issue('MICROSOFT_APP_PASSWORD', `or a certificate (MICROSOFT_APP_CERT_FILE and MICROSOFT_APP_CERT_KEY_FILE) is needed for a ${type} app: the client secret of the app registration`);
  }
  if (type !== 'MultiTenant' && e.MICROSOFT_APP_TENANT_ID === undefined) issue('MICROSOFT_APP_TENANT_ID', `is needed for a ${type} app: the Entra ID tenant the app registration lives in`);
  if (type === 'MultiTenant' && e.TEAMS_TENANTS === undefined) {
    issue('TEAMS_TENANTS', 'is needed for a MultiTenant app: the tenant ids whose members may use prod-access (anyone can install a multi-tenant app in their own tenant)');
  }
}

export interface Config {
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly policyFile: string;
  readonly port: number;
  readonly host: string;
  readonly logLevel: (typeof logLevels)[number];
  readonly policyPollMs: number;
  readonly work: { readonly grantMaxAttempts: number; readonly revocationAlertAfter: number; readonly expiryNoticeMinutes: number };
  /** Set when AUDIT_SIGNING_KEY_FILE is: the key that signs checkpoints (absolute path). */
  readonly auditSigningKeyFile?: string;
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
  /** Set when MICROSOFT_APP_ID is, or TEAMS_ANONYMOUS=true. */
  readonly teams?: TeamsConfig;
}

/** How the bot proves who it is to Microsoft when it calls the Bot Connector. */
export type TeamsCredential =
  | { readonly kind: 'password'; readonly password: string }
  | { readonly kind: 'certificate'; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: 'managed_identity' };

export type TeamsConfig =
  | {
      readonly anonymous: false;
      readonly appId: string;
      readonly appType: TeamsAppType;
      /** The app registration's tenant; unset for a MultiTenant app. */
      readonly tenantId?: string;
      readonly credential: TeamsCredential;
      /** Tenants (lower-case GUIDs) whose members count; activities from any other are refused. */
      readonly tenants: readonly string[];
      /** The Entra authority (`https://login.microsoftonline.com`); tests point it at a local key server. */
      readonly authority: string;
    }
  | {
      /** No token checks at all: only for trying the bot locally (Agents Playground). */
      readonly anonymous: true;
      /** Empty: any tenant. */
      readonly tenants: readonly string[];
    };

export type ConfigParse = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Reads the environment once, at start. Paths are resolved against the working directory. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConfigParse {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  }
  const e = parsed.data;
  const teams = teamsConfig(e);
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
      ...(e.AUDIT_SIGNING_KEY_FILE ? { auditSigningKeyFile: path.resolve(e.AUDIT_SIGNING_KEY_FILE) } : {}),
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
      ...(teams ? { teams } : {}),
      auditLog:
        e.AUDIT_LOG_FILE === undefined || e.AUDIT_LOG_FILE === '-' ? { to: 'stdout' } : e.AUDIT_LOG_FILE === 'off' ? { to: 'off' } : { to: 'file', path: path.resolve(e.AUDIT_LOG_FILE) },
      work: { grantMaxAttempts: e.GRANT_MAX_ATTEMPTS, revocationAlertAfter: e.REVOCATION_ALERT_AFTER, expiryNoticeMinutes: e.EXPIRY_NOTICE_MINUTES },
    },
  };
}

function tenantList(value: string | undefined): string[] {
  return value === undefined ? [] : [...new Set(value.split(',').map((t) => t.trim().toLowerCase()))];
}

function teamsConfig(e: Env): TeamsConfig | undefined {
  if (e.TEAMS_ANONYMOUS === 'true') return { anonymous: true, tenants: tenantList(e.TEAMS_TENANTS) };
  if (!e.MICROSOFT_APP_ID) return undefined;
  const appType = (e.MICROSOFT_APP_TYPE ?? 'SingleTenant') as TeamsAppType;
  const credential: TeamsCredential =
    appType === 'UserAssignedMSI'
      ? { kind: 'managed_identity' }
      : e.MICROSOFT_APP_PASSWORD !== undefined
        ? { kind: 'password', password: e.MICROSOFT_APP_PASSWORD }
        : { kind: 'certificate', certFile: path.resolve(e.MICROSOFT_APP_CERT_FILE ?? ''), keyFile: path.resolve(e.MICROSOFT_APP_CERT_KEY_FILE ?? '') };
  return {
    anonymous: false,
    // NB: as registered: the SDK compares it with the token's audience exactly.
    appId: e.MICROSOFT_APP_ID,
    appType,
    ...(e.MICROSOFT_APP_TENANT_ID ? { tenantId: e.MICROSOFT_APP_TENANT_ID.toLowerCase() } : {}),
    credential,
    tenants: e.TEAMS_TENANTS !== undefined ? tenantList(e.TEAMS_TENANTS) : tenantList(e.MICROSOFT_APP_TENANT_ID),
    authority: (e.MICROSOFT_AUTHORITY ?? 'https://login.microsoftonline.com').replace(/\/+$/, ''),
  };
}
