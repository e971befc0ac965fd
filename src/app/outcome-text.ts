import { isReviewed, type AccessRequest } from '../domain/access-request';
import { formatDuration } from '../domain/duration';
import type { Email } from '../domain/email';
import { describeState } from '../domain/lifecycle/approve';
import { say, type RichText } from '../domain/rich-text';
import type { AppContext } from './app-context';

/*
 * What a use case did, in one sentence that every front end shows: chat formats it, the CLI prints
 * it as plain text. NB: one wording per outcome, so chat and the CLI can never tell a person
 * different things about the same request (an extension applied, a review recorded, a repeat).
 */

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const iso = (at: Date | undefined) => at?.toISOString() ?? '?';
/** The provider's own words for a failed grant, when it gave any: ` (… )`. */
const because = (r: AccessRequest) => (r.grantError ? ` (${r.grantError})` : '');

/** A request just opened: waiting for approvals, or (break-glass) granted, waiting for the provider, or failed. */
export function openedText(r: AccessRequest): RichText {
  if (!r.breakGlass) {
    return say`Request ${r.id} for ${r.role} (${formatDuration(r.duration)}) is waiting for ${plural(r.approvalsRequired, 'approval')}. The clock starts when access is granted.`;
  }
  switch (r.state) {
    case 'active':
      return say`Break-glass access to ${r.role} granted until ${iso(r.grant?.expiresAt)} (request ${r.id}). Security has been told; it needs ${plural(r.approvalsRequired, 'review')} by ${iso(r.decisionDeadline)}.`;
    case 'failed':
      return say`Break-glass request ${r.id} for ${r.role} failed: the ${r.resource.provider} provider refused the grant${because(r)}. Security has been alerted.`;
    default:
      return say`Break-glass request ${r.id} for ${r.role} is approved; the ${r.resource.provider} provider has not granted it yet, and the grant is retried automatically.`;
  }
}

/** An extension just asked for. */
export function extensionOpenedText(r: AccessRequest): RichText {
  return say`Extension ${r.id} (${formatDuration(r.duration)} more on ${r.parentId ?? '?'}) is waiting for ${plural(r.approvalsRequired, 'approval')}.`;
}

/**
 * `by`'s approval of `r` as `approveRequest` returned it: an approval counted (and whether that
 * granted access), a break-glass review, an extension applied to its grant (read back for the new
 * expiry), or a repeat that changed nothing.
 */
export async function approvalText(ctx: AppContext, r: AccessRequest, changed: boolean, by: Email): Promise<RichText> {
  const counted = `${r.approvals.length} of ${r.approvalsRequired}`;
  const more = Math.max(0, r.approvalsRequired - r.approvals.length);
  if (!changed) {
    if (r.approvals.some((a) => a.approver === by)) return say`You had already ${r.breakGlass ? 'reviewed' : 'approved'} ${r.id}; nothing changed.`;
    return say`Request ${r.id} is ${describeState(r)}; your approval changed nothing.`;
  }
  if (r.breakGlass) {
    // NB: break-glass access is live before anyone approves: an approval is a review after the fact, never a grant.
    return isReviewed(r)
      ? say`Break-glass request ${r.id}: review ${counted} recorded; it is fully reviewed.`
      : say`Break-glass request ${r.id}: review ${counted} recorded; it needs ${more} more by ${iso(r.decisionDeadline)}.`;
  }
  if (r.kind === 'extension') {
    const parentId = r.parentId ?? '?';
    if (r.state === 'pending') return say`Extension ${r.id}: approval ${counted} recorded; it needs ${more} more.`;
    const parent = r.parentId ? await ctx.store.findRequest(r.parentId) : undefined;
    if (r.state === 'failed') {
      const why = parent && parent.state !== 'active' ? `request ${parentId} is ${describeState(parent)}` : `the role's maximum no longer allows that much time`;
      return say`Extension ${r.id} was approved but not applied: ${why}.`;
    }
    return parent?.grant
      ? say`Extension ${r.id} approved and applied: access of request ${parentId} (${r.role}) now runs until ${iso(parent.grant.expiresAt)} (${formatDuration(r.duration)} more).`
      : say`Extension ${r.id} approved and applied to request ${parentId}.`;
  }
  switch (r.state) {
    case 'pending':
      return say`${r.id}: approval ${counted} recorded; it needs ${more} more.`;
    case 'active':
      return say`${r.id} approved and granted until ${iso(r.grant?.expiresAt)}.`;
    case 'approved':
      return say`${r.id} approved; the ${r.resource.provider} provider did not grant it yet, and the grant is retried automatically.`;
    case 'failed':
      return say`${r.id} approved, but the ${r.resource.provider} provider refused the grant${because(r)}; the request failed and security has been alerted.`;
    default:
      return say`${r.id}: approval recorded; the request is ${describeState(r)}.`;
  }
}

export function cancelText(r: AccessRequest, changed: boolean): RichText {
  return changed ? say`Request ${r.id} is cancelled.` : say`Request ${r.id} was already cancelled; nothing changed.`;
}

export function revokeText(r: AccessRequest, changed: boolean): RichText {
  return changed ? say`Access of request ${r.id} (${r.role}) is revoked.` : say`Request ${r.id} was already ${r.state === 'revoked' ? 'revoked' : describeState(r)}; nothing changed.`;
}
