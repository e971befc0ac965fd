import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { PostgresIamProvider } from '../../../../src/adapters/iam/postgres/postgres-iam-provider';
import { ProviderError } from '../../../../src/app/errors';
import { email, type Email } from '../../../../src/domain/email';
import { requestIdFromBytes } from '../../../../src/domain/request-id';
import type { GrantSpec } from '../../../../src/ports/iam-provider';
import { TEST_DATABASE_ADMIN_URL } from '../../../support/test-database';

// NB: roles are cluster-wide and other test files share the server, so every name carries this run's hex.
const hex = randomBytes(5).toString('hex');
const prefix = `pa_t_${hex}_`;
const roles = {
  readonly: `${prefix}readonly`,
  superuser: `${prefix}super`,
  creator: `${prefix}creator`,
  sneaky: `${prefix}sneaky`,
  group: `${prefix}group`,
};
const logins = { dave: `${prefix}dave`, erin: `${prefix}erin`, frank: `${prefix}frank` };
const databaseName = `prod_access_iam_${hex}`;

const dave = email('dave@example.com');
const erin = email('erin@example.com');
const frank = email('frank@example.com');
const nobody = email('nobody@example.com');
const grouped = email('group@example.com');
const loginByPrincipal = new Map<string, string>([
  [dave, logins.dave],
  [erin, logins.erin],
  [frank, logins.frank],
  [nobody, `${prefix}nobody`],
  [grouped, roles.group],
]);

const env = { PROD_DB_ADMIN_URL: TEST_DATABASE_ADMIN_URL };
const target = { connectionEnv: 'PROD_DB_ADMIN_URL', role: roles.readonly };

let admin: pg.Client;
let provider: PostgresIamProvider;
const openClients: pg.Client[] = [];

function urlFor(user: string, database: string): string {
  const url = new URL(TEST_DATABASE_ADMIN_URL);
  url.username = user;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
}

function aSpec(principal: Email, overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: requestIdFromBytes(randomBytes(5)),
    role: 'prod-db-readonly',
    principal,
    provider: 'postgres',
    target,
    expiresAt: new Date('2030-01-01T00:00:00Z'),
    ...overrides,
  };
}

/** A session as `login` on the throwaway database; errors after it is terminated are kept, not thrown. */
async function connectAs(login: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: urlFor(login, databaseName), connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  openClients.push(client);
  await client.connect();
  return client;
}

