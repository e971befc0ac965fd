import { acknowledgeAlert, acknowledgementText } from '../../../app/acknowledge-alert';
import { alertView, type AlertView } from '../../../app/chat/alert-view';
import type { ServerResponse } from 'node:http';
import type { Request as SdkRequest, TurnContext, WebResponse } from '@microsoft/agents-hosting';
import type { Logger } from 'pino';
import type { AppContext } from '../../../app/app-context';
import { approveRequest } from '../../../app/approve-request';
import { approvalCard, isFirstTime, type ApprovalCard } from '../../../app/chat/approval-card';
import { chatRefusalText, parseChatCommand } from '../../../app/chat/chat-command';
import type { ChatPlatform, MessageRef, PersonMessage } from '../../../app/chat/chat-platform';
import { runChatCommand, type ChatActor, type ChatReply } from '../../../app/chat/run-chat-command';
import { denyRequest } from '../../../app/deny-request';
import { describeFailure, NotificationError } from '../../../app/errors';
import { extendAccess } from '../../../app/extend-access';
import { approvalText, extensionOpenedText, openedText } from '../../../app/outcome-text';
import { dryRunRequest, requestAccess } from '../../../app/request-access';
import type { TeamsConfig } from '../../../config/env';
import type { AccessRequest } from '../../../domain/access-request';
import { parseAlertId } from '../../../domain/alert';
import type { Email } from '../../../domain/email';
import type { RefusalCode } from '../../../domain/lifecycle/transition';
import { requestableRoles } from '../../../domain/policy';
import { parseExactRequestId, type RequestId } from '../../../domain/request-id';
import { say, toPlainText, type RichText } from '../../../domain/rich-text';
import type { BufferedRequest, RouteHandler } from '../../../service/http-server';
import { ConversationPacer } from './conversation-pacer';
import { actionOf, channelOf, viewOf, type ActivityView } from './teams-activity';
import { authConfiguration, TeamsCloudAdapter } from './teams-auth';
import { type AdaptiveCard, alertCard, approvalCardView, type FormField, formFields, type FormValues, personMessageCard, replyCard, requestFormCard, securityLineCard, textCard, verbs } from './teams-cards';
import { TeamsApiError, TeamsConnector, type BotTokenSource, type OutgoingActivity } from './teams-connector';
import type { TeamsDirectoryStore, TeamsPerson } from './teams-directory';
import { admitTeamsMember, commandText, isOurTenant, rosterPerson, type TeamsMember } from './teams-identity';
import { plainText } from './teams-text';

/** The path Teams (the Azure Bot's messaging endpoint) posts activities to. */
export const TEAMS_MESSAGES_PATH = '/api/messages';

export interface TeamsHooks {
  /** Something changed in the database: deliver notices now rather than at the next sweep. */
  onChange(): void;
}

export interface TeamsOptions {
  /** The bot's own token for its calls to the Bot Connector (default: agents-hosting's MSAL provider). */
  readonly tokens?: BotTokenSource;
}

/**
 * How long an activity's id is remembered, so a redelivered or replayed activity does nothing twice:
 * longer than any token Teams signs is accepted (its lifetime plus the SDK's five minutes of clock
 * tolerance), since a replay needs a token that still passes.
 */
const REPEAT_WINDOW_MS = 25 * 60 * 60_000;

const CARD = 'application/vnd.microsoft.card.adaptive';
/** Universal Actions invoke responses (Teams, "Universal Actions for Adaptive Cards"). */
const INVOKE_CARD = 'application/vnd.microsoft.card.adaptive';
const INVOKE_MESSAGE = 'application/vnd.microsoft.activity.message';

/** The body of an `adaptiveCard/action` invoke response: the card that replaces the clicked one, or a message for the clicker. */
type InvokeAnswer = { statusCode: 200; type: typeof INVOKE_CARD; value: AdaptiveCard } | { statusCode: 200; type: typeof INVOKE_MESSAGE; value: string };

/** Tells the person a command or click came from: in their 1:1 chat with the bot. */
type Tell = (reply: ChatReply) => Promise<void>;

/**
 * Microsoft Teams for prod-access, on `@microsoft/agents-hosting`: messages to the bot (the same
 * grammar as Slack's `/prod-access`), a request form card, approval cards with Universal Actions
 * updated in place, direct messages and the security channel. Every request must carry a valid
 * Bot Framework token (agents-hosting checks signature, audience, issuer and expiry; this adapter
 * also checks the token's `serviceurl` claim and the tenant). It verifies who people are and
 * translates activities into use-case calls and results into Adaptive Cards; the rules live in the
 * use cases.
 */
