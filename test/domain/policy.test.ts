import { createHash } from 'node:crypto';
import { email } from '../../src/domain/email';
import { diffPolicies, isOffHours, matchesAny, parsePolicy, policySha256, principalFor, requestableRoles, type Policy } from '../../src/domain/policy';
import { examplePolicyText, loadPolicy } from './fixtures';

/** A one-role policy; `roleExtra` lines are indented into the role, `top` lines into the document. */
function policyText({ roleExtra = '', top = '', ticket = '    ticket: { pattern: "^INC-[0-9]+$" }\n' } = {}): string {
  return `version: 1
${top}groups:
  leads: { members: [alice@example.com, bob@example.com] }
  engineering: { members: ["*@example.com"] }
roles:
  prod-db:
    description: Production database
    provider: local
    requesters: [group:engineering]
    approvers: [group:leads]
${ticket}${roleExtra}`;
}

function errorsOf(text: string, providers: readonly string[] = ['local']): string[] {
  const parsed = parsePolicy(text, providers);
  if (parsed.ok) throw new Error('expected the policy to be refused');
  return parsed.errors;
}

describe('parsePolicy', () => {
  it('parses the shipped example policy with the local provider', () => {
    // Given the example in manifests/
    const text = examplePolicyText();
    // When
    const parsed = parsePolicy(text, ['local']);
    // Then
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const { policy } = parsed.loaded;
    expect(policy.timezone).toBe('Europe/Berlin');
    expect([...policy.roles.keys()]).toEqual(['sandbox-admin', 'prod-readonly']);
    expect([...policy.groups.keys()]).toEqual(['leads', 'engineering', 'security']);
    expect(policy.admins).toEqual([{ group: 'security' }]);
    const sandbox = policy.roles.get('sandbox-admin');
    expect(sandbox).toMatchObject({
      name: 'sandbox-admin',
      provider: 'local',
      target: { environment: 'sandbox' },
      approvals: 2,
      maxDuration: 240,
      defaultDuration: 60,
      approvalTimeout: 30,
      reason: { minLength: 10 },
      breakGlass: { allowed: true, reviewWithin: 1440 },
    });
    expect(sandbox?.ticket.pattern.test('OPS-1')).toBe(true);
    expect(sandbox?.ticket.pattern.test('JIRA-1')).toBe(false);
    expect(policy.roles.get('prod-readonly')?.breakGlass).toEqual({ allowed: false, reviewWithin: 1440 });
  });

  it('keeps the exact text and its SHA-256', () => {
    // Given
    const text = examplePolicyText();
    // When
    const parsed = parsePolicy(text, ['local']);
    // Then
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    expect(parsed.loaded.text).toBe(text);
    expect(parsed.loaded.sha256).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });

  it('fills in defaults: UTC, weekday business hours, one approval, 1h timeout, reason of 10, no break-glass', () => {
    // Given a role that states only what is required
    const text = policyText({ roleExtra: '    maxDuration: 30m\n' });
    // When
    const { policy } = loadPolicy(text);
    // Then
    expect(policy.timezone).toBe('UTC');
    expect(policy.businessHours).toEqual({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '19:00' });
    expect(policy.admins).toEqual([]);
    expect(policy.roles.get('prod-db')).toMatchObject({
      target: {},
      approvals: 1,
      maxDuration: 30,
      defaultDuration: 30,
      approvalTimeout: 60,
      reason: { minLength: 10 },
      breakGlass: { allowed: false, reviewWithin: 1440 },
    });
  });

  it('defaults the default duration to 1h when the maximum is longer', () => {
    // Given / When
    const { policy } = loadPolicy(policyText({ roleExtra: '    maxDuration: 8h\n' }));
    // Then
    expect(policy.roles.get('prod-db')?.defaultDuration).toBe(60);
  });

  it('lower-cases member addresses and e-mail principals', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n', top: 'admins: [Erin@Example.COM]\n' }).replace(
      'alice@example.com',
      'Alice@Example.com',
    );
    // When
    const { policy } = loadPolicy(text);
    // Then
    expect(policy.groups.get('leads')?.members).toEqual(['alice@example.com', 'bob@example.com']);
    expect(policy.admins).toEqual([{ email: 'erin@example.com' }]);
  });

  it('names the path of a bad duration', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 5x\n' });
    // When / Then
    expect(errorsOf(text)).toEqual(['roles.prod-db.maxDuration: "5x" is not a duration like 30m, 2h or 1d']);
  });

  it('names the path of a duration that is too long', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 400d\n' });
    // When / Then
    expect(errorsOf(text)).toEqual(['roles.prod-db.maxDuration: "400d" is too long: the longest duration is 366d']);
  });

  it('says a missing required key is required', () => {
    // Given a role without maxDuration
    const text = policyText();
    // When / Then
    expect(errorsOf(text)).toEqual(['roles.prod-db.maxDuration: is required']);
  });

  it('says which type was expected when a value has the wrong type', () => {
    // Given a value that is present but is text where a number belongs
    const text = policyText({ roleExtra: '    maxDuration: 4h\n    approvals: two\n' });
    // When
    const errors = errorsOf(text);
    // Then the error names the path and the expected type; it must not claim the key is missing
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^roles\.prod-db\.approvals: /);
    expect(errors[0]).not.toContain('is required');
    expect(errors[0]).toMatch(/number/);
  });

  it('names unknown keys with their path', () => {
    // Given a typo in a role and at the top level
    const text = policyText({ roleExtra: '    maxDuration: 4h\n    aprovals: 2\n', top: 'timezon: UTC\n' });
    // When
    const errors = errorsOf(text);
    // Then
    expect(errors).toEqual(expect.arrayContaining(['(top level): unknown key "timezon"', 'roles.prod-db: unknown key "aprovals"']));
    expect(errors).toHaveLength(2);
  });

  it('names an unknown group wherever it is referred to', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 4h\n', top: 'admins: [group:security]\n' }).replace(
      'approvers: [group:leads]',
      'approvers: [group:leads, group:ops]',
    );
    // When / Then
    expect(errorsOf(text)).toEqual([
      'admins.0: unknown group "security" (defined groups: leads, engineering)',
      'roles.prod-db.approvers.1: unknown group "ops" (defined groups: leads, engineering)',
    ]);
  });

  it('names an unknown provider and lists the available ones', () => {
    // Given a role on a provider this process does not serve
    const text = policyText({ roleExtra: '    maxDuration: 4h\n' }).replace('provider: local', 'provider: aws');
    // When / Then
    expect(errorsOf(text, ['local', 'postgres'])).toEqual(['roles.prod-db.provider: unknown provider "aws" (available: local, postgres)']);
  });

  it('refuses a default duration longer than the maximum', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n    defaultDuration: 2h\n' });
    // When / Then
    expect(errorsOf(text)).toEqual(['roles.prod-db.defaultDuration: is longer than maxDuration']);
  });

  it('refuses more required approvals than there are listed approvers', () => {
    // Given two leads, and three approvals required
    const text = policyText({ roleExtra: '    maxDuration: 1h\n    approvals: 3\n' });
    // When / Then
    expect(errorsOf(text)).toEqual([
      'roles.prod-db.approvals: needs 3 distinct approvers but only 2 people are listed in approvers, and an approver who requests cannot approve their own request',
    ]);
  });

  it('refuses N approvals from exactly N approvers who may also request', () => {
    // Given two leads, who are also engineers and may request, and two approvals required
    const text = policyText({ roleExtra: '    maxDuration: 1h\n    approvals: 2\n' });
    // When / Then: a lead's own request could never reach two other approvers
    expect(errorsOf(text)).toEqual([
      'roles.prod-db.approvals: needs 2 distinct approvers but only 2 people are listed in approvers, and an approver who requests cannot approve their own request',
    ]);
  });

  it('accepts N approvals from exactly N approvers who may not request', () => {
    // Given requesters that do not include the two leads
    const text = policyText({ roleExtra: '    maxDuration: 1h\n    approvals: 2\n' }).replace('requesters: [group:engineering]', 'requesters: [dave@example.com]');
    // When / Then
    expect(parsePolicy(text, ['local']).ok).toBe(true);
  });

  it('counts a person listed twice once when checking approvals', () => {
    // Given alice listed by name and through the group
    const text = policyText({ roleExtra: '    maxDuration: 1h\n    approvals: 3\n' }).replace(
      'approvers: [group:leads]',
      'approvers: [group:leads, alice@example.com]',
    );
    // When / Then
    expect(errorsOf(text)).toEqual([
      'roles.prod-db.approvals: needs 3 distinct approvers but only 2 people are listed in approvers, and an approver who requests cannot approve their own request',
    ]);
  });

  it('accepts any number of approvals from a wildcard group', () => {
    // Given everyone at example.com may approve
    const text = policyText({ roleExtra: '    maxDuration: 1h\n    approvals: 5\n' }).replace('approvers: [group:leads]', 'approvers: [group:engineering]');
    // When
    const parsed = parsePolicy(text, ['local']);
    // Then
    expect(parsed.ok).toBe(true);
  });

  it('names an invalid ticket regular expression', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n', ticket: '    ticket: { pattern: "([A-Z" }\n' });
    // When
    const errors = errorsOf(text);
    // Then
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^roles\.prod-db\.ticket\.pattern: is not a valid regular expression: /);
  });

  it('refuses a time zone that does not exist', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n', top: 'timezone: Mars/Olympus_Mons\n' });
    // When / Then
    expect(errorsOf(text)).toEqual(['timezone: is not an IANA time zone such as Europe/Berlin or UTC']);
  });

  it('refuses a malformed business-hours time', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n', top: 'businessHours: { days: [mon], start: "8:00", end: "19:00" }\n' });
    // When / Then
    expect(errorsOf(text)).toEqual(['businessHours.start: must be a time like 08:00']);
  });

  it('reports YAML syntax errors with their line number', () => {
    // Given an unclosed flow sequence on line 4
    const text = 'version: 1\ngroups: {}\nroles:\n  x: [a, b\n';
    // When
    const errors = errorsOf(text);
    // Then
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/^YAML: .* at line \d+, column \d+$/);
  });

  it('refuses duplicate keys, naming the line', () => {
    // Given the same role twice
    const text = `${policyText({ roleExtra: '    maxDuration: 1h\n' })}  prod-db:\n    description: again\n`;
    // When
    const errors = errorsOf(text);
    // Then
    expect(errors).toEqual([expect.stringMatching(/^YAML: Map keys must be unique at line 13, column 3$/)]);
  });

  it('reports a bad field and an unknown group in one pass', () => {
    // Given a role with a malformed maximum that also names a group nobody defined
    const text = policyText({ roleExtra: '    maxDuration: 5x\n' }).replace('approvers: [group:leads]', 'approvers: [group:leads, group:ops]');
    // When / Then both problems are named, in the order they appear in the file
    expect(errorsOf(text)).toEqual([
      'roles.prod-db.approvers.1: unknown group "ops" (defined groups: leads, engineering)',
      'roles.prod-db.maxDuration: "5x" is not a duration like 30m, 2h or 1d',
    ]);
  });

  it('lists every problem of a policy at once, in document order', () => {
    // Given problems of every kind spread over the file: syntax of fields, references, counts
    const text = `version: 1
admins: [group:security]
groups:
  leads: { members: [alice@example.com, bob@example.com] }
  engineering: { members: ["*@example.com", "bob at example"] }
roles:
  prod-db:
    description: Production database
    provider: aws
    requesters: [group:engineering, "not a principal"]
    approvers: [group:leads, group:ops]
    maxDuration: 5x
    ticket: { pattern: "^INC-[0-9]+$" }
  readonly:
    description: Read-only
    provider: local
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 3
    maxDuration: 1h
    defaultDuration: 2h
    ticket: { pattern: "([A-Z" }
guests: ["*@example.com"]
`;
    // When
    const errors = errorsOf(text);
    // Then each is named with its path, top to bottom
    expect(errors.map((e) => e.slice(0, e.indexOf(':')))).toEqual([
      'admins.0',
      'groups.engineering.members.1',
      'roles.prod-db.provider',
      'roles.prod-db.requesters.1',
      'roles.prod-db.approvers.1',
      'roles.prod-db.maxDuration',
      'roles.readonly.approvals',
      'roles.readonly.defaultDuration',
      'roles.readonly.ticket.pattern',
      'guests.0',
    ]);
    expect(errors[0]).toBe('admins.0: unknown group "security" (defined groups: leads, engineering)');
    expect(errors[6]).toMatch(/^roles\.readonly\.approvals: needs 3 distinct approvers but only 2 people/);
  });

  it('does not call a group unknown when the group is defined but itself invalid', () => {
    // Given leads with a bad member, referred to by the role
    const text = policyText({ roleExtra: '    maxDuration: 1h\n' }).replace('bob@example.com', 'bob at example');
    // When / Then only the member is named
    expect(errorsOf(text)).toEqual(['groups.leads.members.1: "bob at example" is neither an e-mail address nor a pattern like *@example.com']);
  });

  it.each([
    ['an empty file', ''],
    ['only a comment', '# nothing yet\n'],
    ['a list', '- version: 1\n'],
    ['a scalar', 'hello\n'],
  ])('refuses %s, saying a mapping is expected', (_what, text) => {
    // Given / When / Then
    expect(errorsOf(text)).toEqual(['(top level): the policy must be a YAML mapping with version, groups and roles']);
  });

  it('refuses a policy without roles', () => {
    // Given
    const text = 'version: 1\ngroups: {}\nroles: {}\n';
    // When / Then
    expect(errorsOf(text)).toEqual(['roles: the policy defines no role']);
  });

  it('refuses an unsupported version', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n' }).replace('version: 1', 'version: 2');
    // When
    const errors = errorsOf(text);
    // Then
    expect(errors).toEqual([expect.stringMatching(/^version: /)]);
  });

  it('names a member that is neither an address nor a *@domain pattern', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n' }).replace('bob@example.com', 'bob at example');
    // When / Then
    expect(errorsOf(text)).toEqual(['groups.leads.members.1: "bob at example" is neither an e-mail address nor a pattern like *@example.com']);
  });

  it('says what a role name may contain when it is upper-case', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n' }).replace('  prod-db:', '  Prod-DB:');
    // When / Then
    expect(errorsOf(text)).toEqual(['roles.Prod-DB: role names are lower-case letters, digits, dot, dash and underscore']);
  });

  it('says what a group name may contain when it has a space', () => {
    // Given
    const text = policyText({ roleExtra: '    maxDuration: 1h\n' }).replace('  leads:', '  "sre leads":').replace('group:leads', 'alice@example.com, bob@example.com');
    // When / Then
    expect(errorsOf(text)).toEqual(['groups.sre leads: group names are lower-case letters, digits, dot, dash and underscore']);
  });
});

