import type { AccessRequest, Approval } from '../../src/domain/access-request';
import { breakGlass } from '../../src/domain/anomalies/break-glass';
import { findAnomalies, ruleFinding } from '../../src/domain/anomalies/find-anomalies';
import { firstGrant } from '../../src/domain/anomalies/first-grant';
import { windowStart, type DetectionContext, type DetectionHistory, type LiveGrant } from '../../src/domain/anomalies/history';
import { maxDuration } from '../../src/domain/anomalies/max-duration';
import { offHours } from '../../src/domain/anomalies/off-hours';
import { overdueGrant } from '../../src/domain/anomalies/overdue-grant';
import { reciprocal } from '../../src/domain/anomalies/reciprocal';
import { requestSpike } from '../../src/domain/anomalies/request-spike';
import { revocationFailing } from '../../src/domain/anomalies/revocation-failing';
import { rubberStamp } from '../../src/domain/anomalies/rubber-stamp';
import { ticketReuse } from '../../src/domain/anomalies/ticket-reuse';
import { keyPrefix, parseAlertId } from '../../src/domain/alert';
import type { Minutes } from '../../src/domain/duration';
import { email, type Email } from '../../src/domain/email';
import type { Policy } from '../../src/domain/policy';
import type { RequestId } from '../../src/domain/request-id';
import { completeHistory } from './anomaly-history';
import { loadPolicy, POLICY_YAML } from './fixtures';

const dave = email('dave@example.com');
const frank = email('frank@example.com');
const alice = email('alice@example.com');
const bob = email('bob@example.com');

// NB: 2026-03-03 is a Tuesday; Europe/Berlin is UTC+1 in March, business hours Mon–Fri 08:00–19:00.
const TUESDAY_NOON = new Date('2026-03-03T11:00:00.000Z');
const at = (minutesAfterTuesdayNoon: number) => new Date(TUESDAY_NOON.getTime() + minutesAfterTuesdayNoon * 60_000);

let serial = 0;
/** A request as the store would load it; every field has a sensible default. */
function req(over: Partial<AccessRequest> & { createdAt: Date }): AccessRequest {
  serial += 1;
  const id = (over.id ?? `R${String(serial).padStart(7, '0')}`) as RequestId;
  return {
    id,
    kind: 'access',
    requester: dave,
    role: 'readonly',
    resource: { provider: 'local', target: { environment: 'production' } },
    duration: 60 as Minutes,
    ticket: `OPS-${serial}`,
    reason: 'look at the payouts',
    breakGlass: false,
    state: 'pending',
    approvalsRequired: 1,
    approvals: [],
    decisionDeadline: new Date(over.createdAt.getTime() + 3_600_000),
    policySha: 'sha',
    version: 1,
    ...over,
  };
}

function granted(request: AccessRequest, grantedAt: Date = request.createdAt): AccessRequest {
  return { ...request, state: 'active', grant: { grantedAt, expiresAt: new Date(grantedAt.getTime() + request.duration * 60_000) } };
}

function approvedBy(request: AccessRequest, approver: Email, secondsLater: number): AccessRequest {
  const approval: Approval = { approver, at: new Date(request.createdAt.getTime() + secondsLater * 1000) };
  return { ...request, approvals: [...request.approvals, approval] };
}

/**
 * A history in which everything given is new (every request opened, granted and decided since the
 * last pass) unless `focus` says otherwise; the complete history is loaded.
 */
function historyOf(requests: readonly AccessRequest[], focus: Partial<Pick<DetectionHistory, 'opened' | 'granted' | 'decided'>> = {}, liveGrants: readonly LiveGrant[] = []): DetectionHistory {
  return { ...completeHistory(requests), ...focus, liveGrants };
}
const base = loadPolicy();
const context = (policy: Policy = base.policy, now: Date = at(0)): DetectionContext => ({ now, policy, revocationAlertAfter: 3 });
const withDetection = (yaml: string) => loadPolicy(`${POLICY_YAML}\ndetection:\n  rules:\n${yaml}`).policy;
const rules = base.policy.detection.rules;

