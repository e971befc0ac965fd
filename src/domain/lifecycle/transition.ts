import type { AccessRequest } from '../access-request';
import type { AuditAction, AuditEvent } from '../audit-event';
import { assertNever } from '../assert-never';
import { type RichText, say, toPlainText, verbatim } from '../rich-text';

export const refusalCodes = [
  'unknown_role',
  'not_eligible',
  'bad_duration',
  'duration_too_long',
  'bad_ticket',
  'bad_reason',
  'break_glass_not_allowed',
  'not_pending',
  'not_active',
  'self_approval',
  'not_approver',
  'not_requester',
  'not_authorised',
  'extension_too_long',
  'already_extending',
  'cli_not_allowed',
  'same_operator',
  /** The provider cannot grant this at all (no principal, unusable target, sessions too long). */
  'provider_refused',
  /** The provider did not answer the check made before any approval; nothing was recorded. */
  'provider_unavailable',
  /** An alert id that names no alert. */
  'no_such_alert',
] as const;
export type RefusalCode = (typeof refusalCodes)[number];

/**
 * The next step a refusal points to, as something to look at, not as a command to type: each front
 * end names its own command for it (`/prod-access roles` in chat, `prod-access roles --as …` on the
 * CLI). NB: the domain serves every front end, so it never spells one's syntax.
 */
export const refusalHints = ['roles', 'list'] as const;
export type RefusalHint = (typeof refusalHints)[number];

/** A rule said no. Carries a sentence for the person who asked. */
export interface Refusal {
  readonly code: RefusalCode;
  /** The sentence as plain text, without the next step (logs, Slack's plain-text form errors). */
  readonly message: string;
  /**
   * The same sentence with the bot's words and what the person typed kept apart, for chat to
   * format; set where it quotes input. Without it the sentence is `message`, shown as is.
   */
  readonly text?: RichText;
  /** Where to look next; the front end that shows the refusal words it (see `refusalText`). */
  readonly hint?: RefusalHint;
}

/** A refusal from plain words or from a sentence built with `say`. */
export function refusal(code: RefusalCode, message: string | RichText, hint?: RefusalHint): Refusal {
  const base = typeof message === 'string' ? { code, message } : { code, message: toPlainText(message), text: message };
  return hint ? { ...base, hint } : base;
}

/**
 * A refusal as the front end that shows it says it: the sentence, then its next step in that front
 * end's own words (`nextStep`). Required, so no front end can print another one's commands.
 */
export function refusalText(refusal: Refusal, nextStep: (hint: RefusalHint) => RichText): RichText {
  const sentence = refusal.text ?? [verbatim(refusal.message)];
  return refusal.hint ? say`${sentence} ${nextStep(refusal.hint)}` : sentence;
}

/** The words of a next step, with `command` being how this front end spells the command for it. */
export function nextStepWords(hint: RefusalHint, command: (verb: RefusalHint) => RichText): RichText {
  switch (hint) {
    case 'roles':
      return say`${command('roles')} to see the roles you may request.`;
    case 'list':
      return say`${command('list')} to see your requests and their ids.`;
    default:
      return assertNever(hint);
  }
}

/**
 * The outcome of a transition: the next request and the audit events to write with it, or a
 * refusal. `events` is empty for a repeat (a second click, a redelivery): nothing to write.
 */
export type Transition = { ok: true; request: AccessRequest; events: AuditEvent[] } | { ok: false; refusal: Refusal };

export function refuse(code: RefusalCode, message: string | RichText, hint?: RefusalHint): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: refusal(code, message, hint) };
}

/** The facts every request event carries: resource (role and target), ticket, reason. */
export function requestFacts(request: AccessRequest): Record<string, unknown> {
  return {
    kind: request.kind,
    ...(request.parentId ? { parentId: request.parentId } : {}),
    requester: request.requester,
    role: request.role,
    resource: { provider: request.resource.provider, target: request.resource.target },
    ticket: request.ticket,
    reason: request.reason,
    breakGlass: request.breakGlass,
  };
}

export function requestEvent(
  action: AuditAction,
  actor: string,
  request: AccessRequest,
  extra: Record<string, unknown> = {},
): AuditEvent {
  return { action, actor, requestId: request.id, data: { ...requestFacts(request), ...extra } };
}
