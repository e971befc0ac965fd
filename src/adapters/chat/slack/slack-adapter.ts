import type { RequestListener } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import { AfterAck } from './after-ack';
import { toBoltLogger } from './bolt-logger';
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { AppContext } from '../../../app/app-context';
import type { Config } from '../../../config/env';
import { acknowledgeAlert, acknowledgementText } from '../../../app/acknowledge-alert';
import { approveRequest } from '../../../app/approve-request';
import type { AlertView } from '../../../app/chat/alert-view';
import type { ApprovalCard } from '../../../app/chat/approval-card';
import { chatRefusalText, parseChatCommand } from '../../../app/chat/chat-command';
import type { ChatPlatform, MessageRef, PersonMessage } from '../../../app/chat/chat-platform';
import { runChatCommand, type ChatActor, type ChatReply } from '../../../app/chat/run-chat-command';
import { denyRequest } from '../../../app/deny-request';
import { describeFailure, NotificationError } from '../../../app/errors';
import { extendAccess } from '../../../app/extend-access';
import { listAwaitingMyApproval } from '../../../app/list-requests';
import type { Outcome } from '../../../app/outcome';
import { approvalText, openedText } from '../../../app/outcome-text';
import { dryRunRequest, requestAccess } from '../../../app/request-access';
import type { AccessRequest } from '../../../domain/access-request';
import { parseAlertId } from '../../../domain/alert';
import type { Email } from '../../../domain/email';
import type { RefusalCode } from '../../../domain/lifecycle/transition';
import { requestableRoles } from '../../../domain/policy';
import { parseExactRequestId, type RequestId } from '../../../domain/request-id';
import { type RichText, say } from '../../../domain/rich-text';
import { actionIds, alertActionIds, alertBlocks, approvalCardBlocks, denyFormView, extendFormView, homeView, personMessageBlocks, replyBlocks, requestFormView, viewIds } from './blocks';
import { escapeMrkdwn, fitSection, mrkdwn, splitSections } from './mrkdwn';
import { isOurWorkspace, SlackDirectory, type SlackWorkspace } from './slack-identity';

/** What `npm start` reads from the environment for Slack (see .env.example). */
export type SlackSettings = NonNullable<Config['slack']>;

export interface SlackHooks {
  /** Something changed in the database: deliver notices now rather than at the next sweep. */
  onChange(): void;
}

/** Tells the person who typed or clicked: ephemeral where possible, else a DM. */
type Tell = (reply: ChatReply) => Promise<void>;

/** The path Slack posts commands, interactions and events to in HTTP mode. */
export const SLACK_EVENTS_PATH = '/slack/events';

/**
 * How long a delivery's id is remembered: longer than the five minutes for which Slack's signature
 * check accepts a request timestamp, so a replay within that window always finds it.
 */
const REPEAT_WINDOW_MS = 10 * 60_000;
/** Slack's signature window: Bolt refuses older timestamps; we refuse ones this far in the future too. */
const SIGNATURE_WINDOW_S = 5 * 60;
const AFTER_ACK_CONCURRENCY = 4;
const HOME_REFRESH_DELAY_MS = 300;

/**
 * Slack for prod-access: `/prod-access`, approval cards with buttons, modals, the App Home, DMs and
 * the security channel, on Bolt. It verifies who people are and translates payloads into use-case
 * calls and results into Block Kit; the rules live in the use cases. Every handler acks first and
 * does the work after, so Slack's 3-second limit is never at stake.
 */
export class SlackAdapter implements ChatPlatform {
  readonly kind = 'slack' as const;
  readonly mode: 'socket' | 'http';
  private readonly app: App;
  private readonly receiver: HTTPReceiver | SocketModeReceiver;
  private readonly directory: SlackDirectory;
  private readonly log: Logger;
  /** Our bot's id: App Home views and DMs whose buttons we honour carry it. */
  private readonly botId: string;
  /** People who opened the App Home, by e-mail: whose home is refreshed when something changes. */
  private readonly homeViewers = new Map<Email, string>();
  /** Home tabs due for a rebuild, by e-mail. */
  private readonly homeRefreshes = new Map<Email, NodeJS.Timeout>();
  /** HTTP requests received and not yet answered (acked). */
  private unanswered = 0;
  private readonly afterAck = new AfterAck(AFTER_ACK_CONCURRENCY, () => this.unanswered > 0);

