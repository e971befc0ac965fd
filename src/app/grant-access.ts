import type { AccessRequest } from '../domain/access-request';
import { grantFailedAlert } from '../domain/alert';
import { grantWindow, markGrantFailed, markGranted } from '../domain/lifecycle/grant';
import { retryDelayMs } from '../domain/retry-backoff';
import type { GrantSpec, IamProvider } from '../ports/iam-provider';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import { ProviderError } from './errors';
import type { Origin } from './origin';
import type { Outcome } from './outcome';
import { raiseAlert } from './raise-alert';

export function grantSpecOf(request: AccessRequest, expiresAt: Date): GrantSpec {
  return {
    requestId: request.id,
    role: request.role,
    principal: request.requester,
    provider: request.resource.provider,
    target: request.resource.target,
    expiresAt,
    reason: request.reason,
    ticket: request.ticket,
  };
}

export function providerFor(ctx: AppContext, request: AccessRequest): IamProvider {
  const provider = ctx.iam.get(request.resource.provider);
  if (!provider) {
    throw new ProviderError('misconfigured', request.resource.provider, `no IAM provider "${request.resource.provider}" is configured in this process`);
  }
  return provider;
}

/** The grant lease the caller holds: taken with the approval, or claimed by the scheduler. */
export interface GrantClaim {
  readonly owner: string;
  /** Failed attempts before this one. */
  readonly attempts: number;
}

/**
 * Asks the provider to grant an approved request, then records it `active` with its clock starting
 * now. The caller holds the request's grant lease, so no other process grants it at the same time.
 * - The provider refuses for good (`refused`, `misconfigured`): the request is `failed` and security
 *   is alerted.
 * - The provider is unavailable: the request stays `approved`, the attempt is counted and the
 *   scheduler retries it after a backoff; after `work.grantMaxAttempts` failures it is `failed` and
 *   security is alerted. Either way the outcome is the request as it now stands, never a throw, so
 *   the approver is told that the approval counted.
 */
export async function grantAccess(ctx: AppContext, id: AccessRequest['id'], origin: Origin, claim: GrantClaim): Promise<Outcome<AccessRequest>> {
  const request = await ctx.store.findRequest(id);
  if (!request) return notFound(id);
  if (request.state === 'active') return { ok: true, value: request, changed: false };
  if (request.state !== 'approved' || request.kind !== 'access') {
    return { ok: false, refusal: { code: 'not_pending', message: `Request ${id} is not approved, so it cannot be granted.` } };
  }
  const log = ctx.logger.child({ requestId: id, provider: request.resource.provider });
  // NB: the policy in force now governs the grant, not the one the request was opened or approved
  // under: a retry hours later may find the role's maximum lowered, or the role gone.
  const loaded = ctx.policy.current();
  const role = loaded.policy.roles.get(request.role);
  if (!role) {
    log.info('the role left the policy before the grant; nothing is granted and the request ends');
    const now = ctx.clock.now();
    return ctx.store.transaction(async (tx) => {
      const current = await tx.lockRequest(id);
      if (!current) return notFound(id);
      const ended = markGrantFailed(current, `role ${request.role} is no longer in the policy, so nothing was granted`, now, 'policy_changed');
      return commitTransition(tx, ended, origin, loaded.sha256, now);
    });
  }
  // NB: one instant for the provider's expiry and the bot's: a cloud that ends access itself (GCP,
  // Azure) must not end it before the bot says it ends, by however long the call took.
  const startedAt = ctx.clock.now();
  try {
    await providerFor(ctx, request).grant(grantSpecOf(request, grantWindow(request, role.maxDuration, startedAt).expiresAt));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const permanent = error instanceof ProviderError && (error.code === 'refused' || error.code === 'misconfigured');
    // NB: recorded for a permanent refusal too, so the person told "the provider refused" is told why.
    const attempts = await ctx.store.recordGrantFailure(id, claim.owner, message, new Date(ctx.clock.now().getTime() + retryDelayMs(claim.attempts + 1, ctx.work.random.next())));
    if (!permanent && attempts < ctx.work.grantMaxAttempts) {
      log.warn({ err: error, attempts }, 'grant failed; the request stays approved and the grant is retried');
      return { ok: true, value: request, changed: false };
    }
    log.error({ err: error, attempts }, 'grant given up: the request is failed and security is alerted');
    const now = ctx.clock.now();
    return ctx.store.transaction(async (tx) => {
      const current = await tx.lockRequest(id);
      if (!current) return notFound(id);
      const failed = await commitTransition(tx, markGrantFailed(current, message, now), origin, loaded.sha256, now);
      if (failed.ok && failed.changed) await raiseAlert(tx, grantFailedAlert(current, attempts, message), origin, loaded.sha256, now, failed.value);
      return failed.ok ? { ...failed, value: { ...failed.value, grantError: message } } : failed;
    });
  }
  const now = ctx.clock.now();
  const outcome = await ctx.store.transaction(async (tx) => {
    const current = await tx.lockRequest(id);
    if (!current) return notFound(id);
    return commitTransition(tx, markGranted(current, role.maxDuration, startedAt), origin, loaded.sha256, now);
  });
  if (outcome.ok && outcome.changed) log.info({ expiresAt: outcome.value.grant?.expiresAt }, 'access granted');
  return outcome;
}
