import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresIamProvider } from '../../src/adapters/iam/postgres/postgres-iam-provider';
import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import { requestAccess } from '../../src/app/request-access';
import { revokeAccess } from '../../src/app/revoke-access';
import { email, type Email } from '../../src/domain/email';
import { principalFor } from '../../src/domain/policy';
import { cliOrigin, createHarness, type Harness } from '../support/app-harness';
import { postgresRolePolicy } from '../support/postgres-role-policy';
import { value } from '../support/revocation-fixtures';
import { createPgliteDatabase, TEST_DATABASE_ADMIN_URL } from '../support/test-database';

// NB: roles are cluster-wide and other test files share the server, so every name carries this run's hex.
const hex = randomBytes(5).toString('hex');
const prefix = `pa_g_${hex}_`;
const dbRole = `${prefix}ro`;
const daveLogin = `${prefix}dave`;
const databaseName = `prod_access_grant_${hex}`;

const dave = email('dave@example.com');
const alice = email('alice@example.com');
const frank = email('frank@example.com');

const policyText = postgresRolePolicy(dbRole, { 'dave@example.com': daveLogin });

let admin: pg.Client;
let provider: PostgresIamProvider;
let database: Database;
let h: Harness;

function urlFor(user: string, name: string): string {
  const url = new URL(TEST_DATABASE_ADMIN_URL);
  url.username = user;
  url.password = '';
  url.pathname = `/${name}`;
  return url.toString();
}

/** Whether a NEW connection as `login` can read the protected table. */
async function canRead(login: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: urlFor(login, databaseName), connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT note FROM ledger');
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === '42501') return false;
    throw error;
  } finally {
    await client.end();
  }
}

async function requestAndApprove(requester: Email) {
  const opened = value(
    await requestAccess(h.ctx, { requester, role: 'pg-readonly', duration: '1h', ticket: 'OPS-9', reason: 'check the payout ledger' }, cliOrigin),
  );
  return value(await approveRequest(h.ctx, opened.id, alice, cliOrigin));
}

beforeAll(async () => {
  // Test setup: a role that may read one table, and dave's own login, which may not (yet).
  admin = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  const id = pg.escapeIdentifier;
  await admin.query(`CREATE ROLE ${id(dbRole)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${id(daveLogin)} LOGIN`);
  await admin.query(`CREATE DATABASE ${id(databaseName)}`);
  const inDatabase = new pg.Client({ connectionString: urlFor('postgres', databaseName) });
  await inDatabase.connect();
  try {
    await inDatabase.query('CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL)');
    await inDatabase.query(`INSERT INTO ledger VALUES (1, 'payout 4211')`);
    await inDatabase.query(`GRANT SELECT ON ledger TO ${id(dbRole)}`);
  } finally {
    await inDatabase.end();
  }
  database = await createPgliteDatabase();
  // NB: wired as openApp wires it: the login comes from the policy in force at grant time.
  provider = new PostgresIamProvider({
    env: { PA_TEST_ADMIN_URL: TEST_DATABASE_ADMIN_URL },
    resolveLogin: (who) => principalFor(h.ctx.policy.current().policy, who, 'postgres'),
    connectTimeoutMs: 5_000,
  });
  h = createHarness(database, policyText, [provider]);
});

afterAll(async () => {
  await provider?.close();
  await database?.close();
  if (admin === undefined) return;
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName)} WITH (FORCE)`);
    await admin.query(`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename LIKE $1`, [`${prefix}%`]);
    for (const role of [daveLogin, dbRole]) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  } finally {
    await admin.end();
  }
});

describe('access on the PostgreSQL provider', () => {
  it('grants the role to the mapped login on approval and takes it back on revoke', async () => {
    // Given dave's own login cannot read the table
    expect(await canRead(daveLogin)).toBe(false);

    // When dave asks and alice approves
    const granted = await requestAndApprove(dave);

    // Then the request is active and dave's login reads the table
    expect(granted.state).toBe('active');
    expect(await canRead(daveLogin)).toBe(true);

    // When the access is revoked
    const revoked = value(await revokeAccess(h.ctx, granted.id, dave, 'revoked_early', cliOrigin));

    // Then it is revoked and dave's login can no longer read the table
    expect(revoked.state).toBe('revoked');
    expect(await canRead(daveLogin)).toBe(false);
  });

  it('fails the grant, naming the missing mapping, when the requester has no login in identities', async () => {
    // Given frank may request the role but has no postgres login in identities
    // When frank asks and alice approves
    const failed = await requestAndApprove(frank);

    // Then the request fails and the grant_failed event says why
    expect(failed.state).toBe('failed');
    const head = await h.ctx.store.auditHead();
    const events = await h.ctx.store.readAudit(1, head?.seq ?? 0);
    const event = events.find((e) => e.action === 'grant_failed' && e.requestId === failed.id);
    expect(event?.data).toMatchObject({ error: "no postgres login is mapped to frank@example.com in the policy's identities" });
  });
});