  private constructor(
    private readonly ctx: AppContext,
    private readonly client: WebClient,
    settings: SlackSettings,
    identity: { botId: string; botUserId: string },
    workspace: SlackWorkspace,
    logger: Logger,
    private readonly hooks: SlackHooks,
  ) {
    this.log = logger.child({ component: 'slack' });
    const boltLogger = toBoltLogger(this.log);
    const clientOptions = webClientOptions(settings, boltLogger);
    this.mode = settings.appToken ? 'socket' : 'http';
    this.receiver = settings.appToken
      ? new SocketModeReceiver({ appToken: settings.appToken, logger: boltLogger, installerOptions: { clientOptions } })
      : new HTTPReceiver({
          signingSecret: settings.signingSecret ?? '',
          endpoints: SLACK_EVENTS_PATH,
          logger: boltLogger,
          // NB: a request that matched no listener is answered at once, not after Bolt's 3 s default.
          unhandledRequestTimeoutMillis: 2_500,
        });
    // NB: botId and botUserId from our own auth.test at start: without them Bolt calls auth.test
    // in its constructor, and a failure there is an unhandled rejection instead of a clear error.
    this.app = new App({ token: settings.botToken, receiver: this.receiver, logger: boltLogger, clientOptions, ...identity });
    this.directory = new SlackDirectory(this.client, ctx.clock, workspace);
    this.botId = identity.botId;
    this.register();
  }

  /** Checks the bot token with Slack (`auth.test`) and builds the app; throws a clear error if Slack refuses it. */
  static async create(ctx: AppContext, settings: SlackSettings, logger: Logger, hooks: SlackHooks): Promise<SlackAdapter> {
    if (!settings.appToken && !settings.signingSecret) throw new Error('Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)');
    const client = new WebClient(settings.botToken, webClientOptions(settings, toBoltLogger(logger.child({ component: 'slack' }))));
    let auth;
    try {
      auth = await client.auth.test();
    } catch (error) {
      throw new Error(authFailure(error, settings.apiUrl ?? 'https://slack.com/api/'), { cause: error });
    }
    if (!auth.bot_id || !auth.user_id) throw new Error('SLACK_BOT_TOKEN is not a bot token (xoxb-…): auth.test named no bot');
    return new SlackAdapter(ctx, client, settings, { botId: auth.bot_id, botUserId: auth.user_id }, workspaceOf(settings, auth), logger, hooks);
  }

  /** HTTP mode: the listener to mount at `/slack/events` on the bot's HTTP server. */
  get requestListener(): RequestListener | undefined {
    if (!(this.receiver instanceof HTTPReceiver)) return undefined;
    const listener = this.receiver.requestListener;
    return (req, res) => {
      // NB: Bolt refuses timestamps more than five minutes old but not ones in the future, which a
      // request signed ahead of time (a leaked signature, a skewed signer) would carry to replay later.
      const timestamp = Number(req.headers['x-slack-request-timestamp']);
      if (Number.isFinite(timestamp) && timestamp > this.ctx.clock.now().getTime() / 1000 + SIGNATURE_WINDOW_S) {
        this.log.warn({ timestamp }, 'refused a Slack request timestamped more than five minutes ahead');
        res.writeHead(401, { 'content-type': 'text/plain' }).end('request timestamp is in the future');
        req.resume();
        return;
      }
      this.unanswered += 1;
      res.once('close', () => {
        this.unanswered -= 1;
        if (this.unanswered === 0) this.afterAck.acksDone();
      });
      listener(req, res);
    };
  }

  /** Socket Mode: connects (resolves once Slack says hello). HTTP mode: nothing to start. */
  async start(): Promise<void> {
    if (this.receiver instanceof SocketModeReceiver) await this.app.start();
  }

  async stop(): Promise<void> {
    for (const timer of this.homeRefreshes.values()) clearTimeout(timer);
    this.homeRefreshes.clear();
    if (this.receiver instanceof SocketModeReceiver) await this.app.stop();
  }

  // ChatPlatform: how the bot speaks.

  async postApprovalCard(channel: string, card: ApprovalCard): Promise<MessageRef> {
    const posted = await this.call('chat.postMessage', () => this.client.chat.postMessage({ channel, ...approvalCardBlocks(card) }));
    if (!posted.ts || !posted.channel) throw new NotificationError('unavailable', 'slack', 'chat.postMessage returned no ts');
    return { channel: posted.channel, messageId: posted.ts };
  }

  async updateApprovalCard(ref: MessageRef, card: ApprovalCard): Promise<void> {
    await this.call('chat.update', () => this.client.chat.update({ channel: ref.channel, ts: ref.messageId, ...approvalCardBlocks(card) }));
  }