export class TeamsAdapter implements ChatPlatform {
  readonly kind = 'teams' as const;
  private readonly log: Logger;
  private readonly connector: TeamsConnector;
  /** The bot's own Teams id (`28:<app id>`): mentions of it are stripped, 1:1 chats are opened as it. */
  private botId: string;
  /** Work started after Teams was answered (messages), awaited on stop. */
  private readonly inFlight = new Set<Promise<void>>();

  private constructor(
    private readonly ctx: AppContext,
    private readonly settings: TeamsConfig,
    private readonly adapter: TeamsCloudAdapter,
    private readonly directory: TeamsDirectoryStore,
    logger: Logger,
    private readonly hooks: TeamsHooks,
  ) {
    this.log = logger.child({ component: 'teams' });
    this.connector = new TeamsConnector(adapter.tokens, new ConversationPacer(), ctx.work.random, this.log);
    this.botId = settings.anonymous ? '28:prod-access' : `28:${settings.appId}`;
  }

  static create(ctx: AppContext, settings: TeamsConfig, directory: TeamsDirectoryStore, logger: Logger, hooks: TeamsHooks, options: TeamsOptions = {}): TeamsAdapter {
    const log = logger.child({ component: 'teams' });
    const adapter = new TeamsCloudAdapter(authConfiguration(settings), options.tokens, log);
    return new TeamsAdapter(ctx, settings, adapter, directory, logger, hooks);
  }

  /** Whether requests are taken without a token (TEAMS_ANONYMOUS=true). */
  get anonymous(): boolean {
    return this.settings.anonymous;
  }

