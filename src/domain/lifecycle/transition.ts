import type { AccessRequest } from '../access-request';
import type { AuditAction, AuditEvent } from '../audit-event';
import { type RichText, toPlainText, verbatim } from '../rich-text';

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
] as const;
export type RefusalCode = (typeof refusalCodes)[number];

/** A rule said no. Carries a sentence for the person who asked. */
export interface Refusal {
  readonly code: RefusalCode;
  /** The sentence as plain text (the CLI, logs, Slack's plain-text form errors). */
  readonly message: string;
  /**
   * The same sentence with the bot's words and what the person typed kept apart, for chat to
   * format; set where it quotes input or formats a command. Without it chat shows `message` verbatim.
   */
  readonly text?: RichText;
}

/** A refusal from plain words or from a sentence built with `say`. */
export function refusal(code: RefusalCode, message: string | RichText): Refusal {
  return typeof message === 'string' ? { code, message } : { code, message: toPlainText(message), text: message };
}

/** What chat shows for a refusal: its formatted sentence, or its plain message as is. */
export function refusalText(refusal: Refusal): RichText {
  return refusal.text ?? [verbatim(refusal.message)];
}

/**
 * The outcome of a transition: the next request and the audit events to write with it, or a
 * refusal. `events` is empty for a repeat (a second click, a redelivery): nothing to write.
 */
export type Transition = { ok: true; request: AccessRequest; events: AuditEvent[] } | { ok: false; refusal: Refusal };

export function refuse(code: RefusalCode, message: string | RichText): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: refusal(code, message) };
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
