import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { DrizzleAccessStore } from '../src/adapters/store/drizzle-access-store';
import type { Database } from '../src/adapters/store/open-database';
import { WorkerChainChecker } from '../src/adapters/threads/worker-chain-checker';
import { ANOMALY_DETECTOR, detectAnomalies } from '../src/app/detect-anomalies';
import { verifyAuditLog } from '../src/app/verify-audit-log';
import { bucketDaysFor } from '../src/domain/digest';
import { canonicalJson } from '../src/domain/canonical-json';
import type { AccessStore } from '../src/ports/access-store';
import { createHarness, queryRows, rawSql } from '../test/support/app-harness';
import { seedHistory, type SeededHistory, type SeedOptions } from './seed-history';

/** A database holding a seeded history, for the benches that run over it. */
export interface SeededDatabase {
  readonly database: Database;
  /** The database's URL (PostgreSQL), for work that opens connections of its own. */
  readonly url?: string;
  readonly store: AccessStore;
  readonly history: SeededHistory;
}

/**
 * One piece of work timed over the seeded history: the digest, the anomaly pass, `audit verify`.
 * `run` does the work once and may return a short note to print (what it found, how fast).
 */
export interface HistoryBench {
  readonly name: string;
  /** What it should take, as printed next to the figure (e.g. "under 2 s"). */
  readonly target?: string;
  /** How many times to run it (default 3); the first run also warms caches and the JIT. */
  readonly runs?: number;
  readonly run: (seeded: SeededDatabase) => Promise<string | void>;
}

export interface HistoryTiming {
  readonly name: string;
  readonly target?: string;
  /** Wall time of each run, in seconds. */
  readonly seconds: readonly number[];
  /** The note of the fastest run. */
  readonly note?: string;
}

/** Seeds `options` into `database` (an empty, migrated one). */
export async function seedDatabase(database: Database & { readonly url?: string }, options: SeedOptions): Promise<SeededDatabase> {
  const history = await seedHistory(database, options);
  return { database, ...(database.url ? { url: database.url } : {}), store: new DrizzleAccessStore(database.db), history };
}

/** Runs `bench` its number of times, one after the other, and keeps each run's wall time. */
export async function timeHistoryBench(bench: HistoryBench, seeded: SeededDatabase): Promise<HistoryTiming> {
  const seconds: number[] = [];
  let note: string | void = undefined;
  for (let i = 0; i < (bench.runs ?? 3); i++) {
    const t0 = performance.now();
    const said = await bench.run(seeded);
    seconds.push((performance.now() - t0) / 1000);
    // NB: the note of the fastest run, which is the figure printed.
    if (seconds.at(-1) === Math.min(...seconds)) note = said;
  }
  return { name: bench.name, ...(bench.target ? { target: bench.target } : {}), seconds, ...(note ? { note } : {}) };
}