  /** The route to mount at `/api/messages` on the bot's HTTP server. */
  get requestListener(): RouteHandler {
    return (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log.error({ err: error }, 'Teams request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
      });
    };
  }

  /** Waits for work started after Teams was answered. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  // ChatPlatform: how the bot speaks.

  async postApprovalCard(channel: string, card: ApprovalCard): Promise<MessageRef> {
    const target = await this.directory.channel(channel);
    if (!target) throw unknownChannel(channel);
    const messageId = await this.notice(`post the card of ${card.request.id}`, () => this.connector.send(target.serviceUrl, channel, cardActivity(approvalCardView(card))));
    if (!messageId) throw new NotificationError('unavailable', 'teams', `posting the card of ${card.request.id} returned no activity id`);
    return { channel, messageId };
  }

  async updateApprovalCard(ref: MessageRef, card: ApprovalCard): Promise<void> {
    const target = await this.directory.channel(ref.channel);
    if (!target) throw unknownChannel(ref.channel);
    await this.notice(`update the card of ${card.request.id}`, () => this.connector.update(target.serviceUrl, ref.channel, ref.messageId, cardActivity(approvalCardView(card))));
  }

  async tellPerson(who: Email, message: PersonMessage): Promise<void> {
    const person = await this.directory.personByEmail(who, this.settings.tenants);
    if (!person) {
      this.log.warn({ requestId: message.request.id, action: message.action }, 'no Teams user is known with this e-mail (they never wrote to the bot and are in no team it is installed in); direct message skipped');
      return;
    }
    const at = message.action === 'access_granted' || message.action === 'access_expiring_soon' || message.action === 'grant_extended' ? message.request.grant?.expiresAt : undefined;
    const sent = await this.writeTo(person, cardActivity(personMessageCard(message.text, message.request, message.offerExtend, at)));
    if (!sent) this.log.warn({ requestId: message.request.id, action: message.action }, 'the requester cannot be reached in a 1:1 chat with the bot; direct message skipped');
  }

  async postAlert(channel: string, view: AlertView): Promise<MessageRef> {
    const target = await this.directory.channel(channel);
    if (!target) throw unknownChannel(channel);
    const messageId = await this.notice(`post alert ${view.id}`, () => this.connector.send(target.serviceUrl, channel, cardActivity(alertCard(view))));
    if (!messageId) throw new NotificationError('unavailable', 'teams', `posting alert ${view.id} returned no activity id`);
    return { channel, messageId };
  }

  async updateAlert(ref: MessageRef, view: AlertView): Promise<void> {
    const target = await this.directory.channel(ref.channel);
    if (!target) throw unknownChannel(ref.channel);
    await this.notice(`update alert ${view.id}`, () => this.connector.update(target.serviceUrl, ref.channel, ref.messageId, cardActivity(alertCard(view))));
  }

  async postToSecurity(channel: string, text: string, alert: boolean): Promise<void> {
    const target = await this.directory.channel(channel);
    if (!target) throw unknownChannel(channel);
    await this.notice('post to the security channel', () => this.connector.send(target.serviceUrl, channel, cardActivity(securityLineCard(text, alert))));
  }

  // Incoming: activities posted to /api/messages.

  private async handle(req: BufferedRequest, res: ServerResponse): Promise<void> {
    const web = new NodeWebResponse(res);
    if (req.method !== 'POST') return void web.status(405).send({ error: 'POST only' });
    const request: SdkRequest = { method: 'POST', headers: req.headers };

    // NB: first of all, before the body is even parsed: agents-hosting's own check of the token
    // (RS256 signature against Microsoft's published keys, audience = our app id, issuer, expiry).
    // It answers 401 itself; nothing else happens.
    let authorized = false;
    await this.adapter.authorizeRequest(request, web, () => {
      authorized = true;
    });
    if (!authorized) {
      this.log.warn({ status: res.statusCode }, 'refused a Teams request whose token did not verify');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(req.rawBody.toString('utf8'));
    } catch {
      return void web.status(400).send({ error: 'the body is not JSON' });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return void web.status(400).send({ error: 'the body is not an activity' });
    request.body = body as Record<string, unknown>;
    if (this.settings.anonymous) {
      this.log.warn('TEAMS_ANONYMOUS=true: took a Teams request without checking any token. Only for trying the bot locally; never expose this endpoint');
    } else {
      // NB: a token is not bound to the body it comes with; its `serviceurl` claim says where the
      // Bot Connector that sent it lives, and replies go to the activity's serviceUrl. botbuilder
      // required them to be equal; agents-hosting compares hosts only, and only when the claim is
      // there, so a captured token could send the bot's replies (and its token) elsewhere.
      const claim = (request.user as { serviceurl?: unknown } | undefined)?.serviceurl;
      const serviceUrl = (body as { serviceUrl?: unknown }).serviceUrl;
      if (typeof claim !== 'string' || typeof serviceUrl !== 'string' || sameServiceUrl(claim, serviceUrl) === false) {
        this.log.warn({ serviceUrl: typeof serviceUrl === 'string' ? serviceUrl.slice(0, 200) : undefined }, 'refused a Teams activity whose serviceUrl is not the one its token names');
        return void web.status(401).send({ error: 'the token does not name this serviceUrl' });
      }
    }
    try {
      await this.adapter.process(request, web, (context) => this.turn(context));
    } catch (error) {
      // NB: the SDK throws on bodies it cannot read as an activity.
      this.log.warn({ err: error }, 'refused a Teams request that is not a valid activity');
      if (!res.headersSent) web.status(400).send({ error: 'not a valid activity' });
    }
  }

  private async turn(context: TurnContext): Promise<void> {
    const activity = viewOf(context.activity);
    const tenants = { tenantIds: [activity.conversation.tenantId, activity.channelData.tenantId] };
    if (!isOurTenant(this.settings.tenants, tenants)) {
      // NB: before any look-up or record: a tenant that is not ours learns nothing and changes nothing.
      this.log.warn({ tenants: tenants.tenantIds, type: activity.type }, 'refused an activity from another Microsoft 365 tenant');
      const text = 'prod-access serves members of its own Microsoft 365 organisation only, and this came from another one. Ask from your own organisation.';
      if (activity.type === 'message') this.later(() => this.connector.send(activity.serviceUrl, activity.conversation.id, cardActivity(textCard(say`${text}`, false))).then(() => undefined));
      if (activity.type === 'invoke') await answerInvoke(context, message(text));
      return;
    }
    // NB: the bot's id as Teams addresses it (anonymous mode learns it so; with an app id it is `28:<app id>`).
    if (this.settings.anonymous && activity.recipient.id) this.botId = activity.recipient.id;
    switch (activity.type) {
      case 'message':
        // NB: Teams is answered at once; the work goes on after, and its result arrives as a message.
        this.later(() => this.onMessage(activity));
        return;
      case 'invoke':
        if (activity.name === 'adaptiveCard/action') await answerInvoke(context, await this.onCardAction(activity));
        return;
      case 'conversationUpdate':
        await this.onConversationUpdate(activity);
        return;
      default:
        return;
    }
  }

  private async onMessage(activity: ActivityView): Promise<void> {
    if (!(await this.firstDelivery(`activity:${activity.conversation.id}:${activity.id}`))) return;
    const tell = this.tellerFor(activity);
    await this.guarded(tell, async () => {
      await this.learnChannel(activity);
      const parsed = parseChatCommand(commandText(activity.text, activity.entities, activity.recipient.id));
      if (!parsed.ok) return tell({ ok: false, text: parsed.text });
      const actor = await this.actor(activity);
      if (!actor.ok) return tell(actor);
      if (parsed.command.kind === 'open_form') {
        const roles = requestableRoles(this.ctx.policy.current().policy, actor.actor.email);
        if (roles.length === 0) return tell({ ok: false, text: say`No role in the policy lists ${actor.actor.email} as a requester. Ask your security team.` });
        return this.tellCard(activity, requestFormCard(roles));
      }
      const reply = await runChatCommand(this.ctx, actor.actor, parsed.command);
      // NB: notices first: the answer may wait its turn (Teams' limits), the approval card need not.
      if (reply.ok) this.hooks.onChange();
      await tell(reply);
    });
  }

  private async onCardAction(activity: ActivityView): Promise<InvokeAnswer> {
    try {
      if (!(await this.firstDelivery(`invoke:${activity.conversation.id}:${activity.id}`))) return message('That click was already handled.');
      const { verb, data } = actionOf(activity);
      switch (verb) {
        case verbs.approve:
        case verbs.review:
          return await this.onApprove(activity, data);
        case verbs.deny:
          return await this.onDeny(activity, data);
        case verbs.extend:
          return await this.onExtend(activity, data);
        case verbs.revoke:
          return await this.onRevoke(activity, data);
        case verbs.request:
          return await this.onRequestForm(activity, data);
        case verbs.acknowledge:
          return await this.onAcknowledge(activity, data);
        default:
          return message('This button is not one prod-access knows.');
      }
    } catch (error) {
      this.log.error({ err: error }, 'Teams card action failed');
      return message(describeFailure(error));
    }
  }

  /**
   * Who decides on which request from a click on an approval card: the button must name a request
   * exactly, be on that request's own card, and be clicked by someone admitted now. Else the answer.
   */
  private async decider(activity: ActivityView, data: Record<string, unknown>): Promise<{ id: RequestId; actor: ChatActor } | { refused: InvokeAnswer }> {
    const id = parseExactRequestId(data.requestId);
    if (!id) return { refused: message('This button names no request.') };
    const refused = await this.notOnItsCard(activity, id);
    if (refused) return { refused };
    const actor = await this.actor(activity);
    if (!actor.ok) return { refused: message(actor.message) };
    return { id, actor: actor.actor };
  }

  private async onApprove(activity: ActivityView, data: Record<string, unknown>): Promise<InvokeAnswer> {
    const decider = await this.decider(activity, data);
    if ('refused' in decider) return decider.refused;
    const { id, actor } = decider;
    const outcome = await approveRequest(this.ctx, id, actor.email, actor.origin);
    if (!outcome.ok) return message(toPlainText(chatRefusalText(outcome.refusal)));
    if (!outcome.changed) return message(toPlainText(await approvalText(this.ctx, outcome.value, false, actor.email)));
    this.hooks.onChange();
    // NB: the clicker sees the counted approval at once; everyone else when the card is updated in place.
    return cardAnswer(approvalCardView(await this.cardOf(outcome.value)));
  }

  private async onDeny(activity: ActivityView, data: Record<string, unknown>): Promise<InvokeAnswer> {
    const decider = await this.decider(activity, data);
    if ('refused' in decider) return decider.refused;
    const { id, actor } = decider;
    const reason = typeof data.reason === 'string' ? data.reason : '';
    const outcome = await denyRequest(this.ctx, id, actor.email, reason, actor.origin);
    if (!outcome.ok) {
      // NB: the refusal shows on the card, where the reason was typed, for the clicker only.
      const request = await this.ctx.store.findRequest(id);
      return request ? cardAnswer(approvalCardView(await this.cardOf(request), { error: outcome.refusal.message })) : message(outcome.refusal.message);
    }
    if (outcome.changed) this.hooks.onChange();
    return cardAnswer(approvalCardView(await this.cardOf(outcome.value)));
  }

  private async onExtend(activity: ActivityView, data: Record<string, unknown>): Promise<InvokeAnswer> {
    const id = parseExactRequestId(data.requestId);
    if (!id) return message('This button names no request.');
    if (activity.conversation.conversationType !== 'personal') return notShownHere(id);
    const actor = await this.actor(activity);
    if (!actor.ok) return message(actor.message);
    const input = { requester: actor.actor.email, duration: typeof data.duration === 'string' ? data.duration : '', reason: typeof data.reason === 'string' ? data.reason : '' };
    const outcome = await extendAccess(this.ctx, id, input, actor.actor.origin);
    if (!outcome.ok) return message(toPlainText(chatRefusalText(outcome.refusal)));
    this.hooks.onChange();
    return cardAnswer(textCard(extensionOpenedText(outcome.value)));
  }

  private async onRevoke(activity: ActivityView, data: Record<string, unknown>): Promise<InvokeAnswer> {
    const id = parseExactRequestId(data.requestId);
    if (!id) return message('This button names no request.');
    if (activity.conversation.conversationType !== 'personal') return notShownHere(id);
    const actor = await this.actor(activity);
    if (!actor.ok) return message(actor.message);
    const reply = await runChatCommand(this.ctx, actor.actor, { kind: 'revoke', id });
    if (reply.ok) this.hooks.onChange();
    return cardAnswer(replyCard(reply));
  }

  private async onRequestForm(activity: ActivityView, data: Record<string, unknown>): Promise<InvokeAnswer> {
    const values: FormValues = {
      ...text('role', data.role),
      ...text('duration', data.duration),
      ...text('ticket', data.ticket),
      ...text('reason', data.reason),
      breakGlass: data.breakGlass === 'true' || data.breakGlass === true,
    };
    const actor = await this.actor(activity);
    if (!actor.ok) return message(actor.message);
    const roles = requestableRoles(this.ctx.policy.current().policy, actor.actor.email);
    const input = { requester: actor.actor.email, role: values.role ?? '', duration: values.duration ?? '', ticket: values.ticket ?? '', reason: values.reason ?? '', breakGlass: values.breakGlass === true };
    // NB: the rules answer on the form at once, with what was typed kept; nothing is recorded yet.
    const refusal = dryRunRequest(this.ctx, input);
    if (refusal) return cardAnswer(requestFormCard(roles, values, { field: fieldOf(refusal.code), message: refusal.message }));
    // NB: a form is accepted once: another submission of the same card (a replay, a second device) opens nothing.
    if (!(await this.firstDelivery(`form:${activity.conversation.id}:${activity.replyToId ?? activity.id}`))) {
      return cardAnswer(textCard(say`This form was sent already. Type list to see your requests.`));
    }
    const outcome = await requestAccess(this.ctx, input, actor.actor.origin);
    if (!outcome.ok) return cardAnswer(textCard(chatRefusalText(outcome.refusal), false));
    this.hooks.onChange();
    return cardAnswer(textCard(openedText(outcome.value)));
  }

  /**
   * Acknowledge on an alert's card: only on the card the bot posted for that alert (a copy of the
   * button in a chat, on another message or naming another alert acknowledges nothing), only by a
   * member of the security group as Teams' roster says now; a replay was stopped in `onCardAction`.
   */
  private async onAcknowledge(activity: ActivityView, data: Record<string, unknown>): Promise<InvokeAnswer> {
    const id = parseAlertId(data.alertId);
    if (id === undefined) return message('This button names no alert.');
    const posted = await this.ctx.store.alertMessage(this.kind, id);
    if (!posted || posted.channel !== channelOf(activity) || posted.messageId !== activity.replyToId) {
      this.log.warn({ alertId: id, channel: channelOf(activity), replyToId: activity.replyToId }, 'refused an Acknowledge click from a place the bot did not put it');
      return message(`This button is not one the bot showed for alert ${id}. Use the alert's card in the security channel.`);
    }
    const actor = await this.actor(activity);
    if (!actor.ok) return message(actor.message);
    // NB: Teams vouches for no group membership (Slack user groups have no Teams twin): the policy's members decide.
    const outcome = await acknowledgeAlert(this.ctx, id, actor.actor.email, actor.actor.origin);
    if (!outcome.ok) return message(toPlainText(chatRefusalText(outcome.refusal)));
    if (!outcome.changed) return message(acknowledgementText(outcome.value, false));
    this.hooks.onChange();
    // NB: the clicker sees the acknowledged card at once; everyone else when the notice updates it in place.
    return cardAnswer(alertCard(alertView(outcome.value, this.ctx.policy.current().policy.detection.securityGroup)));
  }

  private async onConversationUpdate(activity: ActivityView): Promise<void> {
    const botAdded = activity.membersAdded.some((m) => m.id === activity.recipient.id);
    const botRemoved = activity.membersRemoved.some((m) => m.id === activity.recipient.id);
    const teamId = activity.channelData.teamId;
    const tenantId = (activity.channelData.tenantId ?? activity.conversation.tenantId ?? '').toLowerCase();
    const now = this.ctx.clock.now();
    if (teamId) {
      const event = activity.channelData.eventType;
      if (botRemoved || event === 'teamDeleted') {
        await this.directory.forgetTeam(teamId);
        this.log.info({ teamId }, 'removed from a team: its channels are forgotten');
        return;
      }
      if (event === 'channelDeleted' && activity.channelData.channelId) {
        await this.directory.forgetChannel(activity.channelData.channelId);
        return;
      }
      if ((event === 'channelCreated' || event === 'channelRestored') && activity.channelData.channelId) {
        await this.directory.saveChannels([{ channelId: activity.channelData.channelId, teamId, tenantId, serviceUrl: activity.serviceUrl }], now);
        return;
      }
      if (botAdded) {
        // NB: the team's General channel has the team's id; the others come from the connector.
        const listed = await this.connector.teamChannels(activity.serviceUrl, teamId).catch((error: unknown) => {
          this.log.warn({ err: error, teamId }, 'could not list the channels of a team the bot was added to; its General channel is recorded, the others as they are used');
          return [];
        });
        const channels = [...new Set([teamId, ...listed])].map((channelId) => ({ channelId, teamId, tenantId, serviceUrl: activity.serviceUrl }));
        await this.directory.saveChannels(channels, now);
        this.log.info({ teamId, channels: channels.length }, 'added to a team: its channels are recorded');
        this.later(() => this.learnRoster(activity.serviceUrl, teamId));
        return;
      }
      const joined = activity.membersAdded.filter((m) => m.id !== activity.recipient.id).slice(0, 50);
      if (joined.length > 0) this.later(() => this.learnMembers(activity.serviceUrl, teamId, joined.map((m) => m.id)));
      return;
    }
    if (activity.conversation.conversationType === 'personal') {
      if (botRemoved && activity.from.aadObjectId) await this.directory.forgetPersonalConversation(activity.from.aadObjectId.toLowerCase());
      // NB: installed for one person: their 1:1 chat is known from now on (checked like any other look-up).
      if (botAdded) await this.actor(activity);
    }
  }

  // Who people are.

  /**
   * The person behind an activity, looked up afresh in Teams' roster every time (so a guest, a
   * removed account or a changed e-mail counts as it is now), and admitted by `admitTeamsMember`.
   */
  private async actor(activity: ActivityView): Promise<{ ok: true; actor: ChatActor } | { ok: false; text: RichText; message: string }> {
    if (!activity.from.id) return { ok: false, text: say`Teams did not say who sent this; nothing was done.`, message: 'Teams did not say who sent this; nothing was done.' };
    const where = activity.channelData.teamId ?? activity.conversation.id;
    const member = await this.connector.member(activity.serviceUrl, where, activity.from.id);
    const who = admitTeamsMember(member, activity.from, this.settings.tenants, this.ctx.policy.current().policy.guests);
    if (!who.ok) {
      this.log.info({ userId: activity.from.id }, `refused a Teams user: ${who.message}`);
      return { ok: false, text: say`${who.message}`, message: who.message };
    }
    const personal = activity.conversation.conversationType === 'personal' ? { personalConversationId: activity.conversation.id } : {};
    await this.directory.savePeople([{ aadObjectId: who.aadObjectId, userId: who.userId, tenantId: who.tenantId, email: who.email, serviceUrl: activity.serviceUrl, ...personal }], this.ctx.clock.now());
    return { ok: true, actor: { email: who.email, origin: { via: 'teams', platformUserId: who.aadObjectId, platformTeamId: who.tenantId } } };
  }

  private async learnChannel(activity: ActivityView): Promise<void> {
    const channelId = channelOf(activity);
    const teamId = activity.channelData.teamId;
    if (!channelId || !teamId) return;
    const tenantId = (activity.channelData.tenantId ?? activity.conversation.tenantId ?? '').toLowerCase();
    await this.directory.saveChannels([{ channelId, teamId, tenantId, serviceUrl: activity.serviceUrl }], this.ctx.clock.now());
  }

  /** Records the people of a team the bot was just added to, so notices can reach them before they ever write. */
  private async learnRoster(serviceUrl: string, teamId: string): Promise<void> {
    const members = await this.connector.teamMembers(serviceUrl, teamId);
    await this.directory.savePeople(members.flatMap((m) => this.personOf(m, serviceUrl)), this.ctx.clock.now());
  }

  private async learnMembers(serviceUrl: string, teamId: string, userIds: readonly string[]): Promise<void> {
    const people: TeamsPerson[] = [];
    for (const userId of userIds) {
      const member = await this.connector.member(serviceUrl, teamId, userId);
      if (member) people.push(...this.personOf(member, serviceUrl));
    }
    await this.directory.savePeople(people, this.ctx.clock.now());
  }

  /** A roster entry as a person to write to; only people of our tenants with an Entra account and an e-mail. */
  private personOf(member: TeamsMember, serviceUrl: string): TeamsPerson[] {
    const person = rosterPerson(member, this.settings.tenants);
    return person ? [{ ...person, serviceUrl }] : [];
  }

  // Answers.

  /**
   * Where replies to an activity go: in a 1:1 chat, there; from a channel or a group chat, to the
   * person's 1:1 chat with the bot (replies about one person's requests are theirs alone, like
   * Slack's ephemeral messages), or, if Teams lets the bot open none, a short note in the thread.
   */
  private tellerFor(activity: ActivityView): Tell {
    return (reply) => this.tellCard(activity, replyCard(reply));
  }

  private async tellCard(activity: ActivityView, content: AdaptiveCard): Promise<void> {
    if (activity.conversation.conversationType === 'personal') {
      await this.connector.reply(activity.serviceUrl, activity.conversation.id, activity.id, cardActivity(content));
      return;
    }
    const tenantId = (activity.channelData.tenantId ?? activity.conversation.tenantId ?? '').toLowerCase();
    try {
      const chat = await this.connector.openPersonalChat(activity.serviceUrl, activity.recipient.id, activity.from.id, tenantId);
      await this.connector.send(activity.serviceUrl, chat, cardActivity(content));
    } catch (error) {
      if (!(error instanceof TeamsApiError) || !unreachable(error)) throw error;
      this.log.warn({ err: error }, 'cannot open a 1:1 chat with the person who wrote in a channel; answering in the thread');
      await this.connector.send(
        activity.serviceUrl,
        activity.conversation.id,
        cardActivity(textCard(say`prod-access answers in a 1:1 chat, and Teams does not let it open one with you. Install prod-access for yourself (Apps, prod-access, Add), then ask again in that chat.`, false)),
      );
    }
  }

  /** A 1:1 message to a known person, opening the chat if need be; false when Teams will not let the bot write to them. */
  private async writeTo(person: TeamsPerson, activity: OutgoingActivity): Promise<boolean> {
    let conversationId = person.personalConversationId;
    try {
      if (!conversationId) {
        conversationId = await this.connector.openPersonalChat(person.serviceUrl, this.botId, person.userId, person.tenantId);
        await this.directory.savePeople([{ ...person, personalConversationId: conversationId }], this.ctx.clock.now());
      }
      await this.connector.send(person.serviceUrl, conversationId, activity);
      return true;
    } catch (error) {
      if (error instanceof TeamsApiError && unreachable(error)) {
        // NB: a person who blocked the bot or left the organisation must not hold up everyone else's notices.
        this.log.warn({ err: error, status: error.status, code: error.code }, 'Teams refused a direct message');
        if (person.personalConversationId && (error.status === 404 || error.status === 403)) await this.directory.forgetPersonalConversation(person.aadObjectId);
        return false;
      }
      throw asNotificationError(error);
    }
  }

  /** The approval card's view of a request as it now stands. */
  private async cardOf(request: AccessRequest): Promise<ApprovalCard> {
    return approvalCard(request, this.ctx.policy.current().policy, await isFirstTime(this.ctx, request));
  }

  /** A decision counts only from the request's own card: the channel and message the bot recorded when it posted it. */
  private async notOnItsCard(activity: ActivityView, id: RequestId): Promise<InvokeAnswer | undefined> {
    const card = await this.ctx.store.chatCard(this.kind, id);
    if (card && card.channel === channelOf(activity) && card.messageId === activity.replyToId) return undefined;
    this.log.warn({ requestId: id, channel: channelOf(activity), replyToId: activity.replyToId }, 'refused a click from a place the bot did not put this button');
    return notShownHere(id);
  }

  /** Runs work whose result is told as a message; a failure becomes a sentence for the person, never silence. */
  private async guarded(tell: Tell, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error({ err: error }, 'Teams message failed');
      await tell({ ok: false, text: say`${describeFailure(error)}` }).catch((err: unknown) => this.log.error({ err }, 'could not tell the person about the failure'));
    }
  }

  /** Starts work after Teams was answered, keeping track of it for a clean stop. */
  private later(work: () => Promise<void>): void {
    const running = work()
      .catch((error: unknown) => this.log.error({ err: error }, 'Teams work after the answer failed'))
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  /**
   * True the first time an activity (`key`: its ids) is seen by any replica within the replay
   * window; a redelivered or replayed one gets false and does nothing.
   */
  private async firstDelivery(key: string): Promise<boolean> {
    const now = this.ctx.clock.now();
    const first = await this.ctx.store.recordChatDelivery(`teams:${key}`, now, new Date(now.getTime() - REPEAT_WINDOW_MS));
    if (!first) this.log.info({ delivery: key }, 'dropped a Teams activity already acted on (replay or redelivery)');
    return first;
  }

  /** A Bot Connector call made for a notice: failures become `NotificationError`, retried or skipped by the dispatcher. */
  private async notice<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.log.warn({ err: error }, `Teams: could not ${what}`);
      throw asNotificationError(error);
    }
  }
}

