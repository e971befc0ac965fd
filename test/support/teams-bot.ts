import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../src/config/env';
import type { RequestId } from '../../src/domain/request-id';
import { startService, type RunningService } from '../../src/service/start-service';
import { cardIn, FakeTeams, textOf, type FakeTeamsUser, type TeamsCall, type TokenOptions } from '../fakes/fake-teams';
import { ManualClock, queryRows } from './app-harness';
import { repoRoot } from './processes';
import { createPostgresDatabase } from './test-database';

/** The people of the example policy, as Teams users of the fake tenant. */
export const teamsPeople = {
  dave: { id: '29:dave', aadObjectId: 'd0000000-0000-4000-8000-00000000da7e', email: 'dave@example.com' },
  alice: { id: '29:alice', aadObjectId: 'a0000000-0000-4000-8000-0000000a11ce', email: 'alice@example.com' },
  bob: { id: '29:bob', aadObjectId: 'b0000000-0000-4000-8000-000000000b0b', email: 'bob@example.com' },
  carol: { id: '29:carol', aadObjectId: 'c0000000-0000-4000-8000-00000000ca01', email: 'carol@example.com' },
  mallory: { id: '29:mallory', aadObjectId: 'e0000000-0000-4000-8000-0000000ba11e', email: 'mallory@elsewhere.org' },
  erin: { id: '29:erin', aadObjectId: 'e0000000-0000-4000-8000-00000000e214', email: 'erin@example.com' },
} satisfies Record<string, FakeTeamsUser>;

/** The team the bot is installed in: its General channel, and the policy's approvals and security channels. */
export const TEAM_ID = '19:general@thread.tacv2';
export const APPROVALS = '19:approvals@thread.tacv2';
export const SECURITY = '19:security@thread.tacv2';
export const BOT_ID = (appId: string) => `28:${appId}`;

export interface TeamsBot {
  readonly teams: FakeTeams;
  readonly service: RunningService;
  readonly clock: ManualClock;
  readonly url: string;
  readonly databaseUrl: string;
  /** Posts an activity with a valid token (or the one given); resolves with the HTTP status and body. */
  post(activity: Record<string, unknown>, opts?: { token?: string | null; tokenOptions?: TokenOptions }): Promise<{ status: number; body: unknown }>;
  /**
   * Writes `text` to the bot as `user`, in their 1:1 chat (or, with `in`, in a channel of the team,
   * with the bot mentioned); resolves with the HTTP status and the next message the bot wrote to
   * them in their 1:1 chat, as text.
   */
  command(user: FakeTeamsUser, text: string, opts?: { in?: string; tenantId?: string; waitForReply?: boolean }): Promise<{ status: number; reply: string; call?: TeamsCall }>;
  /**
   * Clicks an `Action.Execute` as `user`: on the request's approval card, where the bot posted it
   * (by default), in the user's 1:1 chat (`personal`), or on another message (`on`).
   */
  click(user: FakeTeamsUser, verb: string, data: Record<string, unknown>, opts?: { on?: { channel: string; messageId: string }; personal?: { replyToId: string }; id?: string; tenantId?: string }): Promise<{ status: number; body: InvokeBody }>;
  /** The bot is added to the team (conversationUpdate), and has recorded its channels. */
  install(): Promise<void>;
  stop(): Promise<void>;
}

/** An `adaptiveCard/action` invoke response body. */
export interface InvokeBody {
  readonly statusCode?: number;
  readonly type?: string;
  readonly value?: unknown;
}

let activities = 1;

