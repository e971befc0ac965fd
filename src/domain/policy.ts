import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration, type Minutes } from './duration';
import { parseEmail, type Email } from './email';

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

const ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const MAX_PRINCIPAL_ID = 128;

/** `30m`, `2h`, … → Minutes, or an issue naming what a duration looks like. */
const duration = z.string().transform((text, ctx): Minutes => {
  const parsed = parseDuration(String(text));
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.minutes;
});

/** A member pattern: an e-mail, or `*@domain` for everyone with a verified address there. */
const memberPattern = z.string().transform((text, ctx) => {
  const trimmed = text.trim().toLowerCase();
  if (trimmed.startsWith('*@')) {
    if (parseEmail(`x${trimmed.slice(1)}`)) return trimmed;
  } else if (parseEmail(trimmed)) {
    return trimmed;
  }
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is neither an e-mail address nor a pattern like *@example.com` });
  return z.NEVER;
});

/** `group:<name>` or an e-mail address; groups are checked against `groups:` afterwards. */
const principalRef = z.string().transform((text, ctx): PrincipalRef => {
  const trimmed = text.trim();
  if (trimmed.startsWith('group:')) return { group: trimmed.slice('group:'.length) };
  const address = parseEmail(trimmed);
  if (address) return { email: address };
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is neither group:<name> nor an e-mail address` });
  return z.NEVER;
});

/** The one way to let every OS user on the host decide from the CLI: loud on purpose. */
export const ANY_OS_USER = '*any-os-user*';

// NB: POSIX portable user and group names (letters, digits, dot, underscore, dash; not starting with
// a dash), plus the trailing $ of machine accounts. Never "*": it would be easy to write by mistake.
const OS_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\$?$/;

/** A CLI operator: an OS user name, `group:<os group>`, or every OS user (`*any-os-user*`). */
const operatorRef = z.string().transform((text, ctx): CliOperatorRef => {
  const trimmed = text.trim();
  if (trimmed === ANY_OS_USER) return { anyOsUser: true };
  if (trimmed === '*') {
    ctx.addIssue({
      code: 'custom',
      message: `"*" is not allowed: name OS users or group:<os group>; to let every OS user on the host decide (a sandbox, never production) write "${ANY_OS_USER}"`,
    });
    return z.NEVER;
  }
  if (trimmed.startsWith('group:') && OS_NAME.test(trimmed.slice('group:'.length))) return { group: trimmed.slice('group:'.length) };
  if (!trimmed.startsWith('group:') && OS_NAME.test(trimmed)) return { user: trimmed };
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not an OS user name, group:<os group> or "${ANY_OS_USER}"` });
  return z.NEVER;
});

const channelIds = z.strictObject({ slack: z.string().min(1).optional(), teams: z.string().min(1).optional() });

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not an IANA time zone such as Europe/Berlin or UTC' },
);

const ticketPattern = z.string().transform((source, ctx) => {
  try {
    return new RegExp(source);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(error as Error).message}` });
    return z.NEVER;
  }
});

const roleSchema = z.strictObject({
  description: z.string().min(1).max(300),
  provider: z.string().min(1),
  target: z.record(z.string(), z.string()).default({}),
  requesters: z.array(principalRef).min(1),
  approvers: z.array(principalRef).min(1),
  approvals: z.number().int().min(1).max(10).default(1),
  maxDuration: duration,
  defaultDuration: duration.optional(),
  approvalTimeout: duration.prefault('1h'),
  ticket: z.strictObject({ pattern: ticketPattern, example: z.string().optional() }),
  reason: z.strictObject({ minLength: z.number().int().min(1).max(200).default(10) }).default({ minLength: 10 }),
  breakGlass: z
    .strictObject({ allowed: z.boolean(), reviewWithin: duration.prefault('24h') })
    .prefault({ allowed: false }),
  /** Where this role's approval cards go, instead of the policy-wide approvals channel. */
  channels: z.strictObject({ approvals: channelIds }).optional(),
  /**
   * Decisions from the CLI (approve, deny, revoke for someone else, break-glass): off unless this
   * names the OS users or groups allowed, since `--as` on the CLI is only a claim.
   */
  cli: z
    .strictObject({
      operators: z.array(operatorRef).min(1, 'name at least one OS user or group:<os group>, or leave cli out to keep CLI decisions off'),
      sameOperatorMayActTwice: z.boolean().default(false),
    })
    .optional(),
});

