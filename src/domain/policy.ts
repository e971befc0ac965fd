import { createHash } from 'node:crypto';
import { isNode, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { parseDuration, type Minutes } from './duration';
import { parseEmail, type Email } from './email';
import { detectionPolicySchema, type DetectionPolicy } from './detection-policy';
import { durationField, operatorRef, type CliOperatorRef } from './policy-fields';

export { ANY_OS_USER, type CliOperatorRef } from './policy-fields';
import { targetProblems } from './provider-targets';

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

const ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const MAX_PRINCIPAL_ID = 128;

/** `30m`, `2h`, … → Minutes, or an issue naming what a duration looks like. */
const duration = durationField;

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

const businessHoursSchema = z
  .strictObject({
    days: z.array(z.enum(weekdays)).min(1),
    start: z.string().regex(CLOCK_TIME, 'must be a time like 08:00'),
    end: z.string().regex(CLOCK_TIME, 'must be a time like 19:00'),
  })
  .default({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '19:00' });

const groupSchema = z.strictObject({ members: z.array(memberPattern), slackUsergroup: z.string().optional() });

const identitySchema = z.record(z.string(), z.string().min(1).max(MAX_PRINCIPAL_ID, `must be at most ${MAX_PRINCIPAL_ID} characters`));

const policySchema = z.strictObject({
  version: z.literal(1),
  timezone: timezone.default('UTC'),
  businessHours: businessHoursSchema,
  channels: z.strictObject({ approvals: channelIds.default({}), security: channelIds.default({}) }).default({ approvals: {}, security: {} }),
  groups: z.record(z.string().regex(GROUP_NAME, 'group names are lower-case letters, digits, dot, dash and underscore'), groupSchema),
  /** People who may revoke anyone's access early (besides the requester and the role's approvers). */
  admins: z.array(principalRef).default([]),
  /** Per person (e-mail), their own principal id at each provider kind, e.g. `{ postgres: dave }`. */
  identities: z.record(z.string(), identitySchema).default({}),
  /**
   * People whose chat account is a guest or an app user (Slack multi- and single-channel guests)
   * and who may still act: exact addresses only. Everyone else must be a full member.
   */
  guests: z.array(z.string()).default([]),
  /** Anomaly rules, the weekly digest, drift reconciliation (see detection-policy.ts); all defaulted. */
  detection: detectionPolicySchema,
  roles: z.record(z.string().regex(ROLE_NAME, 'role names are lower-case letters, digits, dot, dash and underscore'), roleSchema),
});

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
  /** Anomaly rules, digest, drift: every field defaulted. */
  readonly detection: DetectionPolicy;
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
 * `roles.prod-db.maxDuration: "5x" is not a duration like 30m, 2h or 1d`, and all of them come at
 * once, in the order they appear in the file.
 * `knownProviders` lists the provider kinds this process can serve; any other is an error.
 */
export function parsePolicy(text: string, knownProviders: readonly string[]): PolicyParse {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // NB: with prettyErrors the first line of each message already says "at line L, column C".
    return { ok: false, errors: doc.errors.map((e) => `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`) };
  }
  const raw: unknown = doc.toJS();
  if (!isRecord(raw)) {
    return { ok: false, errors: ['(top level): the policy must be a YAML mapping with version, groups and roles'] };
  }
  const result = policySchema.safeParse(raw, { reportInput: true });
  // NB: zod names every bad field, but the checks between fields need parsed values: they run on
  // each part that parses on its own, so one pass names a bad duration and an unknown group alike.
  const problems = [...(result.success ? [] : result.error.issues.map(problemOf)), ...crossCheck(raw, knownProviders)];
  if (!result.success || problems.length > 0) {
    return { ok: false, errors: inDocumentOrder(doc, problems).map(formatProblem) };
  }
  const parsed = result.data;
  const policy: Policy = {
    version: parsed.version,
    timezone: parsed.timezone,
    businessHours: parsed.businessHours,
    channels: parsed.channels,
    groups: new Map<string, Group>(Object.entries(parsed.groups)),
    admins: parsed.admins,
    roles: new Map(Object.entries(parsed.roles).map(([name, role]): [string, RolePolicy] => [name, { name, ...role, defaultDuration: defaultDurationOf(role) }])),
    identities: parseIdentities(parsed.identities, knownProviders, []),
    guests: new Set(parsed.guests.flatMap((text) => parseEmail(text) ?? [])),
    detection: parsed.detection,
  };
  return { ok: true, loaded: { policy, sha256: policySha256(text), text } };
}

/** A problem with the policy at a path (keys and list indexes) in the document. */
interface Problem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

function formatProblem(problem: Problem): string {
  return `${problem.path.map(String).join('.') || '(top level)'}: ${problem.message}`;
}

