import { isReviewed } from '../domain/access-request';
import { breakGlassUnreviewedAlert } from '../domain/alert';
import type { AppContext } from './app-context';
import type { Origin } from './origin';
import { raiseAlert } from './raise-alert';

const origin: Origin = { via: 'scheduler' };

/**
 * Alerts security, once per request, about break-glass access that got fewer reviews than its role
 * requires within its review window. Returns how many alerts were raised.
 */
export async function alertUnreviewedBreakGlass(ctx: AppContext, limit: number): Promise<number> {
  const ids = await ctx.store.unreviewedBreakGlass(ctx.clock.now(), limit);
  let raised = 0;
  for (const id of ids) {
    const loaded = ctx.policy.current();
    const wasRaised = await ctx.store.transaction(async (tx) => {
      const request = await tx.lockRequest(id);
      if (!request || isReviewed(request)) return false;
      return (await raiseAlert(tx, breakGlassUnreviewedAlert(request), origin, loaded.sha256, ctx.clock.now(), request)) !== undefined;
    });
    if (wasRaised) {
      raised += 1;
      ctx.logger.warn({ requestId: id }, 'break-glass access not reviewed in time; security alerted');
    }
  }
  return raised;
}