const policySchema = z.strictObject({
  version: z.literal(1),
  timezone: timezone.default('UTC'),
  businessHours: z
    .strictObject({
      days: z.array(z.enum(weekdays)).min(1),
      start: z.string().regex(CLOCK_TIME, 'must be a time like 08:00'),
      end: z.string().regex(CLOCK_TIME, 'must be a time like 19:00'),
    })
    .default({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '19:00' }),
  channels: z.strictObject({ approvals: channelIds.default({}), security: channelIds.default({}) }).default({ approvals: {}, security: {} }),
  groups: z.record(
    z.string().regex(GROUP_NAME, 'group names are lower-case letters, digits, dot, dash and underscore'),
    z.strictObject({ members: z.array(memberPattern), slackUsergroup: z.string().optional() }),
  ),
  /** People who may revoke anyone's access early (besides the requester and the role's approvers). */
  admins: z.array(principalRef).default([]),
  /** Per person (e-mail), their own principal id at each provider kind, e.g. `{ postgres: dave }`. */
  identities: z
    .record(z.string(), z.record(z.string(), z.string().min(1).max(MAX_PRINCIPAL_ID, `must be at most ${MAX_PRINCIPAL_ID} characters`)))
    .default({}),
  /**
   * People whose chat account is a guest or an app user (Slack multi- and single-channel guests)
   * and who may still act: exact addresses only. Everyone else must be a full member.
   */
  guests: z.array(z.string()).default([]),
  roles: z.record(z.string().regex(ROLE_NAME, 'role names are lower-case letters, digits, dot, dash and underscore'), roleSchema),
});

export type CliOperatorRef =
  | { readonly user: string; readonly group?: undefined; readonly anyOsUser?: undefined }
  | { readonly group: string; readonly user?: undefined; readonly anyOsUser?: undefined }
  | { readonly anyOsUser: true; readonly user?: undefined; readonly group?: undefined };

export type PrincipalRef = { readonly group: string; readonly email?: undefined } | { readonly email: Email; readonly group?: undefined };

type ParsedPolicy = z.infer<typeof policySchema>;

export interface RolePolicy {
  readonly name: string;
  readonly description: string;
  readonly provider: string;
  readonly target: Readonly<Record<string, string>>;
  readonly requesters: readonly PrincipalRef[];
  readonly approvers: readonly PrincipalRef[];
  readonly approvals: number;
  readonly maxDuration: Minutes;
  readonly defaultDuration: Minutes;
  readonly approvalTimeout: Minutes;
  readonly ticket: { readonly pattern: RegExp; readonly example?: string };
  readonly reason: { readonly minLength: number };
  readonly breakGlass: { readonly allowed: boolean; readonly reviewWithin: Minutes };
  readonly channels?: { readonly approvals: { readonly slack?: string; readonly teams?: string } };
  /**
   * Absent: no decisions from the CLI. Otherwise the OS users and groups who may decide from it, and
   * whether one OS user may supply the request and an approval, or two approvals, of one request.
   */
  readonly cli?: { readonly operators: readonly CliOperatorRef[]; readonly sameOperatorMayActTwice: boolean };
}

export interface Group {
  readonly members: readonly string[];
  readonly slackUsergroup?: string;
}