  async tellPerson(who: Email, message: PersonMessage): Promise<void> {
    const userId = await this.call('users.lookupByEmail', () => this.directory.userIdFor(who));
    if (!userId) {
      this.log.warn({ requestId: message.request.id, action: message.action }, 'requester has no Slack account with this e-mail; direct message skipped');
      return;
    }
    const at = message.action === 'access_granted' || message.action === 'access_expiring_soon' || message.action === 'grant_extended' ? message.request.grant?.expiresAt : undefined;
    await this.call('chat.postMessage', () => this.client.chat.postMessage({ channel: userId, ...personMessageBlocks(message.text, message.request, message.offerExtend, at) }));
  }

  async postToSecurity(channel: string, text: string, alert: boolean): Promise<void> {
    // NB: escaping lengthens the text (`&` becomes `&amp;`), so a digest cut to fit before escaping may
    // not fit after: it goes in as many sections as it needs, cut at line breaks, losing no line.
    const escaped = `${alert ? ':rotating_light: ' : ''}${escapeMrkdwn(text)}`;
    const sections = splitSections(escaped);
    await this.call('chat.postMessage', () => this.client.chat.postMessage({ channel, text: fitSection(escaped), blocks: sections.map((section) => ({ type: 'section', text: mrkdwn(section) })) }));
  }

  async postAlert(channel: string, alert: AlertView): Promise<MessageRef> {
    const posted = await this.call('chat.postMessage', () => this.client.chat.postMessage({ channel, ...alertBlocks(alert) }));
    if (!posted.ts || !posted.channel) throw new NotificationError('unavailable', 'slack', 'chat.postMessage returned no ts');
    return { channel: posted.channel, messageId: posted.ts };
  }

  async updateAlert(ref: MessageRef, alert: AlertView): Promise<void> {
    await this.call('chat.update', () => this.client.chat.update({ channel: ref.channel, ts: ref.messageId, ...alertBlocks(alert) }));
  }

  async refreshPeople(who: readonly Email[]): Promise<void> {
    // NB: off the notice pipeline (which delivers in order, one notice at a time) and coalesced per
    // person: a burst of events for one request rebuilds each Home tab once. People are looked up
    // by e-mail, not only among those who opened their Home on this replica, so whichever replica
    // delivers the notice keeps the tabs current. Best effort: a Home tab is rebuilt whenever it is
    // opened, so a failed refresh is only logged.
    for (const email of who) {
      if (this.homeRefreshes.has(email)) continue;
      const timer = setTimeout(() => {
        this.homeRefreshes.delete(email);
        void (async () => {
          const userId = this.homeViewers.get(email) ?? (await this.directory.userIdFor(email));
          if (userId) await this.publishHome(userId, email);
        })().catch((err: unknown) => this.log.warn({ err }, 'App Home refresh failed'));
      }, HOME_REFRESH_DELAY_MS);
      this.homeRefreshes.set(email, timer);
    }
  }

  // Incoming: commands, clicks, modals, the App Home.