function cardActivity(content: AdaptiveCard): OutgoingActivity {
  return { type: 'message', attachments: [{ contentType: CARD, content }] };
}

function cardAnswer(value: AdaptiveCard): InvokeAnswer {
  return { statusCode: 200, type: INVOKE_CARD, value };
}

/** A message for the clicker alone (Teams shows it beside the card, which stays as it was). */
function message(text: string): InvokeAnswer {
  return { statusCode: 200, type: INVOKE_MESSAGE, value: plainText(text, 1_000) };
}

function notShownHere(id: RequestId): InvokeAnswer {
  return message(`This button is not one the bot showed for request ${id} here. Use the request's card in the approvals channel, or the notice in your 1:1 chat with prod-access.`);
}

async function answerInvoke(context: TurnContext, body: InvokeAnswer): Promise<void> {
  await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body } } as unknown as Parameters<TurnContext['sendActivity']>[0]);
}

/** Teams will not let the bot write there, and retrying will not change it: blocked, removed, unknown, or refused. */
function unreachable(error: TeamsApiError): boolean {
  return error.status === 400 || error.status === 403 || error.status === 404;
}

function asNotificationError(error: unknown): unknown {
  if (error instanceof NotificationError) return error;
  if (!(error instanceof TeamsApiError)) return error;
  // NB: a channel the bot was removed from, a conversation gone, a card Teams refuses will not get
  // better by retrying; throttling, outages and a token Entra would not give will.
  const permanent = error.status === 400 || error.status === 403 || error.status === 404 || error.status === 413;
  return new NotificationError(permanent ? 'rejected' : 'unavailable', 'teams', error.message, { cause: error });
}