export interface Policy {
  readonly version: 1;
  readonly timezone: string;
  readonly businessHours: { readonly days: readonly Weekday[]; readonly start: string; readonly end: string };
  readonly channels: ParsedPolicy['channels'];
  readonly groups: ReadonlyMap<string, Group>;
  readonly admins: readonly PrincipalRef[];
  readonly roles: ReadonlyMap<string, RolePolicy>;
  /** Per person, their own principal id at each provider kind (`postgres` → login role). */
  readonly identities: ReadonlyMap<Email, Readonly<Record<string, string>>>;
  /** Guest and app-user chat accounts that still count, by exact address (`guests`). */
  readonly guests: ReadonlySet<Email>;
}

/** A policy together with the SHA-256 of the exact text it came from. */
export interface LoadedPolicy {
  readonly policy: Policy;
  readonly sha256: string;
  readonly text: string;
}

export type PolicyParse = { ok: true; loaded: LoadedPolicy } | { ok: false; errors: string[] };

export function policySha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Parses and validates a policy file. Every error names its path and what is wrong, e.g.
 * `roles.prod-db.maxDuration: "5x" is not a duration like 30m, 2h or 1d`.
 * `knownProviders` lists the provider kinds this process can serve; any other is an error.
 */
export function parsePolicy(text: string, knownProviders: readonly string[]): PolicyParse {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // NB: with prettyErrors the first line of each message already says "at line L, column C".
    return { ok: false, errors: doc.errors.map((e) => `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`) };
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: ['(top level): the policy must be a YAML mapping with version, groups and roles'] };
  }
  const result = policySchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    return { ok: false, errors: result.error.issues.map(formatIssue) };
  }
  const parsed = result.data;
  const errors: string[] = [];
  const groups = new Map<string, Group>(Object.entries(parsed.groups));
  const checkRefs = (refs: readonly PrincipalRef[], path: string) =>
    refs.forEach((ref, i) => {
      if (ref.group !== undefined && !groups.has(ref.group)) {
        errors.push(`${path}.${i}: unknown group ${JSON.stringify(ref.group)} (defined groups: ${[...groups.keys()].join(', ') || 'none'})`);
      }
    });
  checkRefs(parsed.admins, 'admins');
  if (parsed.businessHours.start >= parsed.businessHours.end) {
    errors.push(`businessHours: start ${parsed.businessHours.start} must be before end ${parsed.businessHours.end}`);
  }

  const roles = new Map<string, RolePolicy>();
  for (const [name, role] of Object.entries(parsed.roles)) {
    const path = `roles.${name}`;
    if (!knownProviders.includes(role.provider)) {
      errors.push(`${path}.provider: unknown provider ${JSON.stringify(role.provider)} (available: ${knownProviders.join(', ')})`);
    }
    checkRefs(role.requesters, `${path}.requesters`);
    checkRefs(role.approvers, `${path}.approvers`);
    const defaultDuration = role.defaultDuration ?? (Math.min(60, role.maxDuration) as Minutes);
    if (defaultDuration > role.maxDuration) {
      errors.push(`${path}.defaultDuration: is longer than maxDuration`);
    }
    const approvers = listApprovers(role.approvers, groups);
    if (approvers !== 'unbounded') {
      // NB: nobody approves their own request, so an approver who may also request needs
      // `approvals` others.
      const selfRequesting = [...approvers].some((who) => refsMatch(role.requesters, groups, who as Email, NO_GROUPS));
      const needed = role.approvals + (selfRequesting ? 1 : 0);
      if (approvers.size < needed) {
        errors.push(
          `${path}.approvals: needs ${role.approvals} distinct approvers but only ${approvers.size} ${approvers.size === 1 ? 'person is' : 'people are'} listed in approvers` +
            (selfRequesting ? ', and an approver who requests cannot approve their own request' : ''),
        );
      }
    }
    roles.set(name, { name, ...role, defaultDuration });
  }
  if (roles.size === 0) errors.push('roles: the policy defines no role');
  const identities = parseIdentities(parsed.identities, knownProviders, errors);
  const guests = new Set<Email>();
  parsed.guests.forEach((text, i) => {
    const who = parseEmail(text);
    if (!who || text.includes('*')) errors.push(`guests.${i}: ${JSON.stringify(text)} is not an e-mail address (guests are listed one by one, without wildcards)`);
    else guests.add(who);
  });
  if (errors.length > 0) return { ok: false, errors };

  const policy: Policy = {
    version: parsed.version,
    timezone: parsed.timezone,
    businessHours: parsed.businessHours,
    channels: parsed.channels,
    groups,
    admins: parsed.admins,
    roles,
    identities,
    guests,
  };
  return { ok: true, loaded: { policy, sha256: policySha256(text), text } };
}

