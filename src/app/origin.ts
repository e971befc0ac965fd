import type { AuditEvent } from '../domain/audit-event';

export const channels = ['cli', 'slack', 'teams', 'scheduler', 'service'] as const;
export type Channel = (typeof channels)[number];

/** Where an action came from, recorded on every audit event it causes. */
export interface Origin {
  readonly via: Channel;
  /** The operating-system user who ran the CLI. */
  readonly osUser?: string;
  /** The chat platform's own user id, next to the verified e-mail. */
  readonly platformUserId?: string;
  /** The chat platform's workspace (Slack team, Teams tenant) that vouched for the person. */
  readonly platformTeamId?: string;
}

/** Adds the origin and the hash of the policy that governed the decision to each event. */
export function stamp(events: readonly AuditEvent[], origin: Origin, policySha: string): AuditEvent[] {
  return events.map((event) => ({
    ...event,
    data: { ...event.data, policySha, origin: { ...origin } },
  }));
}