  private register(): void {
    this.app.error(async (error) => {
      this.log.error({ err: error }, 'unhandled error in a Slack listener');
    });

    this.app.command('/prod-access', async ({ command, ack, respond, client }) => {
      await ack();
      const answer = (reply: ChatReply) => respond({ response_type: 'ephemeral', ...replyBlocks(reply) });
      await this.guarded(answer, async () => {
        if (!(await this.firstDelivery(`command:${command.trigger_id}`))) return;
        const parsed = parseChatCommand(command.text ?? '');
        if (!parsed.ok) return answer({ ok: false, text: parsed.text });
        // NB: only commands that change something need a fresh profile; help, list and status may use the cache.
        const changes = parsed.command.kind !== 'help' && parsed.command.kind !== 'roles' && parsed.command.kind !== 'list' && parsed.command.kind !== 'status' && parsed.command.kind !== 'open_form';
        const actor = await this.actor(command.user_id, { teamIds: [command.team_id], enterpriseId: command.enterprise_id }, { fresh: changes });
        if (!actor.ok) return answer(actor);
        if (parsed.command.kind === 'open_form') {
          const roles = requestableRoles(this.ctx.policy.current().policy, actor.actor.email);
          if (roles.length === 0) return answer({ ok: false, text: say`No role in the policy lists ${actor.actor.email} as a requester. Ask your security team.` });
          await client.views.open({ trigger_id: command.trigger_id, view: requestFormView(roles, command.channel_id) });
          return;
        }
        const reply = await runChatCommand(this.ctx, actor.actor, parsed.command);
        await answer(reply);
        if (reply.ok) this.hooks.onChange();
      });
    });

    for (const actionId of [actionIds.approve, actionIds.review]) {
      this.onButton(actionId, async ({ id, userId, team, tell, fromMessage }) => {
        const actor = await this.actor(userId, team, { fresh: true });
        if (!actor.ok) return tell(actor);
        const outcome = await approveRequest(this.ctx, id, actor.actor.email, actor.actor.origin, await this.groupsOf(userId, { fresh: true }));
        if (!outcome.ok) return tell({ ok: false, text: chatRefusalText(outcome.refusal) });
        if (outcome.changed) this.hooks.onChange();
        // NB: on a card the card itself shows a counted approval; from the App Home, or for a repeat, say it.
        if (!outcome.changed || !fromMessage) await tell({ ok: true, text: await approvalText(this.ctx, outcome.value, outcome.changed, actor.actor.email) });
      });
    }

    this.onButton(actionIds.deny, async ({ id, tell, triggerId, client, container }) => {
      const request = await this.ctx.store.findRequest(id);
      if (!request) return tell({ ok: false, text: say`That request no longer exists.` });
      await client.views.open({ trigger_id: triggerId, view: denyFormView(request, container) });
    });

    this.onButton(actionIds.extend, async ({ id, tell, triggerId, client }) => {
      const request = await this.ctx.store.findRequest(id);
      if (!request) return tell({ ok: false, text: say`That request no longer exists.` });
      await client.views.open({ trigger_id: triggerId, view: extendFormView(request) });
    });

    this.onButton(actionIds.revoke, async ({ id, userId, team, tell }) => {
      const actor = await this.actor(userId, team, { fresh: true });
      if (!actor.ok) return tell(actor);
      const reply = await runChatCommand(this.ctx, actor.actor, { kind: 'revoke', id });
      if (reply.ok) this.hooks.onChange();
      await tell(reply);
    });

    this.app.view(viewIds.request, async ({ ack, body, view }) => {
      const values = formValues(view.state.values);
      const actor = await this.actor(body.user.id, teamOf(body), { fresh: true });
      if (!actor.ok) return ack({ response_action: 'errors', errors: { role: actor.message } });
      const input = { requester: actor.actor.email, role: values.role ?? '', duration: values.duration ?? '', ticket: values.ticket ?? '', reason: values.reason ?? '', breakGlass: values.break_glass === 'yes' };
      // NB: the rules answer on the form at once (no database); the request is opened after the ack.
      const refusal = dryRunRequest(this.ctx, input);
      if (refusal) return ack({ response_action: 'errors', errors: { [fieldOf(refusal.code)]: refusal.message } });
      // NB: a form closes when it is accepted, so its view id is submitted once; a second
      // acceptance of the same view is a replay (or a redelivery) and opens nothing.
      if (!(await this.firstDelivery(`view:${view.id}`))) return ack();
      await ack();
      const channelId = parseMetadata(view.private_metadata).channelId;
      const tell: Tell = (reply) => this.tellInChannel(channelId, body.user.id, reply);
      await this.guarded(tell, async () => {
        const outcome = await requestAccess(this.ctx, input, actor.actor.origin);
        if (!outcome.ok) return tell({ ok: false, text: chatRefusalText(outcome.refusal) });
        this.hooks.onChange();
        await tell({ ok: true, text: openedText(outcome.value) });
      });
    });

    this.app.view(viewIds.deny, async ({ ack, body, view }) => {
      const id = parseExactRequestId(parseMetadata(view.private_metadata).id);
      const actor = await this.actor(body.user.id, teamOf(body), { fresh: true });
      if (!actor.ok) return ack({ response_action: 'errors', errors: { reason: actor.message } });
      if (!id) return ack({ response_action: 'errors', errors: { reason: 'This form names no request.' } });
      if (!(await this.firstDelivery(`view:${view.id}`))) return ack();
      const groups = await this.groupsOf(body.user.id, { fresh: true });
      const outcome = await this.attempt(() => denyRequest(this.ctx, id, actor.actor.email, formValues(view.state.values).reason ?? '', actor.actor.origin, groups));
      if (!outcome.ok) return ack({ response_action: 'errors', errors: { reason: outcome.refusal.message } });
      await ack();
      this.hooks.onChange();
    });

    this.app.view(viewIds.extend, async ({ ack, body, view }) => {
      const id = parseExactRequestId(parseMetadata(view.private_metadata).id);
      const values = formValues(view.state.values);
      const actor = await this.actor(body.user.id, teamOf(body), { fresh: true });
      if (!actor.ok) return ack({ response_action: 'errors', errors: { duration: actor.message } });
      if (!id) return ack({ response_action: 'errors', errors: { duration: 'This form names no request.' } });
      if (!(await this.firstDelivery(`view:${view.id}`))) return ack();
      const outcome = await this.attempt(() => extendAccess(this.ctx, id, { requester: actor.actor.email, duration: values.duration ?? '', reason: values.reason ?? '' }, actor.actor.origin));
      if (!outcome.ok) return ack({ response_action: 'errors', errors: { [outcome.refusal.code === 'bad_reason' ? 'reason' : 'duration']: outcome.refusal.message } });
      await ack();
      this.hooks.onChange();
      await this.guarded(this.teller(body.user.id), () =>
        this.tellInChannel(undefined, body.user.id, { ok: true, text: say`Extension ${outcome.value.id} for ${outcome.value.role} is waiting for ${outcome.value.approvalsRequired} approval(s).` }),
      );
    });

    this.app.action(alertActionIds.acknowledge, async ({ ack, body, action, respond }) => {
      await ack();
      const tell = this.teller(body.user.id, respond);
      await this.guarded(tell, async () => {
        const id = parseAlertId((action as { value?: unknown }).value);
        if (id === undefined) return tell({ ok: false, text: say`This button names no alert.` });
        const click = body as ClickPayload;
        if (!(await this.firstDelivery(`action:${click.trigger_id ?? ''}:${(action as { action_ts?: string }).action_ts ?? ''}`))) return;
        // NB: only the alert's own message counts: a copy of the button elsewhere (a forged message,
        // an ephemeral, another channel) acknowledges nothing.
        const container = click.container ?? {};
        const posted = await this.ctx.store.alertMessage(this.kind, id);
        if (!posted || container.type !== 'message' || container.is_ephemeral || container.channel_id !== posted.channel || container.message_ts !== posted.messageId) {
          this.log.warn({ alertId: id, container }, 'refused an Acknowledge click from a place the bot did not put it');
          return tell({ ok: false, text: say`This button is not one the bot showed for alert ${String(id)}. Use the alert's message in the security channel.` });
        }
        const actor = await this.actor(body.user.id, teamOf(click), { fresh: true });
        if (!actor.ok) return tell(actor);
        const outcome = await acknowledgeAlert(this.ctx, id, actor.actor.email, actor.actor.origin, await this.groupsOf(body.user.id, { fresh: true }));
        if (!outcome.ok) return tell({ ok: false, text: chatRefusalText(outcome.refusal) });
        // NB: the message itself shows the acknowledgement once the notice is delivered; a repeat says who was first.
        if (outcome.changed) this.hooks.onChange();
        else await tell({ ok: true, text: say`${acknowledgementText(outcome.value, false)}` });
      });
    });

    this.app.event('app_home_opened', async ({ event, context }) => {
      // NB: a retried event would only publish the same view again. Socket Mode marks a first
      // delivery retry_attempt 0 (retryNum 0), HTTP mode leaves it undefined: only > 0 is a retry.
      if (event.tab !== 'home' || (context.retryNum ?? 0) > 0) return;
      const who = await this.directory.identify(event.user, this.ctx.policy.current().policy.guests);
      if (!who.ok) return;
      this.homeViewers.set(who.email, event.user);
      await this.publishHome(event.user, who.email);
    });

    this.app.event('user_change', async ({ event }) => {
      // NB: a changed e-mail, a deactivation or a guest conversion must count from now on, not
      // when a cached profile expires. (Decisions look people up afresh anyway.)
      this.directory.forget(event.user.id);
    });
  }