// NB: keys are checked here rather than in the schema so the error names the key as written.
function parseIdentities(
  raw: Readonly<Record<string, Readonly<Record<string, string>>>>,
  knownProviders: readonly string[],
  errors: string[],
): Map<Email, Readonly<Record<string, string>>> {
  const identities = new Map<Email, Readonly<Record<string, string>>>();
  for (const [key, ids] of Object.entries(raw)) {
    const path = `identities.${key}`;
    const who = parseEmail(key);
    if (who === undefined) {
      errors.push(`${path}: ${JSON.stringify(key)} is not an e-mail address`);
      continue;
    }
    if (identities.has(who)) {
      errors.push(`${path}: ${who} is listed twice (e-mail addresses are compared in lower case)`);
      continue;
    }
    for (const [kind, id] of Object.entries(ids)) {
      if (!knownProviders.includes(kind)) {
        errors.push(`${path}.${kind}: unknown provider ${JSON.stringify(kind)} (available: ${knownProviders.join(', ')})`);
        continue;
      }
      // NB: one principal per person: a shared id would let one person's revoke end another's access.
      const owner = [...identities].find(([, other]) => other[kind] === id)?.[0];
      if (owner !== undefined) errors.push(`${path}.${kind}: ${JSON.stringify(id)} is already mapped to ${owner}`);
    }
    identities.set(who, { ...ids });
  }
  return identities;
}

/** The person's own principal id at a provider kind (e.g. their PostgreSQL login), from `identities`. */
export function principalFor(policy: Policy, who: Email, provider: string): string | undefined {
  const ids = policy.identities.get(who);
  return ids !== undefined && Object.hasOwn(ids, provider) ? ids[provider] : undefined;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `${path}: is required`;
    return `${path}: expected ${issue.expected}, got ${JSON.stringify(issue.input)?.slice(0, 40) ?? typeof issue.input}`;
  }
  if (issue.code === 'invalid_key') {
    // NB: a record key that fails its own schema: the key's issues carry the helpful message.
    return `${path}: ${issue.issues.map((i) => i.message).join('; ')}`;
  }
  return `${path}: ${issue.message}`;
}

function listApprovers(refs: readonly PrincipalRef[], groups: ReadonlyMap<string, Group>): Set<string> | 'unbounded' {
  const people = new Set<string>();
  for (const ref of refs) {
    if (ref.email !== undefined) {
      people.add(ref.email);
      continue;
    }
    const group = groups.get(ref.group);
    if (!group) continue;
    // NB: a Slack user group or a wildcard can hold any number of people; the check only makes sense
    // for explicit lists.
    if (group.slackUsergroup !== undefined) return 'unbounded';
    for (const member of group.members) {
      if (member.startsWith('*@')) return 'unbounded';
      people.add(member);
    }
  }
  return people;
}

/** Whether `who` is matched by any of `refs` (explicit e-mails, group members, `*@domain` patterns). */
/**
 * Whether `who` is one of `refs`: named by address, or a member of a named group. `platformGroups`
 * are the policy groups a chat platform vouches `who` belongs to through the group's platform
 * mapping (a Slack user group); they count only for groups that have such a mapping.
 */
export function matchesAny(policy: Policy, refs: readonly PrincipalRef[], who: Email, platformGroups: ReadonlySet<string> = NO_GROUPS): boolean {
  return refsMatch(refs, policy.groups, who, platformGroups);
}

