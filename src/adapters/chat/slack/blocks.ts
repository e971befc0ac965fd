import type { KnownBlock, View } from '@slack/types';
import type { AlertView } from '../../../app/chat/alert-view';
import type { ApprovalCard, CardAction } from '../../../app/chat/approval-card';
import type { ChatReply } from '../../../app/chat/run-chat-command';
import type { AccessRequest } from '../../../domain/access-request';
import { formatDuration } from '../../../domain/duration';
import type { RolePolicy } from '../../../domain/policy';
import { escapeMrkdwn, fitSection, mrkdwn, plainText, richMrkdwn, slackDate } from './mrkdwn';

/** action_ids of every button the bot shows; the value is always a request id. */
export const actionIds = { approve: 'approve', deny: 'deny', review: 'review', extend: 'extend', revoke: 'revoke' } as const;
/** action_id of the Acknowledge button on an alert; its value is the alert id. */
export const alertActionIds = { acknowledge: 'acknowledge_alert' } as const;
/** callback_ids of the bot's modals. */
export const viewIds = { request: 'request_form', deny: 'deny_form', extend: 'extend_form' } as const;

const FLAG_ICON = { break_glass: ':rotating_light:', off_hours: ':crescent_moon:', first_time: ':new:' } as const;

/**
 * The top-level `text` of a message: shown in notifications and by clients that cannot draw
 * blocks, and parsed as mrkdwn, so it is escaped like any other user text.
 */
function fallback(text: string): string {
  return fitSection(escapeMrkdwn(text));
}

/** The approval card: facts, risk flags, where it stands, and the buttons that still apply. */
export function approvalCardBlocks(card: ApprovalCard): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: plainText(card.headline, 150) } },
    {
      type: 'section',
      fields: card.fields
        .filter((f) => f.label !== 'Reason')
        .map((f) => mrkdwn(fitSection(`*${f.label}*\n${escapeMrkdwn(f.value)}`, 2000))),
    },
    { type: 'section', text: mrkdwn(fitSection(`*Reason*\n${escapeMrkdwn(card.fields.find((f) => f.label === 'Reason')?.value ?? '')}`)) },
  ];
  if (card.flags.length > 0) {
    blocks.push({ type: 'context', elements: card.flags.map((f) => mrkdwn(`${FLAG_ICON[f.flag]} ${escapeMrkdwn(f.text)}`)) });
  }
  const status = `${escapeMrkdwn(card.status)}${card.statusAt ? ` ${slackDate(card.statusAt)}` : ''}`;
  blocks.push({ type: 'context', elements: [mrkdwn(fitSection(status))] });
  if (card.actions.length > 0) blocks.push({ type: 'actions', block_id: `decide:${card.request.id}`, elements: card.actions.map((a) => button(a, card.request.id)) });
  return { text: fallback(`${card.headline} — ${card.status}`), blocks };
}

function button(action: CardAction, id: string): { type: 'button'; action_id: string; value: string; text: { type: 'plain_text'; text: string }; style?: 'primary' | 'danger' } {
  switch (action) {
    case 'approve':
      return { type: 'button', action_id: actionIds.approve, value: id, style: 'primary', text: { type: 'plain_text', text: 'Approve' } };
    case 'deny':
      return { type: 'button', action_id: actionIds.deny, value: id, style: 'danger', text: { type: 'plain_text', text: 'Deny…' } };
    case 'review':
      return { type: 'button', action_id: actionIds.review, value: id, style: 'primary', text: { type: 'plain_text', text: 'Mark reviewed' } };
  }
}

const SEVERITY_ICON = { high: ':rotating_light:', medium: ':warning:', low: ':information_source:' } as const;

