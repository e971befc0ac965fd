import type { AccessRequest } from '../domain/access-request';
import type { Refusal, Transition } from '../domain/lifecycle/transition';
import type { StoreTransaction } from '../ports/access-store';
import type { Origin } from './origin';
import { stamp } from './origin';
import type { Outcome } from './outcome';
import type { RequestId } from '../domain/request-id';

/**
 * Writes a transition's next state and its audit events in the caller's transaction. A repeat
 * (no events) writes nothing and reports `changed: false`.
 */
export async function commitTransition(
  tx: StoreTransaction,
  transition: Transition,
  origin: Origin,
  policySha: string,
  at: Date,
): Promise<Outcome<AccessRequest>> {
  if (!transition.ok) return transition;
  if (transition.events.length === 0) return { ok: true, value: transition.request, changed: false };
  const saved = await tx.saveRequest(transition.request);
  await tx.appendAudit(stamp(transition.events, origin, policySha), at);
  return { ok: true, value: saved, changed: true };
}

export function notFound(id: RequestId | string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { code: 'not_pending', message: `There is no request ${id}.`, hint: 'list' } };
}

/**
 * `commitTransition` for many transitions at once: one save for all the changed requests and one
 * append for all their events, in the caller's transaction. Outcomes come back in the same order.
 */
export async function commitTransitions(
  tx: StoreTransaction,
  transitions: readonly Transition[],
  origin: Origin,
  policySha: string,
  at: Date,
): Promise<Outcome<AccessRequest>[]> {
  const changed = transitions.flatMap((t) => (t.ok && t.events.length > 0 ? [t] : []));
  const saved = new Map((await tx.saveRequests(changed.map((t) => t.request))).map((r) => [r.id, r]));
  await tx.appendAudit(stamp(changed.flatMap((t) => t.events), origin, policySha), at);
  return transitions.map((t): Outcome<AccessRequest> => {
    if (!t.ok) return t;
    const after = t.events.length > 0 ? saved.get(t.request.id) : undefined;
    return after ? { ok: true, value: after, changed: true } : { ok: true, value: t.request, changed: false };
  });
}
