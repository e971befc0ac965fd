import type { AlertView } from '../../../app/chat/alert-view';
import type { ApprovalCard, CardAction, RiskFlag } from '../../../app/chat/approval-card';
import type { ChatReply } from '../../../app/chat/run-chat-command';
import type { AccessRequest } from '../../../domain/access-request';
import { formatDuration } from '../../../domain/duration';
import type { RolePolicy } from '../../../domain/policy';
import type { RichText } from '../../../domain/rich-text';
import { inputValue, localTime, plainBlocks, plainText, richBlocks, run, utcTime, type RichTextBlock } from './teams-text';

/** An Adaptive Card as the bot sends it. */
export interface AdaptiveCard {
  readonly type: 'AdaptiveCard';
  readonly $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  /** 1.4 brings `Action.Execute` (Universal Actions); Teams renders 1.5. */
  readonly version: '1.5';
  readonly body: readonly CardElement[];
  readonly actions?: readonly CardElement[];
  readonly msteams?: { readonly width: 'Full' };
}

export type CardElement = RichTextBlock | Readonly<Record<string, unknown>>;

/** The `verb` of every `Action.Execute` the bot shows. Approve, deny and review carry `requestId`. */
export const verbs = { approve: 'approve', deny: 'deny', review: 'review', extend: 'extend', revoke: 'revoke', request: 'request', acknowledge: 'acknowledge' } as const;
export type Verb = (typeof verbs)[keyof typeof verbs];

/** The request form's input ids (its submission carries them in `data`). */
export const formFields = { role: 'role', duration: 'duration', ticket: 'ticket', reason: 'reason', breakGlass: 'breakGlass' } as const;
export type FormField = (typeof formFields)[keyof typeof formFields];

const FLAG_ICON: Readonly<Record<RiskFlag, string>> = { break_glass: '\u{1F6A8}', off_hours: '\u{1F319}', first_time: '\u{1F195}' };
const REFUSED = '\u26D4 ';

function card(body: readonly CardElement[], actions: readonly CardElement[] = []): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
    ...(actions.length > 0 ? { actions } : {}),
    msteams: { width: 'Full' },
  };
}

/** A line the bot wrote, with a time shown in the reader's own zone. Only the bot's own text reaches a TextBlock. */
function localTimeBlock(label: string, at: Date): CardElement {
  return { type: 'TextBlock', text: `${label} ${localTime(at)}`, isSubtle: true, wrap: true, spacing: 'None' };
}

function errorBlocks(error: string | undefined): RichTextBlock[] {
  return error ? plainBlocks(`${REFUSED}${error}`, { color: 'Attention' }) : [];
}

/**
 * The approval card: the request's facts, its risk flags, where it stands, and the actions that
 * still apply (`Action.Execute`, so the click comes back as an `adaptiveCard/action` invoke and the
 * card is replaced in place). `error` is shown to the one person whose click it answers.
 */
export function approvalCardView(view: ApprovalCard, opts: { error?: string } = {}): AdaptiveCard {
  const id = view.request.id;
  const body: CardElement[] = [
    { type: 'RichTextBlock', inlines: [run(view.headline, { weight: 'Bolder', size: 'Medium' })] },
    ...view.fields.map((f): RichTextBlock => ({ type: 'RichTextBlock', inlines: [run(`${f.label}: `, { weight: 'Bolder' }), run(f.value)], spacing: 'Small' })),
  ];
  for (const flag of view.flags) body.push({ type: 'RichTextBlock', inlines: [run(`${FLAG_ICON[flag.flag]} ${flag.text}`, flag.flag === 'break_glass' ? { color: 'Attention' } : {})], spacing: 'Small' });
  body.push({ type: 'RichTextBlock', inlines: [run(`${view.status}${view.statusAt ? ` ${utcTime(view.statusAt)}` : ''}`, { isSubtle: true })], spacing: 'Medium' });
  if (view.statusAt) body.push(localTimeBlock('Your time:', view.statusAt));
  body.push(...errorBlocks(opts.error));
  return card(body, view.actions.map((a) => decision(a, id)));
}

function decision(action: CardAction, requestId: string): CardElement {
  switch (action) {
    case 'approve':
      return { type: 'Action.Execute', title: 'Approve', verb: verbs.approve, data: { requestId }, style: 'positive' };
    case 'deny':
      // NB: Deny asks for the reason first (the requester sees it), like Slack's modal.
      return {
        type: 'Action.ShowCard',
        title: 'Deny…',
        card: card(
          [{ type: 'Input.Text', id: 'reason', label: 'Why? The requester sees your reason.', isMultiline: true, maxLength: 500, isRequired: true, errorMessage: 'Give a reason.' }],
          [{ type: 'Action.Execute', title: 'Deny', verb: verbs.deny, data: { requestId }, style: 'destructive' }],
        ),
      };
    case 'review':
      return { type: 'Action.Execute', title: 'Mark reviewed', verb: verbs.review, data: { requestId }, style: 'positive' };
  }
}

/** The answer to a message or a click: the bot's words styled, what people typed as plain runs. */
export function replyCard(reply: ChatReply): AdaptiveCard {
  const blocks = richBlocks(reply.text, reply.ok ? {} : { color: 'Attention' });
  if (!reply.ok && blocks[0]) blocks[0] = { ...blocks[0], inlines: [run(REFUSED.trim() + ' ', { color: 'Attention' }), ...blocks[0].inlines] };
  return card(blocks);
}

