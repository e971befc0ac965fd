import { checkpointMessage, checkpointText, type Checkpoint } from '../../src/domain/checkpoint';
import { bucketCount, bucketDaysFor, digestText, formatSpan, sparkline, type DigestFigures } from '../../src/domain/digest';

const week = { since: new Date('2026-03-02T08:00:00.000Z'), until: new Date('2026-03-09T08:00:00.000Z') };

function figures(overrides: Partial<DigestFigures> = {}): DigestFigures {
  return {
    period: week,
    asOf: new Date('2026-03-09T08:00:05.000Z'),
    requests: { opened: 8, breakGlass: 1, extensions: 1, approved: 5, denied: 1, cancelled: 1, timedOut: 1, approvalsGiven: 7 },
    grants: {
      count: 5,
      accessHours: 13.25,
      byRole: [
        { name: 'prod-readonly', grants: 2, hours: 6.5 },
        { name: 'sandbox-admin', grants: 2, hours: 5.6667 },
      ],
      byPerson: [{ name: 'dave@example.com', grants: 3, hours: 7.25 }],
    },
    timeToApprove: { count: 5, medianMs: 300_000, p95Ms: 1_560_000 },
    longestGrants: [{ requestId: '7KQ2M9XA', requester: 'dave@example.com', role: 'prod-readonly', grantedAt: new Date('2026-03-08T19:30:00.000Z'), hours: 4.5, live: true }],
    alerts: { raised: 2, byKind: [{ kind: 'break_glass_unreviewed', count: 1 }, { kind: 'revocation_failing', count: 1 }] },
    revocationFailures: { attempts: 3, grants: 1 },
    grantsPerDay: { bucketDays: 1, counts: [1, 2, 0, 0, 0, 1, 1] },
    head: { seq: 57, hash: 'ab'.repeat(32) },
    ...overrides,
  };
}

const checkpoint: Checkpoint = {
  period: '2026-03-02T08:00:00.000Z/2026-03-09T08:00:00.000Z',
  seq: 57,
  hash: 'ab'.repeat(32),
  signedAt: new Date('2026-03-09T08:00:05.000Z'),
  keyId: '0123456789abcdef',
  signature: 'A'.repeat(86) + '==',
};

