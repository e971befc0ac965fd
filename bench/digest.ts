/**
 * The weekly digest's figures over a large history: `timeDigest` times `store.digestFigures` for a
 * period on any seeded database (plug it into the shared bench once the seeded-history fixture is
 * merged); `seedDigestHistory` is a quick SQL-only seed of its own (requests, approvals, grants,
 * alerts, and ten events per request, spread over ten weeks) for running this file alone:
 *
 *     npx tsx bench/digest.ts            # 100,000 requests, 1,000,000 events, on the test PostgreSQL
 *
 * The seeded chain's hashes are not a valid chain (the digest never reads them); `audit verify`
 * would refuse it.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { DrizzleAccessStore } from '../src/adapters/store/drizzle-access-store';
import type { Database } from '../src/adapters/store/open-database';
import { bucketDaysFor } from '../src/domain/digest';
import type { Period } from '../src/domain/digest-schedule';
import { createPostgresDatabase } from '../test/support/test-database';

export interface DigestTimings {
  /** The first read (cold caches), then the median and slowest of the following ones, in ms. */
  readonly firstMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** Requests opened in the period, as a check that the period is the busy one. */
  readonly opened: number;
}

/** Times the digest's figures for `period`, `runs` times. */
export async function timeDigest(database: Database, period: Period, runs = 5): Promise<DigestTimings> {
  const store = new DrizzleAccessStore(database.db);
  const times: number[] = [];
  let opened = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const figures = await store.digestFigures(period, period.until, bucketDaysFor(period));
    times.push(performance.now() - start);
    opened = figures.requests.opened;
  }
  const rest = times.slice(1).sort((a, b) => a - b);
  return { firstMs: times[0] ?? 0, medianMs: rest[Math.floor(rest.length / 2)] ?? 0, maxMs: Math.max(...rest), opened };
}

const DAY_MS = 86_400_000;

/**
 * `requests` requests over `weeks` weeks from `start` (one every few seconds), 200 people, 10 roles;
 * 1 in 100 break-glass, 1 in 20 denied, the rest approved (two approvals) and granted for 1–4 h, then
 * revoked; 1 in 100 grants with a failed revocation; one alert per 100 requests; and ten events per
 * request (so 1,000,000 for 100,000 requests), at 15-minute steps from its opening.
 */
