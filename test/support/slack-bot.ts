import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/env';
import type { RequestId } from '../../src/domain/request-id';
import { startService, type RunningService } from '../../src/service/start-service';
import { FakeSlack } from '../fakes/fake-slack';
import { blockAction, interactionBody, postSigned, slashCommandBody, viewSubmission } from '../fakes/slack-signing';
import { ManualClock } from './app-harness';
import { repoRoot } from './processes';
import { createPostgresDatabase } from './test-database';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

/** The people of the example policy, as Slack users. */
export const people = {
  dave: { id: 'U0DAVE', email: 'dave@example.com' },
  alice: { id: 'U0ALICE', email: 'alice@example.com' },
  bob: { id: 'U0BOB', email: 'bob@example.com' },
  carol: { id: 'U0CAROL', email: 'carol@example.com' },
  mallory: { id: 'U0MALLORY', email: 'mallory@elsewhere.org' },
  erin: { id: 'U0ERIN', email: 'erin@example.com' },
} as const;

export interface SlackBot {
  readonly slack: FakeSlack;
  readonly service: RunningService;
  readonly clock: ManualClock;
  readonly eventsUrl: string;
  readonly databaseUrl: string;
  /** Sends `/prod-access <text>` as `user`; resolves with the HTTP status and the ephemeral reply posted to its response_url. */
  command(user: string, text: string): Promise<{ status: number; reply: string }>;
  /**
   * Clicks a button on the request's approval card, where the bot posted it (waiting for the card
   * if need be), or in the App Home (`fromHome`), or on a message elsewhere (`on`).
   */
  click(user: string, actionId: string, value: string, opts?: { fromHome?: boolean; on?: { channelId: string; messageTs: string; botId?: string }; teamId?: string }): Promise<{ status: number; key: string }>;
  /** Submits a modal; resolves with the HTTP status and the parsed ack body (errors, if any). */
  submit(user: string, callbackId: string, values: Parameters<typeof viewSubmission>[0]['values'], privateMetadata?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

let responses = 1;

/** Where the bot posted the approval card of request `id` (it is posted just after the request opens). */
export async function cardOf(service: RunningService, id: string): Promise<{ channelId: string; messageTs: string }> {
  for (let i = 0; i < 100; i++) {
    const card = await service.app.ctx.store.chatCard('slack', id as RequestId);
    if (card) return { channelId: card.channel, messageTs: card.messageId };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no approval card was recorded for ${id}`);
}

/**
 * The real service in HTTP mode (Bolt's HTTPReceiver on the bot's one HTTP server), on a fresh
 * PostgreSQL database, talking to a fake Slack Web API on loopback; the clock is the test's.
 */
export async function startSlackBot(opts: { socketMode?: boolean; policyText?: string; /** Another bot's database: a second replica, or the same one restarted. */ databaseUrl?: string; env?: Record<string, string> } = {}): Promise<SlackBot> {
  const slack = await FakeSlack.start();
  for (const person of Object.values(people)) slack.addUser(person);
  slack.addUser({ id: 'U0NOMAIL' });
  const database = opts.databaseUrl ? { url: opts.databaseUrl, close: async () => undefined } : await createPostgresDatabase({ migrate: false });
  const clock = new ManualClock(new Date(Date.now()));
  const policyDir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-slack-policy-'));
  const policyFile = path.join(policyDir, 'policy.yaml');
  writeFileSync(policyFile, opts.policyText ?? readFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), 'utf8'));
  // NB: the SIEM lines have tests of their own; in process they would go to Jest's stdout, whose
  // reporter (one file, in band) never completes a write, and clutter the output.
  const env = {
    DATABASE_URL: database.url,
    POLICY_FILE: policyFile,
    PORT: '0',
    HOST: '127.0.0.1',
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.apiUrl,
    AUDIT_LOG_FILE: 'off',
    ...(opts.socketMode ? { SLACK_APP_TOKEN: 'xapp-test-token' } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
    ...opts.env,
  };
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  let service: RunningService;
  try {
    service = await startService(loaded.config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), { env, clock });
  } catch (error) {
    await slack.close();
    await database.close();
    throw error;
  }
  const eventsUrl = `http://127.0.0.1:${service.port}/slack/events`;
  return {
    slack,
    service,
    clock,
    eventsUrl,
    databaseUrl: database.url,
    command: async (user, text) => {
      const key = `cmd-${responses++}`;
      const { status } = await postSigned(eventsUrl, slashCommandBody({ text, user_id: user, response_url: slack.responseUrl(key) }), { secret: SIGNING_SECRET });
      if (status !== 200) return { status, reply: '' };
      const posted = await slack.waitFor('response', (c) => c.args.key === key).catch(() => undefined);
      return { status, reply: posted ? String(posted.args.text ?? '') : '' };
    },
    click: async (user, actionId, value, clickOpts = {}) => {
      const key = `click-${responses++}`;
      const on = clickOpts.fromHome ? undefined : (clickOpts.on ?? (await cardOf(service, value)));
      const payload = blockAction({ userId: user, actionId, value, ...(on ? { responseUrl: slack.responseUrl(key), ...on } : {}), ...(clickOpts.teamId ? { teamId: clickOpts.teamId } : {}) });
      const { status } = await postSigned(eventsUrl, interactionBody(payload), { secret: SIGNING_SECRET });
      return { status, key };
    },
    submit: async (user, callbackId, values, privateMetadata) => {
      const payload = viewSubmission({ userId: user, callbackId, values, ...(privateMetadata !== undefined ? { privateMetadata } : {}) });
      const { status, text } = await postSigned(eventsUrl, interactionBody(payload), { secret: SIGNING_SECRET });
      return { status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    stop: async () => {
      try {
        await service.close();
      } finally {
        await slack.close();
        await database.close();
        rmSync(policyDir, { recursive: true, force: true });
      }
    },
  };
}
