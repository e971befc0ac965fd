import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LocalIamProvider } from '../../../src/adapters/iam/local/local-iam-provider';
import { PostgresIamProvider } from '../../../src/adapters/iam/postgres/postgres-iam-provider';
import { email, type Email } from '../../../src/domain/email';
import type { GrantSpec, IamProvider } from '../../../src/ports/iam-provider';
import { systemClock } from '../../../src/ports/clock';
import { createPgliteDatabase, TEST_DATABASE_ADMIN_URL } from '../../support/test-database';
import { describeIamProviderContract } from './iam-provider-contract';

const dave = email('dave@example.com');
const erin = email('erin@example.com');

describeIamProviderContract('local', { failures: false, principals: 'none' }, async () => {
  const database = await createPgliteDatabase();
  const provider = new LocalIamProvider(database.db, systemClock);
  const target = { environment: 'sandbox' };
  return {
    provider,
    people: [dave, erin],
    role: 'sandbox-admin',
    target,
    hasAccess: async (who) => (await provider.memberships()).some((m) => m.principal === who && m.role === 'sandbox-admin'),
    close: () => database.close(),
  };
});

describeIamProviderContract('postgres', { failures: true, principals: 'at-grant' }, async () => {
  const hex = randomBytes(5).toString('hex');
  const role = `pa_c_${hex}_readonly`;
  const logins = new Map<Email, string>([
    [dave, `pa_c_${hex}_dave`],
    [erin, `pa_c_${hex}_erin`],
  ]);
  const admin = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} NOLOGIN`);
  for (const login of logins.values()) await admin.query(`CREATE ROLE ${login} LOGIN`);
  // NB: a failure is injected by pointing the admin URL, for one call, at what fails that way.
  const env: Record<string, string | undefined> = { PROD_DB_ADMIN_URL: TEST_DATABASE_ADMIN_URL };
  let nextUrl: string | undefined;
  const real = new PostgresIamProvider({ env, resolveLogin: (who) => logins.get(who) });
  const once = <T>(call: () => Promise<T>): Promise<T> => {
    if (nextUrl === undefined) return call();
    env['PROD_DB_ADMIN_URL'] = nextUrl;
    nextUrl = undefined;
    return call().finally(() => {
      env['PROD_DB_ADMIN_URL'] = TEST_DATABASE_ADMIN_URL;
    });
  };
  const provider: IamProvider = {
    kind: real.kind,
    grant: (spec: GrantSpec) => once(() => real.grant(spec)),
    revoke: (spec: GrantSpec) => once(() => real.revoke(spec)),
  };
  const refusedUrl = new URL(TEST_DATABASE_ADMIN_URL);
  refusedUrl.pathname = `/no_such_database_${hex}`;
  return {
    provider,
    people: [dave, erin],
    role: 'prod-db-readonly',
    target: { connectionEnv: 'PROD_DB_ADMIN_URL', role },
    hasAccess: async (who) => {
      const rows = await admin.query(
        `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
          WHERE r.rolname = $1 AND u.rolname = $2`,
        [role, logins.get(who) ?? ''],
      );
      return (rows.rowCount ?? 0) > 0;
    },
    failNextWithOutage: () => {
      nextUrl = 'postgres://postgres@127.0.0.1:1/postgres';
    },
    failNextWithRefusal: () => {
      nextUrl = refusedUrl.toString();
    },
    close: async () => {
      await real.close();
      for (const login of logins.values()) await admin.query(`DROP ROLE IF EXISTS ${login}`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    },
  };
});
