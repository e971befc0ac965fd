import type { UsersInfoResponse, WebClient } from '@slack/web-api';
import { parseEmail, type Email } from '../../../domain/email';
import type { Clock } from '../../../ports/clock';

/** The Slack workspace, or Enterprise Grid organisation, whose members prod-access serves. */
export interface SlackWorkspace {
  readonly teamId: string;
  /** Set for an Enterprise Grid organisation: members of any of its workspaces count. */
  readonly enterpriseId?: string;
}

/** Who clicked or typed: a member Slack vouches for, or why not. */
export type SlackIdentity = { ok: true; email: Email; userId: string; teamId: string } | { ok: false; message: string };

/** What `users.info` says about a person: the facts that decide whether they count. */
export interface SlackProfile {
  readonly id: string;
  readonly teamId?: string;
  readonly enterpriseId?: string;
  readonly deleted: boolean;
  readonly isBot: boolean;
  readonly isAppUser: boolean;
  /** A multi-channel (`is_restricted`) or single-channel (`is_ultra_restricted`) guest. */
  readonly isGuest: boolean;
  /** Visible through Slack Connect, not a member of this workspace. */
  readonly isStranger: boolean;
  readonly emailConfirmed: boolean;
  readonly email?: string;
}

/**
 * Decides whether a Slack user counts as the person their e-mail names. Only a full member of our
 * workspace (or Grid organisation), with an e-mail Slack has confirmed, counts; a guest or an app
 * user only when the policy lists their address under `guests`; a bot or a deactivated account,
 * never. NB: Slack lets an account carry any address until it is confirmed, and a workspace
 * reached through Slack Connect may be anyone's: without these checks a stranger could name an
 * approver's address and approve as them.
 */
export function admitSlackUser(profile: SlackProfile | undefined, workspace: SlackWorkspace, guests: ReadonlySet<Email>): SlackIdentity {
  if (!profile) return { ok: false, message: 'Slack does not know your user.' };
  if (profile.deleted) return { ok: false, message: 'Your Slack account is deactivated.' };
  if (profile.isBot) return { ok: false, message: 'Bots cannot ask for or approve access.' };
  const inWorkspace = workspace.enterpriseId !== undefined ? profile.enterpriseId === workspace.enterpriseId : profile.teamId === workspace.teamId;
  if (profile.isStranger || !inWorkspace || profile.teamId === undefined) {
    return {
      ok: false,
      message: `prod-access serves members of its own Slack ${workspace.enterpriseId !== undefined ? 'organisation' : 'workspace'} only, and your account belongs to another one (reached through Slack Connect). Ask from your own organisation's access process.`,
    };
  }
  const email = profile.email ? parseEmail(profile.email) : undefined;
  if (!email) {
    return { ok: false, message: 'prod-access cannot see a verified e-mail on your Slack profile, and it identifies people only by that. Ask your Slack admin.' };
  }
  if (!profile.emailConfirmed) {
    return { ok: false, message: 'The e-mail on your Slack profile is not confirmed yet, and prod-access trusts only confirmed addresses. Confirm it from the mail Slack sent you, then try again.' };
  }
  if ((profile.isGuest || profile.isAppUser) && !guests.has(email)) {
    return {
      ok: false,
      message: `Your Slack account is a ${profile.isGuest ? 'guest' : 'app user'} account, and those count only when the policy lists their address under guests. Ask your security team.`,
    };
  }
  return { ok: true, email, userId: profile.id, teamId: profile.teamId };
}

/**
 * True when a payload comes from our workspace: every team it names is ours (or, for a Grid
 * organisation, its organisation is ours). Anything else is refused before a look-up.
 */
export function isOurWorkspace(workspace: SlackWorkspace, payload: { readonly teamIds: readonly (string | undefined)[]; readonly enterpriseId?: string | undefined }): boolean {
  // NB: in a Grid organisation a payload names whichever of the org's workspaces it came through.
  if (workspace.enterpriseId !== undefined) return payload.enterpriseId === workspace.enterpriseId;
  const named = payload.teamIds.filter((t): t is string => t !== undefined && t !== '');
  return named.length > 0 && named.every((t) => t === workspace.teamId) && !payload.enterpriseId;
}

const TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

/**
 * People are their confirmed e-mail from Slack's own profile (`users.info`, which needs the
 * `users:read.email` scope), never anything they type. Profiles are cached for five minutes for
 * what only reads (replies, the App Home, DMs); decisions ask for `fresh` ones, so a deactivated
 * account or one moved out of a user group stops counting at once. `user_change` events drop a
 * cached profile as soon as Slack reports the change.
 */
