import { parseEmail, type Email } from '../../../domain/email';

/**
 * What the Teams member look-up (`GET /v3/conversations/{id}/members/{userId}`) answers about a
 * person: Teams' roster, from Entra ID, never anything the person typed.
 */
export interface TeamsMember {
  /** Teams user id: `29:…` for people, `28:…` for bots. */
  readonly id: string;
  readonly aadObjectId?: string;
  readonly email?: string;
  readonly userPrincipalName?: string;
  /** `user`, `guest` (B2B guest) or `anonymous` (meeting participant without an account). */
  readonly userRole?: string;
  readonly tenantId?: string;
}

/** Who typed or clicked: a person of an allowed tenant whom Teams vouches for, or why not. */
export type TeamsIdentity =
  | { readonly ok: true; readonly email: Email; readonly aadObjectId: string; readonly userId: string; readonly tenantId: string }
  | { readonly ok: false; readonly message: string };

/** Lower-case tenant ids a payload names; a Teams activity carries its tenant twice. */
export interface PayloadTenants {
  readonly tenantIds: readonly (string | undefined)[];
}

/**
 * True when every tenant a payload names is one prod-access serves (`allowed`, lower-case), and it
 * names at least one. With no tenant configured (anonymous mode without TEAMS_TENANTS) any tenant
 * passes. The Teams counterpart of Slack's workspace check: done before any look-up.
 */
export function isOurTenant(allowed: readonly string[], payload: PayloadTenants): boolean {
  const named = payload.tenantIds.filter((t): t is string => typeof t === 'string' && t !== '').map((t) => t.toLowerCase());
  if (allowed.length === 0) return true;
  return named.length > 0 && named.every((t) => allowed.includes(t));
}

/**
 * Decides whether the person behind an activity counts as the e-mail Teams gives for them. Only a
 * member of an allowed tenant with an e-mail in Entra ID counts; a B2B guest only when the policy
 * lists their exact address under `guests`; a bot or an anonymous meeting participant never. The
 * look-up must describe the same Entra account as the activity (`from.aadObjectId`). NB: without
 * these checks a guest invited from another organisation, whose address the guest's own
 * organisation chose, could carry an approver's address and approve as them.
 */
export function admitTeamsMember(
  member: TeamsMember | undefined,
  from: { readonly id: string; readonly aadObjectId?: string | undefined; readonly role?: string | undefined },
  allowed: readonly string[],
  guests: ReadonlySet<Email>,
): TeamsIdentity {
  if (from.role === 'bot' || from.id.startsWith('28:')) return { ok: false, message: 'Bots cannot ask for or approve access.' };
  if (!member) return { ok: false, message: 'Teams does not know your user in this conversation.' };
  if (member.id.startsWith('28:')) return { ok: false, message: 'Bots cannot ask for or approve access.' };
  if (member.id !== from.id) return { ok: false, message: 'Teams described another user than the one who wrote; nothing was done.' };
  const aadObjectId = member.aadObjectId?.toLowerCase();
  if (!aadObjectId || member.userRole === 'anonymous') {
    return { ok: false, message: 'prod-access serves people with a Microsoft Entra account in its organisation, and Teams shows none for you (anonymous or external participant).' };
  }
  if (from.aadObjectId !== undefined && from.aadObjectId.toLowerCase() !== aadObjectId) {
    return { ok: false, message: 'Teams described another account than the one who wrote; nothing was done.' };
  }
  const tenantId = member.tenantId?.toLowerCase();
  if (tenantId === undefined || !isOurTenant(allowed, { tenantIds: [tenantId] })) {
    return { ok: false, message: 'prod-access serves members of its own Microsoft 365 organisation only, and your account belongs to another one. Ask from your own organisation.' };
  }
  const email = member.email ? parseEmail(member.email) : undefined;
  if (!email) {
    return { ok: false, message: 'prod-access cannot see an e-mail address on your Microsoft 365 account, and it identifies people only by that. Ask your Microsoft 365 admin.' };
  }
  const guest = member.userRole === 'guest' || /#ext#/i.test(member.userPrincipalName ?? '');
  if (guest && !guests.has(email)) {
    return { ok: false, message: 'Your Teams account is a guest account, and those count only when the policy lists their address under guests. Ask your security team.' };
  }
  return { ok: true, email, aadObjectId, userId: member.id, tenantId };
}

/**
 * Someone a team roster lists, as a person the bot may write to later (a notice by e-mail): an
 * account of an allowed tenant with an Entra object id and an e-mail, not a bot or an anonymous
 * participant. Guests are kept too (they are refused at every decision unless the policy lists
 * them, and notices only go to people who made a request).
 */
export function rosterPerson(member: TeamsMember, allowed: readonly string[]): { email: Email; aadObjectId: string; userId: string; tenantId: string } | undefined {
  const email = member.email ? parseEmail(member.email) : undefined;
  if (!email) return undefined;
  const who = admitTeamsMember(member, { id: member.id }, allowed, new Set([email]));
  return who.ok ? { email: who.email, aadObjectId: who.aadObjectId, userId: who.userId, tenantId: who.tenantId } : undefined;
}

/** A mention in an activity's `entities` (`type: 'mention'`). */
export interface MentionEntity {
  readonly type?: string;
  readonly text?: string;
  readonly mentioned?: { readonly id?: string };
}

/**
 * The command in a message: the text with the bot's own mentions removed (in a channel Teams writes
 * `<at>prod-access</at> roles`), and a leading `/prod-access` or `prod-access` dropped (people copy
 * commands from the help, written as Slack's slash command). NB: only what Teams marked as a mention
 * of this bot (an entity whose `mentioned.id` is the bot) is removed, once per entity, and only as
 * that entity's exact `<at>…</at>` text: typed text that merely looks like a mention stays, as do
 * mentions of other people.
 */
export function commandText(text: string | undefined, entities: readonly MentionEntity[] | undefined, botId: string): string {
  let rest = text ?? '';
  for (const entity of entities ?? []) {
    if (entity.type !== 'mention' || entity.mentioned?.id !== botId || !entity.text || !/^<at>[^<>]*<\/at>$/.test(entity.text)) continue;
    const at = rest.indexOf(entity.text);
    if (at >= 0) rest = `${rest.slice(0, at)} ${rest.slice(at + entity.text.length)}`;
  }
  return rest
    .replace(/\u00a0/g, ' ')
    .trim()
    .replace(/^\/?prod-access(?=\s|$)/i, '')
    .trim();
}
