import { ConnectorClient, HttpError } from '@microsoft/agents-hosting';
import type { Logger } from 'pino';
import { retryDelayMs, type Backoff } from '../../../domain/retry-backoff';
import type { Random } from '../../../ports/random';
import type { ConversationPacer } from './conversation-pacer';
import type { TeamsMember } from './teams-identity';

/** The bot's own token for its calls to the Bot Connector; `''` in anonymous mode (no token sent). */
export interface BotTokenSource {
  token(): Promise<string>;
}

/** An activity the bot sends (a card, mostly), as the Bot Connector takes it. */
export type OutgoingActivity = Readonly<Record<string, unknown>>;

/** Statuses Teams asks a bot to retry (Teams rate-limit and error-code pages): throttling and transient failures. */
const RETRIED = new Set([412, 429, 502, 503, 504]);

/** Backoff between retries of one call: 0.5 s doubling, at most 10 s, half of it random. */
export const CONNECTOR_BACKOFF: Backoff = { baseMs: 500, capMs: 10_000 };
/** Tries per call before giving up (the notice pipeline then retries the whole notice later). */
export const CONNECTOR_MAX_ATTEMPTS = 5;
/** A `Retry-After` longer than this is not waited for inline: the notice pipeline retries later. */
const MAX_INLINE_WAIT_MS = 30_000;

/**
 * A Bot Connector call that failed for good: after its retries, or at once when retrying cannot
 * help. `status` 0: no HTTP answer (network, token); -1: the call was not made (bad arguments).
 * `code` is Teams' own (`MessageWritesBlocked`, …).
 */
