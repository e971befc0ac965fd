import type { WebClient } from '@slack/web-api';
import { parseEmail, type Email } from '../../../domain/email';
import type { Policy } from '../../../domain/policy';
import { admitSlackUser, isPlatformError, profileOf, type SlackWorkspace } from './slack-identity';

/** One thing checked: what, whether it holds, and what to do when it does not. */
export interface SetupFinding {
  readonly ok: boolean;
  readonly subject: string;
  readonly message: string;
}

/** The bot scopes `manifests/slack.yaml` asks for; each is needed by a call the bot makes. */
export const REQUIRED_SCOPES = ['commands', 'chat:write', 'users:read', 'users:read.email', 'usergroups:read', 'channels:read', 'groups:read'] as const;

const REINSTALL = 'update the app from manifests/slack.yaml and reinstall it to the workspace';

/**
 * Checks a configuration against the Slack workspace it will run in, the way `npm start` would
 * meet it, without changing anything: the token and its scopes, the channels the policy names
 * (the bot must be in each), every address the policy names (a full member with a confirmed
 * e-mail, or listed as a guest), and each `slackUsergroup`.
 */
export async function checkSlackSetup(client: WebClient, policy: Policy): Promise<SetupFinding[]> {
  const findings: SetupFinding[] = [];
  let workspace: SlackWorkspace;
  try {
    const auth = await client.auth.test();
    if (!auth.team_id || !auth.bot_id) {
      return [{ ok: false, subject: 'SLACK_BOT_TOKEN', message: 'is not a bot token (xoxb-…): auth.test named no bot' }];
    }
    workspace = { teamId: auth.team_id, ...(auth.enterprise_id ? { enterpriseId: auth.enterprise_id } : {}) };
    findings.push({ ok: true, subject: 'SLACK_BOT_TOKEN', message: `accepted: bot ${auth.user ?? auth.user_id ?? '?'} in workspace ${auth.team ?? ''} (${auth.team_id})` });
    const scopes = new Set(auth.response_metadata?.scopes ?? []);
    const missing = REQUIRED_SCOPES.filter((scope) => !scopes.has(scope));
    findings.push(
      missing.length === 0
        ? { ok: true, subject: 'scopes', message: `all ${REQUIRED_SCOPES.length} granted` }
        : { ok: false, subject: 'scopes', message: `missing ${missing.join(', ')}: ${REINSTALL}` },
    );
  } catch (error) {
    return [{ ok: false, subject: 'SLACK_BOT_TOKEN', message: `not accepted (auth.test: ${errorText(error)})` }];
  }

  for (const [where, channel] of policyChannels(policy)) findings.push(await checkChannel(client, where, channel));
  for (const [who, where] of namedPeople(policy)) findings.push(await checkPerson(client, who, where, workspace, policy.guests));
  for (const [name, group] of policy.groups) {
    if (group.slackUsergroup !== undefined) findings.push(await checkUsergroup(client, name, group.slackUsergroup));
  }
  return findings;
}

async function checkChannel(client: WebClient, where: string, channel: string): Promise<SetupFinding> {
  const subject = `${where} ${channel}`;
  try {
    const info = await client.conversations.info({ channel });
    if (info.channel?.is_archived) return { ok: false, subject, message: 'is archived: choose another channel in the policy' };
    if (!info.channel?.is_member) return { ok: false, subject, message: `the bot is not in #${info.channel?.name ?? channel}: type /invite @prod-access there` };
    return { ok: true, subject, message: `the bot is in #${info.channel.name ?? channel}` };
  } catch (error) {
    if (isPlatformError(error, 'channel_not_found')) return { ok: false, subject, message: 'no such channel, or a private one the bot was not invited to: check the id (channel details, at the bottom) and /invite @prod-access' };
    if (isPlatformError(error, 'missing_scope')) return { ok: false, subject, message: `cannot be checked without the channels:read and groups:read scopes: ${REINSTALL}` };
    return { ok: false, subject, message: `cannot be checked (${errorText(error)})` };
  }
}

async function checkPerson(client: WebClient, who: Email, where: string, workspace: SlackWorkspace, guests: ReadonlySet<Email>): Promise<SetupFinding> {
  const subject = `${who} (${where})`;
  try {
    const found = await client.users.lookupByEmail({ email: who });
    const admitted = admitSlackUser(found.user ? profileOf(found.user) : undefined, workspace, guests);
    return admitted.ok ? { ok: true, subject, message: `is ${admitted.userId} in Slack` } : { ok: false, subject, message: `has a Slack account that will not count: ${admitted.message}` };
  } catch (error) {
    if (isPlatformError(error, 'users_not_found')) return { ok: false, subject, message: 'has no Slack account with this e-mail: correct the address in the policy, or the profile in Slack' };
    return { ok: false, subject, message: `cannot be checked (${errorText(error)})` };
  }
}

async function checkUsergroup(client: WebClient, group: string, usergroup: string): Promise<SetupFinding> {
  const subject = `groups.${group}.slackUsergroup ${usergroup}`;
  try {
    const listed = await client.usergroups.users.list({ usergroup });
    return { ok: true, subject, message: `has ${listed.users?.length ?? 0} member(s)` };
  } catch (error) {
    if (isPlatformError(error, 'no_such_subteam')) return { ok: false, subject, message: 'no such user group: check the id (S…) in the policy' };
    return { ok: false, subject, message: `cannot be checked (${errorText(error)})` };
  }
}

/** Every Slack channel the policy names, with where it names it. */
function policyChannels(policy: Policy): [string, string][] {
  const out: [string, string][] = [];
  if (policy.channels.approvals.slack) out.push(['channels.approvals.slack', policy.channels.approvals.slack]);
  if (policy.channels.security.slack) out.push(['channels.security.slack', policy.channels.security.slack]);
  for (const role of policy.roles.values()) {
    const channel = role.channels?.approvals.slack;
    if (channel) out.push([`roles.${role.name}.channels.approvals.slack`, channel]);
  }
  return out;
}

/** Every address the policy names one by one (patterns like `*@example.com` are not people), with the first place it does. */
function namedPeople(policy: Policy): Map<Email, string> {
  const out = new Map<Email, string>();
  const add = (text: string, where: string) => {
    const who = text.startsWith('*@') ? undefined : parseEmail(text);
    if (who && !out.has(who)) out.set(who, where);
  };
  for (const [name, group] of policy.groups) group.members.forEach((m) => add(m, `groups.${name}`));
  policy.admins.forEach((ref) => ref.email && add(ref.email, 'admins'));
  for (const role of policy.roles.values()) {
    role.requesters.forEach((ref) => ref.email && add(ref.email, `roles.${role.name}.requesters`));
    role.approvers.forEach((ref) => ref.email && add(ref.email, `roles.${role.name}.approvers`));
  }
  policy.guests.forEach((who) => add(who, 'guests'));
  return out;
}

function errorText(error: unknown): string {
  const platform = (error as { data?: { error?: string } }).data?.error;
  return platform ?? (error instanceof Error ? error.message : String(error));
}