export class SlackDirectory {
  private readonly byUser = new Map<string, { profile: SlackProfile | undefined; until: number }>();
  private readonly byEmail = new Map<string, { userId: string | undefined; until: number }>();
  private readonly usergroups = new Map<string, { members: ReadonlySet<string>; until: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly clock: Clock,
    readonly workspace: SlackWorkspace,
  ) {}

  /** Who `userId` is, under the current policy's `guests`; `fresh` skips the cache (decisions). */
  async identify(userId: string, guests: ReadonlySet<Email>, opts: { fresh?: boolean } = {}): Promise<SlackIdentity> {
    const now = this.clock.now().getTime();
    const cached = opts.fresh ? undefined : this.byUser.get(userId);
    const profile = cached && cached.until > now ? cached.profile : await this.lookUp(userId);
    if (!cached || cached.until <= now) this.remember(this.byUser, userId, { profile, until: now + TTL_MS });
    const identity = admitSlackUser(profile, this.workspace, guests);
    if (identity.ok) this.remember(this.byEmail, identity.email, { userId, until: now + TTL_MS });
    return identity;
  }

  /** Slack reported a change to this user (profile, e-mail, deactivation): forget what was cached. */
  forget(userId: string): void {
    this.byUser.delete(userId);
    for (const [email, entry] of this.byEmail) if (entry.userId === userId) this.byEmail.delete(email);
  }

  /** The Slack user with this e-mail, or undefined when the workspace has none. */
  async userIdFor(email: Email): Promise<string | undefined> {
    const now = this.clock.now().getTime();
    const cached = this.byEmail.get(email);
    if (cached && cached.until > now) return cached.userId;
    let userId: string | undefined;
    try {
      const found = await this.client.users.lookupByEmail({ email });
      userId = found.user?.id;
    } catch (error) {
      if (!isPlatformError(error, 'users_not_found')) throw error;
    }
    this.remember(this.byEmail, email, { userId, until: now + TTL_MS });
    return userId;
  }

  /**
   * The policy groups `userId` belongs to through their Slack user group (`slackUsergroup` in the
   * policy), from `usergroups.users.list` (scope `usergroups:read`), cached for five minutes unless `fresh`.
   */
  async policyGroupsOf(userId: string, groups: ReadonlyMap<string, { readonly slackUsergroup?: string }>, opts: { fresh?: boolean } = {}): Promise<ReadonlySet<string>> {
    const member = new Set<string>();
    for (const [name, group] of groups) {
      if (group.slackUsergroup !== undefined && (await this.usergroupMembers(group.slackUsergroup, opts.fresh === true)).has(userId)) member.add(name);
    }
    return member;
  }

  private async usergroupMembers(usergroup: string, fresh: boolean): Promise<ReadonlySet<string>> {
    const now = this.clock.now().getTime();
    const cached = this.usergroups.get(usergroup);
    if (!fresh && cached && cached.until > now) return cached.members;
    const listed = await this.client.usergroups.users.list({ usergroup });
    const members = new Set(listed.users ?? []);
    this.remember(this.usergroups, usergroup, { members, until: now + TTL_MS });
    return members;
  }

  private async lookUp(userId: string): Promise<SlackProfile | undefined> {
    try {
      const { user } = await this.client.users.info({ user: userId });
      return user ? profileOf(user, userId) : undefined;
    } catch (error) {
      if (isPlatformError(error, 'user_not_found')) return undefined;
      throw error;
    }
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    // NB: a bounded cache: the oldest entry goes first once it is full.
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string);
    map.set(key, value);
  }
}

/** The facts admission depends on, from a `users.info` or `users.lookupByEmail` user object. */
export function profileOf(user: NonNullable<UsersInfoResponse['user']>, fallbackId = ''): SlackProfile {
  return {
    id: user.id ?? fallbackId,
    ...(user.team_id ? { teamId: user.team_id } : {}),
    ...(user.enterprise_user?.enterprise_id ? { enterpriseId: user.enterprise_user.enterprise_id } : {}),
    deleted: user.deleted === true,
    isBot: user.is_bot === true,
    isAppUser: user.is_app_user === true,
    isGuest: user.is_restricted === true || user.is_ultra_restricted === true,
    isStranger: user.is_stranger === true,
    // NB: only an explicit true counts: a field Slack leaves out is not a confirmation.
    emailConfirmed: user.is_email_confirmed === true,
    ...(user.profile?.email ? { email: user.profile.email } : {}),
  };
}

export function isPlatformError(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { data?: { error?: string } }).data?.error === code;
}