/** Where the bot posted the Teams approval card of request `id` (it is posted just after the request opens). */
export async function teamsCardOf(service: RunningService, id: string): Promise<{ channel: string; messageId: string }> {
  // NB: up to 45 s, like FakeTeams.waitFor: a card may wait its turn under Teams' limits.
  for (let i = 0; i < 450; i++) {
    const card = await service.app.ctx.store.chatCard('teams', id as RequestId);
    if (card) return card;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no Teams approval card was recorded for ${id}`);
}

/** The text of the card a connector call carried. */
export function cardText(call: TeamsCall): string {
  return textOf(cardIn(call.body));
}

export interface TeamsBotOptions {
  readonly policyText?: string;
  /** Another bot's database: a second replica, or the same one restarted. */
  readonly databaseUrl?: string;
  readonly env?: Record<string, string>;
  /** Also run Slack in HTTP mode in the same process, against this fake Slack API URL and signing secret. */
  readonly slack?: { readonly apiUrl: string; readonly signingSecret: string };
  /** Skip installing the bot in the team. */
  readonly noInstall?: boolean;
  readonly clock?: ManualClock;
  /** Another bot's fake Teams (a second replica of the same bot); left open on stop. */
  readonly teams?: FakeTeams;
  /** Where the service logs (default: silent, or TEST_LOG_LEVEL). */
  readonly logger?: Logger;
}

/**
 * The real service with Teams on (agents-hosting's CloudAdapter on the bot's one HTTP server), on a
 * fresh PostgreSQL database, with a fake Entra ID (keys, tokens) and Bot Connector on loopback.
 * The bot's own token comes from the fake's token endpoint; every activity carries a real RS256
 * token signed by the fake's key, which the bot fetches from MICROSOFT_AUTHORITY.
 */
export async function startTeamsBot(opts: TeamsBotOptions = {}): Promise<TeamsBot> {
  const teams = opts.teams ?? (await FakeTeams.start());
  for (const person of Object.values(teamsPeople)) teams.addUser(person);
  teams.addTeam(TEAM_ID, [APPROVALS, SECURITY], Object.values(teamsPeople).map((p) => p.id));
  const closeTeams = opts.teams ? async () => undefined : () => teams.close();
  const database = opts.databaseUrl ? { url: opts.databaseUrl, close: async () => undefined } : await createPostgresDatabase({ migrate: false });
  const clock = opts.clock ?? new ManualClock(new Date(Date.now()));
  const policyDir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-teams-policy-'));
  const policyFile = path.join(policyDir, 'policy.yaml');
  writeFileSync(policyFile, opts.policyText ?? readFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), 'utf8'));
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    POLICY_FILE: policyFile,
    PORT: '0',
    HOST: '127.0.0.1',
    // NB: as in slack-bot.ts: the SIEM lines have tests of their own.
    AUDIT_LOG_FILE: 'off',
    MICROSOFT_APP_ID: teams.appId,
    MICROSOFT_APP_PASSWORD: teams.appPassword,
    MICROSOFT_APP_TENANT_ID: teams.tenantId,
    MICROSOFT_APP_TYPE: 'SingleTenant',
    MICROSOFT_AUTHORITY: teams.authority,
    ...(opts.slack ? { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: opts.slack.apiUrl, SLACK_SIGNING_SECRET: opts.slack.signingSecret } : {}),
    ...opts.env,
  };
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  let service: RunningService;
  try {
    service = await startService(loaded.config, opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), { env, clock, ...(env.TEAMS_ANONYMOUS === 'true' ? {} : { teamsTokens: teams.tokenSource() }) });
  } catch (error) {
    await closeTeams();
    await database.close();
    throw error;
  }
  const url = `http://127.0.0.1:${service.port}/api/messages`;
  const anonymous = env.TEAMS_ANONYMOUS === 'true';
  const botId = BOT_ID(teams.appId);
  const base = (user: FakeTeamsUser, conversation: Record<string, unknown>, channelData: Record<string, unknown>) => ({
    id: `activity-${activities++}`,
    channelId: 'msteams',
    serviceUrl: teams.serviceUrl,
    timestamp: new Date().toISOString(),
    from: { id: user.id, name: user.name ?? user.id, aadObjectId: user.aadObjectId },
    recipient: { id: botId, name: 'prod-access' },
    conversation,
    channelData,
  });
  const where = (user: FakeTeamsUser, channel: string | undefined, tenantId: string) =>
    channel
      ? { conversation: { id: `${channel};messageid=${Date.now()}`, conversationType: 'channel', isGroup: true, tenantId }, channelData: { tenant: { id: tenantId }, team: { id: TEAM_ID }, channel: { id: channel } } }
      : { conversation: { id: teams.personalChatOf(user.id), conversationType: 'personal', tenantId }, channelData: { tenant: { id: tenantId } } };

  const post: TeamsBot['post'] = async (activity, postOpts = {}) => {
    // NB: in anonymous mode activities come without a token, as the Agents Playground sends them.
    const token = postOpts.token === undefined ? (anonymous && !postOpts.tokenOptions ? null : teams.token(postOpts.tokenOptions)) : postOpts.token;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(activity) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // NB: not JSON; kept as text.
    }
    return { status: res.status, body };
  };

  const bot: TeamsBot = {
    teams,
    service,
    clock,
    url,
    databaseUrl: database.url,
    post,
    command: async (user, text, commandOpts = {}) => {
      const tenantId = commandOpts.tenantId ?? teams.tenantId;
      const place = where(user, commandOpts.in, tenantId);
      const mention = commandOpts.in ? '<at>prod-access</at>' : '';
      const activity = {
        ...base(user, place.conversation, place.channelData),
        type: 'message',
        text: commandOpts.in ? `${mention} ${text}` : text,
        ...(commandOpts.in ? { entities: [{ type: 'mention', text: mention, mentioned: { id: botId, name: 'prod-access' } }] } : {}),
      };
      const before = teams.calls.length;
      const { status } = await post(activity);
      if (status !== 200 || commandOpts.waitForReply === false) return { status, reply: '' };
      const chat = teams.personalChatOf(user.id);
      // NB: in the 1:1 chat the bot answers the message itself (a reply to its id), which tells the
      // answer from notices arriving meanwhile; from a channel it writes a new message in the 1:1 chat.
      const call = await (commandOpts.in
        ? teams.waitFor('send', (c) => teams.calls.indexOf(c) >= before && c.conversationId === chat)
        : teams.waitFor('reply', (c) => c.conversationId === chat && c.replyToId === activity.id)
      ).catch(() => undefined);
      return { status, reply: call ? cardText(call) : '', ...(call ? { call } : {}) };
    },
    click: async (user, verb, data, clickOpts = {}) => {
      const tenantId = clickOpts.tenantId ?? teams.tenantId;
      let conversation: Record<string, unknown>;
      let channelData: Record<string, unknown>;
      let replyToId: string;
      if (clickOpts.personal) {
        conversation = { id: teams.personalChatOf(user.id), conversationType: 'personal', tenantId };
        channelData = { tenant: { id: tenantId } };
        replyToId = clickOpts.personal.replyToId;
      } else {
        const on = clickOpts.on ?? (await teamsCardOf(service, String(data.requestId)));
        conversation = { id: `${on.channel};messageid=${on.messageId}`, conversationType: 'channel', isGroup: true, tenantId };
        channelData = { tenant: { id: tenantId }, team: { id: TEAM_ID }, channel: { id: on.channel } };
        replyToId = on.messageId;
      }
      const activity = {
        ...base(user, conversation, channelData),
        ...(clickOpts.id ? { id: clickOpts.id } : {}),
        type: 'invoke',
        name: 'adaptiveCard/action',
        replyToId,
        value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
      };
      const { status, body } = await post(activity);
      return { status, body: (body ?? {}) as InvokeBody };
    },
    install: async () => {
      const activity = {
        ...base(teamsPeople.erin, { id: TEAM_ID, conversationType: 'channel', isGroup: true, tenantId: teams.tenantId }, { tenant: { id: teams.tenantId }, team: { id: TEAM_ID }, eventType: 'teamMemberAdded' }),
        type: 'conversationUpdate',
        membersAdded: [{ id: botId }],
      };
      const { status } = await post(activity);
      // NB: the channels are recorded before the answer; the roster is read after it, and waited for here.
      if (status !== 200) throw new Error(`installing the bot in the team answered ${status}`);
      for (let i = 0; i < 100; i++) {
        const [row] = await queryRows<{ people: number }>(service.app.database, 'SELECT count(*)::int AS people FROM teams_people');
        if ((row?.people ?? 0) >= Object.keys(teamsPeople).length) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the bot did not record the team roster');
    },
    stop: async () => {
      try {
        await service.close();
      } finally {
        await closeTeams();
        await database.close();
        rmSync(policyDir, { recursive: true, force: true });
      }
    },
  };
  if (!opts.noInstall) await bot.install();
  return bot;
}
