import type { AccessRequest } from '../domain/access-request';
import { shortenToMaximum } from '../domain/lifecycle/shorten';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import type { Origin } from './origin';
import { revokeAccess } from './revoke-access';

/** What a policy change did to live grants. */
export interface PolicyEnforcement {
  /** Grants of roles the policy no longer has: revoked (or revoking, retried by the scheduler). */
  readonly revoked: readonly AccessRequest['id'][];
  /** Grants longer than their role's new maximum: expiry moved in. */
  readonly shortened: readonly AccessRequest['id'][];
}

// NB: live grants are few (people, not machines); one page covers any real deployment.
const LIVE_GRANTS_LIMIT = 100_000;

/**
 * Brings live grants in line with the policy in force: a grant whose role was removed is revoked
 * (cause `policy_changed`), and one whose total now passes its role's lowered maximum is shortened
 * to it. Idempotent: run it whenever a policy comes into force, on any replica, as often as needed.
 */
export async function enforcePolicy(ctx: AppContext, origin: Origin): Promise<PolicyEnforcement> {
  const loaded = ctx.policy.current();
  const live = await ctx.store.listRequests({ states: ['active'], limit: LIVE_GRANTS_LIMIT });
  const revoked: AccessRequest['id'][] = [];
  const shortened: AccessRequest['id'][] = [];
  for (const request of live) {
    if (request.kind !== 'access' || !request.grant) continue;
    const role = loaded.policy.roles.get(request.role);
    const log = ctx.logger.child({ requestId: request.id, role: request.role });
    if (!role) {
      try {
        const outcome = await revokeAccess(ctx, request.id, undefined, 'policy_changed', origin);
        if (outcome.ok && outcome.changed) revoked.push(request.id);
      } catch (err) {
        // NB: the request is `revoking` and stays due: the scheduler retries it and alerts.
        log.error({ err }, 'revoking access to a role the policy removed failed; the scheduler retries it');
        revoked.push(request.id);
      }
      continue;
    }
    const outcome = await ctx.store.transaction(async (tx) => {
      const current = await tx.lockRequest(request.id);
      if (!current) return notFound(request.id);
      const now = ctx.clock.now();
      return commitTransition(tx, shortenToMaximum(current, role.maxDuration, now), origin, loaded.sha256, now);
    });
    if (outcome.ok && outcome.changed) {
      shortened.push(request.id);
      log.info({ expiresAt: outcome.value.grant?.expiresAt }, 'grant shortened to the role\'s new maximum');
    }
  }
  return { revoked, shortened };
}