  /**
   * A button whose value is a request id: acked at once, the work done after, failures told to the
   * clicker. A click counts only from where the bot put that button: the request's own card (the
   * channel and message recorded when it was posted), the App Home the bot published, or a direct
   * message from the bot; and only once per delivery.
   */
  private onButton(
    actionId: ActionId,
    work: (click: { id: RequestId; userId: string; team: PayloadTeam; tell: Tell; fromMessage: boolean; triggerId: string; client: WebClient; container: { channel?: string; ts?: string } }) => Promise<unknown>,
  ): void {
    this.app.action(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const tell = this.teller(body.user.id, respond);
      await this.guarded(tell, async () => {
        const id = requestIdOf(action);
        if (!id) return tell({ ok: false, text: say`This button names no request.` });
        const click = body as ClickPayload;
        const container = click.container ?? {};
        const triggerId = click.trigger_id ?? '';
        if (!(await this.firstDelivery(`action:${triggerId}:${(action as { action_ts?: string }).action_ts ?? ''}`))) return;
        const place = await this.placeOf(click, id);
        if (!place || !buttonPlaces[actionId].includes(place)) {
          this.log.warn({ requestId: id, actionId, place, container }, 'refused a click from a place the bot did not put this button');
          return tell({ ok: false, text: say`This button is not one the bot showed for request ${id}. Use the request's card in the approvals channel, or the prod-access Home tab.` });
        }
        return work({
          id,
          userId: body.user.id,
          team: teamOf(click),
          tell,
          fromMessage: place !== 'home',
          triggerId,
          client,
          container: { ...(container.channel_id ? { channel: container.channel_id } : {}), ...(container.message_ts ? { ts: container.message_ts } : {}) },
        });
      });
    });
  }

  /** Where a click came from, if it is a place the bot itself put buttons for request `id`. */
  private async placeOf(click: ClickPayload, id: RequestId): Promise<ButtonPlace | undefined> {
    const container = click.container ?? {};
    if (container.type === 'view') {
      return click.view?.type === 'home' && click.view.bot_id === this.botId && click.view.id === container.view_id ? 'home' : undefined;
    }
    if (container.type !== 'message' || container.is_ephemeral || !container.channel_id || !container.message_ts) return undefined;
    const card = await this.ctx.store.chatCard(this.kind, id);
    if (card && card.channel === container.channel_id && card.messageId === container.message_ts) return 'card';
    // NB: direct messages are not recorded; a DM (channel D…) whose message our bot wrote is ours.
    if (container.channel_id.startsWith('D') && click.message?.bot_id === this.botId) return 'dm';
    return undefined;
  }

  private async publishHome(userId: string, email: Email): Promise<void> {
    const mine = await this.ctx.store.listRequests({ requester: email, states: ['active', 'pending'], limit: 50 });
    const toDecide = await listAwaitingMyApproval(this.ctx, email, await this.groupsOf(userId));
    await this.client.views.publish({
      user_id: userId,
      view: homeView({ live: mine.filter((r) => r.state === 'active' && r.kind === 'access'), pending: mine.filter((r) => r.state === 'pending'), toDecide }),
    });
  }

  /** Policy groups Slack vouches this user is in (through `slackUsergroup`); empty when the policy maps none. */
  private groupsOf(userId: string, opts: { fresh?: boolean } = {}): Promise<ReadonlySet<string>> {
    return this.directory.policyGroupsOf(userId, this.ctx.policy.current().policy.groups, opts);
  }

  /**
   * The person behind a payload: it must come from our workspace, and Slack's profile must show a
   * full member with a confirmed e-mail (see `admitSlackUser`). Decisions pass `fresh`.
   */
  private async actor(userId: string, team: PayloadTeam, opts: { fresh?: boolean } = {}): Promise<{ ok: true; actor: ChatActor } | { ok: false; text: RichText; message: string }> {
    if (!isOurWorkspace(this.directory.workspace, team)) {
      const message = 'prod-access serves members of its own Slack workspace only, and this came from another one. Ask from your own organisation.';
      this.log.warn({ userId, team }, 'refused a payload from another Slack workspace');
      return { ok: false, text: say`${message}`, message };
    }
    const who = await this.directory.identify(userId, this.ctx.policy.current().policy.guests, opts);
    if (!who.ok) return { ok: false, text: say`${who.message}`, message: who.message };
    return { ok: true, actor: { email: who.email, origin: { via: 'slack', platformUserId: userId, platformTeamId: who.teamId } } };
  }

  /** Replies to the person who clicked: ephemeral where the click came from a message, a DM otherwise (App Home). */
  private teller(userId: string, respond?: (message: object) => Promise<unknown>): Tell {
    return async (reply) => {
      if (respond) {
        try {
          await respond({ response_type: 'ephemeral', replace_original: false, ...replyBlocks(reply) });
          return;
        } catch (error) {
          // NB: a click in the App Home has no response_url; fall through to a DM.
          this.log.debug({ err: error }, 'respond() failed; telling the person by DM');
        }
      }
      await this.client.chat.postMessage({ channel: userId, ...replyBlocks(reply) });
    };
  }

  private async tellInChannel(channelId: string | undefined, userId: string, reply: ChatReply): Promise<void> {
    if (channelId) await this.client.chat.postEphemeral({ channel: channelId, user: userId, ...replyBlocks(reply) });
    else await this.client.chat.postMessage({ channel: userId, ...replyBlocks(reply) });
  }

  /** Runs a handler's work after its ack; a failure becomes a sentence for the person, never silence. */
  private async guarded(tell: (reply: ChatReply) => Promise<unknown>, work: () => Promise<unknown>): Promise<void> {
    try {
      await this.afterAck.run(work);
    } catch (error) {
      this.log.error({ err: error }, 'Slack request failed');
      await Promise.resolve(tell({ ok: false, text: say`${describeFailure(error)}` })).catch((err: unknown) => this.log.error({ err }, 'could not tell the person about the failure'));
    }
  }

  /** A use case inside a modal submission: a failure becomes a refusal shown on the form. */
  private async attempt(run: () => Promise<Outcome<AccessRequest>>): Promise<Outcome<AccessRequest>> {
    try {
      return await run();
    } catch (error) {
      this.log.error({ err: error }, 'use case failed during a form submission');
      return { ok: false, refusal: { code: 'not_pending', message: describeFailure(error) } };
    }
  }

  /**
   * True the first time a delivery (`key`: Slack's own id for it) is seen by any replica within the
   * replay window; a replayed or redelivered payload gets false and is dropped without a word.
   */
  private async firstDelivery(key: string): Promise<boolean> {
    const now = this.ctx.clock.now();
    const first = await this.ctx.store.recordChatDelivery(`slack:${this.directory.workspace.teamId}:${key}`, now, new Date(now.getTime() - REPEAT_WINDOW_MS));
    if (!first) this.log.info({ delivery: key }, 'dropped a Slack delivery already acted on (replay or redelivery)');
    return first;
  }

  /** Calls the Web API for a notice: errors become `NotificationError`, retried or skipped by the dispatcher. */
  private async call<T>(method: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const code = (error as { code?: string }).code;
      const platformError = (error as { data?: { error?: string } }).data?.error;
      // NB: a channel or user that is gone, or a message too big, will not get better by retrying;
      // a bad token, an outage or rate limits will (once someone fixes the token).
      const rejected = code === ErrorCode.PlatformError && platformError !== undefined && PERMANENT.has(platformError);
      throw new NotificationError(rejected ? 'rejected' : 'unavailable', 'slack', `${method}: ${slackErrorText(error)}`, { cause: error });
    }
  }
}