describe('offHours', () => {
  it('fires for a request opened on a Saturday night, naming the local time and the time zone', () => {
    const night = req({ createdAt: new Date('2026-03-07T22:10:00.000Z') });
    const found = offHours(historyOf([night]), rules.offHours, context());
    expect(found).toEqual([
      {
        rule: 'offHours',
        severity: 'low',
        key: `off_hours:${night.id}`,
        requestId: night.id,
        message: `dave@example.com asked for readonly at Sat 23:10 (Europe/Berlin), outside business hours (request ${night.id}, ticket ${night.ticket}).`,
      },
    ]);
  });

  it('fires when a request opened in business hours is granted after them, once for both', () => {
    const evening = granted(req({ createdAt: at(6 * 60 + 50) }), at(7 * 60 + 30));
    const found = offHours(historyOf([evening]), rules.offHours, context());
    expect(found.map((f) => [f.key, f.message.includes('was granted readonly at Tue 19:30')])).toEqual([[`off_hours:${evening.id}`, true]]);
    const both = granted(req({ createdAt: new Date('2026-03-07T22:10:00.000Z') }));
    expect(offHours(historyOf([both]), rules.offHours, context())).toHaveLength(1);
  });

  it('stays quiet in business hours, and for requests that are not new', () => {
    const noon = granted(req({ createdAt: at(0) }), at(30));
    expect(offHours(historyOf([noon]), rules.offHours, context())).toEqual([]);
    const old = req({ createdAt: new Date('2026-03-07T22:10:00.000Z') });
    expect(offHours(historyOf([old], { opened: [], granted: [] }), rules.offHours, context())).toEqual([]);
  });

  it("takes business hours and the time zone from the policy", () => {
    const late = req({ createdAt: at(7 * 60 + 30) }); // Tue 19:30 in Berlin
    const longDay = loadPolicy(POLICY_YAML.replace('timezone: Europe/Berlin', 'timezone: Europe/Berlin\nbusinessHours: { days: [mon, tue, wed, thu, fri], start: "07:00", end: "21:00" }')).policy;
    expect(offHours(historyOf([late]), rules.offHours, context())).toHaveLength(1);
    expect(offHours(historyOf([late]), longDay.detection.rules.offHours, context(longDay))).toEqual([]);
  });
});

describe('breakGlass', () => {
  it('fires for every break-glass request opened, at the severity the policy gives', () => {
    const glass = req({ createdAt: at(0), breakGlass: true, role: 'db-admin', approvalsRequired: 2, duration: 30 as Minutes });
    const found = breakGlass(historyOf([glass, req({ createdAt: at(1) })]), withDetection('    breakGlass: { severity: medium }').detection.rules.breakGlass, context());
    expect(found).toEqual([
      expect.objectContaining({ rule: 'breakGlass', severity: 'medium', key: `break_glass:${glass.id}`, message: expect.stringContaining('used break-glass for db-admin for 30m') }),
    ]);
  });

  it('stays quiet for ordinary requests', () => {
    expect(breakGlass(historyOf([req({ createdAt: at(0) })]), rules.breakGlass, context())).toEqual([]);
  });
});

describe('firstGrant', () => {
  it("fires for a person's first grant of a role", () => {
    const first = granted(req({ createdAt: at(0) }));
    expect(firstGrant(historyOf([first]), rules.firstGrant, context())).toEqual([
      { rule: 'firstGrant', severity: 'low', key: `first_grant:${first.id}`, requestId: first.id, message: `dave@example.com was granted readonly for the first time (request ${first.id}, ticket ${first.ticket}).` },
    ]);
  });

  it('stays quiet for a second grant of the same role, and a first grant of another role fires again', () => {
    const before = granted(req({ createdAt: at(-60 * 24 * 90) }));
    const again = granted(req({ createdAt: at(0) }));
    const other = granted(req({ createdAt: at(5), role: 'db-admin' }));
    const found = firstGrant(historyOf([before, again, other], { granted: [again.id, other.id] }), rules.firstGrant, context());
    expect(found.map((f) => f.key)).toEqual([`first_grant:${other.id}`]);
  });

  it('stays quiet for requests that were never granted', () => {
    expect(firstGrant(historyOf([req({ createdAt: at(0) })]), rules.firstGrant, context())).toEqual([]);
  });
});

