import pg from 'pg';
import { ProviderError } from '../../../app/errors';
import type { Email } from '../../../domain/email';
import type { GrantSpec, IamProvider, ProviderAccess } from '../../../ports/iam-provider';
import { isConnectionFailure, sqlState } from '../../store/open-database';

const KIND = 'postgres';

// NB: lower-case only, although PostgreSQL allows any quoted name. Unquoted SQL folds to lower case,
// so a DBA's `CREATE ROLE Prod_Readonly` makes `prod_readonly`; accepting `Prod_Readonly` in a policy
// would (quoted) name a different, probably missing, role. 63 = NAMEDATALEN - 1. `-` and `$` are
// allowed because we always quote; quotes, spaces, dots and non-ASCII never are.
const ROLE_NAME = /^[a-z_][a-z0-9_$-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// NB: predefined roles the PostgreSQL docs call equivalent to superuser: they read or write any
// server file or run any program as the server's OS user.
const SERVER_ACCESS_ROLES = ['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files'];

/** How long `revoke` waits for each of the login's sessions to end after signalling it. */
const TERMINATE_WAIT_MS = 5_000;

export interface PostgresIamProviderOptions {
  /** Where `target.connectionEnv` is looked up: `process.env` in production. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The person's OWN login role for a verified e-mail; `undefined` when they have none. Never a shared account. */
  readonly resolveLogin: (principal: Email) => string | undefined;
  /** The person whose own login this is (the reverse of `resolveLogin`), for drift findings; absent: nobody is named. */
  readonly resolvePerson?: (login: string) => Email | undefined;
  /** Connection timeout per admin connection (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Statement timeout on admin connections (default 30 s), so a GRANT stuck behind a lock fails instead of hanging. */
  readonly statementTimeoutMs?: number;
  /** Errors of idle pooled connections (server restarted, network cut); the next call reconnects. */
  readonly onConnectionError?: (error: Error) => void;
}

interface PostgresTarget {
  readonly url: string;
  readonly role: string;
}

/**
 * Grants a PostgreSQL role to a person's own login role: `GRANT <role> TO <login>`, and on revoke
 * `REVOKE` plus ending that login's open sessions. A policy target is
 * `{ connectionEnv: 'PROD_DB_ADMIN_URL', role: 'prod_readonly' }`; the URL (with its password)
 * lives in the environment only, never in the policy, and never in an error message.
 *
 * NB: PostgreSQL role membership has NO expiry (`VALID UNTIL` only limits a role's password, not
 * what it is a member of), so `spec.expiresAt` cannot be enforced here: the bot's scheduler calling
 * `revoke` is what ends access, and `listGranted` lets drift reconciliation find leftovers.
 *
 * Needs PostgreSQL 14 or later (`pg_terminate_backend(pid, timeout)`), and an admin role that can
 * grant the roles (superuser, or CREATEROLE / ADMIN OPTION) and signal the logins' backends
 * (`pg_signal_backend`).
 */
export class PostgresIamProvider implements IamProvider {
  readonly kind = KIND;
  private readonly pools = new Map<string, pg.Pool>();

  constructor(private readonly options: PostgresIamProviderOptions) {}

  /** Idempotent: a login that is already a member is left as it is. */
  async grant(spec: GrantSpec): Promise<void> {
    const target = this.target(spec.target);
    const login = this.login(spec.principal);
    const role = pg.escapeIdentifier(target.role);
    await this.withClient(target.url, `granting "${target.role}" to "${login}"`, async (client) => {
      await this.assertGrantable(client, target.role);
      const found = await this.loginRole(client, login);
      if (found === undefined) throw new ProviderError('refused', KIND, `login role "${login}" does not exist in the database`);
      assertPersonalLogin(found, login);
      // NB: checked first, although PostgreSQL 15 answers a repeated GRANT with a NOTICE only: from
      // 16 a GRANT by a different grantor adds a second membership row, which one REVOKE would not remove.
      if (await isMember(client, target.role, login)) return;
      await client.query(`GRANT ${role} TO ${pg.escapeIdentifier(login)}`);
    });
  }

  /**
   * Removes the membership, then ends every open session of the login (in any database), because
   * a session that did `SET ROLE` before the REVOKE keeps that role's privileges until it ends.
   * `removed: false` when the membership (or the login, or the role) was already gone.
   */
  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    const target = this.target(spec.target);
    const login = this.login(spec.principal);
    return this.withClient(target.url, `revoking "${target.role}" from "${login}"`, (client) => this.removeMembership(client, target.role, login));
  }

  /**
   * The direct members of each role's target that are not the admin connection's own role, each as
   * access of that policy role, with the person `resolvePerson` names for the login (drift input).
   * Roles on the same database and role are read once. NB: PostgreSQL does not record who granted a
   * membership for what, so every member is listed, a DBA's own grants and group roles included:
   * whatever no live grant explains is drift for the caller to judge.
   */
  async listGranted(roles: readonly { readonly role: string; readonly target: Readonly<Record<string, string>> }[]): Promise<readonly ProviderAccess[]> {
    const byTarget = new Map<string, { target: PostgresTarget; roles: string[] }>();
    for (const entry of roles) {
      const target = this.target(entry.target);
      const key = `${target.url}\u0000${target.role}`;
      const group = byTarget.get(key);
      if (group) group.roles.push(entry.role);
      else byTarget.set(key, { target, roles: [entry.role] });
    }
    const found: ProviderAccess[] = [];
    for (const { target, roles: names } of byTarget.values()) {
      const members = await this.withClient(target.url, `listing members of "${target.role}"`, (client) => this.members(client, target.role));
      for (const member of members) {
        if (member.is_admin) continue;
        // NB: only a login is a person's: the bot never grants to a group role, so none can be explained by a grant.
        const person = member.rolcanlogin ? this.options.resolvePerson?.(member.member) : undefined;
        const detail = member.rolcanlogin
          ? `login "${member.member}" is a member of database role "${target.role}"`
          : `group role "${member.member}" (NOLOGIN: every member of it) is a member of database role "${target.role}"`;
        for (const role of names) found.push({ role, principal: member.member, ...(person !== undefined ? { person } : {}), detail });
      }
    }
    return found;
  }

  /**
   * Removes a membership `listGranted` reported, by login name, and ends that login's sessions, as
   * `revoke` does. Refuses what is not a person's own login: the admin connection's role, a
   * superuser, or a group role (NOLOGIN), whose membership a person removes by hand.
   */
  async revokeFound(access: ProviderAccess, rawTarget: Readonly<Record<string, string>>): Promise<{ removed: boolean }> {
    const target = this.target(rawTarget);
    const login = access.principal;
    if (!ROLE_NAME.test(login)) throw new ProviderError('refused', KIND, `the listed member is not a role name prod-access handles (${ROLE_NAME.source}); remove it by hand`);
    return this.withClient(target.url, `revoking "${target.role}" from "${login}"`, async (client) => {
      const found = await this.loginRole(client, login);
      if (found !== undefined && !found.rolcanlogin && !found.rolsuper && !found.is_admin) {
        throw new ProviderError(
          'refused',
          KIND,
          `"${login}" is a group role (NOLOGIN), not a person's login: prod-access does not remove it; run REVOKE ${pg.escapeIdentifier(target.role)} FROM ${pg.escapeIdentifier(login)} by hand if it should go`,
        );
      }
      return this.removeMembership(client, target.role, login);
    });
  }

  /**
   * The direct members of `target.role` (role names, sorted), for reconciliation: any member the
   * bot has no live grant for was left behind. Members that are not logins (group roles a DBA
   * added) are listed too; the caller decides what is expected.
   */
  async listMemberships(target: Readonly<Record<string, string>>): Promise<readonly string[]> {
    const parsed = this.target(target);
    return this.withClient(parsed.url, `listing members of "${parsed.role}"`, async (client) => (await this.members(client, parsed.role)).map((m) => m.member));
  }

  /** Ends every admin connection pool. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.end()));
  }

  /** REVOKE (when a member) and end the login's sessions; the shared end of `revoke` and `revokeFound`. */
  private async removeMembership(client: pg.PoolClient, role: string, login: string): Promise<{ removed: boolean }> {
    const found = await this.loginRole(client, login);
    if (found === undefined) return { removed: false };
    assertPersonalLogin(found, login);
    const removed = await isMember(client, role, login);
    if (removed) {
      await client.query(`REVOKE ${pg.escapeIdentifier(role)} FROM ${pg.escapeIdentifier(login)}`);
      if (await isMember(client, role, login)) {
        throw new ProviderError('refused', KIND, `"${login}" is still a member of "${role}" after REVOKE (granted by another role?); remove it by hand`);
      }
    }
    // NB: even when nothing was removed: a retry after a REVOKE that succeeded but whose session
    // cleanup failed must still end the sessions.
    await terminateSessions(client, login);
    return { removed };
  }

  /** The direct members of `role` (one row each, sorted), whether each can log in, and which is the admin connection's own. */
  private async members(client: pg.PoolClient, role: string): Promise<{ member: string; rolcanlogin: boolean; is_admin: boolean }[]> {
    if ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 0) {
      throw new ProviderError('misconfigured', KIND, `role "${role}" does not exist in the database`);
    }
    // NB: DISTINCT: from PostgreSQL 16 one member can hold a role through several grantors (one row each).
    const rows = await client.query<{ member: string; rolcanlogin: boolean; is_admin: boolean }>(
      `SELECT DISTINCT u.rolname AS member, u.rolcanlogin, u.rolname = current_user AS is_admin
         FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.roleid
         JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = $1
        ORDER BY u.rolname`,
      [role],
    );
    return rows.rows;
  }

  private target(target: Readonly<Record<string, string>>): PostgresTarget {
    const connectionEnv = target['connectionEnv'];
    const role = target['role'];
    if (typeof connectionEnv !== 'string' || !ENV_NAME.test(connectionEnv)) {
      throw new ProviderError('misconfigured', KIND, 'target.connectionEnv must name an environment variable (letters, digits, _)');
    }
    if (typeof role !== 'string' || !ROLE_NAME.test(role)) {
      // NB: the offending value is not echoed: it is exactly the odd kind of text that should not reach a chat message.
      throw new ProviderError('misconfigured', KIND, `target.role is not a valid role name (${ROLE_NAME.source})`);
    }
    const url = this.options.env[connectionEnv];
    if (url === undefined || url.trim() === '') {
      throw new ProviderError('misconfigured', KIND, `environment variable ${connectionEnv} is not set`);
    }
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      // NB: the URL parser's message quotes its input, which holds a password: the cause is dropped on purpose.
      throw new ProviderError('misconfigured', KIND, `environment variable ${connectionEnv} does not hold a URL`);
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      throw new ProviderError('misconfigured', KIND, `environment variable ${connectionEnv} does not hold a postgres:// URL`);
    }
    return { url, role };
  }

  private login(principal: Email): string {
    const login = this.options.resolveLogin(principal);
    if (login === undefined) throw new ProviderError('refused', KIND, `no postgres login is mapped to ${principal} in the policy's identities`);
    if (!ROLE_NAME.test(login)) {
      throw new ProviderError('misconfigured', KIND, `the login mapped for ${principal} is not a valid role name (${ROLE_NAME.source})`);
    }
    return login;
  }

  // NB: refuses roles that are, or can become, superuser: SET ROLE to a superuser role makes the
  // session superuser, and CREATEROLE or the server-file roles lead there (CREATEROLE can grant
  // itself pg_execute_server_program, which runs programs as the server's OS user). A temporary
  // grant must never hand out the power to make itself permanent or erase the trail. `pg_has_role`
  // with MEMBER follows memberships transitively and counts the role itself; a superuser counts as a
  // member of every role, hence the role itself sorts first in the message.
  private async assertGrantable(client: pg.PoolClient, role: string): Promise<void> {
    if ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 0) {
      throw new ProviderError('misconfigured', KIND, `role "${role}" does not exist in the database`);
    }
    const powerful = await client.query<{ rolname: string; rolsuper: boolean; rolcreaterole: boolean }>(
      `SELECT rolname, rolsuper, rolcreaterole
         FROM pg_roles
        WHERE (rolsuper OR rolcreaterole OR rolname = ANY($2::text[]))
          AND pg_has_role($1, oid, 'MEMBER')
        ORDER BY rolname = $1 DESC, rolsuper DESC, rolname`,
      [role, SERVER_ACCESS_ROLES],
    );
    const first = powerful.rows[0];
    if (first !== undefined) {
      const power = first.rolsuper ? 'superuser' : first.rolcreaterole ? 'CREATEROLE' : 'server file or program access';
      const via = first.rolname === role ? '' : ` through "${first.rolname}"`;
      throw new ProviderError('misconfigured', KIND, `role "${role}" has ${power}${via}; prod-access grants only unprivileged roles`);
    }
  }

  private async loginRole(client: pg.PoolClient, login: string): Promise<LoginRole | undefined> {
    const rows = await client.query<LoginRole>(
      'SELECT rolsuper, rolcanlogin, rolname = current_user AS is_admin FROM pg_roles WHERE rolname = $1',
      [login],
    );
    return rows.rows[0];
  }

  private pool(url: string): pg.Pool {
    let pool = this.pools.get(url);
    if (pool === undefined) {
      pool = new pg.Pool({
        connectionString: url,
        max: 2,
        idleTimeoutMillis: 30_000,
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
        statement_timeout: this.options.statementTimeoutMs ?? 30_000,
        application_name: 'prod-access',
      });
      // NB: without a listener an idle connection's error (server restart) crashes the process.
      pool.on('error', (error) => this.options.onConnectionError?.(error));
      this.pools.set(url, pool);
    }
    return pool;
  }

  private async withClient<T>(url: string, action: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool(url).connect();
    } catch (error) {
      throw providerFailure(error, action);
    }
    try {
      const result = await work(client);
      client.release();
      return result;
    } catch (error) {
      // NB: a failed connection is discarded rather than handed to the next call.
      client.release(isConnectionFailure(error) ? asError(error) : undefined);
      throw providerFailure(error, action);
    }
  }
}