/** The groups among `refs` that `who` belongs to only through the platform (for the audit trail). */
export function platformOnlyGroups(policy: Policy, refs: readonly PrincipalRef[], who: Email, platformGroups: ReadonlySet<string>): string[] {
  if (refsMatch(refs, policy.groups, who, NO_GROUPS)) return [];
  return refs.flatMap((ref) => (ref.group !== undefined && policy.groups.get(ref.group)?.slackUsergroup !== undefined && platformGroups.has(ref.group) ? [ref.group] : []));
}

const NO_GROUPS: ReadonlySet<string> = new Set();

function refsMatch(refs: readonly PrincipalRef[], groups: ReadonlyMap<string, Group>, who: Email, platformGroups: ReadonlySet<string>): boolean {
  return refs.some((ref) => {
    if (ref.email !== undefined) return ref.email === who;
    const group = groups.get(ref.group);
    if (group === undefined) return false;
    return group.members.some((member) => memberMatches(member, who)) || (group.slackUsergroup !== undefined && platformGroups.has(ref.group));
  });
}

function memberMatches(member: string, who: Email): boolean {
  return member.startsWith('*@') ? who.endsWith(member.slice(1)) : member === who;
}

/** Roles this person may request, by name. */
export function requestableRoles(policy: Policy, who: Email): RolePolicy[] {
  return [...policy.roles.values()].filter((role) => matchesAny(policy, role.requesters, who));
}

export interface PolicyDiff {
  readonly rolesAdded: string[];
  readonly rolesRemoved: string[];
  readonly rolesChanged: string[];
  readonly groupsChanged: string[];
  readonly otherChanged: string[];
}

/** What changed between two policies, for the `policy_activated` audit event. */
export function diffPolicies(before: Policy | undefined, after: Policy): PolicyDiff {
  const roleJson = (p: Policy | undefined) => new Map([...(p?.roles ?? new Map<string, RolePolicy>())].map(([k, v]) => [k, stableJson(v)]));
  const groupJson = (p: Policy | undefined) => new Map([...(p?.groups ?? new Map<string, Group>())].map(([k, v]) => [k, stableJson(v)]));
  const a = roleJson(before);
  const b = roleJson(after);
  const ga = groupJson(before);
  const gb = groupJson(after);
  const otherKeys = ['timezone', 'businessHours', 'channels', 'admins', 'identities', 'guests'] as const;
  // NB: a Map or a Set serialises as `{}`, so identities and guests are compared as plain values.
  const comparable = (p: Policy, k: (typeof otherKeys)[number]) =>
    stableJson(k === 'identities' ? Object.fromEntries(p.identities) : k === 'guests' ? [...p.guests].sort() : p[k]);
  return {
    rolesAdded: [...b.keys()].filter((k) => !a.has(k)).sort(),
    rolesRemoved: [...a.keys()].filter((k) => !b.has(k)).sort(),
    rolesChanged: [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)).sort(),
    groupsChanged: [...new Set([...ga.keys(), ...gb.keys()])].filter((k) => ga.get(k) !== gb.get(k)).sort(),
    otherChanged: before ? otherKeys.filter((k) => comparable(before, k) !== comparable(after, k)) : [],
  };
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RegExp) return v.source;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)));
    }
    return v;
  });
}

// NB: building an Intl.DateTimeFormat costs far more than using one; one per time zone is kept.
const clocks = new Map<string, Intl.DateTimeFormat>();
function clockIn(timeZone: string): Intl.DateTimeFormat {
  let clock = clocks.get(timeZone);
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    clocks.set(timeZone, clock);
  }
  return clock;
}

/** Whether `at` falls outside the policy's business hours, in its time zone (a risk flag). */
export function isOffHours(policy: Policy, at: Date): boolean {
  const parts = clockIn(policy.timezone).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = part('weekday').toLowerCase().slice(0, 3) as Weekday;
  const time = `${part('hour')}:${part('minute')}`;
  const { days, start, end } = policy.businessHours;
  return !days.includes(day) || time < start || time >= end;
}
