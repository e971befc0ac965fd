import { hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DrizzleAccessStore } from '../src/adapters/store/drizzle-access-store';
import type { Database } from '../src/adapters/store/open-database';
import { WorkerChainChecker } from '../src/adapters/threads/worker-chain-checker';
import { verifyAuditLog } from '../src/app/verify-audit-log';
import { canonicalJson } from '../src/domain/canonical-json';
import type { AccessStore } from '../src/ports/access-store';
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
  /** The note of the last run. */
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
    note = await bench.run(seeded);
    seconds.push((performance.now() - t0) / 1000);
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
 * the CPU time this process (all its threads) spent per event.
 */
export function verifyBench(threads: number, reading: 'threads' | 'here', target?: string): HistoryBench {
  const name =
    threads === 0 ? 'audit verify, in one thread' : `audit verify, ${threads} thread${threads === 1 ? '' : 's'} ${reading === 'threads' ? 'reading and hashing' : 'hashing, reading here'}`;
  return {
    name,
    ...(target ? { target } : {}),
    run: async ({ store, history, url }) => {
      const parallel = threads > 0 ? new WorkerChainChecker(threads, reading === 'threads' && url ? { databaseUrl: url } : {}) : undefined;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      try {
        const report = await verifyAuditLog(store, undefined, parallel ? { parallel, parallelFrom: 0 } : {});
        const seconds = (performance.now() - t0) / 1000;
        if (!report.ok || report.count !== history.events) throw new Error(`verify failed during the benchmark: ${report.message}`);
        const used = process.cpuUsage(cpu);
        return `${fmt(report.count / seconds)} events/s, ${((used.user + used.system) / report.count).toFixed(1)} µs of CPU per event in this process`;
      } finally {
        await parallel?.close();
      }
    },
  };
}

export interface VerifyPhases {
  readonly events: number;
  /** Events per second for each part of verify, each timed on its own, in one thread. */
  readonly reading: number;
  readonly parsing: number;
  readonly canonicalising: number;
  readonly hashing: number;
  /** Seconds for the state check: the one query that finds state rows without their events. */
  readonly stateCheckSeconds: number;
}

/**
 * The parts of `audit verify`, timed apart in one pass over the log, page by page as verify reads
 * it: reading a page (the query, the driver, the rows), parsing each event's data (JSON.parse),
 * writing it canonically (RFC 8785, with the envelope), and SHA-256 over prev_hash ‖ that text;
 * then the state check verify runs after the chain (one query).
 */
export async function verifyPhases(store: AccessStore, total: number, pageSize = 2_000): Promise<VerifyPhases> {
  let reading = 0;
  let parsing = 0;
  let canonicalising = 0;
  let hashing = 0;
  let events = 0;
  for (let from = 1; from <= total; from += pageSize) {
    let t = performance.now();
    const page = await store.readStoredAudit(from, Math.min(pageSize, total - from + 1));
    reading += performance.now() - t;
    t = performance.now();
    const data = page.map((e) => JSON.parse(e.data) as unknown);
    parsing += performance.now() - t;
    t = performance.now();
    const texts = page.map(
      (e, i) =>
        `{"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"data":${canonicalJson(data[i])},"occurredAt":${JSON.stringify(e.occurredAt)},"requestId":${e.requestId === null ? 'null' : JSON.stringify(e.requestId)},"seq":${e.seq}}`,
    );
    canonicalising += performance.now() - t;
    t = performance.now();
    let mismatched = 0;
    for (let i = 0; i < page.length; i++) if (hash('sha256', (page[i]?.prevHash ?? '') + texts[i], 'hex') !== page[i]?.hash) mismatched += 1;
    hashing += performance.now() - t;
    if (mismatched > 0) throw new Error(`${mismatched} events of page ${from} do not hash to their stored hash`);
    events += page.length;
  }
  const t = performance.now();
  await store.auditStateGaps(5);
  const stateCheckSeconds = (performance.now() - t) / 1000;
  const rate = (ms: number) => events / (ms / 1000);
  return { events, reading: rate(reading), parsing: rate(parsing), canonicalising: rate(canonicalising), hashing: rate(hashing), stateCheckSeconds };
}