export async function seedDigestHistory(database: Database, options: { requests: number; weeks: number; start: Date }): Promise<void> {
  const n = options.requests;
  const span = options.weeks * 7 * DAY_MS;
  const start = sql.raw(`'${options.start.toISOString()}'::timestamptz`);
  const step = sql.raw(`interval '${(span / n).toFixed(3)} milliseconds'`);
  const db = database.db;
  await db.execute(sql`
    INSERT INTO access_requests (id, kind, requester, role, provider, target, duration_minutes, ticket, reason, break_glass, state,
      approvals_required, created_at, decision_deadline, denied_by, denied_at, denial_reason, ended_at, end_cause, policy_sha, version)
    SELECT 'R' || lpad(i::text, 7, '0'), 'access', 'user' || (i % 200) || '@example.com', 'role-' || (i % 10), 'local', '{"environment":"bench"}'::jsonb,
      60 * (1 + i % 4), 'OPS-' || i, 'bench request number ' || i, i % 100 = 0,
      (CASE WHEN i % 20 = 1 THEN 'denied' ELSE 'revoked' END)::request_state, 2,
      ${start} + ${step} * i, ${start} + ${step} * i + interval '30 minutes',
      CASE WHEN i % 20 = 1 THEN 'alice@example.com' END, CASE WHEN i % 20 = 1 THEN ${start} + ${step} * i + interval '15 minutes' END,
      CASE WHEN i % 20 = 1 THEN 'no' END,
      CASE WHEN i % 20 = 1 THEN NULL ELSE ${start} + ${step} * i + interval '30 minutes' + interval '1 hour' * (1 + i % 4) END,
      (CASE WHEN i % 20 = 1 THEN NULL ELSE 'expired' END)::end_cause, 'bench', 1
    FROM generate_series(1, ${n}) AS i`);
  await db.execute(sql`
    INSERT INTO approvals (request_id, approver, approved_at)
    SELECT 'R' || lpad(i::text, 7, '0'), a.approver, ${start} + ${step} * i + a.after
    FROM generate_series(1, ${n}) AS i,
      (VALUES ('alice@example.com', interval '15 minutes'), ('bob@example.com', interval '30 minutes')) AS a(approver, after)
    WHERE i % 20 <> 1`);
  await db.execute(sql`
    INSERT INTO grants (request_id, provider, target, principal, role, granted_at, expires_at, revoke_attempts, revoked_at, access_removed)
    SELECT 'R' || lpad(i::text, 7, '0'), 'local', '{"environment":"bench"}'::jsonb, 'user' || (i % 200) || '@example.com', 'role-' || (i % 10),
      ${start} + ${step} * i + interval '30 minutes', ${start} + ${step} * i + interval '30 minutes' + interval '1 hour' * (1 + i % 4),
      CASE WHEN i % 100 = 7 THEN 2 ELSE 0 END,
      ${start} + ${step} * i + interval '30 minutes' + interval '1 hour' * (1 + i % 4), true
    FROM generate_series(1, ${n}) AS i WHERE i % 20 <> 1`);
  await db.execute(sql`
    INSERT INTO alerts (kind, request_id, raised_at, message)
    SELECT 'revocation_failing', 'R' || lpad(i::text, 7, '0'), ${start} + ${step} * i + interval '5 hours', 'bench alert'
    FROM generate_series(1, ${n}) AS i WHERE i % 100 = 7`);
  // NB: ten events per request, in seq order by request; actions as a real request's, failures where the grant failed to revoke.
  await db.execute(sql`
    INSERT INTO audit_events (seq, occurred_at, actor, action, request_id, data, prev_hash, hash)
    SELECT (i - 1) * 10 + k + 1, ${start} + ${step} * i + interval '15 minutes' * k,
      CASE WHEN k IN (1, 2, 3) THEN 'alice@example.com' ELSE 'system' END,
      CASE WHEN i % 20 = 1 AND k = 1 THEN 'request_denied'
           ELSE (ARRAY['request_opened', 'approval_recorded', 'approval_recorded', 'request_approved', 'access_granted',
                       'access_expiring_soon', 'revocation_started', CASE WHEN i % 100 = 7 THEN 'revocation_failed' ELSE 'access_expiring_soon' END,
                       CASE WHEN i % 100 = 7 THEN 'revocation_failed' ELSE 'grant_extended' END, 'access_revoked'])[k + 1] END,
      'R' || lpad(i::text, 7, '0'),
      jsonb_build_object('role', 'role-' || (i % 10), 'requester', 'user' || (i % 200) || '@example.com', 'ticket', 'OPS-' || i,
        'reason', 'bench request number ' || i, 'policySha', 'bench', 'origin', jsonb_build_object('via', 'cli', 'osUser', 'bench')),
      md5(((i - 1) * 10 + k)::text) || md5(((i - 1) * 10 + k)::text || 'p'),
      md5(((i - 1) * 10 + k + 1)::text) || md5(((i - 1) * 10 + k + 1)::text || 'p')
    FROM generate_series(1, ${n}) AS i, generate_series(0, 9) AS k`);
  await db.execute(sql`ANALYZE`);
}

async function main(): Promise<void> {
  const requests = Number(process.env.BENCH_DIGEST_REQUESTS ?? 100_000);
  const weeks = 10;
  const start = new Date('2026-01-05T08:00:00.000Z');
  const database = await createPostgresDatabase();
  try {
    const seeding = performance.now();
    await seedDigestHistory(database, { requests, weeks, start });
    console.log(`seeded ${requests.toLocaleString('en-US')} requests and ${(requests * 10).toLocaleString('en-US')} audit events over ${weeks} weeks in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
    // NB: a week in the middle of the history: a tenth of it, with history before and after.
    const since = new Date(start.getTime() + 5 * 7 * DAY_MS);
    const period = { since, until: new Date(since.getTime() + 7 * DAY_MS) };
    const t = await timeDigest(database, period, 7);
    console.log(
      `weekly digest, PostgreSQL: first ${t.firstMs.toFixed(0)} ms, then median ${t.medianMs.toFixed(0)} ms, slowest ${t.maxMs.toFixed(0)} ms ` +
        `(${t.opened.toLocaleString('en-US')} requests opened in the week; target under 2,000 ms)`,
    );
  } finally {
    await database.close();
  }
}

if (process.argv[1]?.endsWith('digest.ts')) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
