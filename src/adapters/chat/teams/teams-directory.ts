import type { Email } from '../../../domain/email';

/** A Teams channel the bot is installed in: where and how to post to it unprompted. */
export interface TeamsChannel {
  /** `19:…@thread.tacv2`. */
  readonly channelId: string;
  readonly teamId: string;
  /** Lower-case tenant GUID. */
  readonly tenantId: string;
  /** The Bot Connector base URL Teams gave for this team (`https://smba.trafficmanager.net/…`). */
  readonly serviceUrl: string;
}

/** A person as the Teams member look-up described them, and how to reach them directly. */
export interface TeamsPerson {
  /** Entra ID object id (lower-case GUID): who they are. */
  readonly aadObjectId: string;
  /** Teams user id (`29:…`), needed to open a 1:1 chat. */
  readonly userId: string;
  readonly tenantId: string;
  /** The e-mail the Teams member look-up gave, never text they typed. */
  readonly email: Email;
  readonly serviceUrl: string;
  /** Their 1:1 chat with the bot (`a:…`), once it exists. */
  readonly personalConversationId?: string;
}

/**
 * What the Teams adapter remembers between requests, shared by every replica: the channels it may
 * post to and the people it may write to. Conversation references are facts Teams told the bot in
 * signed activities (or answered to its own calls); they are refreshed whenever Teams says more.
 */
export interface TeamsDirectoryStore {
  channel(channelId: string): Promise<TeamsChannel | undefined>;
  /** Records (or refreshes) channels, e.g. every channel of a team the bot was just added to. */
  saveChannels(channels: readonly TeamsChannel[], at: Date): Promise<void>;
  forgetChannel(channelId: string): Promise<void>;
  /** The bot was removed from a team (or the team deleted): none of its channels is reachable. */
  forgetTeam(teamId: string): Promise<void>;
  /** The person Teams most recently said has this e-mail, in one of `tenants` (any tenant when empty). */
  personByEmail(email: Email, tenants: readonly string[]): Promise<TeamsPerson | undefined>;
  /** Records (or refreshes) people; a 1:1 chat already recorded is kept unless one is given. */
  savePeople(people: readonly TeamsPerson[], at: Date): Promise<void>;
  /** The 1:1 chat with this person is gone (the bot was removed from their personal scope). */
  forgetPersonalConversation(aadObjectId: string): Promise<void>;
}