describe('requestSpike', () => {
  const spike = (n: number, over: Partial<AccessRequest> = {}, spacing = 10) => Array.from({ length: n }, (_, i) => req({ createdAt: at(i * spacing), ...over }));

  it('fires when one person opens perPerson requests within the window, once per window', () => {
    const mine = spike(6);
    const found = requestSpike(historyOf(mine), rules.requestSpike, context());
    expect(found).toEqual([
      expect.objectContaining({
        rule: 'requestSpike',
        severity: 'medium',
        key: `request_spike:person:dave@example.com:${windowStart(at(0), 1440 as Minutes)}`,
        requestId: mine[4]?.id,
        message: expect.stringContaining('dave@example.com opened 5 requests within 1d (threshold 5), for readonly'),
      }),
    ]);
  });

  it('stays quiet below the threshold, and when the requests are spread wider than the window', () => {
    expect(requestSpike(historyOf(spike(4)), rules.requestSpike, context())).toEqual([]);
    expect(requestSpike(historyOf(spike(8, {}, 6 * 60)), rules.requestSpike, context())).toEqual([]);
  });

  it('counts a role across people, with thresholds and window from the policy', () => {
    const policy = withDetection('    requestSpike: { perPerson: 10, perRole: 3, window: 1h }');
    const many = [dave, frank, alice].map((who, i) => req({ createdAt: at(i * 10), requester: who, role: 'db-admin' }));
    const found = requestSpike(historyOf(many), policy.detection.rules.requestSpike, context(policy));
    expect(found.map((f) => f.key)).toEqual([`request_spike:role:db-admin:${windowStart(at(20), 60 as Minutes)}`]);
    expect(found[0]?.message).toContain('db-admin was asked for 3 times by 3 people within 1h (threshold 3)');
    expect(requestSpike(historyOf(many), rules.requestSpike, context())).toEqual([]);
  });

  it('does not count extensions', () => {
    const parent = req({ createdAt: at(0) });
    const extensions = Array.from({ length: 5 }, (_, i) => req({ createdAt: at(1 + i), kind: 'extension', parentId: parent.id }));
    expect(requestSpike(historyOf([parent, ...extensions]), rules.requestSpike, context())).toEqual([]);
  });
});

describe('ticketReuse', () => {
  it('fires when one ticket is used by two people within the window, comparing tickets without case', () => {
    const a = req({ createdAt: at(0), ticket: 'OPS-7' });
    const b = req({ createdAt: at(60), ticket: 'ops-7 ', requester: frank });
    const found = ticketReuse(historyOf([a, b]), rules.ticketReuse, context());
    expect(found).toEqual([
      expect.objectContaining({
        rule: 'ticketReuse',
        key: `ticket_reuse:OPS-7:${windowStart(at(60), 7 * 1440 as Minutes)}`,
        message: `Ticket OPS-7 was used by 2 people (threshold 2) within 7d: 2 requests (${a.id}, ${b.id}) by dave@example.com, frank@example.com.`,
      }),
    ]);
  });

  it('fires when one person uses a ticket for `requests` requests, and stays quiet below', () => {
    const four = Array.from({ length: 4 }, (_, i) => req({ createdAt: at(i * 60), ticket: 'INC-1' }));
    expect(ticketReuse(historyOf(four), rules.ticketReuse, context()).map((f) => f.message)).toEqual([expect.stringContaining('was used by 4 requests (threshold 4)')]);
    expect(ticketReuse(historyOf(four.slice(0, 3)), rules.ticketReuse, context())).toEqual([]);
  });

  it('takes the thresholds and window from the policy', () => {
    const policy = withDetection('    ticketReuse: { requests: 2, people: 5, window: 1h }');
    const two = [req({ createdAt: at(0), ticket: 'INC-2' }), req({ createdAt: at(30), ticket: 'INC-2' })];
    expect(ticketReuse(historyOf(two), policy.detection.rules.ticketReuse, context(policy))).toHaveLength(1);
    const apart = [req({ createdAt: at(0), ticket: 'INC-3' }), req({ createdAt: at(90), ticket: 'INC-3' })];
    expect(ticketReuse(historyOf(apart), policy.detection.rules.ticketReuse, context(policy))).toEqual([]);
  });
});

describe('maxDuration', () => {
  // NB: readonly's maximum is 8h, db-admin's 4h.
  const series = (durations: readonly number[], role = 'readonly') => durations.map((d, i) => req({ createdAt: at(i * 60), duration: d as Minutes, role }));

  it('fires when `of` of the last `lastRequests` requests ask for the maximum, at the request that crosses the line', () => {
    const list = series([480, 60, 480, 60, 480]);
    const found = maxDuration(historyOf(list), rules.maxDuration, context());
    expect(found).toEqual([
      expect.objectContaining({
        key: `max_duration:dave@example.com:${list[4]?.id}`,
        message: expect.stringContaining("dave@example.com asked for the role's maximum duration in 3 of their last 5 requests (readonly 8h, readonly 8h, readonly 8h)"),
      }),
    ]);
  });

  it('stays quiet while the habit lasts, and below the line', () => {
    const list = series([480, 480, 480, 480, 480, 480]);
    expect(maxDuration(historyOf(list), rules.maxDuration, context()).map((f) => f.requestId)).toEqual([list[2]?.id]);
    expect(maxDuration(historyOf(series([480, 60, 60, 480, 60, 60])), rules.maxDuration, context())).toEqual([]);
  });

  it("uses each role's own maximum and the policy's thresholds", () => {
    const list = series([240, 240], 'db-admin');
    expect(maxDuration(historyOf(list), rules.maxDuration, context())).toEqual([]);
    const policy = withDetection('    maxDuration: { of: 2, lastRequests: 3 }');
    expect(maxDuration(historyOf(list), policy.detection.rules.maxDuration, context(policy)).map((f) => f.requestId)).toEqual([list[1]?.id]);
  });
});