const PERMANENT = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'msg_too_long', 'invalid_blocks', 'message_not_found', 'cant_update_message', 'user_not_found', 'cannot_dm_bot']);

/**
 * Why `auth.test` failed, in words that point at the fix: Slack said no to the token, Slack is
 * having trouble, or Slack could not be reached at all (network, proxy, DNS, SLACK_API_URL).
 */
function authFailure(error: unknown, apiUrl: string): string {
  const code = (error as { code?: string }).code;
  if (code === ErrorCode.PlatformError) return `Slack refused SLACK_BOT_TOKEN (auth.test: ${slackErrorText(error)})`;
  if (code === ErrorCode.HTTPError || code === ErrorCode.RateLimitedError) {
    return `Slack answered auth.test with an error of its own (${slackErrorText(error)}); the token was not checked. Try again shortly`;
  }
  // NB: the client wraps the transport's error, which may wrap the socket's errno; after its own
  // retries only the transport's message is left ("fetch failed").
  let cause: string | undefined;
  for (let e = (error as { original?: unknown }).original; typeof e === 'object' && e !== null && cause === undefined; e = (e as { cause?: unknown }).cause) {
    const errno = (e as { code?: unknown }).code;
    if (typeof errno === 'string') cause = errno;
    else if (!(e as { cause?: unknown }).cause) cause = String((e as { message?: unknown }).message ?? e).replace(/^(?:Type)?Error: /, '');
  }
  cause ??= slackErrorText(error);
  return `cannot reach Slack at ${apiUrl} to check SLACK_BOT_TOKEN (network: ${cause}); check this host's network, proxy and DNS${apiUrl.startsWith('https://slack.com/') ? '' : ', and SLACK_API_URL'}`;
}

