import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import { isOffHours, type Policy } from '../../domain/policy';
import type { AppContext } from '../app-context';
import { viaCliNote } from '../origin';

export const riskFlags = ['break_glass', 'off_hours', 'first_time'] as const;
export type RiskFlag = (typeof riskFlags)[number];

/** The decisions a card offers right now. Break-glass offers only the after-the-fact review. */
export type CardAction = 'approve' | 'deny' | 'review';

/**
 * One platform-neutral view of a request for its approvers: Slack lays it out in Block Kit, Teams
 * as an Adaptive Card, with the same facts and the same buttons. Text fields hold user input as
 * typed; each platform escapes them for its own markup.
 */
export interface ApprovalCard {
  readonly request: AccessRequest;
  /** `dave@example.com asks for sandbox-admin for 2h`, or the extension/break-glass variant. */
  readonly headline: string;
  readonly fields: readonly { readonly label: string; readonly value: string }[];
  readonly flags: readonly { readonly flag: RiskFlag; readonly text: string }[];
  /** Where the request stands, for everyone in the channel: approvals so far, or how it ended. */
  readonly status: string;
  /** When the status involves a time, the instant (platforms render it in each reader's zone). */
  readonly statusAt?: Date;
  readonly actions: readonly CardAction[];
  /** The request is finished: the card is final and shows no buttons. */
  readonly settled: boolean;
}

/** Builds the card from the request as it now stands. `firstTime`: the requester never held this role. */
export function approvalCard(request: AccessRequest, policy: Policy, firstTime: boolean): ApprovalCard {
  const target = Object.entries(request.resource.target)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const fields = [
    // NB: from a terminal, the addresses are claims (`--as`): every CLI name says which OS user typed it.
    { label: 'Requester', value: `${request.requester}${viaCliNote(request.osUser)}` },
    { label: 'Role', value: request.role },
    { label: 'Target', value: `${request.resource.provider}${target ? ` (${target})` : ''}` },
    { label: request.kind === 'extension' ? 'Extra time' : 'Duration', value: formatDuration(request.duration) },
    { label: 'Ticket', value: request.ticket },
    { label: 'Reason', value: request.reason },
    ...(request.kind === 'extension' && request.parentId ? [{ label: 'Extends', value: request.parentId }] : []),
    { label: 'Request', value: request.id },
  ];
  const flags: { flag: RiskFlag; text: string }[] = [];
  if (request.breakGlass) flags.push({ flag: 'break_glass', text: 'Break-glass: granted at once, needs review afterwards' });
  if (isOffHours(policy, request.createdAt)) flags.push({ flag: 'off_hours', text: `Asked outside business hours (${policy.timezone})` });
  if (firstTime) flags.push({ flag: 'first_time', text: `First time ${request.requester} asks for ${request.role}` });
  const headline =
    request.kind === 'extension'
      ? `${request.requester} asks to extend ${request.role} by ${formatDuration(request.duration)}`
      : `${request.requester} asks for ${request.breakGlass ? 'break-glass ' : ''}${request.role} for ${formatDuration(request.duration)}`;
  const { status, statusAt } = describeStatus(request);
  const reviewOpen = request.breakGlass && request.approvals.length < request.approvalsRequired && ['active', 'revoking', 'revoked'].includes(request.state);
  const actions: CardAction[] = request.state === 'pending' ? ['approve', 'deny'] : reviewOpen ? ['review'] : [];
  const live = request.state === 'active' || (request.state === 'approved' && request.kind === 'access');
  return { request, headline, fields, flags, status, ...(statusAt ? { statusAt } : {}), actions, settled: actions.length === 0 && !live };
}

function describeStatus(request: AccessRequest): { status: string; statusAt?: Date } {
  const approvals = request.approvals.map((a) => `${a.approver}${viaCliNote(a.osUser)}`).join(', ');
  const counted = `${request.approvals.length} of ${request.approvalsRequired} ${request.breakGlass ? 'reviews' : 'approvals'}${approvals ? `: ${approvals}` : ''}`;
  switch (request.state) {
    case 'pending':
      return { status: `Waiting: ${counted}. Decide by`, statusAt: request.decisionDeadline };
    case 'approved':
      // NB: an approved extension is done (its time was added to the grant it extends); an approved
      // request is waiting for the provider.
      return request.kind === 'extension' ? { status: `Extension approved (${counted}); added to ${request.parentId ?? 'the grant'}` } : { status: `Approved (${counted}); granting` };
    case 'active':
      return { status: `Granted (${counted}) until`, statusAt: request.grant?.expiresAt ?? request.decisionDeadline };
    case 'revoking':
      return { status: `Access is being revoked (${counted})` };
    case 'revoked':
      return request.endCause === 'expired'
        ? { status: `Expired (${counted}) at`, statusAt: request.endedAt ?? request.decisionDeadline }
        : {
            status: `Revoked${request.endedBy ? ` by ${request.endedBy}${viaCliNote(request.endedByOsUser)}` : request.endCause === 'policy_changed' ? ' by a policy change' : ''} (${counted}) at`,
            statusAt: request.endedAt ?? request.decisionDeadline,
          };
    case 'denied':
      return { status: `Denied by ${request.denial?.by ?? 'an approver'}${viaCliNote(request.denial?.osUser)}: ${request.denial?.reason ?? ''}` };
    case 'cancelled':
      return { status: 'Cancelled by the requester' };
    case 'timed_out':
      return { status: `Timed out with ${counted}` };
    case 'failed':
      return { status: request.kind === 'extension' ? 'Extension could not be applied' : 'Failed: the provider could not grant it' };
  }
}

/** Whether the requester never held this role before (a risk flag on the card). */
export async function isFirstTime(ctx: AppContext, request: AccessRequest): Promise<boolean> {
  const earlier = await ctx.store.listRequests({ requester: request.requester, role: request.role, states: ['active', 'revoking', 'revoked'], limit: 2 });
  return !earlier.some((r) => r.id !== request.id && r.createdAt < request.createdAt);
}