export class TeamsApiError extends Error {
  override readonly name = 'TeamsApiError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The Bot Connector REST API as prod-access uses it, on agents-hosting's `ConnectorClient`: every
 * message is paced per conversation (Teams' limits), and calls Teams asks to retry (429 with its
 * `Retry-After`, 412, 502, 503, 504, and network failures) are retried with backoff and jitter.
 */
export class TeamsConnector {
  constructor(
    private readonly tokens: BotTokenSource,
    private readonly pacer: ConversationPacer,
    private readonly random: Random,
    private readonly log: Logger,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Posts an activity to a conversation (a new post in a channel, a message in a chat); returns its id. */
  async send(serviceUrl: string, conversationId: string, activity: OutgoingActivity): Promise<string> {
    const sent = await this.call(`send to ${conversationId}`, paceKey(conversationId), serviceUrl, (client) => client.sendToConversation(conversationId, activity as SdkActivity));
    return sent.id ?? '';
  }

  /** Answers an activity in its own conversation (threaded under it where Teams threads); returns the answer's id. */
  async reply(serviceUrl: string, conversationId: string, replyToId: string, activity: OutgoingActivity): Promise<string> {
    const sent = await this.call(`reply in ${conversationId}`, paceKey(conversationId), serviceUrl, (client) => client.replyToActivity(conversationId, replyToId, { ...activity, replyToId } as unknown as SdkActivity));
    return sent.id ?? '';
  }

  /** Replaces an activity the bot sent (a card) for everyone in the conversation. */
  async update(serviceUrl: string, conversationId: string, activityId: string, activity: OutgoingActivity): Promise<void> {
    await this.call(`update ${activityId} in ${conversationId}`, paceKey(conversationId), serviceUrl, (client) => client.updateActivity(conversationId, activityId, { ...activity, id: activityId } as unknown as SdkActivity));
  }

  /** Opens (or finds) the 1:1 chat between the bot and a person; returns its conversation id. */
  async openPersonalChat(serviceUrl: string, botId: string, userId: string, tenantId: string): Promise<string> {
    const created = await this.call(`open a 1:1 chat with ${userId}`, `create:${tenantId}`, serviceUrl, (client) =>
      client.createConversation({ isGroup: false, agent: { id: botId }, bot: { id: botId }, members: [{ id: userId }], tenantId, channelData: { tenant: { id: tenantId } } } as unknown as SdkConversationParameters),
    );
    if (!created.id) throw new TeamsApiError(0, undefined, `opening a 1:1 chat with ${userId} returned no conversation id`);
    return created.id;
  }

  /** The member look-up; undefined when Teams does not know the user in that conversation (404, 403). */
  async member(serviceUrl: string, conversationId: string, userId: string): Promise<TeamsMember | undefined> {
    try {
      return memberOf(await this.call(`look up ${userId}`, undefined, serviceUrl, (client) => client.getConversationMember(userId, conversationId)));
    } catch (error) {
      if (error instanceof TeamsApiError && (error.status === 404 || error.status === 403)) return undefined;
      throw error;
    }
  }

  /** The channels of a team the bot is in (`GET /v3/teams/{id}/conversations`). */
  async teamChannels(serviceUrl: string, teamId: string): Promise<string[]> {
    const answer = await this.call(`list the channels of ${teamId}`, undefined, serviceUrl, async (client) => (await client.httpClient.request<{ conversations?: { id?: string }[] }>({ method: 'get', url: `v3/teams/${encodeURIComponent(teamId)}/conversations` })).data);
    return (answer.conversations ?? []).map((c) => c.id).filter((id): id is string => typeof id === 'string' && id !== '');
  }

  /** Every member of a team, page by page (`GET /v3/conversations/{id}/pagedmembers`). */
  async teamMembers(serviceUrl: string, teamId: string): Promise<TeamsMember[]> {
    const members: TeamsMember[] = [];
    let continuationToken: string | undefined;
    for (let page = 0; page < 200; page++) {
      const token = continuationToken;
      const answer = await this.call(`list the members of ${teamId}`, undefined, serviceUrl, async (client) =>
        (await client.httpClient.request<{ members?: unknown[]; continuationToken?: string }>({ method: 'get', url: `v3/conversations/${encodeURIComponent(teamId)}/pagedmembers`, params: { pageSize: '500', continuationToken: token } })).data,
      );
      for (const m of answer.members ?? []) {
        const member = memberOf(m);
        if (member) members.push(member);
      }
      continuationToken = answer.continuationToken || undefined;
      if (!continuationToken) break;
    }
    return members;
  }

  private async call<T>(what: string, pace: string | undefined, serviceUrl: string, run: (client: ConnectorClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let token: string;
      try {
        token = await this.tokens.token();
      } catch (error) {
        throw new TeamsApiError(0, undefined, `${what}: could not get the bot's token from Microsoft Entra ID (${error instanceof Error ? error.message : String(error)})`, { cause: error });
      }
      if (pace !== undefined) await this.pacer.turn(pace);
      try {
        return await run(ConnectorClient.createClientWithToken(serviceUrl, token));
      } catch (error) {
        const failure = describe(error);
        const retried = failure.status === 0 || RETRIED.has(failure.status);
        if (!retried || attempt >= CONNECTOR_MAX_ATTEMPTS) {
          throw new TeamsApiError(failure.status, failure.code, `${what}: ${failure.text}${retried ? ` (after ${attempt} tries)` : ''}`, { cause: error });
        }
        // NB: Teams' Retry-After is the least wait; a little jitter keeps the retries of a burst apart.
        const wait = failure.retryAfterMs !== undefined ? failure.retryAfterMs + Math.round(this.random.next() * 250) : retryDelayMs(attempt, this.random.next(), CONNECTOR_BACKOFF);
        if (wait > MAX_INLINE_WAIT_MS) throw new TeamsApiError(failure.status, failure.code, `${what}: ${failure.text}; Teams asks to wait ${Math.ceil(wait / 1000)} s`, { cause: error });
        this.log.warn({ status: failure.status, code: failure.code, attempt, waitMs: Math.round(wait) }, `Bot Connector: ${what} failed (${failure.text}); retrying`);
        await this.sleep(wait);
      }
    }
  }
}

type SdkActivity = Parameters<ConnectorClient['sendToConversation']>[1];
type SdkConversationParameters = Parameters<ConnectorClient['createConversation']>[0];

/** The parts of a failed call that decide what to do: status, Teams' error code, and how long it asks to wait. */
function describe(error: unknown): { status: number; code: string | undefined; text: string; retryAfterMs: number | undefined } {
  if (error instanceof HttpError) {
    const data = error.response.data as { error?: { code?: unknown; message?: unknown } } | undefined;
    const code = typeof data?.error?.code === 'string' ? data.error.code : undefined;
    const message = typeof data?.error?.message === 'string' ? data.error.message : undefined;
    return { status: error.status, code, text: `HTTP ${error.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, retryAfterMs: retryAfter(error.response.headers.get('retry-after')) };
  }
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  const text = typeof cause === 'string' ? cause : error instanceof Error ? error.message : String(error);
  // NB: no HTTP answer at all (refused connection, reset, DNS, time-out) is worth another try; an
  // error the SDK raised before sending (a missing id) is not: status -1 is never retried.
  // NB: by name, not instanceof: fetch's errors may come from another realm (a test VM context).
  const name = (error as { name?: unknown }).name;
  const network = (name === 'TypeError' && (error as { message?: unknown }).message === 'fetch failed') || name === 'TimeoutError' || name === 'AbortError';
  return { status: network ? 0 : -1, code: undefined, text: network ? `no answer (${text})` : text, retryAfterMs: undefined };
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds from now. */
export function retryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The pace key of a conversation: a channel post lives in a thread (`19:…;messageid=…`), and Teams
 * counts a bot's posts per channel, so every thread of a channel shares the channel's windows.
 */
function paceKey(conversationId: string): string {
  return conversationId.split(';')[0] ?? conversationId;
}

function memberOf(value: unknown): TeamsMember | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.id !== 'string') return undefined;
  const str = (k: string) => (typeof m[k] === 'string' && m[k] !== '' ? { [k]: m[k] as string } : {});
  return { id: m.id, ...str('aadObjectId'), ...str('email'), ...str('userPrincipalName'), ...str('userRole'), ...str('tenantId') };
}