describe('the digest text', () => {
  it('says every figure on its own line, in the policy time zone', () => {
    const text = digestText(figures(), { timezone: 'Europe/Berlin' });
    expect(text.split('\n')).toEqual([
      'Access digest for Mon 2 Mar 2026 09:00 to Mon 9 Mar 2026 09:00 (Europe/Berlin)',
      'Requests: 8 opened, 1 extension asked; 5 approved (7 approvals given), 1 denied, 1 cancelled, 1 timed out',
      'Break-glass uses: 1',
      'Grants: 5 made, 13.3 access-hours held in the period',
      '  by role: prod-readonly 2 grants, 6.5 h; sandbox-admin 2 grants, 5.7 h',
      '  by person: dave@example.com 3 grants, 7.3 h',
      'Time to approve: median 5m, p95 26m (5 approvals)',
      'Longest grants:',
      '  7KQ2M9XA prod-readonly for dave@example.com: 4.5 h from Sun 8 Mar 2026 20:30, still live',
      'Alerts: 2 raised (break_glass_unreviewed 1, revocation_failing 1)',
      'Revocation failures: 3 failed attempts on 1 grant',
      'Grants per day, Mon 2 Mar to Sun 8 Mar: ▅█▁▁▁▅▅ (1 2 0 0 0 1 1)',
      `Audit chain head at the end of the period: 57:${'ab'.repeat(32)}`,
    ]);
  });

  it('counts acknowledged and open alerts where alerts can be acknowledged', () => {
    const text = digestText(figures({ alerts: { raised: 2, byKind: [{ kind: 'revocation_failing', count: 2 }], acknowledged: 1, openNow: 4 } }), { timezone: 'UTC' });
    expect(text).toContain('Alerts: 2 raised (revocation_failing 2), 1 of them acknowledged; 4 open in all');
  });

  it('says when it is late, and appends the signed checkpoint exactly as it is signed', () => {
    const text = digestText(figures(), { timezone: 'UTC', lateAt: new Date('2026-03-10T07:15:00.000Z'), checkpoint });
    expect(text.split('\n')[0]).toBe('Access digest for Mon 2 Mar 2026 08:00 to Mon 9 Mar 2026 08:00 (UTC), posted late (Tue 10 Mar 2026 07:15): the bot was not running when it was due');
    expect(text.endsWith(`\n${checkpointText(checkpoint).trimEnd()}`)).toBe(true);
    // An auditor's copy of the lines between the header and the signature is the signed message
    const lines = text.split('\n');
    const start = lines.indexOf('prod-access audit checkpoint v1');
    expect(`${lines.slice(start, start + 6).join('\n')}\n`).toBe(checkpointMessage(checkpoint));
  });

  it('says why the head is not signed when there is no key', () => {
    expect(digestText(figures(), { timezone: 'UTC', unsigned: 'no key' })).toContain('\nNot signed: no key');
  });

  it('says when nothing was approved and when nothing happened before the end of the period', () => {
    const { timeToApprove: _none, head: _head, ...rest } = figures();
    const text = digestText(rest, { timezone: 'UTC' });
    expect(text).toContain('Time to approve: nothing was approved');
    expect(text).toContain('Audit chain head at the end of the period: none (no event before the end of the period)');
  });

  it('shortens the lists to fit a Slack section, never the checkpoint', () => {
    // Given 40 people and roles with long names
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `${'someone.with.a.very.long.name.'.repeat(4)}${i}@a-rather-long-domain.example.com`, grants: 1, hours: 40 - i }));
    const f = figures({
      grants: { count: 40, accessHours: 820, byRole: many, byPerson: many },
      longestGrants: many.slice(0, 5).map((m, i) => ({ requestId: `ID00000${i}`, requester: m.name, role: `role-${i}`, grantedAt: week.since, hours: 40, live: false })),
    });
    // When it is written for a Slack section (2,900 characters by default)
    const text = digestText(f, { timezone: 'UTC', checkpoint });
    // Then it fits, with shorter lists that say how many more there are, and the checkpoint whole
    expect(digestText(f, { timezone: 'UTC', checkpoint, maxLength: 100_000 }).length).toBeGreaterThan(2900);
    expect(text.length).toBeLessThanOrEqual(2900);
    expect(text).toContain('and 37 more');
    expect(text).toContain(checkpointText(checkpoint).trimEnd());
    // And tighter still, the first of each list only
    const tight = digestText(f, { timezone: 'UTC', checkpoint, maxLength: 1800 });
    expect(tight.length).toBeLessThanOrEqual(1800);
    expect(tight).toContain('and 39 more');
    expect(tight).toContain(checkpointText(checkpoint).trimEnd());
  });
});

describe('sparkline', () => {
  it('draws zero lowest, any grant above it, and the busiest day highest', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe('▁▂▃▅█');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect(sparkline([1])).toBe('█');
  });
});

describe('formatSpan', () => {
  it('shows at most two units, rounded down', () => {
    expect([0, 45_000, 250_000, 7_500_000, 97_200_000, 86_400_000].map(formatSpan)).toEqual(['0s', '45s', '4m 10s', '2h 5m', '1d 3h', '1d']);
  });
});

describe('per-day buckets', () => {
  it('gives a week seven one-day bars and a quarter bars of two days', () => {
    expect([bucketDaysFor(week), bucketCount(week, 1)]).toEqual([1, 7]);
    const quarter = { since: new Date('2026-01-01T00:00:00Z'), until: new Date('2026-04-01T00:00:00Z') };
    expect([bucketDaysFor(quarter), bucketCount(quarter, 2)]).toEqual([2, 45]);
  });
});