function unknownChannel(channel: string): NotificationError {
  return new NotificationError('rejected', 'teams', `prod-access knows no Teams channel ${channel}: add the prod-access app to the team that has it (the bot records a team's channels when it is added), or correct the policy`);
}

/** Equal service URLs: same scheme, host and path, whatever the case of the host or a trailing slash. */
function sameServiceUrl(a: string, b: string): boolean {
  const norm = (value: string) => {
    try {
      const url = new URL(value);
      return `${url.protocol}//${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '')}`;
    } catch {
      return undefined;
    }
  };
  const left = norm(a);
  return left !== undefined && left === norm(b);
}

function text<K extends keyof FormValues>(key: K, value: unknown): { [P in K]?: string } {
  return (typeof value === 'string' ? { [key]: value } : {}) as { [P in K]?: string };
}

/** Which field of the request form a refusal belongs to. */
function fieldOf(code: RefusalCode | string): FormField {
  switch (code) {
    case 'bad_duration':
    case 'duration_too_long':
      return formFields.duration;
    case 'bad_ticket':
      return formFields.ticket;
    case 'bad_reason':
      return formFields.reason;
    case 'break_glass_not_allowed':
      return formFields.breakGlass;
    default:
      return formFields.role;
  }
}

/**
 * agents-hosting's response interface over Node's: `send` writes and ends (the SDK's JWT middleware
 * sends a 401 without calling `end`), `end` ends what is not ended yet.
 */
class NodeWebResponse implements WebResponse {
  private code = 200;

  constructor(private readonly res: ServerResponse) {}

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get writableEnded(): boolean {
    return this.res.writableEnded;
  }

  status(code: number): this {
    this.code = code;
    return this;
  }

  setHeader(name: string, value: string): this {
    if (!this.res.headersSent) this.res.setHeader(name, value);
    return this;
  }

  send(body?: unknown): this {
    if (this.res.writableEnded) return this;
    const json = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    if (!this.res.headersSent) {
      this.res.statusCode = this.code;
      if (json !== '' && !this.res.hasHeader('content-type')) this.res.setHeader('content-type', 'application/json');
    }
    this.res.end(json);
    return this;
  }

  end(): this {
    if (this.res.writableEnded) return this;
    if (!this.res.headersSent) this.res.statusCode = this.code;
    this.res.end();
    return this;
  }
}
