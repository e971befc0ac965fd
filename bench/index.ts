/**
 * `npm run bench`: prints figures, asserts nothing (shared machines are noisy; tests never time).
 * Needs the PostgreSQL that the tests use (TEST_DATABASE_ADMIN_URL, default 127.0.0.1:5432).
 */
import os from 'node:os';
import { createPgliteDatabase, createPostgresDatabase } from '../test/support/test-database';
import { benchAuditLog } from './audit-log';

const APPENDS = Number(process.env.BENCH_APPENDS ?? 2000);
const VERIFY = Number(process.env.BENCH_VERIFY_EVENTS ?? 100_000);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(`prod-access benchmarks — node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`);
  console.log(`audit log: ${fmt(APPENDS)} appends (one event per transaction), then verify over ${fmt(VERIFY)} events\n`);
  for (const [name, open] of [
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
          `(reading alone ${fmt(f.readEventsPerSecond)}/s, hashing alone ${fmt(f.hashEventsPerSecond)}/s)`,
      );
    } finally {
      await database.close();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