/** An alert in the security channel: severity and title, the finding, where it stands, and Acknowledge while open. */
export function alertBlocks(alert: AlertView): { text: string; blocks: KnownBlock[] } {
  const about = alert.requestId ? ` · request ${escapeMrkdwn(alert.requestId)}` : '';
  const blocks: KnownBlock[] = [
    { type: 'section', text: mrkdwn(fitSection(`${SEVERITY_ICON[alert.severity]} *${escapeMrkdwn(alert.headline)}*\n${escapeMrkdwn(alert.message)}`)) },
    { type: 'context', elements: [mrkdwn(`Alert ${alert.id}${about} · raised ${slackDate(alert.raisedAt)}`)] },
    { type: 'context', elements: [mrkdwn(fitSection(`${escapeMrkdwn(alert.status)}${alert.statusAt ? ` ${slackDate(alert.statusAt)}` : ''}`))] },
  ];
  if (alert.actions.includes('acknowledge')) {
    blocks.push({
      type: 'actions',
      block_id: `alert:${alert.id}`,
      elements: [{ type: 'button', action_id: alertActionIds.acknowledge, value: String(alert.id), text: { type: 'plain_text', text: 'Acknowledge' } }],
    });
  }
  return { text: fallback(`${alert.headline}: ${alert.message}`), blocks };
}

/** An ephemeral answer to a command or a click: the bot's words formatted, what people typed escaped, in one section. */
export function replyBlocks(reply: ChatReply): { text: string; blocks: KnownBlock[] } {
  const icon = reply.ok ? '' : ':no_entry: ';
  const body = richMrkdwn(reply.text);
  return { text: fitSection(body), blocks: [{ type: 'section', text: mrkdwn(fitSection(`${icon}${body}`)) }] };
}

/** A direct message to a requester, with an Extend button on the expiring-soon notice. */
export function personMessageBlocks(text: string, request: AccessRequest, offerExtend: boolean, at?: Date): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [{ type: 'section', text: mrkdwn(fitSection(`${escapeMrkdwn(text)}${at ? `\nLocal time: ${slackDate(at)}` : ''}`)) }];
  if (offerExtend) {
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', action_id: actionIds.extend, value: request.id, text: { type: 'plain_text', text: 'Extend…' } },
        { type: 'button', action_id: actionIds.revoke, value: request.id, text: { type: 'plain_text', text: 'Give it back now' } },
      ],
    });
  }
  return { text: fallback(text), blocks };
}

/** The request form (`/prod-access` with no text): only roles this person may request. */
export function requestFormView(roles: readonly RolePolicy[], channelId: string): View {
  return {
    type: 'modal',
    callback_id: viewIds.request,
    private_metadata: JSON.stringify({ channelId }),
    title: { type: 'plain_text', text: 'Request access' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'role',
        label: { type: 'plain_text', text: 'Role' },
        element: {
          type: 'static_select',
          action_id: 'value',
          placeholder: { type: 'plain_text', text: 'Choose a role' },
          options: roles.slice(0, 100).map((r) => ({
            text: { type: 'plain_text' as const, text: plainText(r.name, 75) },
            description: { type: 'plain_text' as const, text: plainText(`${r.description} (max ${formatDuration(r.maxDuration)})`, 75) },
            value: r.name,
          })),
        },
      },
      { type: 'input', block_id: 'duration', label: { type: 'plain_text', text: 'Duration' }, hint: { type: 'plain_text', text: 'Like 30m, 2h or 1d. The clock starts when access is granted.' }, element: { type: 'plain_text_input', action_id: 'value', max_length: 10 } },
      { type: 'input', block_id: 'ticket', label: { type: 'plain_text', text: 'Ticket' }, element: { type: 'plain_text_input', action_id: 'value', max_length: 64, placeholder: { type: 'plain_text', text: 'OPS-123' } } },
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 } },
      {
        type: 'input',
        block_id: 'break_glass',
        optional: true,
        label: { type: 'plain_text', text: 'Emergency' },
        element: {
          type: 'checkboxes',
          action_id: 'value',
          options: [{ text: { type: 'plain_text', text: 'Break-glass: grant now, review afterwards (only where the role allows it)' }, value: 'yes' }],
        },
      },
    ],
  };
}