function slackErrorText(error: unknown): string {
  const platformError = (error as { data?: { error?: string } }).data?.error;
  if (platformError) return platformError;
  return error instanceof Error ? error.message : String(error);
}

function webClientOptions(settings: SlackSettings, logger: BoltLogger): WebClientOptions {
  return {
    ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
    logger,
    logLevel: LogLevel.WARN,
    // NB: rate limits (429 with Retry-After) and 5xx are retried by the client itself; a few tries
    // only, since an undelivered notice is retried again later from the audit log.
    retryConfig: { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 5_000 },
  };
}

function requestIdOf(action: unknown): RequestId | undefined {
  return parseExactRequestId((action as { value?: unknown }).value);
}

/** Every team a payload names (the one it came through, the user's own) and its Grid organisation. */
type PayloadTeam = { readonly teamIds: readonly (string | undefined)[]; readonly enterpriseId?: string | undefined };

type ActionId = (typeof actionIds)[keyof typeof actionIds];
type ButtonPlace = 'card' | 'home' | 'dm';

/** Where the bot puts each button: only a click from one of these places counts. */
const buttonPlaces: Readonly<Record<ActionId, readonly ButtonPlace[]>> = {
  approve: ['card', 'home'],
  deny: ['card', 'home'],
  review: ['card'],
  extend: ['home', 'dm'],
  revoke: ['home', 'dm'],
};