interface LoginRole {
  readonly rolsuper: boolean;
  readonly rolcanlogin: boolean;
  readonly is_admin: boolean;
}

// NB: revoke ends every session of the login; pointed at a superuser or at our own admin account
// (a mapping mistake) that would cut off the DBAs or the bot itself. A NOLOGIN role is a group:
// granting to it would give the role to all its members.
function assertPersonalLogin(found: LoginRole, login: string): void {
  if (found.is_admin) throw new ProviderError('misconfigured', KIND, `login "${login}" is the admin connection's own role`);
  if (found.rolsuper) throw new ProviderError('misconfigured', KIND, `login "${login}" is a superuser, not a personal login`);
  if (!found.rolcanlogin) throw new ProviderError('misconfigured', KIND, `"${login}" is not a login role (NOLOGIN)`);
}

async function isMember(client: pg.PoolClient, role: string, login: string): Promise<boolean> {
  const rows = await client.query(
    `SELECT 1
       FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid
       JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 AND u.rolname = $2`,
    [role, login],
  );
  return (rows.rowCount ?? 0) > 0;
}

async function terminateSessions(client: pg.PoolClient, login: string): Promise<void> {
  const signalled = await client.query<{ pid: number }>(
    `SELECT pid, pg_terminate_backend(pid, $2::bigint) AS ended
       FROM pg_stat_activity
      WHERE usename = $1 AND pid <> pg_backend_pid()`,
    [login, TERMINATE_WAIT_MS],
  );
  if (signalled.rows.length === 0) return;
  // NB: `ended` is false both for a session that outlived the wait and for one that closed by itself
  // between the listing and the signal; only the sessions still present count.
  const left = await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [signalled.rows.map((r) => r.pid)]);
  if ((left.rowCount ?? 0) > 0) {
    throw new ProviderError('unavailable', KIND, `${left.rowCount} session(s) of "${login}" did not end within ${TERMINATE_WAIT_MS / 1000} s`);
  }
}

/** Turns a driver error into a `ProviderError` that keeps it as `cause`; never includes the URL. */
function providerFailure(error: unknown, action: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const detail = messageOf(error);
  const state = sqlState(error);
  if (isConnectionFailure(error) || state === '57014') {
    return new ProviderError('unavailable', KIND, `${action}: PostgreSQL is unavailable${detail}`, { cause: error });
  }
  // 28xxx: authentication; 3D000: no such database; 42501: the admin role lacks a privilege.
  if (state !== undefined && (state.startsWith('28') || state === '3D000' || state === '42501')) {
    return new ProviderError('misconfigured', KIND, `${action}: the admin connection was refused${detail}`, { cause: error });
  }
  return new ProviderError('refused', KIND, `${action}${detail}`, { cause: error });
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' && message !== '' ? `: ${message}` : '';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
