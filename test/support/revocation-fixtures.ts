import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import type { Outcome } from '../../src/app/outcome';
import { requestAccess } from '../../src/app/request-access';
import type { AccessRequest } from '../../src/domain/access-request';
import { SYSTEM_ACTOR, type AuditEvent } from '../../src/domain/audit-event';
import type { Minutes } from '../../src/domain/duration';
import { email } from '../../src/domain/email';
import type { RequestId } from '../../src/domain/request-id';
import type { GrantSpec, IamProvider } from '../../src/ports/iam-provider';
import { chatOrigin, cliOrigin, type Harness } from './app-harness';

export const dave = email('dave@example.com');
export const alice = email('alice@example.com');

/** A one-approval role on the provider the test can make fail (add to the example policy). */
export const flakyRole = oneApprovalRole('flaky-admin', 'flaky');

export function value(outcome: Outcome<AccessRequest>): AccessRequest {
  if (!outcome.ok) throw new Error(`refused: ${outcome.refusal.code}: ${outcome.refusal.message}`);
  return outcome.value;
}

/** Live access through the real flow: dave asks from the CLI, alice approves in chat, the provider grants. */
export async function activeGrant(h: Harness, role: 'prod-readonly' | 'flaky-admin', duration: string): Promise<AccessRequest> {
  const opened = value(await requestAccess(h.ctx, { requester: dave, role, duration, ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
  const granted = value(await approveRequest(h.ctx, opened.id, alice, chatOrigin));
  if (granted.state !== 'active') throw new Error(`expected active, got ${granted.state}`);
  return granted;
}

/** Audit actions recorded for one request, in order. */
export async function actionsFor(h: Harness, id: RequestId): Promise<string[]> {
  const head = await h.ctx.store.auditHead();
  const events = await h.ctx.store.readAudit(1, head?.seq ?? 0);
  return events.filter((e) => e.requestId === id).map((e) => e.action);
}

export interface GrantBookkeeping {
  readonly revokeAttempts: number;
  readonly nextAttemptAt: Date | null;
  readonly leaseOwner: string | null;
  readonly leaseUntil: Date | null;
  readonly lastError: string | null;
  readonly revokedAt: Date | null;
  readonly accessRemoved: boolean | null;
}

/** The scheduler's columns of a grant, read behind the store's back. */
export async function grantBookkeeping(database: Database, id: RequestId): Promise<GrantBookkeeping> {
  const statement =
    'SELECT revoke_attempts, next_attempt_at, lease_owner, lease_until, last_error, revoked_at, access_removed FROM grants WHERE request_id = $1';
  const { rows } =
    database.dialect === 'pglite'
      ? await database.client.query<Record<string, unknown>>(statement, [id])
      : await database.client.query<Record<string, unknown>>(statement, [id]);
  const row = rows[0];
  if (!row) throw new Error(`no grant for ${id}`);
  const instant = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string | Date));
  return {
    revokeAttempts: Number(row['revoke_attempts']),
    nextAttemptAt: instant(row['next_attempt_at']),
    leaseOwner: (row['lease_owner'] as string | null) ?? null,
    leaseUntil: instant(row['lease_until']),
    lastError: (row['last_error'] as string | null) ?? null,
    revokedAt: instant(row['revoked_at']),
    accessRemoved: (row['access_removed'] as boolean | null) ?? null,
  };
}

/**
 * `count` live grants written straight into the store (no approval flow), each for its own person
 * (`user<n>@example.com`, so no grant covers another's access), on `provider`, expiring at `expiresAt`.
 */
export async function insertActiveGrants(h: Harness, count: number, provider: string, expiresAt: Date): Promise<RequestId[]> {
  const ids: RequestId[] = [];
  const policySha = h.ctx.policy.current().sha256;
  const grantedAt = new Date(expiresAt.getTime() - 60 * 60_000);
  const CHUNK = 250;
  for (let start = 0; start < count; start += CHUNK) {
    await h.ctx.store.transaction(async (tx) => {
      // NB: with the events that create such rows, as the use cases write them, so the log and
      // the state agree (`audit verify` checks that every request and grant has its event).
      const events: AuditEvent[] = [];
      for (let i = start; i < Math.min(count, start + CHUNK); i++) {
        const id = h.ctx.ids.newRequestId();
        ids.push(id);
        const requester = `user${i}@example.com`;
        events.push({ action: 'request_opened', actor: requester, requestId: id, data: { role: 'bulk-role', policySha } });
        events.push({ action: 'access_granted', actor: SYSTEM_ACTOR, requestId: id, data: { role: 'bulk-role', expiresAt: expiresAt.toISOString(), policySha } });
        await tx.insertRequest({
          id,
          kind: 'access',
          requester: email(`user${i}@example.com`),
          role: 'bulk-role',
          resource: { provider, target: { environment: 'bulk' } },
          duration: 60 as Minutes,
          ticket: 'OPS-1',
          reason: 'bulk grant for the replica test',
          breakGlass: false,
          state: 'active',
          approvalsRequired: 1,
          approvals: [],
          createdAt: grantedAt,
          decisionDeadline: grantedAt,
          grant: { grantedAt, expiresAt },
          policySha,
          version: 0,
        });
      }
      await tx.appendAudit(events, grantedAt);
    });
  }
  return ids;
}

/** A provider that only counts: every revoke succeeds and is recorded with its request id. */
export class CountingProvider implements IamProvider {
  readonly revoked: RequestId[] = [];
  constructor(readonly kind: string = 'counting') {}
  async grant(_spec: GrantSpec): Promise<void> {}
  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    this.revoked.push(spec.requestId);
    return { removed: true };
  }
}

/** A one-approval role `cloud-admin` on a test provider of `kind` (add to the example policy); `extra` adds YAML lines. */
export function cloudAdminRole(kind: string, extra = ''): string {
  return oneApprovalRole('cloud-admin', kind, extra);
}

function oneApprovalRole(name: string, kind: string, extra = ''): string {
  return `
  ${name}:
    description: A role on the test provider ${kind}
    provider: ${kind}
    target: { account: "123" }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 1
    maxDuration: 4h
    ticket: { pattern: "^OPS-[0-9]+$" }
    # NB: the tests play every part from one OS user, as the README tour does.
    cli: { operators: [tester], sameOperatorMayActTwice: true }
${extra}`;
}