/** Asks an approver for the reason of a denial. */
export function denyFormView(request: AccessRequest, ref: { channel?: string; ts?: string }): View {
  return {
    type: 'modal',
    callback_id: viewIds.deny,
    private_metadata: JSON.stringify({ id: request.id, ...ref }),
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: mrkdwn(fitSection(`Deny ${escapeMrkdwn(request.requester)}'s request ${request.id} for *${escapeMrkdwn(request.role)}*? They will see your reason.`)) },
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 } },
    ],
  };
}

/** Asks a requester how much longer and why. */
export function extendFormView(request: AccessRequest): View {
  return {
    type: 'modal',
    callback_id: viewIds.extend,
    private_metadata: JSON.stringify({ id: request.id }),
    title: { type: 'plain_text', text: 'Extend access' },
    submit: { type: 'plain_text', text: 'Ask' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: mrkdwn(fitSection(`More time on *${escapeMrkdwn(request.role)}* (request ${request.id}); it is approved like a request.`)) },
      { type: 'input', block_id: 'duration', label: { type: 'plain_text', text: 'How much longer' }, element: { type: 'plain_text_input', action_id: 'value', max_length: 10 } },
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 } },
    ],
  };
}

/** The App Home: my live grants, my pending requests, and what waits for my approval. */
export function homeView(home: { live: readonly AccessRequest[]; pending: readonly AccessRequest[]; toDecide: readonly AccessRequest[] }): View {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'prod-access' } }];
  const section = (title: string, requests: readonly AccessRequest[], empty: string, row: (r: AccessRequest) => KnownBlock[]) => {
    blocks.push({ type: 'section', text: mrkdwn(`*${title}*`) });
    if (requests.length === 0) blocks.push({ type: 'context', elements: [mrkdwn(empty)] });
    for (const r of requests.slice(0, 15)) blocks.push(...row(r));
    blocks.push({ type: 'divider' });
  };
  section('Your live access', home.live, 'None. Ask with `/prod-access`.', (r) => [
    { type: 'section', text: mrkdwn(fitSection(`*${escapeMrkdwn(r.role)}* (${r.id}) until ${r.grant ? slackDate(r.grant.expiresAt) : '?'}\n${escapeMrkdwn(r.ticket)}: ${escapeMrkdwn(r.reason)}`)) },
    {
      type: 'actions',
      elements: [
        { type: 'button', action_id: actionIds.extend, value: r.id, text: { type: 'plain_text', text: 'Extend…' } },
        { type: 'button', action_id: actionIds.revoke, value: r.id, style: 'danger', text: { type: 'plain_text', text: 'Revoke now' } },
      ],
    },
  ]);
  section('Your pending requests', home.pending, 'None.', (r) => [
    { type: 'section', text: mrkdwn(fitSection(`*${escapeMrkdwn(r.role)}* (${r.id}), ${formatDuration(r.duration)}: ${r.approvals.length} of ${r.approvalsRequired} approvals, decide by ${slackDate(r.decisionDeadline)}`)) },
  ]);
  section('Waiting for your approval', home.toDecide, 'Nothing waits for you.', (r) => [
    { type: 'section', text: mrkdwn(fitSection(`*${escapeMrkdwn(r.requester)}* asks for *${escapeMrkdwn(r.role)}* for ${formatDuration(r.duration)} (${r.id})\n${escapeMrkdwn(r.ticket)}: ${escapeMrkdwn(r.reason)}`)) },
    {
      type: 'actions',
      elements: [
        { type: 'button', action_id: actionIds.approve, value: r.id, style: 'primary', text: { type: 'plain_text', text: 'Approve' } },
        { type: 'button', action_id: actionIds.deny, value: r.id, style: 'danger', text: { type: 'plain_text', text: 'Deny…' } },
      ],
    },
  ]);
  return { type: 'home', blocks };
}
