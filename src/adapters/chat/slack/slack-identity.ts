import type { WebClient } from '@slack/web-api';
import { parseEmail, type Email } from '../../../domain/email';
import type { Clock } from '../../../ports/clock';

/** Who clicked or typed: verified by Slack, or why not. */
export type SlackIdentity = { ok: true; email: Email } | { ok: false; message: string };

const TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

/**
 * People are their verified e-mail from Slack's own profile (`users.info`, which needs the
 * `users:read.email` scope), never anything they type. Answers are cached for five minutes, both
 * ways, so a click costs no API call and a DM finds its person.
 */
export class SlackDirectory {
  private readonly byUser = new Map<string, { identity: SlackIdentity; until: number }>();
  private readonly byEmail = new Map<string, { userId: string | undefined; until: number }>();
  private readonly usergroups = new Map<string, { members: ReadonlySet<string>; until: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly clock: Clock,
  ) {}

  async identify(userId: string): Promise<SlackIdentity> {
    const now = this.clock.now().getTime();
    const cached = this.byUser.get(userId);
    if (cached && cached.until > now) return cached.identity;
    const identity = await this.lookUp(userId);
    this.remember(this.byUser, userId, { identity, until: now + TTL_MS });
    if (identity.ok) this.remember(this.byEmail, identity.email, { userId, until: now + TTL_MS });
    return identity;
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
   * policy), from `usergroups.users.list` (scope `usergroups:read`), cached for five minutes.
   */
  async policyGroupsOf(userId: string, groups: ReadonlyMap<string, { readonly slackUsergroup?: string }>): Promise<ReadonlySet<string>> {
    const member = new Set<string>();
    for (const [name, group] of groups) {
      if (group.slackUsergroup !== undefined && (await this.usergroupMembers(group.slackUsergroup)).has(userId)) member.add(name);
    }
    return member;
  }

  private async usergroupMembers(usergroup: string): Promise<ReadonlySet<string>> {
    const now = this.clock.now().getTime();
    const cached = this.usergroups.get(usergroup);
    if (cached && cached.until > now) return cached.members;
    const listed = await this.client.usergroups.users.list({ usergroup });
    const members = new Set(listed.users ?? []);
    this.remember(this.usergroups, usergroup, { members, until: now + TTL_MS });
    return members;
  }

  private async lookUp(userId: string): Promise<SlackIdentity> {
    try {
      const { user } = await this.client.users.info({ user: userId });
      if (!user || user.deleted) return { ok: false, message: 'Your Slack account is deactivated.' };
      if (user.is_bot) return { ok: false, message: 'Bots cannot ask for or approve access.' };
      const email = user.profile?.email ? parseEmail(user.profile.email) : undefined;
      if (!email) {
        return { ok: false, message: 'prod-access cannot see a verified e-mail on your Slack profile, and it identifies people only by that. Ask your Slack admin.' };
      }
      return { ok: true, email };
    } catch (error) {
      if (isPlatformError(error, 'user_not_found')) return { ok: false, message: 'Slack does not know your user.' };
      throw error;
    }
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    // NB: a bounded cache: the oldest entry goes first once it is full.
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string);
    map.set(key, value);
  }
}

export function isPlatformError(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { data?: { error?: string } }).data?.error === code;
}