describe('rubberStamp', () => {
  /** `n` requests by dave, each approved by alice `seconds[i]` seconds after it was opened. */
  const approvals = (seconds: readonly number[]) => seconds.map((s, i) => approvedBy(req({ createdAt: at(i * 30) }), alice, s));

  it('fires for an approver who approves nearly everything within seconds', () => {
    const list = approvals([5, 10, 3, 8, 20, 6, 7, 9, 11, 12]);
    const found = rubberStamp(historyOf(list), rules.rubberStamp, context());
    expect(found).toEqual([
      expect.objectContaining({
        rule: 'rubberStamp',
        key: `rubber_stamp:alice@example.com:${windowStart(at(0), 30 * 1440 as Minutes)}`,
        message: expect.stringContaining('alice@example.com approved 10 of their 10 decisions within 30d (100%) no more than 60s after the request was opened (threshold 90% of at least 10)'),
      }),
    ]);
  });

  it('stays quiet for an approver who takes their time, denies, or has made few decisions', () => {
    expect(rubberStamp(historyOf(approvals([5, 10, 3, 8, 20, 600, 700, 9, 11, 12])), rules.rubberStamp, context())).toEqual([]);
    const withDenials = [...approvals([5, 10, 3, 8, 20, 6, 7, 9, 11]), { ...req({ createdAt: at(400) }), state: 'denied' as const, denial: { by: alice, at: at(401), reason: 'no' } }];
    expect(rubberStamp(historyOf(withDenials), rules.rubberStamp, context())).toEqual([]);
    expect(rubberStamp(historyOf(approvals([5, 10, 3])), rules.rubberStamp, context())).toEqual([]);
  });

  it('takes minDecisions, share and withinSeconds from the policy', () => {
    const policy = withDetection('    rubberStamp: { minDecisions: 3, share: 0.6, withinSeconds: 10 }');
    expect(rubberStamp(historyOf(approvals([5, 8, 30])), policy.detection.rules.rubberStamp, context(policy))).toHaveLength(1);
    expect(rubberStamp(historyOf(approvals([5, 15, 30])), policy.detection.rules.rubberStamp, context(policy))).toEqual([]);
  });
});

describe('reciprocal', () => {
  it("fires when A approved B's request and B approved A's within the window", () => {
    const bobs = approvedBy(req({ createdAt: at(0), requester: bob }), alice, 300);
    const alices = approvedBy(req({ createdAt: at(60 * 24), requester: alice }), bob, 300);
    const found = reciprocal(historyOf([bobs, alices], { decided: [{ by: bob, requestId: alices.id }] }), rules.reciprocal, context());
    expect(found).toEqual([
      expect.objectContaining({
        rule: 'reciprocal',
        key: `reciprocal:alice@example.com:bob@example.com:${windowStart(alices.approvals[0]?.at ?? at(0), 30 * 1440 as Minutes)}`,
        message: `bob@example.com and alice@example.com approve each other's requests: bob@example.com approved alice@example.com's ${alices.id} (readonly) and alice@example.com approved bob@example.com's ${bobs.id} (readonly) within 30d.`,
      }),
    ]);
  });

  it('stays quiet for one-way approvals and for returns outside the window (from the policy)', () => {
    const bobs = approvedBy(req({ createdAt: at(0), requester: bob }), alice, 300);
    const daves = approvedBy(req({ createdAt: at(60), requester: dave }), bob, 300);
    expect(reciprocal(historyOf([bobs, daves]), rules.reciprocal, context())).toEqual([]);
    const alices = approvedBy(req({ createdAt: at(60 * 24 * 2), requester: alice }), bob, 300);
    const policy = withDetection('    reciprocal: { window: 1d }');
    expect(reciprocal(historyOf([bobs, alices]), policy.detection.rules.reciprocal, context(policy))).toEqual([]);
    expect(reciprocal(historyOf([bobs, alices]), rules.reciprocal, context())).toHaveLength(1);
  });
});

