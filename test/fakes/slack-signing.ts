import { createHmac } from 'node:crypto';

/** The headers Slack signs every request with (signing secret v0). */
export function slackSignature(secret: string, rawBody: string, timestampSeconds: number): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestampSeconds), 'x-slack-signature': `v0=${signature}` };
}

export interface SlashCommand {
  readonly text: string;
  readonly user_id: string;
  readonly channel_id?: string;
  readonly trigger_id?: string;
  readonly response_url: string;
}

let triggers = 1;

/** A `/prod-access` slash command body, form-encoded as Slack sends it. */
export function slashCommandBody(command: SlashCommand): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0FAKE',
    team_domain: 'fake',
    channel_id: command.channel_id ?? 'C0GENERAL',
    channel_name: 'general',
    user_id: command.user_id,
    user_name: command.user_id.toLowerCase(),
    command: '/prod-access',
    text: command.text,
    api_app_id: 'A0PRODACCESS',
    is_enterprise_install: 'false',
    response_url: command.response_url,
    trigger_id: command.trigger_id ?? `trigger-${triggers++}`,
  }).toString();
}

/** An interaction (`block_actions`, `view_submission`) body: the JSON payload in the form field `payload`. */
export function interactionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The bot as the fake's `auth.test` names it: views and messages it wrote carry this id. */
export const FAKE_BOT_ID = 'BBOT';

/**
 * A `block_actions` payload for one button click: on a message in a channel (the approval card,
 * or a DM with `channelId` D…) when `responseUrl` is given, else in the App Home the bot published.
 */
export function blockAction(opts: {
  userId: string;
  actionId: string;
  value: string;
  responseUrl?: string;
  channelId?: string;
  messageTs?: string;
  teamId?: string;
  /** Who wrote the message or view clicked (default: our bot). */
  botId?: string;
}): Record<string, unknown> {
  const teamId = opts.teamId ?? 'T0FAKE';
  return {
    type: 'block_actions',
    team: { id: 'T0FAKE', domain: 'fake' },
    user: { id: opts.userId, username: opts.userId.toLowerCase(), team_id: teamId },
    api_app_id: 'A0PRODACCESS',
    trigger_id: `trigger-${triggers++}`,
    ...(opts.responseUrl
      ? {
          container: { type: 'message', message_ts: opts.messageTs ?? '1.0', channel_id: opts.channelId ?? 'C0APPROVALS', is_ephemeral: false },
          channel: { id: opts.channelId ?? 'C0APPROVALS', name: 'approvals' },
          message: { ts: opts.messageTs ?? '1.0', text: 'card', bot_id: opts.botId ?? FAKE_BOT_ID },
          response_url: opts.responseUrl,
        }
      : { container: { type: 'view', view_id: 'VHOME' }, view: { id: 'VHOME', type: 'home', bot_id: opts.botId ?? FAKE_BOT_ID, app_id: 'A0PRODACCESS', team_id: 'T0FAKE' } }),
    actions: [{ type: 'button', action_id: opts.actionId, block_id: 'decide', value: opts.value, action_ts: `${triggers}.0` }],
  };
}

let views = 1;

/** A `view_submission` payload for one of the bot's modals, with inputs by block id (action id `value`). */
export function viewSubmission(opts: {
  userId: string;
  callbackId: string;
  privateMetadata?: string;
  /** The modal's id: Slack keeps one per opened modal, so re-submitting after an error reuses it (default: a new one). */
  viewId?: string;
  teamId?: string;
  values: Record<string, string | { selected: string } | { checked: string[] }>;
}): Record<string, unknown> {
  const values = Object.fromEntries(
    Object.entries(opts.values).map(([block, v]) => [
      block,
      {
        value:
          typeof v === 'string'
            ? { type: 'plain_text_input', value: v }
            : 'selected' in v
              ? { type: 'static_select', selected_option: { value: v.selected, text: { type: 'plain_text', text: v.selected } } }
              : { type: 'checkboxes', selected_options: v.checked.map((value) => ({ value, text: { type: 'plain_text', text: value } })) },
      },
    ]),
  );
  return {
    type: 'view_submission',
    team: { id: 'T0FAKE', domain: 'fake' },
    user: { id: opts.userId, username: opts.userId.toLowerCase(), team_id: opts.teamId ?? 'T0FAKE' },
    api_app_id: 'A0PRODACCESS',
    trigger_id: `trigger-${triggers++}`,
    view: { id: opts.viewId ?? `VMODAL${views++}`, type: 'modal', callback_id: opts.callbackId, private_metadata: opts.privateMetadata ?? '', state: { values }, hash: 'h' },
  };
}

/** POSTs a body to the bot as Slack would: signed now (or at `timestamp`), optionally marked as a retry. */
export async function postSigned(
  url: string,
  body: string,
  opts: { secret: string; timestamp?: number; retryNum?: number; signatureOverride?: string; json?: boolean },
): Promise<{ status: number; text: string }> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded', ...slackSignature(opts.secret, body, ts) };
  if (opts.signatureOverride) headers['x-slack-signature'] = opts.signatureOverride;
  if (opts.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(opts.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}
