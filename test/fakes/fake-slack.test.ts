import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import { ErrorCode, WebClient, WebClientEvent } from '@slack/web-api';
import pino from 'pino';
import { toBoltLogger } from '../../src/adapters/chat/slack/bolt-logger';
import { logSink } from '../support/log-sink';
import { FakeSlack } from './fake-slack';
import { blockAction, interactionBody, postSigned, slackSignature, slashCommandBody, viewSubmission } from './slack-signing';

// NB: these tests prove the fakes against the real SDKs (web-api 8, Bolt 5, socket-mode 3), so a
// Slack test that passes on the fakes means the same calls would work on Slack. They also pin the
// SDK behaviours the adapter relies on; a version bump that changes one fails here first.

const BOT_TOKEN = 'xoxb-fake-token';
const SECRET = 'fake-signing-secret';

/** Bolt's logger on pino, with the lines kept for assertions (and nothing on the console). */
function quietLogger(): { logger: BoltLogger; lines: () => Record<string, unknown>[] } {
  const sink = logSink();
  return { logger: toBoltLogger(pino({ level: 'debug' }, sink.stream)), lines: sink.lines };
}

/** web-api errors carry Slack's `error` under `data`; a test reads it without `any`. */
function platformError(error: unknown): { code?: string; error?: string } {
  const e = error as { code?: string; data?: { error?: string } };
  return { ...(e.code ? { code: e.code } : {}), ...(e.data?.error ? { error: e.data.error } : {}) };
}

