import type { MentionEntity } from './teams-identity';

/**
 * The fields of a Bot Framework activity the adapter reads, copied out of the SDK's turn (whose
 * context is revoked when the turn ends, before work done after the answer runs). Everything here
 * came in a request whose token agents-hosting verified; what people typed is still only text.
 */
export interface ActivityView {
  readonly type: string;
  readonly id: string;
  readonly name?: string;
  readonly text?: string;
  readonly serviceUrl: string;
  readonly from: { readonly id: string; readonly aadObjectId?: string; readonly role?: string };
  readonly recipient: { readonly id: string };
  readonly conversation: { readonly id: string; readonly conversationType?: string; readonly tenantId?: string };
  readonly replyToId?: string;
  readonly entities: readonly MentionEntity[];
  readonly channelData: {
    readonly tenantId?: string;
    readonly teamId?: string;
    readonly channelId?: string;
    readonly eventType?: string;
  };
  readonly value?: unknown;
  readonly membersAdded: readonly { readonly id: string; readonly aadObjectId?: string }[];
  readonly membersRemoved: readonly { readonly id: string; readonly aadObjectId?: string }[];
}

/** Copies what the adapter needs out of the SDK's activity; odd shapes become absent fields, not errors. */
export function viewOf(activity: unknown): ActivityView {
  const a = record(activity);
  const from = record(a.from);
  const conversation = record(a.conversation);
  const channelData = record(a.channelData);
  return {
    type: str(a.type) ?? '',
    id: str(a.id) ?? '',
    ...opt('name', str(a.name)),
    ...opt('text', str(a.text)),
    serviceUrl: str(a.serviceUrl) ?? '',
    from: { id: str(from.id) ?? '', ...opt('aadObjectId', str(from.aadObjectId)), ...opt('role', str(from.role)) },
    recipient: { id: str(record(a.recipient).id) ?? '' },
    conversation: { id: str(conversation.id) ?? '', ...opt('conversationType', str(conversation.conversationType)), ...opt('tenantId', str(conversation.tenantId)) },
    ...opt('replyToId', str(a.replyToId)),
    entities: Array.isArray(a.entities) ? a.entities.map((e) => record(e) as MentionEntity) : [],
    channelData: {
      ...opt('tenantId', str(record(channelData.tenant).id)),
      ...opt('teamId', str(record(channelData.team).id)),
      ...opt('channelId', str(record(channelData.channel).id)),
      ...opt('eventType', str(channelData.eventType)),
    },
    ...(a.value !== undefined ? { value: a.value } : {}),
    membersAdded: members(a.membersAdded),
    membersRemoved: members(a.membersRemoved),
  };
}

/** The channel a channel activity happened in (`19:…@thread.tacv2`), without the thread's `;messageid=`. */
export function channelOf(activity: ActivityView): string | undefined {
  if (activity.conversation.conversationType !== 'channel' && activity.channelData.channelId === undefined) return undefined;
  return activity.channelData.channelId ?? activity.conversation.id.split(';')[0];
}

/** The Universal Action of an `adaptiveCard/action` invoke: its verb and its data (inputs included). */
export function actionOf(activity: ActivityView): { verb: string; data: Record<string, unknown> } {
  const action = record(record(activity.value).action);
  return { verb: str(action.verb) ?? '', data: record(action.data) };
}

function members(value: unknown): { id: string; aadObjectId?: string }[] {
  if (!Array.isArray(value)) return [];
  return value.map(record).flatMap((m) => (typeof m.id === 'string' ? [{ id: m.id, ...opt('aadObjectId', str(m.aadObjectId)) }] : []));
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