/** The parts of a `block_actions` or `view_submission` payload the adapter reads (Slack signed them). */
interface ClickPayload {
  readonly trigger_id?: string;
  readonly team?: { readonly id?: string } | null;
  readonly enterprise?: { readonly id?: string } | null;
  readonly user: { readonly id: string; readonly team_id?: string };
  readonly container?: { readonly type?: string; readonly channel_id?: string; readonly message_ts?: string; readonly is_ephemeral?: boolean; readonly view_id?: string };
  readonly message?: { readonly bot_id?: string };
  readonly view?: { readonly id?: string; readonly type?: string; readonly bot_id?: string };
}

/** The teams a click or form names: the one it came through and the user's own (a Slack Connect user's home). */
function teamOf(payload: Pick<ClickPayload, 'team' | 'enterprise' | 'user'>): PayloadTeam {
  return { teamIds: [payload.team?.id, payload.user.team_id], enterpriseId: payload.enterprise?.id ?? undefined };
}

/** The workspace whose members count: the bot token's own, and the configured one must agree with it. */
function workspaceOf(settings: SlackSettings, auth: { team_id?: string; enterprise_id?: string }): SlackWorkspace {
  if (!auth.team_id) throw new Error('Slack answered auth.test without a team_id; cannot tell which workspace the bot serves');
  if (settings.teamId !== undefined && settings.teamId !== auth.team_id) {
    throw new Error(`SLACK_TEAM_ID is ${settings.teamId}, but SLACK_BOT_TOKEN belongs to workspace ${auth.team_id}: use that workspace's token, or correct SLACK_TEAM_ID`);
  }
  const enterpriseId = auth.enterprise_id || undefined;
  if (settings.enterpriseId !== undefined && settings.enterpriseId !== enterpriseId) {
    throw new Error(`SLACK_ENTERPRISE_ID is ${settings.enterpriseId}, but SLACK_BOT_TOKEN belongs to ${enterpriseId ? `organisation ${enterpriseId}` : 'no Enterprise Grid organisation'}: correct SLACK_ENTERPRISE_ID`);
  }
  // NB: with a Grid organisation, its members count from any of its workspaces only when it is named on purpose.
  return { teamId: auth.team_id, ...(settings.enterpriseId !== undefined ? { enterpriseId: settings.enterpriseId } : {}) };
}

type StateValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[] }>>;

/** A modal's inputs by block id (each input's action id is `value`). */
function formValues(values: StateValues): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [blockId, actions] of Object.entries(values)) {
    const input = actions.value;
    out[blockId] = input?.selected_option?.value ?? input?.selected_options?.[0]?.value ?? input?.value ?? undefined;
  }
  return out;
}

function parseMetadata(text: string | undefined): Record<string, string | undefined> {
  try {
    const parsed: unknown = JSON.parse(text ?? '{}');
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string | undefined>) : {};
  } catch {
    return {};
  }
}

/** Which field of the request form a refusal belongs to. */
function fieldOf(code: RefusalCode | string): string {
  switch (code) {
    case 'bad_duration':
    case 'duration_too_long':
      return 'duration';
    case 'bad_ticket':
      return 'ticket';
    case 'bad_reason':
      return 'reason';
    case 'break_glass_not_allowed':
      return 'break_glass';
    default:
      return 'role';
  }
}
