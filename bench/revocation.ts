import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { LocalIamProvider } from '../src/adapters/iam/local/local-iam-provider';
import { DrizzleAccessStore } from '../src/adapters/store/drizzle-access-store';
import type { Database } from '../src/adapters/store/open-database';
import type { AppContext } from '../src/app/app-context';
import { defaultWorkSettings } from '../src/app/work-settings';
import { ProviderError } from '../src/app/errors';
import { systemClock } from '../src/ports/clock';
import type { IamProvider } from '../src/ports/iam-provider';
import { RevocationEngine } from '../src/scheduler/revocation-engine';
import { createHarness, queryRows } from '../test/support/app-harness';
import { insertActiveGrants } from '../test/support/revocation-fixtures';

export interface LatenessFigures {
  readonly revoked: number;
  /** Revocation confirmed − expires_at, in milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * `total` active grants on the local provider, `due` of them expiring within the same second a few
 * seconds from now; `replicas` engines (each with its own connection pool, as separate processes
 * would have) run on the real clock. Measures, per grant, when its revocation was confirmed
 * (`grants.revoked_at`, written with the `revoked` state) against when it expired.
 */
export async function benchRevocationLateness(
  databases: readonly Database[],
  opts: { total: number; due: number; leadMs?: number; provider?: IamProvider },
): Promise<LatenessFigures> {
  const [first] = databases;
  if (!first) throw new Error('at least one database connection is needed');
  const h = createHarness(first);
  const contexts: AppContext[] = databases.map((database) => ({
    ...h.ctx,
    store: new DrizzleAccessStore(database.db),
    clock: systemClock,
    iam: new Map<string, IamProvider>([['local', new LocalIamProvider(database.db, systemClock)], ...(opts.provider ? [[opts.provider.kind, opts.provider] as const] : [])]),
    logger: pino({ level: 'silent' }),
    work: defaultWorkSettings(),
  }));
  const expiresAt = new Date(Date.now() + (opts.leadMs ?? 8_000));
  const later = new Date(Date.now() + 24 * 3_600_000);
  const kind = opts.provider?.kind ?? 'local';
  const due = await insertActiveGrants(h, opts.due, kind, expiresAt);
  // NB: the rest expire tomorrow: they are the haystack the due ones are claimed from.
  await insertActiveGrants(h, opts.total - opts.due, kind, later);
  // NB: spread the due ones over one second, so expiries arrive as they would, not as one instant.
  await queryRows(first, `UPDATE grants SET expires_at = expires_at + (random() * interval '999 milliseconds') WHERE request_id = ANY($1)`, [due]);
  // NB: real memberships, so each revocation deletes one as it would in use.
  await queryRows(
    first,
    `INSERT INTO local_iam_memberships (principal, role, target_key, granted_at)
     SELECT requester, role, '{"environment":"bulk"}', now() FROM access_requests WHERE id = ANY($1)`,
    [due],
  );

  const engines = contexts.map((ctx, i) => new RevocationEngine(ctx, { owner: `bench-replica-${i}` }));
  for (const engine of engines) await engine.start();
  try {
    const deadline = Date.now() + (opts.leadMs ?? 8_000) + 120_000;
    for (;;) {
      const [row] = await queryRows<{ n: string }>(first, 'SELECT count(*) AS n FROM grants WHERE revoked_at IS NOT NULL');
      if (Number(row?.n) >= opts.due) break;
      if (Date.now() > deadline) throw new Error(`only ${row?.n} of ${opts.due} grants were revoked within two minutes`);
      await sleep(250);
    }
  } finally {
    for (const engine of engines) await engine.stop();
  }
  const rows = await queryRows<{ ms: string }>(
    first,
    `SELECT extract(epoch FROM (revoked_at - expires_at)) * 1000 AS ms FROM grants WHERE revoked_at IS NOT NULL ORDER BY 1`,
  );
  const lateness = rows.map((r) => Number(r.ms));
  const at = (q: number) => lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))] ?? NaN;
  return { revoked: lateness.length, p50: at(0.5), p99: at(0.99), max: lateness[lateness.length - 1] ?? NaN };
}

/**
 * A cloud as the revocation engine meets it at scale: every call answers after 100–300 ms, and the
 * cloud allows `callsPerSecond` (a token bucket of that size, refilled continuously, as AWS, Google
 * and Azure throttle); a call over the limit is answered "throttled" (`unavailable`, retried by the
 * engine after a backoff), so any throttling shows up as lateness and in `throttled`.
 */
export class SimulatedCloud implements IamProvider {
  readonly kind = 'cloud';
  readonly limits: { concurrency: number; callsPerSecond: number };
  throttled = 0;
  calls = 0;
  private tokens: number;
  private refilledAt = Date.now();

  constructor(private readonly callsPerSecond: number, concurrency: number) {
    this.limits = { concurrency, callsPerSecond };
    this.tokens = callsPerSecond;
  }

  async grant(): Promise<void> {
    await this.call();
  }

  async revoke(): Promise<{ removed: boolean }> {
    await this.call();
    return { removed: true };
  }

  private async call(): Promise<void> {
    this.calls += 1;
    const now = Date.now();
    this.tokens = Math.min(this.callsPerSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.callsPerSecond);
    this.refilledAt = now;
    const allowed = this.tokens >= 1;
    if (allowed) this.tokens -= 1;
    await sleep(100 + Math.random() * 200);
    if (!allowed) {
      this.throttled += 1;
      throw new ProviderError('unavailable', this.kind, 'ThrottlingException: rate exceeded');
    }
  }
}

/** Milliseconds per bare one-row commit on this database: the floor under any per-grant commit. */
export async function bareCommitMs(database: Database, commits = 500): Promise<number> {
  await queryRows(database, 'CREATE TEMP TABLE IF NOT EXISTS bench_commits (n int)');
  const started = process.hrtime.bigint();
  for (let i = 0; i < commits; i++) await queryRows(database, 'INSERT INTO bench_commits VALUES ($1)', [i]);
  return Number(process.hrtime.bigint() - started) / 1e6 / commits;
}