/** A direct message to a requester: the notice, its time in their zone, and Extend / Give back on the expiring-soon notice. */
export function personMessageCard(text: string, request: AccessRequest, offerExtend: boolean, at?: Date, opts: { error?: string } = {}): AdaptiveCard {
  const body: CardElement[] = [...plainBlocks(text)];
  if (at) body.push(localTimeBlock('Local time:', at));
  body.push(...errorBlocks(opts.error));
  const actions: CardElement[] = offerExtend
    ? [
        {
          type: 'Action.ShowCard',
          title: 'Extend…',
          card: card(
            [
              { type: 'Input.Text', id: 'duration', label: 'How much longer (like 30m or 1h)', maxLength: 10, isRequired: true, errorMessage: 'Say how much longer.' },
              { type: 'Input.Text', id: 'reason', label: 'Why?', isMultiline: true, maxLength: 500, isRequired: true, errorMessage: 'Give a reason.' },
            ],
            [{ type: 'Action.Execute', title: 'Ask', verb: verbs.extend, data: { requestId: request.id } }],
          ),
        },
        { type: 'Action.Execute', title: 'Give it back now', verb: verbs.revoke, data: { requestId: request.id } },
      ]
    : [];
  return card(body, actions);
}

/** One line in the security channel; an alert is marked. */
export function securityLineCard(text: string, alert: boolean): AdaptiveCard {
  return card(plainBlocks(`${alert ? '\u{1F6A8} ' : ''}${text}`, alert ? { color: 'Attention' } : {}));
}

/**
 * An alert in the security channel: headline, the rule's sentence, where it stands, and Acknowledge
 * while it is open; updated in place with who acknowledged it, from anywhere. NB: the status names a
 * person (an address may hold markdown), so it is a TextRun, like the approval card's status.
 */
export function alertCard(view: AlertView): AdaptiveCard {
  const open = view.actions.includes('acknowledge');
  const body: CardElement[] = [
    ...plainBlocks(`\u{1F6A8} ${view.headline} (alert ${view.id})`, { weight: 'Bolder', ...(view.severity === 'high' ? { color: 'Attention' } : {}) }),
    ...plainBlocks(view.message),
    localTimeBlock('Raised', view.raisedAt),
    { type: 'RichTextBlock', inlines: [run(`${view.status}${view.statusAt ? ` ${utcTime(view.statusAt)}` : ''}`, { isSubtle: true })], spacing: 'Small' },
    ...(view.statusAt ? [localTimeBlock('Your time:', view.statusAt)] : []),
  ];
  // NB: the alert id goes as a string, the way Slack's button value does; the handler accepts exact ids only.
  return card(body, open ? [{ type: 'Action.Execute', title: 'Acknowledge', verb: verbs.acknowledge, data: { alertId: String(view.id) } }] : []);
}

/** What the request form's submission carried, as typed. */
export interface FormValues {
  readonly role?: string;
  readonly duration?: string;
  readonly ticket?: string;
  readonly reason?: string;
  readonly breakGlass?: boolean;
}

/**
 * The request form (a message with no command): only roles this person may request, and the
 * break-glass switch only when one of them allows it. Shown again with what was typed and the
 * refusal beside its field when a submission is refused.
 */
export function requestFormCard(roles: readonly RolePolicy[], values: FormValues = {}, error?: { field: FormField; message: string }): AdaptiveCard {
  const kept = (v: string | undefined, max: number) => (v === undefined ? {} : { value: inputValue(v, max) });
  const after = (field: FormField): RichTextBlock[] => (error?.field === field ? errorBlocks(error.message) : []);
  const body: CardElement[] = [
    { type: 'TextBlock', text: 'Request access', weight: 'Bolder', size: 'Medium', wrap: true },
    {
      type: 'Input.ChoiceSet',
      id: formFields.role,
      label: 'Role',
      style: 'compact',
      isRequired: true,
      errorMessage: 'Choose a role.',
      choices: roles.slice(0, 100).map((r) => ({ title: plainText(`${r.name}: ${r.description} (max ${formatDuration(r.maxDuration)})`, 150), value: r.name })),
      ...(values.role !== undefined && roles.some((r) => r.name === values.role) ? { value: values.role } : {}),
    },
    ...after(formFields.role),
    { type: 'Input.Text', id: formFields.duration, label: 'Duration (like 30m, 2h or 1d; the clock starts when access is granted)', maxLength: 10, isRequired: true, errorMessage: 'Say for how long.', ...kept(values.duration, 10) },
    ...after(formFields.duration),
    { type: 'Input.Text', id: formFields.ticket, label: 'Ticket', placeholder: 'OPS-123', maxLength: 64, isRequired: true, errorMessage: 'Name the ticket.', ...kept(values.ticket, 64) },
    ...after(formFields.ticket),
    { type: 'Input.Text', id: formFields.reason, label: 'Reason', isMultiline: true, maxLength: 500, isRequired: true, errorMessage: 'Give a reason.', ...kept(values.reason, 500) },
    ...after(formFields.reason),
  ];
  if (roles.some((r) => r.breakGlass.allowed)) {
    body.push({
      type: 'Input.Toggle',
      id: formFields.breakGlass,
      title: 'Break-glass: grant now, review afterwards (only where the role allows it)',
      valueOn: 'true',
      valueOff: 'false',
      value: values.breakGlass ? 'true' : 'false',
    });
    body.push(...after(formFields.breakGlass));
  }
  return card(body, [{ type: 'Action.Execute', title: 'Request', verb: verbs.request, data: {} }]);
}

/** A card that only says something (the form once accepted, a refusal where a card is expected). */
export function textCard(text: RichText, ok = true): AdaptiveCard {
  return replyCard({ ok, text });
}
