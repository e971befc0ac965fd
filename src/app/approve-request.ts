import type { AccessRequest } from '../domain/access-request';
import type { Email } from '../domain/email';
import { approve } from '../domain/lifecycle/approve';
import { applyExtension } from '../domain/lifecycle/extend';
import type { LoadedPolicy } from '../domain/policy';
import type { RequestId } from '../domain/request-id';
import type { AppContext } from './app-context';
import { commitTransition, notFound } from './commit-transition';
import { describeFailure, ProviderError } from './errors';
import { grantAccess, grantSpecOf } from './grant-access';
import type { Origin } from './origin';
import { actingVia, stamp } from './origin';
import type { Outcome } from './outcome';

/**
 * Records an approval. Concurrent clicks and redeliveries are serialised on the request's row
 * lock, so exactly one of them completes the approval. When the last approval arrives the
 * access is granted (or, for an extension, the live grant is extended in the same transaction).
 */
export async function approveRequest(
  ctx: AppContext,
  id: RequestId,
  by: Email,
  origin: Origin,
  /** Policy groups the chat platform vouches `by` belongs to (Slack user groups). */
  platformGroups?: ReadonlySet<string>,
): Promise<Outcome<AccessRequest>> {
  const loaded = ctx.policy.current();
  const moved = await moveProviderExpiry(ctx, id, by, origin, loaded, platformGroups);
  if (moved) return moved;
  const outcome = await ctx.store.transaction(async (tx): Promise<Outcome<AccessRequest>> => {
    const request = await tx.lockRequest(id);
    if (!request) return notFound(id);
    const now = ctx.clock.now();
    const transition = approve(request, by, loaded.policy, now, platformGroups, actingVia(origin));
    if (!transition.ok || transition.request.kind !== 'extension' || transition.request.state !== 'approved' || transition.events.length === 0) {
      const committed = await commitTransition(tx, transition, origin, loaded.sha256, now);
      // NB: the lease commits with the approval, so the scheduler leaves the first grant attempt to
      // this process; if it dies before granting, the lease lapses and the scheduler grants.
      if (committed.ok && committed.changed && committed.value.state === 'approved') {
        await tx.leaseGrant(id, ctx.work.instance, new Date(now.getTime() + ctx.work.leaseMs));
      }
      return committed;
    }
    // NB: lock order is always extension, then parent; nothing locks a parent before its extension.
    const parent = request.parentId ? await tx.lockRequest(request.parentId) : undefined;
    if (!parent) return notFound(request.parentId ?? id);
    const applied = applyExtension(parent, transition.request, loaded.policy, now);
    const extension = await tx.saveRequest(applied.extension);
    if (applied.parent !== parent) await tx.saveRequest(applied.parent);
    await tx.appendAudit(stamp([...transition.events, ...applied.events], origin, loaded.sha256), now);
    return { ok: true, value: extension, changed: true };
  });
  // NB: only the click that approved grants; a repeat finds the grant made, or in the scheduler's hands.
  if (outcome.ok && outcome.changed && outcome.value.kind === 'access' && outcome.value.state === 'approved') {
    const granted = await grantAccess(ctx, id, origin, { owner: ctx.work.instance, attempts: 0 });
    return granted.ok ? { ...granted, changed: true } : granted;
  }
  return outcome;
}

/**
 * When this approval would complete an extension, moves the provider's own expiry of the live grant
 * (a GCP condition, an Azure schedule) BEFORE the bot records the new end: the cloud must never end
 * access before the bot does. If the provider does not confirm, nothing is recorded and the approver
 * is told to try again; if the approval then does not complete after all (a race), the cloud's end
 * is later than the bot's, which the bot's own revocation still enforces on time.
 * NB: predicted on an unlocked read, with the same pure rules the transaction applies.
 */
async function moveProviderExpiry(
  ctx: AppContext,
  id: RequestId,
  by: Email,
  origin: Origin,
  loaded: LoadedPolicy,
  platformGroups: ReadonlySet<string> | undefined,
): Promise<Outcome<AccessRequest> | undefined> {
  const request = await ctx.store.findRequest(id);
  if (!request || request.kind !== 'extension' || request.state !== 'pending' || !request.parentId) return undefined;
  const provider = ctx.iam.get(request.resource.provider);
  if (!provider?.extend) return undefined;
  const now = ctx.clock.now();
  const transition = approve(request, by, loaded.policy, now, platformGroups, actingVia(origin));
  if (!transition.ok || transition.request.state !== 'approved') return undefined;
  const parent = await ctx.store.findRequest(request.parentId);
  if (!parent) return undefined;
  const applied = applyExtension(parent, transition.request, loaded.policy, now);
  const expiresAt = applied.parent.grant?.expiresAt;
  if (applied.parent === parent || !expiresAt) return undefined;
  try {
    await provider.extend(grantSpecOf(parent, expiresAt));
    return undefined;
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    ctx.logger.warn({ err: error, requestId: id, parentId: parent.id }, 'the provider did not move its expiry; the extension approval is not recorded');
    const permanent = error.code === 'refused' || error.code === 'misconfigured';
    return {
      ok: false,
      refusal: { code: permanent ? 'provider_refused' : 'provider_unavailable', message: `Your approval of ${id} was not recorded: ${describeFailure(error)}` },
    };
  }
}
