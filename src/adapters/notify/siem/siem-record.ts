import type { ChainedAuditEvent } from '../../../domain/audit-event';

/** The schema's name and version, in every line; a change to the shape below gets a new version. */
export const SIEM_SCHEMA = 'prod-access.audit.v1';

/**
 * One audit event as one JSON log line for a SIEM (Splunk, Datadog, Elastic), with a stable shape:
 * every key is always present, `null` when the event has no such thing. Documented field by field
 * in the README ("SIEM"). `data` is the event's own data as `audit export` has it; its fields vary
 * by action, so searches should prefer the top-level fields.
 */
export interface SiemRecord {
  readonly schema: typeof SIEM_SCHEMA;
  /** When it happened: ISO 8601 UTC with milliseconds (the audit event's `occurredAt`). */
  readonly timestamp: string;
  /** The event's place in the hash chain: 1, 2, 3, … with no gaps; a repeat after a crash has the same seq. */
  readonly seq: number;
  readonly action: string;
  /** The person's verified e-mail, or `system`. */
  readonly actor: string;
  readonly requestId: string | null;
  /** Whose access it is about. */
  readonly requester: string | null;
  /** The role, and where: provider kind and target (never a secret). */
  readonly resource: { readonly role: string | null; readonly provider: string | null; readonly target: Readonly<Record<string, string>> | null } | null;
  readonly ticket: string | null;
  /** The requester's reason, as typed (control characters removed). */
  readonly reason: string | null;
  /** Where the action came from: `via` (`cli`, `slack`, `teams`, `scheduler`, `service`), and for the CLI the OS user. */
  readonly origin: Readonly<Record<string, unknown>> | null;
  /** The SHA-256 of the policy that governed it. */
  readonly policySha: string | null;
  readonly prevHash: string;
  readonly hash: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export function siemRecord(event: ChainedAuditEvent): SiemRecord {
  const d = event.data as Record<string, unknown>;
  const resource = isRecord(d.resource) ? d.resource : {};
  const role = text(d.role);
  const provider = text(resource.provider) ?? text(d.provider);
  const target = isRecord(resource.target) ? (resource.target as Record<string, string>) : null;
  return {
    schema: SIEM_SCHEMA,
    timestamp: event.occurredAt.toISOString(),
    seq: event.seq,
    action: event.action,
    actor: event.actor,
    requestId: event.requestId,
    requester: text(d.requester),
    resource: role === null && provider === null && target === null ? null : { role, provider, target },
    ticket: text(d.ticket),
    reason: text(d.reason),
    origin: isRecord(d.origin) ? d.origin : null,
    policySha: text(d.policySha),
    prevHash: event.prevHash,
    hash: event.hash,
    data: d,
  };
}

/**
 * Characters JSON.stringify writes raw that some line readers split on (DEL and the C1 controls,
 * NEL among them; LINE and PARAGRAPH SEPARATOR): provider data (principal names, errors) can hold them.
 */
const RAW_SEPARATORS = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * The line as written: one JSON object and a newline. NB: JSON escapes the C0 controls and the
 * rest are escaped here, so no text in an event can start a forged line of its own in any reader.
 */
export function siemLine(event: ChainedAuditEvent): string {
  return `${JSON.stringify(siemRecord(event)).replace(RAW_SEPARATORS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
