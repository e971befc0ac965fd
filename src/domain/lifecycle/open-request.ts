import type { AccessRequest } from '../access-request';
import { checkCliDecision, viaChat, type ActingVia } from '../acting-via';
import { formatDuration, parseDuration, addMinutes, type Minutes } from '../duration';
import type { Email } from '../email';
import { matchesAny, type LoadedPolicy, type RolePolicy } from '../policy';
import type { RequestId } from '../request-id';
import { say } from '../rich-text';
import { cleanText, quoteInput } from '../text';
import { refusal, refuse, requestEvent, type Refusal, type Transition } from './transition';

export const MAX_REASON_LENGTH = 500;
export const MAX_TICKET_LENGTH = 64;
const TICKET_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.:#/-]*$/;

/** What a person typed, untrusted, plus who they verifiably are. */
export interface RequestInput {
  readonly requester: Email;
  readonly role: string;
  /** Empty or absent: the role's default duration. */
  readonly duration?: string;
  readonly ticket: string;
  readonly reason: string;
  readonly breakGlass?: boolean;
}

/**
 * Opens a request. A normal request starts `pending`; a break-glass request starts `approved`
 * (to be granted at once) and its decision deadline becomes the review deadline.
 */
export function openRequest(input: RequestInput, id: RequestId, loaded: LoadedPolicy, now: Date, via: ActingVia = viaChat): Transition {
  const roleName = input.role.trim().toLowerCase();
  const role = loaded.policy.roles.get(roleName);
  if (!role) {
    return refuse('unknown_role', say`There is no role ${quoteInput(input.role)}.`, 'roles');
  }
  if (!matchesAny(loaded.policy, role.requesters, input.requester)) {
    return refuse('not_eligible', `You are not allowed to request ${role.name}: the policy does not list you among its requesters.`, 'roles');
  }
  const breakGlass = input.breakGlass === true;
  if (breakGlass && !role.breakGlass.allowed) {
    return refuse('break_glass_not_allowed', `Break-glass is not allowed for ${role.name}; make a normal request instead.`);
  }
  // NB: break-glass grants without approval, so from the CLI it is a decision like an approval.
  const cli = breakGlass ? checkCliDecision(role, role.name, via, 'open break-glass access') : { ok: true as const };
  if (!cli.ok) return cli;
  const duration = checkDuration(input.duration, role);
  if ('code' in duration) return { ok: false, refusal: duration };
  const ticket = checkTicket(input.ticket, role);
  if (typeof ticket !== 'string') return { ok: false, refusal: ticket };
  const reason = checkReason(input.reason, role.reason.minLength);
  if (typeof reason !== 'string') return { ok: false, refusal: reason };

  const request: AccessRequest = {
    id,
    kind: 'access',
    requester: input.requester,
    role: role.name,
    resource: { provider: role.provider, target: role.target },
    duration: duration.minutes,
    ticket,
    reason,
    breakGlass,
    state: breakGlass ? 'approved' : 'pending',
    approvalsRequired: role.approvals,
    approvals: [],
    createdAt: now,
    decisionDeadline: addMinutes(now, breakGlass ? role.breakGlass.reviewWithin : role.approvalTimeout),
    policySha: loaded.sha256,
    version: 0,
    ...(via.via === 'cli' ? { osUser: via.osUser } : {}),
  };
  return {
    ok: true,
    request,
    events: [
      requestEvent('request_opened', input.requester, request, {
        duration: formatDuration(request.duration),
        approvalsRequired: request.approvalsRequired,
        decisionDeadline: request.decisionDeadline.toISOString(),
        ...(cli.operator ? { operator: cli.operator } : {}),
      }),
    ],
  };
}

export function checkDuration(text: string | undefined, role: RolePolicy): { minutes: Minutes } | Refusal {
  if (text === undefined || text.trim() === '') return { minutes: role.defaultDuration };
  const parsed = parseDuration(text);
  // NB: past the absolute limit the duration has no minutes to show; the role's maximum is what the person needs to hear.
  if (!parsed.ok && parsed.problem === 'too_long') return tooLong(parsed.typed, role);
  if (!parsed.ok) return { code: 'bad_duration', message: `Duration ${parsed.message}.` };
  if (parsed.minutes > role.maxDuration) return tooLong(formatDuration(parsed.minutes), role);
  return { minutes: parsed.minutes };
}

function tooLong(shown: string, role: RolePolicy): Refusal {
  return { code: 'duration_too_long', message: `${shown} is longer than the ${formatDuration(role.maxDuration)} maximum for ${role.name}.` };
}

export function checkTicket(text: string, role: RolePolicy): string | Refusal {
  const ticket = text.trim();
  const expected = `a ticket matching ${role.ticket.pattern.source}${role.ticket.example ? `, such as ${role.ticket.example}` : ''}`;
  if (ticket === '') return { code: 'bad_ticket', message: `A ticket is required for ${role.name}: ${expected}.` };
  if (ticket.length > MAX_TICKET_LENGTH || !TICKET_SHAPE.test(ticket)) {
    return refusal('bad_ticket', say`${quoteInput(ticket, 20)} is not a ticket id: use one word, ${expected}.`);
  }
  if (!role.ticket.pattern.test(ticket)) {
    return refusal('bad_ticket', say`${quoteInput(ticket, 20)} is not a ticket for ${role.name}: expected ${expected}.`);
  }
  return ticket;
}

export function checkReason(text: string, minLength: number): string | Refusal {
  const reason = cleanText(text);
  if (reason.length > MAX_REASON_LENGTH) {
    return { code: 'bad_reason', message: `The reason is ${reason.length} characters long; keep it to ${MAX_REASON_LENGTH} and link the ticket for details.` };
  }
  const meaningful = (reason.match(/[\p{L}\p{N}]/gu) ?? []).length;
  // NB: "." or "..........": length alone is not a reason; ask for words.
  if (reason.length < minLength || meaningful < Math.ceil(minLength / 2)) {
    return {
      code: 'bad_reason',
      message: `Say why you need access, in at least ${minLength} characters of words (for example "payouts stuck since 09:00, need to inspect the queue").`,
    };
  }
  return reason;
}