describe('policySha256', () => {
  it('is the lower-case hex SHA-256 of the UTF-8 text', () => {
    // Given / When / Then: the FIPS 180-2 test vector, and a non-ASCII text
    expect(policySha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(policySha256('zoë: ü\n')).toBe(createHash('sha256').update(Buffer.from('zoë: ü\n', 'utf8')).digest('hex'));
  });

  it('changes when only a comment changes', () => {
    // Given / When / Then
    expect(policySha256('version: 1\n')).not.toBe(policySha256('version: 1 # x\n'));
  });
});

describe('matchesAny', () => {
  const { policy } = loadPolicy(examplePolicyText());

  it('matches an explicit e-mail reference', () => {
    // Given / When / Then
    expect(matchesAny(policy, [{ email: email('zoe@other.test') }], email('zoe@other.test'))).toBe(true);
    expect(matchesAny(policy, [{ email: email('zoe@other.test') }], email('zed@other.test'))).toBe(false);
  });

  it('matches members of a referenced group', () => {
    // Given / When / Then
    expect(matchesAny(policy, [{ group: 'leads' }], email('carol@example.com'))).toBe(true);
    expect(matchesAny(policy, [{ group: 'leads' }], email('dave@example.com'))).toBe(false);
  });

  it('matches *@domain patterns by domain only', () => {
    // Given the engineering group is *@example.com
    const refs = [{ group: 'engineering' }] as const;
    // When / Then
    expect(matchesAny(policy, refs, email('anyone@example.com'))).toBe(true);
    expect(matchesAny(policy, refs, email('anyone@sub.example.com'))).toBe(false);
    expect(matchesAny(policy, refs, email('anyone@notexample.com'))).toBe(false);
    expect(matchesAny(policy, refs, email('example.com@evil.test'))).toBe(false);
  });

  it('matches nobody through a group the policy does not define', () => {
    // Given / When / Then
    expect(matchesAny(policy, [{ group: 'ghosts' }], email('alice@example.com'))).toBe(false);
    expect(matchesAny(policy, [], email('alice@example.com'))).toBe(false);
  });
});

describe('requestableRoles', () => {
  it('lists the roles whose requesters include the person', () => {
    // Given the example policy, where engineering is *@example.com
    const { policy } = loadPolicy(examplePolicyText());
    // When / Then
    expect(requestableRoles(policy, email('dave@example.com')).map((r) => r.name)).toEqual(['sandbox-admin', 'prod-readonly']);
    expect(requestableRoles(policy, email('mallory@contractor.test'))).toEqual([]);
  });

  it('leaves out a role limited to someone else', () => {
    // Given a role only erin may request
    const { policy } = loadPolicy(policyText({ roleExtra: '    maxDuration: 1h\n' }).replace('requesters: [group:engineering]', 'requesters: [erin@example.com]'));
    // When / Then
    expect(requestableRoles(policy, email('erin@example.com')).map((r) => r.name)).toEqual(['prod-db']);
    expect(requestableRoles(policy, email('dave@example.com'))).toEqual([]);
  });
});

describe('diffPolicies', () => {
  const before = loadPolicy(examplePolicyText()).policy;

  it('finds nothing between a policy and itself reloaded', () => {
    // Given
    const again = loadPolicy(examplePolicyText()).policy;
    // When / Then
    expect(diffPolicies(before, again)).toEqual({ rolesAdded: [], rolesRemoved: [], rolesChanged: [], groupsChanged: [], otherChanged: [] });
  });

  it('names added, removed and changed roles, changed groups and other changed settings', () => {
    // Given prod-readonly removed, sandbox-admin's maximum cut, a new role, a new lead and a new time zone
    const text = examplePolicyText()
      .replace(/\n {2}prod-readonly:[\s\S]*$/, '\n')
      .replace('maxDuration: 4h', 'maxDuration: 2h')
      .replace('members: [alice@example.com, bob@example.com, carol@example.com]', 'members: [alice@example.com, bob@example.com, carol@example.com, dan@example.com]')
      .replace('timezone: Europe/Berlin', 'timezone: Europe/Paris')
      .concat(
        [
          '  logs-reader:',
          '    description: Read production logs',
          '    provider: local',
          '    requesters: [group:engineering]',
          '    approvers: [group:leads]',
          '    maxDuration: 1h',
          '    ticket: { pattern: "^INC-[0-9]+$" }',
          '',
        ].join('\n'),
      );
    const after = loadPolicy(text).policy;
    // When
    const diff = diffPolicies(before, after);
    // Then
    expect(diff).toEqual({
      rolesAdded: ['logs-reader'],
      rolesRemoved: ['prod-readonly'],
      rolesChanged: ['sandbox-admin'],
      groupsChanged: ['leads'],
      otherChanged: ['timezone'],
    });
  });

  it('counts a changed ticket pattern as a changed role', () => {
    // Given only the regular expression differs
    const after = loadPolicy(examplePolicyText().replace('pattern: "^(OPS|INC)-[0-9]+$", example: OPS-1', 'pattern: "^OPS-[0-9]+$", example: OPS-1')).policy;
    // When / Then
    expect(diffPolicies(before, after).rolesChanged).toEqual(['sandbox-admin']);
  });

  it('counts an added or removed group and a changed admin list', () => {
    // Given security dropped from admins and a new group
    const after = loadPolicy(
      examplePolicyText()
        .replace('admins: [group:security]', 'admins: [erin@example.com]')
        .replace('groups:\n', 'groups:\n  oncall:\n    members: [frank@example.com]\n'),
    ).policy;
    // When
    const diff = diffPolicies(before, after);
    // Then
    expect(diff.groupsChanged).toEqual(['oncall']);
    expect(diff.otherChanged).toEqual(['admins']);
    expect(diff.rolesChanged).toEqual([]);
  });

  it('reports every role and group as added when there was no policy before', () => {
    // Given / When
    const diff = diffPolicies(undefined, before);
    // Then
    expect(diff).toEqual({
      rolesAdded: ['prod-readonly', 'sandbox-admin'],
      rolesRemoved: [],
      rolesChanged: [],
      groupsChanged: ['engineering', 'leads', 'security'],
      otherChanged: [],
    });
  });
});

describe('isOffHours', () => {
  // Europe/Berlin is UTC+1 until 29 March 2026, 02:00 local, then UTC+2.
  let berlin: Policy;
  beforeAll(() => {
    berlin = loadPolicy(examplePolicyText()).policy;
  });

  it('treats a Saturday noon as off-hours', () => {
    // Given Saturday 7 March 2026, 13:00 in Berlin
    const at = new Date('2026-03-07T12:00:00Z');
    // When / Then
    expect(isOffHours(berlin, at)).toBe(true);
  });

  it('treats Tuesday 07:59 in Berlin as off-hours and 08:00 as business hours (winter time)', () => {
    // Given Tuesday 3 March 2026, Berlin on UTC+1
    const before = new Date('2026-03-03T06:59:00Z');
    const start = new Date('2026-03-03T07:00:00Z');
    // When / Then
    expect(isOffHours(berlin, before)).toBe(true);
    expect(isOffHours(berlin, start)).toBe(false);
  });

  it('treats Tuesday 07:59 in Berlin as off-hours and 08:00 as business hours (summer time)', () => {
    // Given Tuesday 31 March 2026, Berlin on UTC+2: the same UTC times as in winter would be wrong
    const before = new Date('2026-03-31T05:59:00Z');
    const start = new Date('2026-03-31T06:00:00Z');
    // When / Then
    expect(isOffHours(berlin, before)).toBe(true);
    expect(isOffHours(berlin, start)).toBe(false);
    expect(isOffHours(berlin, new Date('2026-03-31T06:59:00Z'))).toBe(false);
  });

  it('ends business hours at 19:00 sharp', () => {
    // Given Tuesday 3 March 2026, 18:59 and 19:00 in Berlin
    // When / Then
    expect(isOffHours(berlin, new Date('2026-03-03T17:59:00Z'))).toBe(false);
    expect(isOffHours(berlin, new Date('2026-03-03T18:00:00Z'))).toBe(true);
  });

  it('uses the policy day, not the UTC day, around midnight', () => {
    // Given Friday 6 March 2026 23:30 UTC, which is Saturday 00:30 in Berlin, and Monday 00:30 Berlin = Sunday 23:30 UTC
    // When / Then
    expect(isOffHours(berlin, new Date('2026-03-06T23:30:00Z'))).toBe(true);
    expect(isOffHours(berlin, new Date('2026-03-08T23:30:00Z'))).toBe(true);
    // Monday 9 March, 08:30 Berlin = 07:30 UTC
    expect(isOffHours(berlin, new Date('2026-03-09T07:30:00Z'))).toBe(false);
  });

  it('follows the configured days and hours', () => {
    // Given a policy in UTC with weekend-only hours
    const weekend = loadPolicy(policyText({ roleExtra: '    maxDuration: 1h\n', top: 'businessHours: { days: [sat, sun], start: "10:00", end: "12:00" }\n' })).policy;
    // When / Then
    expect(isOffHours(weekend, new Date('2026-03-07T11:00:00Z'))).toBe(false);
    expect(isOffHours(weekend, new Date('2026-03-07T12:00:00Z'))).toBe(true);
    expect(isOffHours(weekend, new Date('2026-03-03T11:00:00Z'))).toBe(true);
  });
});

describe('identities', () => {
  const withIdentities = (block: string) => `${examplePolicyText()}\nidentities:\n${block}`;
  const errorsOf = (text: string, providers: readonly string[] = ['local', 'postgres']) => {
    const parsed = parsePolicy(text, providers);
    return parsed.ok ? [] : parsed.errors;
  };

  it('maps a lower-cased e-mail to its principal at each provider', () => {
    // Given dave's address written in mixed case
    const text = withIdentities('  Dave@Example.com: { postgres: dave }\n');
    // When
    const parsed = parsePolicy(text, ['local', 'postgres']);
    // Then
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const { policy } = parsed.loaded;
    expect([...policy.identities]).toEqual([['dave@example.com', { postgres: 'dave' }]]);
    expect(principalFor(policy, email('dave@example.com'), 'postgres')).toBe('dave');
  });

  it('is empty when the policy has no identities block', () => {
    // Given / When
    const { policy } = loadPolicy(examplePolicyText());
    // Then
    expect(policy.identities.size).toBe(0);
    expect(principalFor(policy, email('dave@example.com'), 'postgres')).toBeUndefined();
  });

  it('finds no principal for an unmapped person or provider, nor for inherited keys', () => {
    // Given
    const { policy } = loadPolicy(withIdentities('  dave@example.com: { postgres: dave }\n'), ['local', 'postgres']);
    // When / Then
    expect(principalFor(policy, email('erin@example.com'), 'postgres')).toBeUndefined();
    expect(principalFor(policy, email('dave@example.com'), 'local')).toBeUndefined();
    expect(principalFor(policy, email('dave@example.com'), 'toString')).toBeUndefined();
  });

  it('refuses a key that is not an e-mail address, naming its path', () => {
    // Given / When
    const errors = errorsOf(withIdentities('  dave: { postgres: dave }\n'));
    // Then
    expect(errors).toEqual(['identities.dave: "dave" is not an e-mail address']);
  });

  it('refuses an unknown provider kind', () => {
    // Given / When
    const errors = errorsOf(withIdentities('  dave@example.com: { oracle: dave }\n'));
    // Then
    expect(errors).toEqual(['identities.dave@example.com.oracle: unknown provider "oracle" (available: local, postgres)']);
  });

  it('refuses an empty or over-long principal id', () => {
    // Given / When
    const errors = errorsOf(withIdentities(`  dave@example.com: { postgres: "" }\n  erin@example.com: { postgres: ${'x'.repeat(129)} }\n`));
    // Then
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^identities\.dave@example\.com\.postgres: /);
    expect(errors[1]).toBe('identities.erin@example.com.postgres: must be at most 128 characters');
  });

  it('refuses the same person twice and one principal shared by two people', () => {
    // Given / When
    const errors = errorsOf(
      withIdentities('  dave@example.com: { postgres: dave }\n  DAVE@example.com: { postgres: dave2 }\n  erin@example.com: { postgres: dave }\n'),
    );
    // Then
    expect(errors).toEqual([
      'identities.DAVE@example.com: dave@example.com is listed twice (e-mail addresses are compared in lower case)',
      'identities.erin@example.com.postgres: "dave" is already mapped to dave@example.com',
    ]);
  });

  it('counts changed identities as another changed setting', () => {
    // Given
    const before = loadPolicy(withIdentities('  dave@example.com: { postgres: dave }\n'), ['local', 'postgres']).policy;
    const after = loadPolicy(withIdentities('  dave@example.com: { postgres: dave_ro }\n'), ['local', 'postgres']).policy;
    // When / Then
    expect(diffPolicies(before, after).otherChanged).toEqual(['identities']);
    expect(diffPolicies(before, before).otherChanged).toEqual([]);
  });
});

