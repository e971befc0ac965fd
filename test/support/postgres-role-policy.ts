import { examplePolicyText } from './app-harness';

/**
 * The example policy plus a `pg-readonly` role on the PostgreSQL provider (admin URL from
 * `PA_TEST_ADMIN_URL`) granting `role`, and each person's own login (`logins`: e-mail to login)
 * mapped in `identities`. It ends with `identities`, so a test may append top-level keys.
 */
export function postgresRolePolicy(role: string, logins: Readonly<Record<string, string>>): string {
  return (
    examplePolicyText +
    `
  pg-readonly:
    description: Read-only on the test PostgreSQL
    provider: postgres
    target: { connectionEnv: PA_TEST_ADMIN_URL, role: ${role} }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 1
    maxDuration: 4h
    ticket: { pattern: "^OPS-[0-9]+$" }
    # NB: the CLI tests (in-process as OS user tester, and as separate processes) play every part.
    cli: { operators: ["*any-os-user*"], sameOperatorMayActTwice: true }

identities:
${Object.entries(logins).map(([person, login]) => `  ${person}: { postgres: ${login} }\n`).join('')}`
  );
}
