import canonicalize from 'canonicalize';
import { and, eq } from 'drizzle-orm';
import type { Clock } from '../../../ports/clock';
import { parseEmail } from '../../../domain/email';
import type { GrantSpec, IamProvider, ProviderAccess } from '../../../ports/iam-provider';
import type { StoreDatabase } from '../../store/open-database';
import { localIamMemberships } from '../../store/schema';

/**
 * The embedded default provider: records memberships in the bot's own database, so the whole
 * flow (grant, expiry, revocation, audit) runs with no cloud. It grants nothing outside the bot;
 * other systems may read `local_iam_memberships` to decide access.
 */
export class LocalIamProvider implements IamProvider {
  readonly kind = 'local';

  constructor(
    private readonly db: StoreDatabase,
    private readonly clock: Clock,
  ) {}

  async grant(spec: GrantSpec): Promise<void> {
    await this.db
      .insert(localIamMemberships)
      .values({ principal: spec.principal, role: spec.role, targetKey: targetKey(spec.target), grantedAt: this.clock.now() })
      .onConflictDoNothing();
  }

  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    const removed = await this.db
      .delete(localIamMemberships)
      .where(
        and(
          eq(localIamMemberships.principal, spec.principal),
          eq(localIamMemberships.role, spec.role),
          eq(localIamMemberships.targetKey, targetKey(spec.target)),
        ),
      )
      .returning({ principal: localIamMemberships.principal });
    return { removed: removed.length > 0 };
  }

  /** The memberships of each role's target, as drift reconciliation compares them with live grants. */
  async listGranted(roles: readonly { readonly role: string; readonly target: Readonly<Record<string, string>> }[]): Promise<readonly ProviderAccess[]> {
    const rows = await this.db.select().from(localIamMemberships);
    return roles.flatMap(({ role, target }) => {
      const key = targetKey(target);
      return rows
        .filter((r) => r.role === role && r.targetKey === key)
        .map((r) => {
          const person = parseEmail(r.principal);
          return { role, principal: r.principal, ...(person ? { person } : {}), detail: `local membership of ${r.principal} in ${role} ${key}, recorded ${r.grantedAt.toISOString()}` };
        });
    });
  }

  async revokeFound(access: ProviderAccess, target: Readonly<Record<string, string>>): Promise<{ removed: boolean }> {
    const removed = await this.db
      .delete(localIamMemberships)
      .where(and(eq(localIamMemberships.principal, access.principal), eq(localIamMemberships.role, access.role), eq(localIamMemberships.targetKey, targetKey(target))))
      .returning({ principal: localIamMemberships.principal });
    return { removed: removed.length > 0 };
  }

  /** Current memberships, for the CLI and tests. */
  async memberships(): Promise<{ principal: string; role: string; target: Record<string, string> }[]> {
    const rows = await this.db.select().from(localIamMemberships);
    return rows.map((r) => ({ principal: r.principal, role: r.role, target: JSON.parse(r.targetKey) as Record<string, string> }));
  }
}

function targetKey(target: Readonly<Record<string, string>>): string {
  return canonicalize(target) ?? '{}';
}
