/**
 * `npm run bench`: prints figures, asserts nothing (shared machines are noisy; tests never time).
 * Needs the PostgreSQL that the tests use (TEST_DATABASE_ADMIN_URL, default 127.0.0.1:5432).
 */
import os from 'node:os';
import { openDatabase } from '../src/adapters/store/open-database';
import { createPgliteDatabase, createPostgresDatabase } from '../test/support/test-database';
import { benchAnomalyPass } from './anomalies';
import { benchAuditLog } from './audit-log';
import { benchBodyFlood } from './bodies';
import { anomalyBench, describeTiming, digestBench, seedDatabase, timeHistoryBench, verifyBench, verifyPhases, type HistoryBench } from './history';
import { bareCommitMs, benchRevocationLateness, SimulatedCloud } from './revocation';
import { benchSlackAck } from './slack-ack';

const APPENDS = Number(process.env.BENCH_APPENDS ?? 2000);
const VERIFY = Number(process.env.BENCH_VERIFY_EVENTS ?? 100_000);
const GRANTS = Number(process.env.BENCH_GRANTS ?? 10_000);
const DUE = Number(process.env.BENCH_DUE_GRANTS ?? 1_000);
const CLOUD_RATE = Number(process.env.BENCH_CLOUD_CALLS_PER_SECOND ?? 20);
const COMMANDS = Number(process.env.BENCH_SLACK_COMMANDS ?? 2_000);
const BODIES = Number(process.env.BENCH_BODIES ?? 400);
const ANOMALY_REQUESTS = Number(process.env.BENCH_ANOMALY_REQUESTS ?? 100_000);
// NB: the model writes about 8 events per access request, so a million events take 126,000 requests;
// 15 weeks keeps the weekly volume of 100,000 requests in 12 weeks.
const HISTORY_REQUESTS = Number(process.env.BENCH_HISTORY_REQUESTS ?? 126_000);
const HISTORY_WEEKS = Number(process.env.BENCH_HISTORY_WEEKS ?? 15);

/**
 * What `npm run bench -- history` times over the seeded history (bench/seed-history.ts), each
 * given the database, a store on it and what was seeded (`SeededDatabase`). The anomaly passes
 * come last: they append the alerts they raise to the log.
 */