/** Whether a NEW connection as `login` can read the protected table. */
async function canRead(login: string): Promise<boolean> {
  const client = await connectAs(login);
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

async function membersOf(role: string): Promise<string[]> {
  const rows = await admin.query<{ member: string }>(
    `SELECT u.rolname AS member FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 ORDER BY 1`,
    [role],
  );
  return rows.rows.map((r) => r.member);
}

/** Everything an injected statement could have touched: this run's roles, memberships and tables. */
async function snapshot(): Promise<unknown> {
  const runRoles = await admin.query(
    `SELECT rolname, rolsuper, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1`,
    [`${prefix}%`],
  );
  const memberships = await admin.query(
    `SELECT r.rolname AS role, u.rolname AS member FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname LIKE $1 OR u.rolname LIKE $1 ORDER BY 1, 2`,
    [`${prefix}%`],
  );
  const inDatabase = new pg.Client({ connectionString: urlFor('postgres', databaseName) });
  await inDatabase.connect();
  try {
    const tables = await inDatabase.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    const grants = await inDatabase.query(
      `SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
        WHERE table_schema = 'public' ORDER BY 1, 2, 3`,
    );
    return { roles: runRoles.rows, memberships: memberships.rows, tables: tables.rows, grants: grants.rows };
  } finally {
    await inDatabase.end();
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  // Test setup: this run's roles, and a database whose table only the granted role may read.
  admin = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  const id = pg.escapeIdentifier;
  await admin.query(`CREATE ROLE ${id(roles.readonly)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${id(roles.superuser)} NOLOGIN SUPERUSER`);
  await admin.query(`CREATE ROLE ${id(roles.creator)} NOLOGIN CREATEROLE`);
  await admin.query(`CREATE ROLE ${id(roles.sneaky)} NOLOGIN`);
  await admin.query(`GRANT ${id(roles.superuser)} TO ${id(roles.sneaky)}`);
  await admin.query(`CREATE ROLE ${id(roles.group)} NOLOGIN`);
  for (const login of Object.values(logins)) await admin.query(`CREATE ROLE ${id(login)} LOGIN`);
  await admin.query(`CREATE DATABASE ${id(databaseName)}`);
  const inDatabase = new pg.Client({ connectionString: urlFor('postgres', databaseName) });
  await inDatabase.connect();
  try {
    await inDatabase.query('CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL)');
    await inDatabase.query(`INSERT INTO ledger VALUES (1, 'payout 4211')`);
    await inDatabase.query('CREATE TABLE x (id int)');
    await inDatabase.query(`GRANT SELECT ON ledger TO ${id(roles.readonly)}`);
  } finally {
    await inDatabase.end();
  }
  provider = new PostgresIamProvider({ env, resolveLogin: (principal) => loginByPrincipal.get(principal), connectTimeoutMs: 5_000 });
});

afterAll(async () => {
  await provider?.close();
  await Promise.all(openClients.map((client) => client.end().catch(() => undefined)));
  if (admin === undefined) return;
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName)} WITH (FORCE)`);
    await admin.query(`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename LIKE $1`, [`${prefix}%`]);
    for (const role of [...Object.values(logins), roles.sneaky, roles.readonly, roles.superuser, roles.creator, roles.group]) {
      await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
    }
  } finally {
    await admin.end();
  }
});

describe('PostgresIamProvider', () => {
  describe('grant', () => {
    it('lets the person read the table through their own login, directly and after SET ROLE', async () => {
      // Given dave's login cannot read the table
      expect(await canRead(logins.dave)).toBe(false);

      // When the read-only role is granted to dave
      await provider.grant(aSpec(dave));

      // Then a new connection as dave reads it, and may SET ROLE to the granted role
      expect(await canRead(logins.dave)).toBe(true);
      const session = await connectAs(logins.dave);
      await session.query(`SET ROLE ${pg.escapeIdentifier(roles.readonly)}`);
      const rows = await session.query<{ note: string }>('SELECT note FROM ledger');
      expect(rows.rows).toEqual([{ note: 'payout 4211' }]);
      await session.end();
      await provider.revoke(aSpec(dave));
    });

    it('succeeds when the membership already exists, leaving a single membership', async () => {
      // Given erin already holds the role
      await provider.grant(aSpec(erin));

      // When it is granted again
      await provider.grant(aSpec(erin));

      // Then erin is a member once
      expect(await membersOf(roles.readonly)).toEqual([logins.erin]);
      await provider.revoke(aSpec(erin));
    });

    it.each([
      ['a superuser role', roles.superuser, 'superuser'],
      ['a CREATEROLE role', roles.creator, 'CREATEROLE'],
      ['a role that is itself a member of a superuser role', roles.sneaky, `superuser through "${roles.superuser}"`],
      ['a role that can run programs on the server', 'pg_execute_server_program', 'server file or program access'],
    ])('refuses %s as misconfigured and grants nothing', async (_, role, power) => {
      // Given the policy names a role with admin power
      const before = await snapshot();

      // When it is granted
      const error = await rejection(provider.grant(aSpec(dave, { target: { ...target, role } })));

      // Then it is refused, naming the power, and nothing changed
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'misconfigured' });
      expect((error as Error).message).toContain(power);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a login that does not exist in the database', async () => {
      // Given nobody's mapped login was never created
      // When the role is granted to them
      const error = await rejection(provider.grant(aSpec(nobody)));

      // Then the provider refuses, naming the login
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'refused', message: `login role "${prefix}nobody" does not exist in the database` });
    });

    it('refuses a person mapped to a group (NOLOGIN) role, which would grant the role to every member', async () => {
      // Given a mapping to a NOLOGIN role
      // When the role is granted
      const error = await rejection(provider.grant(aSpec(grouped)));

      // Then it is misconfigured and the group gains nothing
      expect(error).toMatchObject({ code: 'misconfigured' });
      expect(await membersOf(roles.readonly)).toEqual([]);
    });

    it('refuses a person with no mapped login', async () => {
      // Given no login is mapped for the person
      // When the role is granted
      const error = await rejection(provider.grant(aSpec(email('stranger@example.com'))));

      // Then it is refused
      expect(error).toMatchObject({ code: 'refused', message: "no postgres login is mapped to stranger@example.com in the policy's identities" });
    });
  });

  describe('revoke', () => {
    it('stops new connections reading the table and terminates a session opened before the revoke', async () => {
      // Given dave holds the role and has a session open that switched to it
      await provider.grant(aSpec(dave));
      const session = await connectAs(logins.dave);
      await session.query(`SET ROLE ${pg.escapeIdentifier(roles.readonly)}`);
      expect((await session.query('SELECT note FROM ledger')).rowCount).toBe(1);

      // When the role is revoked
      const result = await provider.revoke(aSpec(dave));

      // Then the membership was removed, a new connection cannot read, and the old session is gone
      expect(result).toEqual({ removed: true });
      expect(await canRead(logins.dave)).toBe(false);
      expect(await rejection(session.query('SELECT note FROM ledger'))).toBeInstanceOf(Error);
      const left = await admin.query('SELECT 1 FROM pg_stat_activity WHERE usename = $1', [logins.dave]);
      expect(left.rowCount).toBe(0);
    });

    it('reports removed true, then false when revoked again', async () => {
      // Given frank holds the role
      await provider.grant(aSpec(frank));

      // When it is revoked twice
      const first = await provider.revoke(aSpec(frank));
      const second = await provider.revoke(aSpec(frank));

      // Then only the first removed anything, and both succeeded
      expect(first).toEqual({ removed: true });
      expect(second).toEqual({ removed: false });
      expect(await membersOf(roles.readonly)).toEqual([]);
    });

    it('succeeds with removed false when the login no longer exists', async () => {
      // Given nobody's login does not exist (dropped when they left)
      // When the role is revoked from them
      const result = await provider.revoke(aSpec(nobody));

      // Then there was nothing to remove
      expect(result).toEqual({ removed: false });
    });
  });

  describe('listMemberships', () => {
    it('lists exactly the logins currently granted the role', async () => {
      // Given three grants, one of them revoked again
      await provider.grant(aSpec(dave));
      await provider.grant(aSpec(erin));
      await provider.grant(aSpec(frank));
      await provider.revoke(aSpec(erin));

      // When the role's memberships are listed
      const members = await provider.listMemberships(target);

      // Then the live grants are listed, and nothing else
      expect(members).toEqual([logins.dave, logins.frank]);
      await provider.revoke(aSpec(dave));
      await provider.revoke(aSpec(frank));
      expect(await provider.listMemberships(target)).toEqual([]);
    });
  });

  describe('listGranted and revokeFound (drift)', () => {
    const personOf = (login: string) => [...loginByPrincipal].find(([, l]) => l === login)?.[0] as Email | undefined;
    let listing: PostgresIamProvider;
    beforeAll(() => {
      listing = new PostgresIamProvider({ env, resolveLogin: (principal) => loginByPrincipal.get(principal), resolvePerson: personOf, connectTimeoutMs: 5_000 });
    });
    afterAll(async () => {
      await listing.close();
    });

    it('lists every member as access of each policy role on that target, naming the person, but not the admin connection itself', async () => {
      // Given dave granted by the bot, a group role and the admin's own role made members by hand
      await provider.grant(aSpec(dave));
      await admin.query(`GRANT ${pg.escapeIdentifier(roles.readonly)} TO ${pg.escapeIdentifier(roles.group)}`);
      await admin.query(`GRANT ${pg.escapeIdentifier(roles.readonly)} TO CURRENT_USER`);
      try {
        // When two policy roles on the same target are listed
        const found = await listing.listGranted([
          { role: 'prod-db-readonly', target },
          { role: 'also-readonly', target },
        ]);

        // Then each member is listed once per policy role, dave with his address
        expect(found).toEqual([
          { role: 'prod-db-readonly', principal: logins.dave, person: dave, detail: `login "${logins.dave}" is a member of database role "${roles.readonly}"` },
          { role: 'also-readonly', principal: logins.dave, person: dave, detail: `login "${logins.dave}" is a member of database role "${roles.readonly}"` },
          { role: 'prod-db-readonly', principal: roles.group, detail: `group role "${roles.group}" (NOLOGIN: every member of it) is a member of database role "${roles.readonly}"` },
          { role: 'also-readonly', principal: roles.group, detail: `group role "${roles.group}" (NOLOGIN: every member of it) is a member of database role "${roles.readonly}"` },
        ]);
      } finally {
        await admin.query(`REVOKE ${pg.escapeIdentifier(roles.readonly)} FROM CURRENT_USER`);
        await admin.query(`REVOKE ${pg.escapeIdentifier(roles.readonly)} FROM ${pg.escapeIdentifier(roles.group)}`);
        await provider.revoke(aSpec(dave));
      }
    });

    it('revokes a listed membership by login and ends its open sessions; a repeat removes nothing', async () => {
      // Given erin's login was made a member by hand and has a session open
      await admin.query(`GRANT ${pg.escapeIdentifier(roles.readonly)} TO ${pg.escapeIdentifier(logins.erin)}`);
      const session = await connectAs(logins.erin);
      const [access] = (await listing.listGranted([{ role: 'prod-db-readonly', target }])).filter((a) => a.principal === logins.erin);
      if (!access) throw new Error('erin was not listed');

      // When what was listed is revoked
      const result = await listing.revokeFound(access, target);

      // Then the membership is gone, the session ended, and a repeat says nothing was there
      expect(result).toEqual({ removed: true });
      expect(await membersOf(roles.readonly)).toEqual([]);
      await expect(session.query('SELECT 1')).rejects.toThrow();
      expect(await listing.revokeFound(access, target)).toEqual({ removed: false });
    });

    it('refuses to revoke a group role or a superuser, saying what to do', async () => {
      await admin.query(`GRANT ${pg.escapeIdentifier(roles.readonly)} TO ${pg.escapeIdentifier(roles.group)}`);
      try {
        const group = await rejection(listing.revokeFound({ role: 'prod-db-readonly', principal: roles.group, detail: '' }, target));
        expect(group).toBeInstanceOf(ProviderError);
        expect(group).toMatchObject({ code: 'refused' });
        expect((group as Error).message).toContain(`"${roles.group}" is a group role (NOLOGIN), not a person's login`);
        expect(await membersOf(roles.readonly)).toEqual([roles.group]);
        const superuser = await rejection(listing.revokeFound({ role: 'prod-db-readonly', principal: 'postgres', detail: '' }, target));
        expect(superuser).toMatchObject({ code: 'misconfigured' });
      } finally {
        await admin.query(`REVOKE ${pg.escapeIdentifier(roles.readonly)} FROM ${pg.escapeIdentifier(roles.group)}`);
      }
    });
  });

  describe('names that are not plain role names', () => {
    const evil = ['prod"; DROP TABLE x; --', 'a b', "Robert'); --", 'Prod_Readonly', `${'a'.repeat(64)}`, 'naïve', ''];

    it.each([...evil, `${roles.readonly}" TO "${logins.dave}"; --`])('refuses role %j as misconfigured and changes nothing', async (role) => {
      // Given a policy target with a hostile role name
      const before = await snapshot();

      // When it is granted, revoked and listed
      const errors = [
        await rejection(provider.grant(aSpec(dave, { target: { ...target, role } }))),
        await rejection(provider.revoke(aSpec(dave, { target: { ...target, role } }))),
        await rejection(provider.listMemberships({ ...target, role })),
      ];

      // Then every call is refused without echoing the name, and the database is unchanged
      for (const error of errors) {
        expect(error).toBeInstanceOf(ProviderError);
        expect(error).toMatchObject({ code: 'misconfigured' });
        if (role !== '') expect((error as Error).message).not.toContain(role);
      }
      expect(await snapshot()).toEqual(before);
    });

    it.each([...evil, `${logins.dave}"; ALTER ROLE "${logins.dave}" SUPERUSER; --`])(
      'refuses login %j as misconfigured and changes nothing',
      async (login) => {
        // Given the identity mapping yields a hostile login name
        const hostile = new PostgresIamProvider({ env, resolveLogin: () => login });
        const before = await snapshot();

        // When the role is granted and revoked
        try {
          const errors = [await rejection(hostile.grant(aSpec(dave))), await rejection(hostile.revoke(aSpec(dave)))];

          // Then both are refused and the database is unchanged
          for (const error of errors) expect(error).toMatchObject({ code: 'misconfigured' });
        } finally {
          await hostile.close();
        }
        expect(await snapshot()).toEqual(before);
      },
    );
  });

  describe('configuration and connection failures', () => {
    it('calls a missing environment variable misconfigured', async () => {
      // Given the policy names a variable that is not set
      const spec = aSpec(dave, { target: { connectionEnv: 'PROD_DB_MISSING_URL', role: roles.readonly } });

      // When the role is granted
      const error = await rejection(provider.grant(spec));

      // Then it is misconfigured, naming the variable
      expect(error).toMatchObject({ code: 'misconfigured', message: 'environment variable PROD_DB_MISSING_URL is not set' });
    });

    it.each([
      ['a mysql:// URL', 'mysql://admin:hunter2@db.internal:3306/prod'],
      ['text that is not a URL', 'admin:hunter2@db.internal'],
    ])('calls %s misconfigured without printing it', async (_, value) => {
      // Given the variable holds something other than a postgres:// URL, with a password in it
      const withSecret = new PostgresIamProvider({ env: { PROD_DB_ADMIN_URL: value }, resolveLogin: () => logins.dave });

      // When the role is granted
      const error = await rejection(withSecret.grant(aSpec(dave)));

      // Then it is misconfigured and neither the URL nor its password appears, in the message or the cause
      expect(error).toMatchObject({ code: 'misconfigured' });
      expect((error as Error).message).toContain('PROD_DB_ADMIN_URL');
      expect(JSON.stringify({ message: (error as Error).message, cause: String((error as Error).cause) })).not.toContain('hunter2');
      await withSecret.close();
    });

    it('calls an unreachable server unavailable, keeping the cause and hiding the password', async () => {
      // Given the URL points at a closed port
      const port = await closedPort();
      const unreachable = new PostgresIamProvider({
        env: { PROD_DB_ADMIN_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/postgres` },
        resolveLogin: () => logins.dave,
        connectTimeoutMs: 2_000,
      });

      // When the role is granted and revoked
      try {
        for (const error of [await rejection(unreachable.grant(aSpec(dave))), await rejection(unreachable.revoke(aSpec(dave)))]) {
          // Then each fails as unavailable, with the driver's error as cause
          expect(error).toBeInstanceOf(ProviderError);
          expect(error).toMatchObject({ code: 'unavailable' });
          expect((error as Error).cause).toBeDefined();
          expect((error as Error).message).not.toContain('hunter2');
        }
      } finally {
        await unreachable.close();
      }
    });

    it('calls a URL naming a database that does not exist misconfigured', async () => {
      // Given the URL names a missing database
      const wrong = new PostgresIamProvider({ env: { PROD_DB_ADMIN_URL: urlFor('postgres', `${databaseName}_missing`) }, resolveLogin: () => logins.dave });

      // When memberships are listed
      const error = await rejection(wrong.listMemberships(target));

      // Then it is misconfigured
      expect(error).toMatchObject({ code: 'misconfigured' });
      await wrong.close();
    });

    it('calls a role missing from the database misconfigured', async () => {
      // Given the policy names a role nobody created
      const spec = aSpec(dave, { target: { ...target, role: `${prefix}ghost` } });

      // When it is granted
      const error = await rejection(provider.grant(spec));

      // Then it is misconfigured, naming the role
      expect(error).toMatchObject({ code: 'misconfigured', message: `role "${prefix}ghost" does not exist in the database` });
    });
  });
});