describe('guests', () => {
  it('lists guest and app-user chat accounts that count, lower-cased, one address at a time', () => {
    // Given a policy naming one guest in mixed case
    const { policy } = loadPolicy(`${examplePolicyText()}\nguests: [Carol@Partner.example]\n`);
    // Then
    expect([...policy.guests]).toEqual(['carol@partner.example']);
  });

  it('is empty unless the policy lists someone', () => {
    expect(loadPolicy(examplePolicyText()).policy.guests.size).toBe(0);
  });

  it('refuses wildcards and anything that is not an address, naming the path', () => {
    const parsed = parsePolicy(`${examplePolicyText()}\nguests: ["*@partner.example", "carol"]\n`, ['local']);
    expect(parsed.ok ? [] : parsed.errors).toEqual([
      'guests.0: "*@partner.example" is not an e-mail address (guests are listed one by one, without wildcards)',
      'guests.1: "carol" is not an e-mail address (guests are listed one by one, without wildcards)',
    ]);
  });
});

describe('parsePolicy: decisions from the CLI', () => {
  const withCli = (cli: string) => policyText({ roleExtra: `    maxDuration: 4h\n${cli}` });

  it('leaves CLI decisions off when a role has no cli block', () => {
    // Given / When
    const role = loadPolicy(withCli('')).policy.roles.get('prod-db');
    // Then
    expect(role?.cli).toBeUndefined();
  });

  it('parses named OS users and OS groups, one action per OS user by default', () => {
    // Given / When
    const role = loadPolicy(withCli('    cli: { operators: [tom, "group:oncall"] }\n')).policy.roles.get('prod-db');
    // Then
    expect(role?.cli).toEqual({ operators: [{ user: 'tom' }, { group: 'oncall' }], sameOperatorMayActTwice: false });
  });

  it('accepts any OS user only under its explicit name', () => {
    // Given / When
    const role = loadPolicy(withCli('    cli: { operators: ["*any-os-user*"], sameOperatorMayActTwice: true }\n')).policy.roles.get('prod-db');
    // Then
    expect(role?.cli).toEqual({ operators: [{ anyOsUser: true }], sameOperatorMayActTwice: true });
  });

  it('refuses a bare "*" and says what to write instead, naming the path', () => {
    // Given / When
    const errors = errorsOf(withCli('    cli: { operators: ["*"] }\n'));
    // Then
    expect(errors).toEqual(['roles.prod-db.cli.operators.0: "*" is not allowed: name OS users or group:<os group>; to let every OS user on the host decide (a sandbox, never production) write "*any-os-user*"']);
  });

  it('refuses a name that is not an OS user name, and an empty list', () => {
    // Given / When
    const errors = errorsOf(withCli('    cli: { operators: ["tom smith", "group:"] }\n'));
    const empty = errorsOf(withCli('    cli: { operators: [] }\n'));
    // Then
    expect(errors).toEqual([
      'roles.prod-db.cli.operators.0: "tom smith" is not an OS user name, group:<os group> or "*any-os-user*"',
      'roles.prod-db.cli.operators.1: "group:" is not an OS user name, group:<os group> or "*any-os-user*"',
    ]);
    expect(empty).toEqual([expect.stringMatching(/^roles\.prod-db\.cli\.operators: /)]);
  });
});
