import type { AccessRequest } from '../domain/access-request';
import type { Refusal } from '../domain/lifecycle/transition';
import { requestIdFromBytes } from '../domain/request-id';
import { openRequest, type RequestInput } from '../domain/lifecycle/open-request';
import type { AppContext } from './app-context';
import { StoreError } from './errors';
import { checkAtProvider } from './check-at-provider';
import { grantAccess } from './grant-access';
import type { Origin } from './origin';
import { actingVia, stamp } from './origin';
import type { Outcome } from './outcome';

const ID_ATTEMPTS = 5;
// NB: never stored: a dry run only asks the rules.
const DRY_RUN_ID = requestIdFromBytes(new Uint8Array(5));

/**
 * Asks the rules whether this request would be accepted now, without writing anything: for forms
 * that must answer at once (Slack gives a modal 3 seconds) and commit afterwards.
 */
export function dryRunRequest(ctx: AppContext, input: RequestInput): Refusal | undefined {
  const transition = openRequest(input, DRY_RUN_ID, ctx.policy.current(), ctx.clock.now());
  return transition.ok ? undefined : transition.refusal;
}

/**
 * Opens a request for access. A break-glass request is granted at once and flagged for review
 * after the fact; a normal one waits for its approvers.
 */
export async function requestAccess(ctx: AppContext, input: RequestInput, origin: Origin): Promise<Outcome<AccessRequest>> {
  const loaded = ctx.policy.current();
  for (let attempt = 1; ; attempt++) {
    const now = ctx.clock.now();
    const transition = openRequest(input, ctx.ids.newRequestId(), loaded, now, actingVia(origin));
    if (!transition.ok) return transition;
    // NB: once per request, not per id attempt: the provider's answer does not depend on the id.
    if (attempt === 1) {
      const refusal = await checkAtProvider(ctx, transition.request, loaded, now);
      if (refusal) return { ok: false, refusal };
    }
    try {
      await ctx.store.transaction(async (tx) => {
        await tx.insertRequest(transition.request);
        await tx.appendAudit(stamp(transition.events, origin, loaded.sha256), now);
        // NB: break-glass is approved at once; this process makes the first grant attempt (see approveRequest).
        if (transition.request.state === 'approved') await tx.leaseGrant(transition.request.id, ctx.work.instance, new Date(now.getTime() + ctx.work.leaseMs));
      });
    } catch (error) {
      // NB: 40 random bits make a collision rare but not impossible; the primary key guarantees
      // an id is never reused, and a fresh id is simply drawn again.
      if (error instanceof StoreError && error.code === 'duplicate_id' && attempt < ID_ATTEMPTS) continue;
      throw error;
    }
    ctx.logger.info({ requestId: transition.request.id, role: transition.request.role, breakGlass: transition.request.breakGlass }, 'request opened');
    if (transition.request.state === 'approved') {
      const granted = await grantAccess(ctx, transition.request.id, origin, { owner: ctx.work.instance, attempts: 0 });
      return granted.ok ? { ok: true, value: granted.value, changed: true } : granted;
    }
    return { ok: true, value: transition.request, changed: true };
  }
}
