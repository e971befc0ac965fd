import type { AuditEvent } from '../domain/audit-event';
import { viaChat, viaCli, type ActingVia } from '../domain/acting-via';

export const channels = ['cli', 'slack', 'teams', 'scheduler', 'service'] as const;
export type Channel = (typeof channels)[number];

/**
 * How the CLI's OS user was established, never from what the client says:
 * `process`: the CLI ran on its own, as this OS user;
 * `peer_socket`: through the service, from the owner of the client's loopback socket (Linux);
 * `service_owner`: through the service where the socket's owner cannot be read: the service's own
 * OS user, since only that user can read the admin token file.
 */
export type OsUserSource = 'process' | 'peer_socket' | 'service_owner';

/** Who ran a CLI command, as the entry point established it. */
export interface CliOperator {
  readonly osUser: string;
  readonly osUserFrom: OsUserSource;
  readonly osGroups: readonly string[];
}

/** Where an action came from, recorded on every audit event it causes. */
export interface Origin {
  readonly via: Channel;
  /** The operating-system user who ran the CLI, as established by `osUserFrom`. */
  readonly osUser?: string;
  readonly osUserFrom?: OsUserSource;
  /** The OS groups of `osUser`, for the policy's CLI operators (not recorded: the event names the entry that matched). */
  readonly osGroups?: readonly string[];
  /** The chat platform's own user id, next to the verified e-mail. */
  readonly platformUserId?: string;
  /** The chat platform's workspace (Slack team, Teams tenant) that vouched for the person. */
  readonly platformTeamId?: string;
}

/** How the domain sees the origin of a decision: the CLI with its OS user, or anything else. */
export function actingVia(origin: Origin): ActingVia {
  // NB: only the CLI takes an identity it cannot verify (`--as`); chat platforms verify the e-mail,
  // and the scheduler and service act for nobody.
  return origin.via === 'cli' ? viaCli(origin.osUser ?? '(unknown OS user)', origin.osGroups ?? []) : viaChat;
}

/** Adds the origin and the hash of the policy that governed the decision to each event. */
export function stamp(events: readonly AuditEvent[], origin: Origin, policySha: string): AuditEvent[] {
  const { osGroups: _groups, ...recorded } = origin;
  return events.map((event) => ({
    ...event,
    data: { ...event.data, policySha, origin: { ...recorded } },
  }));
}

/** ` (via CLI, by OS user tom)` after a name whose decision came from a terminal; empty otherwise. */
export function viaCliNote(osUser: string | undefined): string {
  return osUser === undefined ? '' : ` (via CLI, by OS user ${osUser})`;
}
