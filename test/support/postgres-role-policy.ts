import { examplePolicyText } from './app-harness';

/**
 * The example policy plus a `pg-readonly` role on the PostgreSQL provider (admin URL from
 * `PA_TEST_ADMIN_URL`) granting `role`, and dave's own login mapped in `identities`.
 */
export function postgresRolePolicy(role: string, daveLogin: string): string {
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
  dave@example.com: { postgres: ${daveLogin} }
`
  );
}
