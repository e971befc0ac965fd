import type { AccessRequest } from '../domain/access-request';
import { addMinutes } from '../domain/duration';
import { markGrantFailed, markGranted } from '../domain/lifecycle/grant';
import type { GrantSpec, IamProvider } from '../ports/iam-provider';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import { ProviderError } from './errors';
import type { Origin } from './origin';
import type { Outcome } from './outcome';

export function grantSpecOf(request: AccessRequest, expiresAt: Date): GrantSpec {
  return {
    requestId: request.id,
    role: request.role,
    principal: request.requester,
    provider: request.resource.provider,
    target: request.resource.target,
    expiresAt,
  };
}

export function providerFor(ctx: AppContext, request: AccessRequest): IamProvider {
  const provider = ctx.iam.get(request.resource.provider);
  if (!provider) {
    throw new ProviderError('misconfigured', request.resource.provider, `no IAM provider "${request.resource.provider}" is configured in this process`);
  }
  return provider;
}

/**
 * Asks the provider to grant an approved request, then records it `active` with its clock
 * starting now. A provider that refuses for good fails the request; one that is unavailable
 * leaves it `approved`, to be granted again (grants are idempotent), and the error is thrown.
 */
export async function grantAccess(ctx: AppContext, id: AccessRequest['id'], origin: Origin): Promise<Outcome<AccessRequest>> {
  const request = await ctx.store.findRequest(id);
  if (!request) return notFound(id);
  if (request.state === 'active') return { ok: true, value: request, changed: false };
  if (request.state !== 'approved' || request.kind !== 'access') {
    return { ok: false, refusal: { code: 'not_pending', message: `Request ${id} is not approved, so it cannot be granted.` } };
  }
  const log = ctx.logger.child({ requestId: id, provider: request.resource.provider });
  const loaded = ctx.policy.current();
  try {
    await providerFor(ctx, request).grant(grantSpecOf(request, addMinutes(ctx.clock.now(), request.duration)));
  } catch (error) {
    const permanent = error instanceof ProviderError && error.code !== 'unavailable';
    log.error({ err: error }, permanent ? 'grant refused by provider' : 'grant failed, will be retried');
    if (!permanent) throw error;
    const now = ctx.clock.now();
    return ctx.store.transaction(async (tx) => {
      const current = await tx.lockRequest(id);
      if (!current) return notFound(id);
      return commitTransition(tx, markGrantFailed(current, (error as Error).message, now), origin, loaded.sha256, now);
    });
  }
  const now = ctx.clock.now();
  const outcome = await ctx.store.transaction(async (tx) => {
    const current = await tx.lockRequest(id);
    if (!current) return notFound(id);
    return commitTransition(tx, markGranted(current, now), origin, loaded.sha256, now);
  });
  if (outcome.ok && outcome.changed) log.info({ expiresAt: outcome.value.grant?.expiresAt }, 'access granted');
  return outcome;
}