/** Problems sorted by where their path starts in the file; a path the file lacks counts from its nearest parent. */
function inDocumentOrder(doc: Document, problems: readonly Problem[]): Problem[] {
  const offset = (path: readonly PropertyKey[]): number => {
    for (let n = path.length; n > 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return 0;
  };
  // NB: Array.prototype.sort is stable, so problems at one place keep the order they were found in.
  return problems.map((problem) => ({ problem, at: offset(problem.path) })).sort((a, b) => a.at - b.at).map((p) => p.problem);
}

function defaultDurationOf(role: { readonly maxDuration: Minutes; readonly defaultDuration?: Minutes }): Minutes {
  return role.defaultDuration ?? (Math.min(60, role.maxDuration) as Minutes);
}

/**
 * The checks across fields (group references, providers, durations, approver counts, identities,
 * guests), on each part of the raw policy that parses on its own. A part that does not parse has
 * its own schema problem and is left out here rather than reported twice.
 */
function crossCheck(raw: Readonly<Record<string, unknown>>, knownProviders: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const problem = (path: readonly PropertyKey[], message: string) => problems.push({ path, message });
  // NB: a group with a bad member is still defined: referring to it is not a second mistake.
  const groupEntries = isRecord(raw.groups) ? Object.entries(raw.groups) : [];
  const groupNames = groupEntries.map(([name]) => name);
  const groups = new Map<string, Group>(groupEntries.flatMap(([name, group]) => {
    const parsed = groupSchema.safeParse(group);
    return parsed.success ? [[name, parsed.data]] : [];
  }));
  const checkRefs = (refs: readonly Located<PrincipalRef>[]) => {
    for (const { value: ref, path } of refs) {
      if (ref.group !== undefined && !groupNames.includes(ref.group)) {
        problem(path, `unknown group ${JSON.stringify(ref.group)} (defined groups: ${groupNames.join(', ') || 'none'})`);
      }
    }
  };
  checkRefs(principalRefsAt(raw.admins, ['admins']).refs);
  // NB: only a security group named on purpose must exist; the default `security` may be absent (nobody can acknowledge then).
  const securityGroup = isRecord(raw.detection) ? raw.detection.securityGroup : undefined;
  if (typeof securityGroup === 'string' && !groupNames.includes(securityGroup)) {
    problem(['detection', 'securityGroup'], `unknown group ${JSON.stringify(securityGroup)} (defined groups: ${groupNames.join(', ') || 'none'})`);
  }
  const hours = businessHoursSchema.safeParse(raw.businessHours);
  if (hours.success && hours.data.start >= hours.data.end) {
    problem(['businessHours'], `start ${hours.data.start} must be before end ${hours.data.end}`);
  }

  const roleEntries = isRecord(raw.roles) ? Object.entries(raw.roles) : undefined;
  for (const [name, rawRole] of roleEntries ?? []) {
    if (!isRecord(rawRole)) continue;
    const path = ['roles', name];
    const role = fieldsOf(roleSchema.shape, rawRole);
    if (role.provider !== undefined && !knownProviders.includes(role.provider)) {
      problem([...path, 'provider'], `unknown provider ${JSON.stringify(role.provider)} (available: ${knownProviders.join(', ')})`);
    } else if (role.provider !== undefined && role.target !== undefined) {
      for (const { key, message } of targetProblems(role.provider, role.target)) problem([...path, 'target', key], message);
    }
    const requesters = principalRefsAt(rawRole.requesters, [...path, 'requesters']);
    const approvers = principalRefsAt(rawRole.approvers, [...path, 'approvers']);
    checkRefs(requesters.refs);
    checkRefs(approvers.refs);
    if (role.maxDuration !== undefined && 'defaultDuration' in role && defaultDurationOf({ ...role, maxDuration: role.maxDuration }) > role.maxDuration) {
      problem([...path, 'defaultDuration'], 'is longer than maxDuration');
    }
    // NB: approvers that cannot be read, or a group that is unknown or invalid, cannot be counted;
    // their own problem is the one to fix, and a count short of them would only repeat it.
    const countable = approvers.complete && approvers.refs.every(({ value: ref }) => ref.group === undefined || groups.has(ref.group));
    const count = countable ? listApprovers(approvers.refs.map((r) => r.value), groups) : 'unbounded';
    if (count !== 'unbounded' && role.approvals !== undefined) {
      // NB: nobody approves their own request, so an approver who may also request needs
      // `approvals` others.
      const selfRequesting = [...count].some((who) => refsMatch(requesters.refs.map((r) => r.value), groups, who as Email, NO_GROUPS));
      const needed = role.approvals + (selfRequesting ? 1 : 0);
      if (count.size < needed) {
        problem(
          [...path, 'approvals'],
          `needs ${role.approvals} distinct approvers but only ${count.size} ${count.size === 1 ? 'person is' : 'people are'} listed in approvers` +
            (selfRequesting ? ', and an approver who requests cannot approve their own request' : ''),
        );
      }
    }
  }
  if (roleEntries?.length === 0) problem(['roles'], 'the policy defines no role');

  const identities = isRecord(raw.identities)
    ? Object.fromEntries(Object.entries(raw.identities).flatMap(([key, ids]) => {
        const parsed = identitySchema.safeParse(ids);
        return parsed.success ? [[key, parsed.data]] : [];
      }))
    : {};
  parseIdentities(identities, knownProviders, problems);
  if (Array.isArray(raw.guests)) {
    raw.guests.forEach((text: unknown, i) => {
      if (typeof text !== 'string') return;
      if (!parseEmail(text) || text.includes('*')) problem(['guests', i], `${JSON.stringify(text)} is not an e-mail address (guests are listed one by one, without wildcards)`);
    });
  }
  return problems;
}

/** A value read from the raw policy, with where it was. */
interface Located<T> {
  readonly value: T;
  readonly path: readonly PropertyKey[];
}

/** The principal references of a list that parse, each with its path; `complete` when all of them do. */
function principalRefsAt(raw: unknown, path: readonly PropertyKey[]): { refs: Located<PrincipalRef>[]; complete: boolean } {
  if (!Array.isArray(raw)) return { refs: [], complete: false };
  const refs = raw.flatMap((item: unknown, i): Located<PrincipalRef>[] => {
    const parsed = principalRef.safeParse(item);
    return parsed.success ? [{ value: parsed.data, path: [...path, i] }] : [];
  });
  return { refs, complete: refs.length === raw.length };
}

/** Each field of `shape` that parses on its own from `raw`; defaults apply as in the whole schema. */
function fieldsOf<S extends z.core.$ZodShape>(shape: S, raw: Readonly<Record<string, unknown>>): { -readonly [K in keyof S]?: z.output<S[K]> } {
  const fields: { -readonly [K in keyof S]?: z.output<S[K]> } = {};
  for (const [key, schema] of Object.entries(shape) as [keyof S & string, z.core.$ZodType][]) {
    const parsed = z.safeParse(schema, raw[key]);
    if (parsed.success) fields[key] = parsed.data as z.output<S[typeof key]>;
  }
  return fields;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// NB: keys are checked here rather than in the schema so the error names the key as written.
function parseIdentities(
  raw: Readonly<Record<string, Readonly<Record<string, string>>>>,
  knownProviders: readonly string[],
  problems: Problem[],
): Map<Email, Readonly<Record<string, string>>> {
  const identities = new Map<Email, Readonly<Record<string, string>>>();
  for (const [key, ids] of Object.entries(raw)) {
    const path = ['identities', key];
    const who = parseEmail(key);
    if (who === undefined) {
      problems.push({ path, message: `${JSON.stringify(key)} is not an e-mail address` });
      continue;
    }
    if (identities.has(who)) {
      problems.push({ path, message: `${who} is listed twice (e-mail addresses are compared in lower case)` });
      continue;
    }
    for (const [kind, id] of Object.entries(ids)) {
      if (!knownProviders.includes(kind)) {
        problems.push({ path: [...path, kind], message: `unknown provider ${JSON.stringify(kind)} (available: ${knownProviders.join(', ')})` });
        continue;
      }
      // NB: one principal per person: a shared id would let one person's revoke end another's access.
      const owner = [...identities].find(([, other]) => other[kind] === id)?.[0];
      if (owner !== undefined) problems.push({ path: [...path, kind], message: `${JSON.stringify(id)} is already mapped to ${owner}` });
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

function problemOf(issue: z.core.$ZodIssue): Problem {
  const at = (message: string): Problem => ({ path: issue.path, message });
  if (issue.code === 'unrecognized_keys') {
    return at(`unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`);
  }
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return at('is required');
    return at(`expected ${issue.expected}, got ${JSON.stringify(issue.input)?.slice(0, 40) ?? typeof issue.input}`);
  }
  if (issue.code === 'invalid_key') {
    // NB: a record key that fails its own schema: the key's issues carry the helpful message.
    return at(issue.issues.map((i) => i.message).join('; '));
  }
  return at(issue.message);
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
  const otherKeys = ['timezone', 'businessHours', 'channels', 'admins', 'identities', 'guests', 'detection'] as const;
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
  const { day, time } = wallClock(policy, at);
  const { days, start, end } = policy.businessHours;
  return !days.includes(day) || time < start || time >= end;
}

/** `at` on the policy's wall clock, like `Sat 23:10`, for messages about business hours. */
export function localClock(policy: Policy, at: Date): string {
  const { day, time } = wallClock(policy, at);
  return `${day.charAt(0).toUpperCase()}${day.slice(1)} ${time}`;
}

function wallClock(policy: Policy, at: Date): { day: Weekday; time: string } {
  const parts = clockIn(policy.timezone).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: part('weekday').toLowerCase().slice(0, 3) as Weekday, time: `${part('hour')}:${part('minute')}` };
}
