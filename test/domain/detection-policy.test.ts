import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDetectionPolicy } from '../../src/domain/detection-policy';
import { diffPolicies, parsePolicy } from '../../src/domain/policy';

const example = readFileSync(path.resolve(__dirname, '../../manifests/policy.example.yaml'), 'utf8');
const parse = (extra: string) => parsePolicy(`${example}\n${extra}`, ['local']);

describe("the policy's detection block", () => {
  it('gives every rule, the digest and drift their defaults when the block is absent', () => {
    const parsed = parsePolicy(example, ['local']);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    expect(parsed.loaded.policy.detection).toEqual(defaultDetectionPolicy);
    expect(defaultDetectionPolicy).toMatchObject({
      securityGroup: 'security',
      digest: { enabled: true, schedule: '0 9 * * 1' },
      drift: { enabled: true, revoke: false, maxRevokeShare: 0.2, maxRevokeCount: 10 },
      rules: { breakGlass: { enabled: true, severity: 'high' }, requestSpike: { perPerson: 5, perRole: 20, window: 1440 }, overdueGrant: { grace: 5 } },
    });
  });

  it('takes thresholds and severities from the policy, keeping the defaults of what it leaves out', () => {
    const parsed = parse('detection:\n  rules:\n    requestSpike: { perPerson: 3, window: 12h }\n    offHours: { enabled: false }\n    firstGrant: { severity: medium }\n');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const { rules } = parsed.loaded.policy.detection;
    expect(rules.requestSpike).toEqual({ enabled: true, severity: 'medium', perPerson: 3, perRole: 20, window: 720 });
    expect(rules.offHours).toEqual({ enabled: false, severity: 'low' });
    expect(rules.firstGrant.severity).toBe('medium');
  });

  it('names every mistake with its path: unknown rules, bad thresholds, bad schedules, an unknown security group', () => {
    const parsed = parse('detection:\n  securityGroup: sec\n  digest: { schedule: "every monday" }\n  rules:\n    requestSpike: { perPerson: 1, window: 5x }\n    bogus: {}\n');
    expect(parsed).toEqual({
      ok: false,
      errors: [
        'detection.securityGroup: unknown group "sec" (defined groups: leads, engineering, security)',
        'detection.digest.schedule: is not a cron expression like "0 9 * * 1" (minute hour day month weekday)',
        'detection.rules: unknown key "bogus"',
        'detection.rules.requestSpike.perPerson: Too small: expected number to be >=2',
        'detection.rules.requestSpike.window: "5x" is not a duration like 30m, 2h or 1d',
      ],
    });
  });

  it("refuses node-cron's L, W and # day tokens in the digest schedule, which periods cannot be computed for", () => {
    const parsed = parse('detection:\n  digest: { schedule: "0 9 L * *" }\n');
    expect(parsed).toEqual({
      ok: false,
      errors: ['detection.digest.schedule: uses "L": the digest schedule takes plain fields (numbers, ranges, lists, steps, names), not L, W or #'],
    });
    const plain = parse('detection:\n  digest: { schedule: "30 8 * * mon-fri" }\n');
    expect(plain.ok && plain.loaded.policy.detection.digest.schedule).toBe('30 8 * * mon-fri');
  });

  it('keeps acknowledging from the CLI off unless cliOperators names OS users or groups', () => {
    expect(defaultDetectionPolicy.cliOperators).toBeUndefined();
    const parsed = parse('detection:\n  cliOperators: [secops, "group:security-oncall"]\n');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    expect(parsed.loaded.policy.detection.cliOperators).toEqual([{ user: 'secops' }, { group: 'security-oncall' }]);
    expect(parse('detection:\n  cliOperators: ["*"]\n')).toEqual({ ok: false, errors: [expect.stringMatching(/^detection\.cliOperators\.0: "\*" is not allowed/)] });
    expect(parse('detection:\n  cliOperators: []\n')).toEqual({ ok: false, errors: [expect.stringMatching(/^detection\.cliOperators: name at least one OS user/)] });
  });

  it('reports a detection change in the policy diff', () => {
    const before = parsePolicy(example, ['local']);
    const after = parse('detection:\n  drift: { revoke: true }\n');
    if (!before.ok || !after.ok) throw new Error('both parse');
    expect(diffPolicies(before.loaded.policy, after.loaded.policy).otherChanged).toEqual(['detection']);
  });
});
