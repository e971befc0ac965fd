import { performance } from 'node:perf_hooks';
import type { Database } from '../src/adapters/store/open-database';
import { ANOMALY_DETECTOR, detectAnomalies } from '../src/app/detect-anomalies';
import { createHarness, rawSql } from '../test/support/app-harness';

export interface AnomalyFigures {
  readonly requests: number;
  readonly events: number;
  readonly seedSeconds: number;
  /** A pass over the last minute's worth of events (what runs every 10 s), median of 5. */
  readonly steadyMs: number;
  readonly steadyEvents: number;
  /** The first pass after a day of downtime: every event of the last 24 h. */
  readonly dayMs: number;
  readonly dayEvents: number;
  readonly dayRaised: number;
  /** A pass with nothing new: the state rules alone. */
  readonly idleMs: number;
}

const PEOPLE = 200;
const ROLES = 20;
const APPROVERS = 30;
const EVENTS_PER_REQUEST = 10;
const DAY_MS = 24 * 3_600_000;

/**
 * The anomaly detection pass over a large history on the real PostgreSQL: `requests` requests over a
 * year (each approved, granted and revoked, ~`requests × 10` audit events), seeded with set-based
 * SQL. Times a steady-state pass (the last minute of events), the first pass after a day of downtime
 * (the last 24 h) and an idle pass (state rules only).
 */