/** `digest  1.23 s (runs 1.40, 1.23, 1.25 s; target under 2 s)  note`. */
export function describeTiming(timing: HistoryTiming): string {
  const best = Math.min(...timing.seconds);
  const runs = timing.seconds.map((s) => s.toFixed(2)).join(', ');
  return `${timing.name.padEnd(50)} ${best.toFixed(2).padStart(6)} s (runs ${runs} s${timing.target ? `; target ${timing.target}` : ''})${timing.note ? `  ${timing.note}` : ''}`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * `audit verify` over the whole seeded log: `threads` worker threads that read their pages
 * themselves (as the CLI does on PostgreSQL), or that only hash pages read in this thread (as with
 * the embedded database: `reading: 'here'`), or no threads at all (0). The note gives events/s and
 * the CPU time spent per event by this process (all its threads) and by the PostgreSQL backends
 * serving it, and what that CPU time allows on this machine's cores: the bound that does not
 * depend on what else the machine is doing.
 */
export function verifyBench(threads: number, reading: 'threads' | 'here', target?: string): HistoryBench {
  const name =
    threads === 0 ? 'audit verify, in one thread' : `audit verify, ${threads} thread${threads === 1 ? '' : 's'} ${reading === 'threads' ? 'reading and hashing' : 'hashing, reading here'}`;
  return {
    name,
    ...(target ? { target } : {}),
    run: async ({ database, store, history, url }) => {
      const parallel = threads > 0 ? new WorkerChainChecker(threads, reading === 'threads' && url ? { databaseUrl: url } : {}) : undefined;
      try {
        // NB: threads start (and connect) before the clock starts: start-up is timed on its own, since
        // under tsx it includes compiling the thread's TypeScript, which a built install does not do.
        const warm = performance.now();
        if (parallel) await Promise.all(Array.from({ length: threads }, (_, i) => (parallel.checkStored ? parallel.checkStored(i + 1, 1) : parallel.check({ start: { seq: 1, prevHash: '' }, events: [] }))));
        const startup = (performance.now() - warm) / 1000;
        const serverBefore = await backendCpuMs(database);
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        const report = await verifyAuditLog(store, undefined, parallel ? { parallel, parallelFrom: 0 } : {});
        const seconds = (performance.now() - t0) / 1000;
        const used = process.cpuUsage(cpu);
        const serverAfter = await backendCpuMs(database);
        if (!report.ok || report.count !== history.events) throw new Error(`verify failed during the benchmark: ${report.message}`);
        const here = (used.user + used.system) / report.count;
        const server = serverAfter && serverBefore ? ([...serverAfter].reduce((sum, [pid, ms]) => sum + ms - (serverBefore.get(pid) ?? 0), 0) * 1000) / report.count : undefined;
        const cores = os.availableParallelism();
        const bound = server === undefined ? '' : `, ${server.toFixed(1)} in PostgreSQL: at most ${fmt((cores * 1e6) / (here + server))} events/s on ${cores} cores`;
        return `verify alone ${seconds.toFixed(2)} s, ${fmt(report.count / seconds)} events/s; CPU per event ${here.toFixed(1)} µs here${bound}${parallel ? `; threads started in ${startup.toFixed(2)} s before` : ''}`;
      } finally {
        await parallel?.close();
      }
    },
  };
}

/**
 * CPU milliseconds so far of each PostgreSQL backend connected to this database, from /proc (a
 * server on this machine, as the bench's is); undefined where that cannot be read.
 */
async function backendCpuMs(database: Database): Promise<Map<number, number> | undefined> {
  if (database.dialect !== 'postgres') return undefined;
  const result = await database.db.execute(sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  const ticks = new Map<number, number>();
  try {
    for (const { pid } of (result as unknown as { rows: { pid: number }[] }).rows) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      // NB: utime and stime, in clock ticks of 10 ms (USER_HZ on Linux).
      ticks.set(pid, (Number(fields[11]) + Number(fields[12])) * 10);
    }
  } catch {
    return undefined;
  }
  return ticks;
}

export interface VerifyPhases {
  readonly events: number;
  /**
   * CPU microseconds per event for each part of verify, each timed on its own, in one thread (CPU
   * time, which other load on the machine inflates much less than wall time).
   */
  readonly reading: number;
  readonly parsing: number;
  readonly canonicalising: number;
  readonly hashing: number;
  /** What the PostgreSQL backend spent serving the pages, per event; undefined where it cannot be read. */
  readonly serving?: number;
  /** Seconds for the state check: the one query that finds state rows without their events. */
  readonly stateCheckSeconds: number;
}

/**
 * The parts of `audit verify`: four passes over the log in one thread, page by page as verify reads
 * it, each doing one step more than the one before: read the pages (the query, the driver, the
 * rows); also parse each event's data (JSON.parse); also write it canonically (RFC 8785, with the
 * envelope); also SHA-256 over prev_hash ‖ that text, which is all of verify's chain check. Each
 * part's cost is the difference between two passes, so it includes the garbage collection it
 * causes. Then the state check that verify runs beside the chain (one query).
 */
export async function verifyPhases(database: Database, store: AccessStore, total: number, pageSize = 2_000): Promise<VerifyPhases> {
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let events = 0;
  const pass = async (steps: number): Promise<number> => {
    const t = cpuMs();
    let mismatched = 0;
    for (let from = 1; from <= total; from += pageSize) {
      const page = await store.readStoredAudit(from, Math.min(pageSize, total - from + 1));
      if (steps === 1) events += page.length;
      for (const e of page) {
        if (steps < 2) continue;
        const data = JSON.parse(e.data) as unknown;
        if (steps < 3) continue;
        const text = `{"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"data":${canonicalJson(data)},"occurredAt":${JSON.stringify(e.occurredAt)},"requestId":${e.requestId === null ? 'null' : JSON.stringify(e.requestId)},"seq":${e.seq}}`;
        if (steps < 4) continue;
        if (hash('sha256', e.prevHash + text, 'hex') !== e.hash) mismatched += 1;
      }
    }
    if (mismatched > 0) throw new Error(`${mismatched} events do not hash to their stored hash`);
    return cpuMs() - t;
  };
  const serverBefore = await backendCpuMs(database);
  const read = await pass(1);
  const serverAfter = await backendCpuMs(database);
  const parsed = await pass(2);
  const canonical = await pass(3);
  const hashed = await pass(4);
  const reading = read;
  const parsing = Math.max(0, parsed - read);
  const canonicalising = Math.max(0, canonical - parsed);
  const hashing = Math.max(0, hashed - canonical);
  const t = performance.now();
  await store.auditStateGaps(5);
  const stateCheckSeconds = (performance.now() - t) / 1000;
  const perEvent = (ms: number) => (ms * 1000) / events;
  const serving = serverAfter && serverBefore ? perEvent([...serverAfter].reduce((sum, [pid, ms]) => sum + ms - (serverBefore.get(pid) ?? 0), 0)) : undefined;
  return {
    events,
    reading: perEvent(reading),
    parsing: perEvent(parsing),
    canonicalising: perEvent(canonicalising),
    hashing: perEvent(hashing),
    ...(serving === undefined ? {} : { serving }),
    stateCheckSeconds,
  };
}

const WEEK_MS = 7 * 86_400_000;

/** The weekly digest's figures for the seeded history's last week (what the Monday digest reads). */
export function digestBench(target?: string): HistoryBench {
  return {
    name: 'weekly digest, the last week',
    ...(target ? { target } : {}),
    runs: 5,
    run: async ({ store, history }) => {
      const period = { since: new Date(history.until.getTime() - WEEK_MS), until: history.until };
      const figures = await store.digestFigures(period, period.until, bucketDaysFor(period));
      return `${fmt(figures.requests.opened)} requests opened in the week`;
    },
  };
}

/**
 * The anomaly detector's pass over the seeded history's last `hours` of audit events, as the first
 * pass after that much downtime reads them (its position placed before them), on the seeded policy.
 * The first run raises what it finds (appended to the log as alerts); later runs find the same keys
 * and raise nothing, like a pass repeated after a crash. Runs after the verify benches for that reason.
 */
export function anomalyBench(hours: number): HistoryBench {
  return {
    name: `anomaly pass, the last ${hours} h of events`,
    runs: 3,
    run: async ({ database, history }) => {
      // NB: the seeded policy names cloud providers; the pass reads it and never calls one.
      const h = createHarness(database);
      h.clock.set(history.until);
      const ctx = { ...h.ctx, policy: { current: () => history.policy } };
      const [from] = await queryRows<{ seq: number }>(database, 'SELECT coalesce(min(seq), 1)::int AS seq FROM audit_events WHERE occurred_at >= $1', [new Date(history.until.getTime() - hours * 3_600_000)]);
      await rawSql(database, `INSERT INTO notification_cursors (notifier, last_seq) VALUES ('${ANOMALY_DETECTOR}', ${(from?.seq ?? 1) - 1}) ON CONFLICT (notifier) DO UPDATE SET last_seq = EXCLUDED.last_seq, lease_owner = NULL, lease_until = NULL`);
      const pass = await detectAnomalies(ctx, 'bench');
      // NB: findings, not alerts raised: the note printed is the fastest run's, a repeat whose keys are taken.
      return `${fmt(pass.events)} events read, ${fmt(pass.findings)} anomalies found`;
    },
  };
}