describe('overdueGrant', () => {
  const live = (minutesPastExpiry: number, over: Partial<LiveGrant> = {}): LiveGrant => {
    const request = granted(req({ createdAt: at(-120), duration: 60 as Minutes }), at(-60 - minutesPastExpiry));
    return { request, revokeAttempts: 0, ...over };
  };

  it('fires for a grant still live past its expiry and the grace', () => {
    const grant = live(12);
    expect(overdueGrant(historyOf([], {}, [grant]), rules.overdueGrant, context())).toEqual([
      {
        rule: 'overdueGrant',
        severity: 'high',
        key: `overdue_grant:${grant.request.id}`,
        requestId: grant.request.id,
        message: `readonly for dave@example.com (request ${grant.request.id}) is still live 12m after it expired at ${at(-12).toISOString()}; nothing has tried to revoke it (is the service running?).`,
      },
    ]);
  });

  it('stays quiet within the grace (from the policy) and for grants already revoked', () => {
    expect(overdueGrant(historyOf([], {}, [live(4)]), rules.overdueGrant, context())).toEqual([]);
    const policy = withDetection('    overdueGrant: { grace: 15m }');
    expect(overdueGrant(historyOf([], {}, [live(12)]), policy.detection.rules.overdueGrant, context(policy))).toEqual([]);
    const revoked = live(30);
    expect(overdueGrant(historyOf([], {}, [{ ...revoked, request: { ...revoked.request, state: 'revoked' } }]), rules.overdueGrant, context())).toEqual([]);
  });
});

describe('revocationFailing', () => {
  it('fires for a grant being revoked whose revocation failed REVOCATION_ALERT_AFTER times', () => {
    const request = { ...granted(req({ createdAt: at(-120) }), at(-120)), state: 'revoking' as const };
    const found = revocationFailing(historyOf([], {}, [{ request, revokeAttempts: 3, lastError: 'connection reset' }]), rules.revocationFailing, context());
    expect(found).toEqual([expect.objectContaining({ key: `revocation_failing:${request.id}`, severity: 'high', message: expect.stringContaining('has failed 3 times; the access is still live') })]);
  });

  it('stays quiet below the count', () => {
    const request = { ...granted(req({ createdAt: at(-120) }), at(-120)), state: 'revoking' as const };
    expect(revocationFailing(historyOf([], {}, [{ request, revokeAttempts: 2 }]), rules.revocationFailing, context())).toEqual([]);
  });
});

describe('findAnomalies', () => {
  it('runs every rule the policy leaves on, and none it turns off', () => {
    const glass = granted(req({ createdAt: new Date('2026-03-07T22:10:00.000Z'), breakGlass: true, role: 'db-admin' }));
    const on = findAnomalies(historyOf([glass]), rules, context());
    expect(on.map((f) => f.rule).sort()).toEqual(['breakGlass', 'firstGrant', 'offHours']);
    const policy = withDetection('    offHours: { enabled: false }\n    firstGrant: { enabled: false }');
    expect(findAnomalies(historyOf([glass]), policy.detection.rules, context(policy)).map((f) => f.rule)).toEqual(['breakGlass']);
  });
});

describe('ruleFinding', () => {
  it('gives a finding made elsewhere (drift) the severity of the policy, or nothing when the rule is off', () => {
    expect(ruleFinding(rules, 'drift', { key: 'drift:postgres:dave:prod_readonly', message: 'dave holds prod_readonly without a grant.' })).toEqual({
      rule: 'drift',
      severity: 'high',
      key: 'drift:postgres:dave:prod_readonly',
      message: 'dave holds prod_readonly without a grant.',
    });
    expect(ruleFinding(withDetection('    drift: { enabled: false }').detection.rules, 'drift', { key: 'drift:x', message: 'm' })).toBeUndefined();
  });

  it('refuses a key that does not start with its rule (a bug)', () => {
    expect(() => ruleFinding(rules, 'drift', { key: 'postgres:dave', message: 'm' })).toThrow('must start with "drift:"');
    expect(keyPrefix('breakGlassUnreviewed')).toBe('break_glass_unreviewed');
  });
});

describe('parseAlertId', () => {
  it('takes positive integers as the bot wrote them, nothing else', () => {
    expect([parseAlertId('12'), parseAlertId('0'), parseAlertId('-1'), parseAlertId('1e3'), parseAlertId('12abc'), parseAlertId(12), parseAlertId('9'.repeat(20))]).toEqual([
      12,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