describe('FakeSlack with the real WebClient', () => {
  let slack: FakeSlack;
  let client: WebClient;

  beforeAll(async () => {
    slack = await FakeSlack.start();
    slack.addUser({ id: 'U0DAVE', email: 'dave@example.com', tz: 'America/New_York', realName: 'Dave Example' });
    slack.addUser({ id: 'U0GONE', email: 'gone@example.com', deleted: true });
    slack.setUsergroup('S0LEADS', ['U0ALICE', 'U0BOB']);
    client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, logger: quietLogger().logger, retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 50 } });
  });
  afterAll(async () => {
    await slack.close();
  });

  it('records a message with its blocks decoded and the bearer token, then its update in place', async () => {
    // When a card is posted and then updated
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Request* 01ABCDEF' } }];
    const posted = await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'Request 01ABCDEF', blocks });
    await client.chat.update({ channel: posted.channel ?? '', ts: posted.ts ?? '', text: 'Granted', blocks: [] });

    // Then the fake saw both calls as Slack would, and answered with a channel and a ts
    expect(posted).toMatchObject({ ok: true, channel: 'C0APPROVALS', ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    const post = await slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0APPROVALS');
    expect(post.token).toBe(BOT_TOKEN);
    expect(post.args.blocks).toEqual(blocks);
    const update = await slack.waitFor('chat.update');
    expect(update.args).toMatchObject({ channel: 'C0APPROVALS', ts: posted.ts, text: 'Granted', blocks: [] });
  });

  it('gives every message a unique ts that sorts after the one before', async () => {
    const ts: string[] = [];
    for (let i = 0; i < 3; i += 1) ts.push((await client.chat.postMessage({ channel: 'C0X', text: `m${i}` })).ts ?? '');
    expect(new Set(ts).size).toBe(3);
    expect([...ts].sort((a, b) => Number(a) - Number(b))).toEqual(ts);
  });

  it('opens a DM channel for a user and posts ephemeral messages', async () => {
    const opened = await client.conversations.open({ users: 'U0DAVE' });
    expect(opened.channel?.id).toMatch(/^D/);
    const ephemeral = await client.chat.postEphemeral({ channel: 'C0X', user: 'U0DAVE', text: 'only you' });
    expect(ephemeral.ok).toBe(true);
  });

  it('looks a registered user up with e-mail, time zone and name, and refuses an unknown one with user_not_found', async () => {
    const found = await client.users.info({ user: 'U0DAVE' });
    expect(found.user).toMatchObject({ id: 'U0DAVE', real_name: 'Dave Example', tz: 'America/New_York', is_bot: false, deleted: false, profile: { email: 'dave@example.com' } });
    expect((await client.users.info({ user: 'U0GONE' })).user?.deleted).toBe(true);

    const unknown = await client.users.info({ user: 'U0NOBODY' }).catch((e: unknown) => e);
    expect(platformError(unknown)).toEqual({ code: ErrorCode.PlatformError as string, error: 'user_not_found' });
  });

  it('lists the members of a user group', async () => {
    expect((await client.usergroups.users.list({ usergroup: 'S0LEADS' })).users).toEqual(['U0ALICE', 'U0BOB']);
  });

  it('answers views.open, views.update and views.publish with a view id, and records the view decoded', async () => {
    const view = { type: 'modal' as const, callback_id: 'deny_form', title: { type: 'plain_text' as const, text: 'Deny' }, blocks: [] };
    const opened = await client.views.open({ trigger_id: 'trigger-1', view });
    expect(opened.view?.id).toMatch(/^V/);
    await client.views.update({ view_id: opened.view?.id ?? '', view });
    await client.views.publish({ user_id: 'U0DAVE', view: { type: 'home', blocks: [] } });
    expect((await slack.waitFor('views.open')).args.view).toEqual(view);
    expect((await slack.waitFor('views.publish')).args).toMatchObject({ user_id: 'U0DAVE', view: { type: 'home' } });
  });

  it('refuses a method it does not know with unknown_method, and records the call', async () => {
    const error = await client.apiCall('admin.nothing.here', { x: '1' }).catch((e: unknown) => e);
    expect(platformError(error).error).toBe('unknown_method');
    expect(slack.callsTo('admin.nothing.here')).toEqual([{ method: 'admin.nothing.here', args: { x: '1' }, token: BOT_TOKEN }]);
  });

  it('retries a 429 only after Retry-After, and the call then succeeds', async () => {
    // Given Slack rate-limits the next postMessage for one second
    slack.failNext('chat.postMessage', { error: 'ratelimited', status: 429, retryAfter: 1, when: (args) => args.channel === 'C0LIMITED' });
    const limited: number[] = [];
    client.on(WebClientEvent.RATE_LIMITED, (seconds: number) => limited.push(seconds));

    // When a message is posted
    const started = Date.now();
    const posted = await client.chat.postMessage({ channel: 'C0LIMITED', text: 'hello' });

    // Then the client waited the second, tried again, and the fake saw both tries
    expect(posted.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(limited).toEqual([1]);
    expect(slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0LIMITED')).toHaveLength(2);
  });

  it('retries an HTTP 500 by the retry policy, and the call then succeeds', async () => {
    slack.failNext('chat.update', { status: 500, when: (args) => args.ts === '500.000000' });
    await client.chat.update({ channel: 'C0X', ts: '500.000000', text: 'after the outage' });
    expect(slack.callsTo('chat.update').filter((c) => c.args.ts === '500.000000')).toHaveLength(2);
  });

  it('refuses a platform error such as channel_not_found at once, without retrying', async () => {
    slack.failNext('chat.postMessage', { error: 'channel_not_found', when: (args) => args.channel === 'C0GONE' });
    const error = await client.chat.postMessage({ channel: 'C0GONE', text: 'x' }).catch((e: unknown) => e);
    expect(platformError(error).error).toBe('channel_not_found');
    expect(slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0GONE')).toHaveLength(1);
  });

  it('refuses a 429 without Retry-After at once (the client cannot tell when to retry)', async () => {
    slack.failNext('chat.postMessage', { error: 'ratelimited', status: 429, when: (args) => args.channel === 'C0NORETRY' });
    const error = await client.chat.postMessage({ channel: 'C0NORETRY', text: 'x' }).catch((e: unknown) => e);
    expect(String(error)).toContain('Retry header did not contain a valid timeout');
    expect(slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0NORETRY')).toHaveLength(1);
  });

  it('refuses a JSON body it cannot parse with invalid_json instead of leaving the client waiting', async () => {
    const res = await fetch(`${slack.apiUrl}chat.postMessage`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"channel":' });
    expect(await res.json()).toEqual({ ok: false, error: 'invalid_json' });
  });

  it('records POSTs to a response_url under its key', async () => {
    await fetch(slack.responseUrl('reply 1'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'done', response_type: 'ephemeral' }) });
    expect((await slack.waitFor('response', (c) => c.args.key === 'reply 1')).args).toEqual({ key: 'reply 1', text: 'done', response_type: 'ephemeral' });
  });

  it('refuses to wait forever: waitFor names the calls it saw when none matched', async () => {
    await expect(slack.waitFor('chat.delete', () => true, 50)).rejects.toThrow(/no chat\.delete call matched within 50 ms; calls: .*chat\.postMessage/);
  });
});

describe('slack-signing', () => {
  it('signs as Slack documents it: v0= hex HMAC-SHA256 of "v0:<ts>:<body>"', () => {
    // NB: the example from Slack's "Verifying requests from Slack" page.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', body, 1531420618)).toEqual({
      'x-slack-request-timestamp': '1531420618',
      'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    });
  });
});

/** A promise a test resolves when it chooses: lets a listener be held mid-work. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

describe('Bolt 5 in HTTP mode behind our own node:http server', () => {
  let slack: FakeSlack;
  let server: http.Server;
  let eventsUrl: string;
  let logs: () => Record<string, unknown>[];
  const ran: { text: string; retryNum: number | undefined }[] = [];
  const slow = gate();

  beforeAll(async () => {
    slack = await FakeSlack.start();
    const quiet = quietLogger();
    logs = quiet.lines;
    // NB: 150 ms instead of Bolt's 3,001 ms, so the no-ack test is fast; the default is what
    // Slack sees when a listener forgets ack().
    const receiver = new HTTPReceiver({ signingSecret: SECRET, logger: quiet.logger, unhandledRequestTimeoutMillis: 150 });
    // NB: botId and botUserId keep the constructor from calling auth.test.
    const app = new App({ token: BOT_TOKEN, receiver, logger: quiet.logger, botId: 'B0BOT', botUserId: 'U0BOT', clientOptions: { slackApiUrl: slack.apiUrl } });
    app.command('/prod-access', async ({ command, ack, respond, client, context }) => {
      if (command.text === 'forget to ack') return;
      await ack(command.text === 'ack with text' ? { response_type: 'ephemeral', text: 'on it' } : undefined);
      ran.push({ text: command.text, retryNum: context.retryNum });
      if (command.text === 'slow') await slow.wait;
      if (command.text === 'post') await client.chat.postMessage({ channel: command.channel_id, text: 'from a listener' });
      await respond({ text: `done: ${command.text}` });
    });
    app.action('approve', async ({ ack }) => {
      await ack();
    });
    app.view('deny_form', async ({ ack }) => {
      await ack({ response_action: 'errors', errors: { reason: 'Say why, in a sentence.' } });
    });
    server = http.createServer((req, res) => {
      try {
        receiver.requestListener(req, res);
      } catch (error) {
        // NB: Bolt throws synchronously for a path it does not own, so the server can route it.
        if ((error as { code?: string }).code !== 'slack_bolt_http_receiver_deferred_request_error') throw error;
        res.writeHead(404).end('not bolt');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    eventsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterAll(async () => {
    slow.open();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await slack.close();
  });

  const command = (text: string, key: string) => slashCommandBody({ text, user_id: 'U0DAVE', channel_id: 'C0GENERAL', response_url: slack.responseUrl(key) });

  it('acks a signed slash command with 200 and an empty body, then replies on the response_url', async () => {
    const res = await postSigned(eventsUrl, command('help', 'help'), { secret: SECRET });
    expect(res).toEqual({ status: 200, text: '' });
    expect((await slack.waitFor('response', (c) => c.args.key === 'help')).args.text).toBe('done: help');
  });

  it('sends the ack() argument as the JSON response body', async () => {
    const res = await postSigned(eventsUrl, command('ack with text', 'ack-text'), { secret: SECRET });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ response_type: 'ephemeral', text: 'on it' });
  });

  it('answers as soon as ack() is called, while the listener is still working', async () => {
    // When the listener acks and then waits
    const res = await postSigned(eventsUrl, command('slow', 'slow'), { secret: SECRET });

    // Then Slack already has its 200, and the reply comes once the work is done
    expect(res.status).toBe(200);
    expect(slack.responses.filter((r) => r.key === 'slow')).toEqual([]);
    slow.open();
    await slack.waitFor('response', (c) => c.args.key === 'slow');
  });

  it('sends Web API calls from a listener with the bot token and the team id of the payload', async () => {
    await postSigned(eventsUrl, command('post', 'post'), { secret: SECRET });
    const post = await slack.waitFor('chat.postMessage', (c) => c.args.text === 'from a listener');
    expect(post.token).toBe(BOT_TOKEN);
    expect(post.args).toMatchObject({ channel: 'C0GENERAL', team_id: 'T0FAKE' });
  });

  it('refuses a bad signature with 401 and runs no listener', async () => {
    const before = ran.length;
    const res = await postSigned(eventsUrl, command('forged', 'forged'), { secret: 'not-the-secret' });
    expect(res.status).toBe(401);
    expect(ran.length).toBe(before);
  });

  it('refuses a request without signature headers with 401', async () => {
    const res = await fetch(eventsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: command('unsigned', 'unsigned') });
    expect(res.status).toBe(401);
  });

  it('refuses a timestamp more than five minutes old with 401, even when correctly signed', async () => {
    const res = await postSigned(eventsUrl, command('replayed', 'replayed'), { secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 5 * 60 - 5 });
    expect(res.status).toBe(401);
  });

  it('lets a correctly signed future timestamp through: Bolt only checks the past', async () => {
    const res = await postSigned(eventsUrl, command('from the future', 'future'), { secret: SECRET, timestamp: Math.floor(Date.now() / 1000) + 60 * 60 });
    expect(res.status).toBe(200);
  });

  it('runs a redelivery (x-slack-retry-num) again, with context.retryNum set: Bolt drops nothing itself', async () => {
    const body = command('redelivered', 'redelivered');
    expect((await postSigned(eventsUrl, body, { secret: SECRET })).status).toBe(200);
    expect((await postSigned(eventsUrl, body, { secret: SECRET, retryNum: 1 })).status).toBe(200);
    expect(ran.filter((r) => r.text === 'redelivered')).toEqual([
      { text: 'redelivered', retryNum: undefined },
      { text: 'redelivered', retryNum: 1 },
    ]);
  });

  it('answers 404 when no listener acks within unhandledRequestTimeoutMillis, and logs why', async () => {
    const started = Date.now();
    const res = await postSigned(eventsUrl, command('forget to ack', 'no-ack'), { secret: SECRET });
    expect(res.status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(logs().some((l) => String(l.msg).includes('not acknowledged within 3 seconds'))).toBe(true);
  });

  it('acks a button click (block_actions in the form field payload) with 200', async () => {
    const res = await postSigned(eventsUrl, interactionBody(blockAction({ userId: 'U0ALICE', actionId: 'approve', value: '01ABCDEF', responseUrl: slack.responseUrl('click') })), { secret: SECRET });
    expect(res).toEqual({ status: 200, text: '' });
  });

  it('returns a view_submission ack with errors as the JSON body', async () => {
    const res = await postSigned(eventsUrl, interactionBody(viewSubmission({ userId: 'U0CAROL', callbackId: 'deny_form', values: { reason: 'no' } })), { secret: SECRET });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ response_action: 'errors', errors: { reason: 'Say why, in a sentence.' } });
  });

  it('leaves paths it does not own to our server (a synchronous deferred-request error)', async () => {
    const res = await fetch(eventsUrl.replace('/slack/events', '/healthz'));
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('not bolt');
  });

  it('leaves a GET to /slack/events to our server too: Bolt owns only POST', async () => {
    const res = await fetch(eventsUrl, { method: 'GET' });
    expect(res.status).toBe(404);
  });
});

describe('Bolt 5 in Socket Mode against the fake socket server', () => {
  let slack: FakeSlack;
  let app: App;
  const ran: string[] = [];
  const homeRetryNums: (number | undefined)[] = [];

  beforeAll(async () => {
    slack = await FakeSlack.start();
    const { logger } = quietLogger();
    // NB: the socket client makes its own WebClient (for apps.connections.open, with the app
    // token); App's clientOptions do not reach it, only installerOptions.clientOptions do.
    const receiver = new SocketModeReceiver({ appToken: 'xapp-fake-token', logger, installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } } });
    app = new App({ token: BOT_TOKEN, receiver, logger, botId: 'B0BOT', botUserId: 'U0BOT', clientOptions: { slackApiUrl: slack.apiUrl } });
    app.command('/prod-access', async ({ command, ack, respond }) => {
      await ack(command.text === 'ack with text' ? { text: 'on it' } : undefined);
      ran.push(command.text);
      await respond({ text: `done: ${command.text}` });
    });
    app.action('approve', async ({ ack }) => {
      await ack();
    });
    app.action('forgotten', async () => undefined);
    app.event('app_home_opened', async ({ context }) => {
      homeRetryNums.push(context.retryNum);
    });
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
    await slack.close();
  });

  const command = (text: string, key: string) => ({
    token: 'deprecated',
    team_id: 'T0FAKE',
    channel_id: 'C0GENERAL',
    user_id: 'U0DAVE',
    command: '/prod-access',
    text,
    response_url: slack.responseUrl(key),
    trigger_id: `trigger-${key}`,
    api_app_id: 'A0PRODACCESS',
  });

  it('connects with the app token through apps.connections.open and is ready once the server says hello', async () => {
    const open = await slack.waitFor('apps.connections.open');
    expect(open.token).toBe('xapp-fake-token');
    expect(slack.socketClients).toBe(1);
  });

  it('acks a slash_commands envelope with an empty payload, then replies on the response_url', async () => {
    expect(await slack.sendEnvelope('slash_commands', command('help', 'socket-help'))).toEqual({});
    expect((await slack.waitFor('response', (c) => c.args.key === 'socket-help')).args.text).toBe('done: help');
    expect(ran).toContain('help');
  });

  it('carries the ack() argument back as the envelope payload', async () => {
    expect(await slack.sendEnvelope('slash_commands', command('ack with text', 'socket-text'))).toEqual({ text: 'on it' });
  });

  it('acks an interactive envelope (a button click)', async () => {
    expect(await slack.sendEnvelope('interactive', blockAction({ userId: 'U0ALICE', actionId: 'approve', value: '01ABCDEF', responseUrl: slack.responseUrl('socket-click') }))).toEqual({});
  });

  it('sends no ack at all when no listener acks: unlike HTTP mode there is no timeout answer', async () => {
    const click = blockAction({ userId: 'U0ALICE', actionId: 'forgotten', value: 'x', responseUrl: slack.responseUrl('socket-forgotten') });
    await expect(slack.sendEnvelope('interactive', click, 300)).rejects.toThrow(/was not acked within 300 ms/);
  });

  it('acks an events_api envelope itself, and a first delivery (retry_attempt 0) has context.retryNum 0, not undefined', async () => {
    const event = { type: 'event_callback', team_id: 'T0FAKE', api_app_id: 'A0PRODACCESS', event_id: 'Ev1', event_time: 1, event: { type: 'app_home_opened', user: 'U0DAVE', channel: 'D0DAVE', tab: 'home' } };
    expect(await slack.sendEnvelope('events_api', event)).toEqual({});
    await waitUntil(() => homeRetryNums.length === 1);
    expect(homeRetryNums).toEqual([0]);
  });
});

async function waitUntil(done: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