export async function benchAnomalyPass(database: Database, opts: { requests: number }): Promise<AnomalyFigures> {
  const end = new Date('2026-03-03T10:00:00.000Z');
  const spanMs = 365 * DAY_MS;
  const step = spanMs / opts.requests / 1000;
  const start = new Date(end.getTime() - spanMs).toISOString();
  const roles = Array.from({ length: ROLES }, (_, r) => `
  role-${r}:
    description: Bench role ${r}
    provider: local
    target: { environment: bench-${r} }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 1
    maxDuration: 4h
    ticket: { pattern: "^OPS-[0-9]+$" }`).join('');
  const policy = `version: 1
timezone: Europe/Berlin
groups:
  leads: { members: [${Array.from({ length: APPROVERS }, (_, a) => `lead${a}@example.com`).join(', ')}] }
  engineering: { members: ["*@example.com"] }
  security: { members: [erin@example.com] }
roles:${roles}
`;
  const t0 = performance.now();
  const at = (i: string) => `'${start}'::timestamptz + (${i}) * interval '${step} seconds'`;
  await rawSql(
    database,
    `INSERT INTO access_requests (id, kind, requester, role, provider, target, duration_minutes, ticket, reason, break_glass, state, approvals_required, created_at, decision_deadline, policy_sha, version)
     SELECT 'B' || lpad(i::text, 7, '0'), 'access', 'user' || (i % ${PEOPLE}) || '@example.com', 'role-' || (i % ${ROLES}), 'local', jsonb_build_object('environment', 'bench-' || (i % ${ROLES})),
            60 + (i % 4) * 60, 'OPS-' || i, 'bench request number ' || i, i % 500 = 0, CASE WHEN i > ${opts.requests - 50} THEN 'active'::request_state ELSE 'revoked'::request_state END,
            1, ${at('i')}, ${at('i')} + interval '1 hour', 'bench', 3
     FROM generate_series(1, ${opts.requests}) i`,
  );
  await rawSql(
    database,
    `INSERT INTO approvals (request_id, approver, approved_at)
     SELECT 'B' || lpad(i::text, 7, '0'), 'lead' || (i % ${APPROVERS}) || '@example.com', ${at('i')} + (30 + i % 600) * interval '1 second'
     FROM generate_series(1, ${opts.requests}) i`,
  );
  await rawSql(
    database,
    `INSERT INTO grants (request_id, provider, target, principal, role, granted_at, expires_at, revoked_at, access_removed)
     SELECT 'B' || lpad(i::text, 7, '0'), 'local', jsonb_build_object('environment', 'bench-' || (i % ${ROLES})), 'user' || (i % ${PEOPLE}) || '@example.com', 'role-' || (i % ${ROLES}),
            ${at('i')} + interval '11 minutes', ${at('i')} + interval '11 minutes' + (60 + (i % 4) * 60) * interval '1 minute',
            CASE WHEN i > ${opts.requests - 50} THEN NULL ELSE ${at('i')} + interval '11 minutes' + (60 + (i % 4) * 60) * interval '1 minute' END,
            CASE WHEN i > ${opts.requests - 50} THEN NULL ELSE true END
     FROM generate_series(1, ${opts.requests}) i`,
  );
  // NB: ten events per request, in seq order; hashes are unique placeholders (the pass reads, never verifies).
  await rawSql(
    database,
    `INSERT INTO audit_events (seq, occurred_at, actor, action, request_id, data, prev_hash, hash)
     SELECT (i - 1) * ${EVENTS_PER_REQUEST} + k + 1, ${at('i')} + k * interval '1 minute',
            CASE WHEN k = 1 THEN 'lead' || (i % ${APPROVERS}) || '@example.com' WHEN k = 0 THEN 'user' || (i % ${PEOPLE}) || '@example.com' ELSE 'system' END,
            (ARRAY['request_opened','approval_recorded','request_approved','access_granted','access_expiring_soon','revocation_started','access_revoked','approval_recorded','access_expiring_soon','access_expiring_soon'])[k + 1],
            'B' || lpad(i::text, 7, '0'),
            jsonb_build_object('role', 'role-' || (i % ${ROLES}), 'requester', 'user' || (i % ${PEOPLE}) || '@example.com', 'ticket', 'OPS-' || i, 'reason', 'bench request number ' || i, 'policySha', 'bench'),
            md5(((i - 1) * ${EVENTS_PER_REQUEST} + k)::text) || md5('p' || ((i - 1) * ${EVENTS_PER_REQUEST} + k)::text),
            md5(((i - 1) * ${EVENTS_PER_REQUEST} + k + 1)::text) || md5('p' || ((i - 1) * ${EVENTS_PER_REQUEST} + k + 1)::text)
     FROM generate_series(1, ${opts.requests}) i, generate_series(0, ${EVENTS_PER_REQUEST - 1}) k`,
  );
  await rawSql(database, 'ANALYZE');
  const seedSeconds = (performance.now() - t0) / 1000;
  const events = opts.requests * EVENTS_PER_REQUEST;

  const h = createHarness(database, policy);
  h.clock.set(end);
  const placeAt = (seq: number) => rawSql(database, `INSERT INTO notification_cursors (notifier, last_seq) VALUES ('${ANOMALY_DETECTOR}', ${seq}) ON CONFLICT (notifier) DO UPDATE SET last_seq = ${seq}, lease_owner = NULL, lease_until = NULL`);
  const timed = async (from: number) => {
    await placeAt(from);
    const began = performance.now();
    const pass = await detectAnomalies(h.ctx, 'bench');
    return { ms: performance.now() - began, pass };
  };

  // NB: about a minute of events: the requests opened in the last ~60 s of the span (at least one).
  const perMinute = Math.max(1, Math.round(60 / step));
  const steady: number[] = [];
  let steadyEvents = 0;
  for (let run = 0; run < 5; run++) {
    const { ms, pass } = await timed(events - (perMinute + run) * EVENTS_PER_REQUEST);
    steady.push(ms);
    steadyEvents = pass.events;
  }
  const perDay = Math.round(DAY_MS / 1000 / step);
  const day = await timed(events - perDay * EVENTS_PER_REQUEST);
  const idle = await timed(events + day.pass.raised.length + 1_000_000);
  return {
    requests: opts.requests,
    events,
    seedSeconds,
    steadyMs: [...steady].sort((a, b) => a - b)[2] ?? 0,
    steadyEvents,
    dayMs: day.ms,
    dayEvents: day.pass.events,
    dayRaised: day.pass.raised.length,
    idleMs: idle.ms,
  };
}