const HISTORY_BENCHES: readonly HistoryBench[] = [
  { ...verifyBench(os.availableParallelism(), 'threads', '≥ 200,000 events/s'), runs: 3 },
  { ...verifyBench(os.availableParallelism(), 'here'), runs: 1 },
  { ...verifyBench(0, 'here'), runs: 1 },
  digestBench('under 2 s'),
  anomalyBench(24),
  anomalyBench(1),
];

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(`prod-access benchmarks — node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`);
  // NB: `npm run bench -- audit` (or `history`, `revocation`, `slack`, `bodies`) runs one part only.
  const only = process.argv[2];
  if (only === undefined || only === 'audit') console.log(`audit log: ${fmt(APPENDS)} appends (one event per transaction), then verify over ${fmt(VERIFY)} events\n`);
  for (const [name, open] of only !== undefined && only !== 'audit' ? [] : [
    ['PGlite', createPgliteDatabase],
    ['PostgreSQL', createPostgresDatabase],
  ] as const) {
    const database = await open();
    try {
      const f = await benchAuditLog(database, { appends: APPENDS, verifyCount: VERIFY });
      console.log(
        `${name.padEnd(11)} appends/s: 1 writer ${fmt(f.appendsPerSecondOneWriter).padStart(6)}, 8 writers ${fmt(f.appendsPerSecondEightWriters).padStart(6)} ` +
          `(bare one-insert commits ${fmt(f.bareCommitsPerSecond)}/s)\n` +
          `${''.padEnd(11)} verify: ${fmt(f.verifyEventsPerSecond).padStart(7)} events/s over ${fmt(f.verifiedEvents)} ` +
          `(CPU per event alone: reading ${f.readMicros.toFixed(1)} µs, parsing ${f.parseMicros.toFixed(1)}, canonicalising ${f.canonicaliseMicros.toFixed(1)}, hashing ${f.hashMicros.toFixed(1)})`,
      );
    } finally {
      await database.close();
    }
  }

  if (only === undefined || only === 'history') {
    console.log(`\nhistory: ${fmt(HISTORY_REQUESTS)} requests over ${HISTORY_WEEKS} weeks (bench/seed-history.ts), PostgreSQL`);
    const database = await createPostgresDatabase();
    try {
      const seeded = await seedDatabase(database, { requests: HISTORY_REQUESTS, weeks: HISTORY_WEEKS });
      const h = seeded.history;
      console.log(
        `seeded      ${fmt(h.events)} events, ${fmt(h.requests)} requests (${fmt(h.extensions)} extensions), ${fmt(h.approvals)} approvals, ${fmt(h.grants)} grants, ` +
          `${fmt(h.breakGlass)} break-glass, ${fmt(h.byState.denied)} denied, ${fmt(h.alerts)} alerts, in ${h.seconds.toFixed(1)} s`,
      );
      const p = await verifyPhases(database, seeded.store, h.events);
      console.log(
        `verify's parts alone, one thread, CPU per event: reading ${p.reading.toFixed(1)} µs${p.serving === undefined ? '' : ` (and ${p.serving.toFixed(1)} µs in PostgreSQL)`}, ` +
          `parsing ${p.parsing.toFixed(1)} µs, canonicalising ${p.canonicalising.toFixed(1)} µs, hashing ${p.hashing.toFixed(1)} µs; the state check (one query) ${p.stateCheckSeconds.toFixed(2)} s`,
      );
      for (const bench of HISTORY_BENCHES) console.log(describeTiming(await timeHistoryBench(bench, seeded)));
    } finally {
      await database.close();
    }
  }

  if (only === undefined || only === 'revocation') {
    console.log(`\nrevocation lateness (confirmed − expires_at), PostgreSQL, local provider: ${fmt(GRANTS)} active grants, ${fmt(DUE)} expiring within one second`);
    for (const replicas of [1, 2]) {
      const database = await createPostgresDatabase();
      const extra = await Promise.all(Array.from({ length: replicas - 1 }, () => openDatabase({ databaseUrl: database.url, dataDir: os.tmpdir(), migrate: false })));
      try {
        const commitMs = await bareCommitMs(database);
        // NB: the local provider's floor: one commit per revocation (its DELETE) and three per batch of 100.
        const floorMs = DUE * (1 + 3 / 100) * commitMs / replicas;
        const f = await benchRevocationLateness([database, ...extra], { total: GRANTS, due: DUE });
        console.log(
          `${`${replicas} replica${replicas === 1 ? '' : 's'}`.padEnd(11)} p50 ${fmt(f.p50).padStart(5)} ms, p99 ${fmt(f.p99).padStart(5)} ms, max ${fmt(f.max).padStart(5)} ms over ${fmt(f.revoked)} revocations` +
            `; bare-commit floor ${fmt(floorMs)} ms (${commitMs.toFixed(2)} ms a commit), p99 / floor ${(f.p99 / floorMs).toFixed(2)}`,
        );
      } finally {
        for (const other of extra) await other.close();
        await database.close();
      }
    }
    const rate = CLOUD_RATE;
    console.log(`\nrevocation lateness, a cloud answering in 100–300 ms that allows ${rate} calls/s: ${fmt(DUE)} grants expiring within one second, 1 replica`);
    const database = await createPostgresDatabase();
    try {
      const cloud = new SimulatedCloud(rate, 8);
      const f = await benchRevocationLateness([database], { total: DUE, due: DUE, provider: cloud });
      const floorMs = (DUE / rate) * 1000;
      console.log(
        `paced      p50 ${fmt(f.p50).padStart(6)} ms, p99 ${fmt(f.p99).padStart(6)} ms, max ${fmt(f.max).padStart(6)} ms over ${fmt(f.revoked)} revocations; ` +
          `floor (count ÷ rate) ${fmt(floorMs)} ms, p99 / floor ${(f.p99 / floorMs).toFixed(2)} (target ≤ 1.2); ${fmt(cloud.calls)} calls, ${fmt(cloud.throttled)} throttled`,
      );
    } finally {
      await database.close();
    }
  }

  if (only === undefined || only === 'slack') {
    console.log(`\nslash-command ack latency: ${fmt(COMMANDS)} signed /prod-access requests, 50 at a time, HTTP mode, PostgreSQL`);
    const f = await benchSlackAck({ total: COMMANDS, concurrency: 50 });
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    console.log(`prod-access p50 ${ms(f.bot.p50).padStart(9)}, p99 ${ms(f.bot.p99).padStart(9)}, max ${ms(f.bot.max).padStart(9)}, non-200: ${f.bot.failures}`);
    console.log(`bare Bolt   p50 ${ms(f.bare.p50).padStart(9)}, p99 ${ms(f.bare.p99).padStart(9)}, max ${ms(f.bare.max).padStart(9)}, non-200: ${f.bare.failures}`);
    console.log(`ratio       p50 ${(f.bot.p50 / f.bare.p50).toFixed(2)}, p99 ${(f.bot.p99 / f.bare.p99).toFixed(2)} (target ≤ 1.5; Slack allows 3,000 ms)`);
  }

  if (only === undefined || only === 'anomalies') {
    console.log(`\nanomaly detection pass, PostgreSQL: ${fmt(ANOMALY_REQUESTS)} requests over a year (each approved, granted, revoked), ${fmt(ANOMALY_REQUESTS * 10)} audit events, default rules`);
    const database = await createPostgresDatabase();
    try {
      const f = await benchAnomalyPass(database, { requests: ANOMALY_REQUESTS });
      console.log(
        `seeded in ${f.seedSeconds.toFixed(1)} s\n` +
          `steady     ${fmt(f.steadyMs).padStart(6)} ms a pass over what is new (the last minute, at least one request: ${fmt(f.steadyEvents)} events), median of 5\n` +
          `after 24 h ${fmt(f.dayMs).padStart(6)} ms a pass over the last day (${fmt(f.dayEvents)} events, ${fmt(f.dayRaised)} alerts raised)\n` +
          `idle       ${fmt(f.idleMs).padStart(6)} ms a pass with nothing new (state rules only)`,
      );
    } finally {
      await database.close();
    }
  }

  if (only === undefined || only === 'bodies') {
    // NB: 3 MiB: under Bolt's own 4 MB limit, so without a limit of ours each body is buffered whole.
    const bodyBytes = 3 * 1024 * 1024;
    console.log(`\nunsigned body flood: ${fmt(BODIES)} POSTs of 3 MiB to /slack/events, 50 at a time (half with Content-Length, half chunked), service in a process of its own, PostgreSQL`);
    const f = await benchBodyFlood({ total: BODIES, concurrency: 50, bodyBytes, maxSeconds: 120 });
    const mib = (n: number) => `${n.toFixed(0)} MiB`;
    console.log(`service RSS   before ${mib(f.rssBeforeMiB).padStart(8)}, highest during ${mib(f.rssMaxDuringMiB).padStart(8)}, after ${mib(f.rssAfterMiB).padStart(8)}`);
    console.log(`service peak  before ${mib(f.peakBeforeMiB).padStart(8)}, after ${mib(f.peakAfterMiB).padStart(8)} (VmHWM, start-up included)`);
    console.log(`answers ${Object.entries(f.statuses).map(([s, n]) => `${s}: ${fmt(n)}`).join(', ')}; ${fmt(f.sentMiB)} MiB written by the clients in ${f.seconds.toFixed(1)} s`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
