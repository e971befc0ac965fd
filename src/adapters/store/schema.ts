import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  char,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from 'drizzle-orm/pg-core';
import { endCauses, requestKinds, requestStates } from '../../domain/access-request';
import { alertRules } from '../../domain/alert';
import { severities } from '../../domain/detection-policy';
import { driftRunStates, driftRunTriggers } from '../../domain/drift-run';

// NB: every instant is a timestamptz read back as a Date; the store writes millisecond Dates, so
// values round-trip exactly (the audit hash covers `occurredAt.toISOString()`).
const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const requestState = pgEnum('request_state', requestStates);
export const requestKind = pgEnum('request_kind', requestKinds);
export const endCause = pgEnum('end_cause', endCauses);
// NB: what alerts were before they had rules; kept so rows raised then still read (`kind` is null since).
const legacyAlertKinds = ['revocation_failing', 'grant_failed', 'break_glass_unreviewed', 'drift', 'drift_held'] as const;
export const alertKind = pgEnum('alert_kind', legacyAlertKinds);
export const alertRule = pgEnum('alert_rule', alertRules);
export const alertSeverity = pgEnum('alert_severity', severities);
export const driftRunState = pgEnum('drift_run_state', driftRunStates);
export const driftRunTrigger = pgEnum('drift_run_trigger', driftRunTriggers);

export const accessRequests = pgTable(
  'access_requests',
  {
    id: text('id').primaryKey(),
    kind: requestKind('kind').notNull(),
    parentId: text('parent_id'),
    requester: text('requester').notNull(),
    role: text('role').notNull(),
    provider: text('provider').notNull(),
    target: jsonb('target').$type<Record<string, string>>().notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    ticket: text('ticket').notNull(),
    reason: text('reason').notNull(),
    breakGlass: boolean('break_glass').notNull(),
    state: requestState('state').notNull(),
    approvalsRequired: integer('approvals_required').notNull(),
    createdAt: instant('created_at').notNull(),
    decisionDeadline: instant('decision_deadline').notNull(),
    deniedBy: text('denied_by'),
    deniedAt: instant('denied_at'),
    denialReason: text('denial_reason'),
    endedAt: instant('ended_at'),
    endCause: endCause('end_cause'),
    endedBy: text('ended_by'),
    // NB: the OS user behind a request, denial or early end made from the CLI (null: from chat or the
    // system), so one OS user cannot pose as several people and cards can say where a decision came from.
    osUser: text('os_user'),
    deniedOsUser: text('denied_os_user'),
    endedOsUser: text('ended_os_user'),
    policySha: text('policy_sha').notNull(),
    version: integer('version').notNull(),
    // The scheduler's bookkeeping for granting an approved request (not part of the domain's view):
    // the first attempt is leased by whoever approved, retries back off, and `grant_attempts` counts
    // failures until the request is given up as `failed`.
    grantAttempts: integer('grant_attempts').notNull().default(0),
    nextGrantAt: instant('next_grant_at'),
    grantLeaseOwner: text('grant_lease_owner'),
    grantLeaseUntil: instant('grant_lease_until'),
    lastGrantError: text('last_grant_error'),
  },
  (t) => [
    foreignKey({ name: 'access_requests_parent_id_fk', columns: [t.parentId], foreignColumns: [t.id] }),
    index('access_requests_requester_created_at_idx').on(t.requester, t.createdAt),
    // NB: `listRequests` without a requester is newest-first over everything.
    index('access_requests_created_at_idx').on(t.createdAt),
    index('access_requests_state_idx').on(t.state),
    // NB: the scheduler looks for unreviewed break-glass every second; break-glass rows are few.
    index('access_requests_break_glass_deadline_idx').on(t.decisionDeadline).where(sql`${t.breakGlass}`),
    // NB: the anomaly rules' windows: a role's requests (spikes), a ticket's (reuse, compared without
    // case), a person's denials (rubber stamps), each over a time range.
    index('access_requests_role_created_at_idx').on(t.role, t.createdAt),
    index('access_requests_ticket_created_at_idx').on(sql`upper(${t.ticket})`, t.createdAt),
    index('access_requests_denied_by_denied_at_idx').on(t.deniedBy, t.deniedAt).where(sql`${t.deniedBy} IS NOT NULL`),
  ],
);

export const approvals = pgTable(
  'approvals',
  {
    // NB: breaks ties between approvals stored with the same `approved_at`, so the row order is the
    // order in which they were saved.
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    requestId: text('request_id')
      .notNull()
      .references(() => accessRequests.id),
    approver: text('approver').notNull(),
    approvedAt: instant('approved_at').notNull(),
    /** The OS user who approved from the CLI; null when the approval came from chat. */
    osUser: text('os_user'),
  },
  (t) => [
    unique('approvals_request_id_approver_unique').on(t.requestId, t.approver),
    // NB: an approver's decisions over a time range (rubber stamps, reciprocal approvals).
    index('approvals_approver_approved_at_idx').on(t.approver, t.approvedAt),
  ],
);

export const grants = pgTable(
  'grants',
  {
    requestId: text('request_id')
      .primaryKey()
      .references(() => accessRequests.id),
    provider: text('provider').notNull(),
    target: jsonb('target').$type<Record<string, string>>().notNull(),
    principal: text('principal').notNull(),
    role: text('role').notNull(),
    grantedAt: instant('granted_at').notNull(),
    expiresAt: instant('expires_at').notNull(),
    // The revocation scheduler's bookkeeping: retries with backoff, claimed under a lease.
    revokeAttempts: integer('revoke_attempts').notNull().default(0),
    nextAttemptAt: instant('next_attempt_at'),
    leaseOwner: text('lease_owner'),
    leaseUntil: instant('lease_until'),
    lastError: text('last_error'),
    revokedAt: instant('revoked_at'),
    accessRemoved: boolean('access_removed'),
    // NB: when the expiring-soon notice went out; cleared when an extension moves `expires_at`, so
    // each expiry gets its one notice.
    expiryNoticeAt: instant('expiry_notice_at'),
  },
  (t) => [
    index('grants_expires_at_idx').on(t.expiresAt),
    // NB: a person's first grant of a role (the firstGrant rule).
    index('grants_principal_role_granted_at_idx').on(t.principal, t.role, t.grantedAt),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    // NB: not a serial: the appender computes seq = last + 1 under the advisory lock, so the hash
    // covers it and the chain has no gaps from rolled-back transactions.
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    occurredAt: instant('occurred_at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    // NB: no foreign key: events must outlive anything they mention.
    requestId: text('request_id'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    prevHash: char('prev_hash', { length: 64 }).notNull(),
    hash: char('hash', { length: 64 }).notNull().unique('audit_events_hash_unique'),
  },
  (t) => [
    check('audit_events_seq_positive', sql`${t.seq} >= 1`),
    index('audit_events_occurred_at_idx').on(t.occurredAt),
    // NB: `prod-access report` reads each reported request's decisions by request id.
    index('audit_events_request_id_idx').on(t.requestId),
  ],
);

export const policies = pgTable('policies', {
  sha256: text('sha256').primaryKey(),
  text: text('text').notNull(),
  firstActivatedAt: instant('first_activated_at').notNull(),
});

/** A single row (id = 1): the policy most recently activated. */
export const activePolicy = pgTable(
  'active_policy',
  {
    id: integer('id').primaryKey().default(1),
    sha256: text('sha256')
      .notNull()
      .references(() => policies.sha256),
    activatedAt: instant('activated_at').notNull(),
  },
  (t) => [check('active_policy_single_row', sql`${t.id} = 1`)],
);

/** What the local IAM provider has granted: one row per (principal, role, target). */
export const localIamMemberships = pgTable(
  'local_iam_memberships',
  {
    principal: text('principal').notNull(),
    role: text('role').notNull(),
    targetKey: text('target_key').notNull(),
    grantedAt: instant('granted_at').notNull(),
  },
  (t) => [primaryKey({ name: 'local_iam_memberships_pk', columns: [t.principal, t.role, t.targetKey] })],
);

/**
 * Security alerts: what an anomaly rule found, or a failure (a grant given up, an unreviewed
 * break-glass). `dedupe_key` names the occurrence (`first_grant:<request>`, …): unique, so raising an
 * alert twice (a second replica, a restart, the next pass) inserts nothing the second time, and the
 * `alert_raised` audit event written with it is written once. Acknowledged by a member of the
 * policy's security group: by whom, when and from where.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** Alerts raised before rules existed; null since (`rule` says what it is). */
    kind: alertKind('kind'),
    rule: alertRule('rule').notNull(),
    severity: alertSeverity('severity').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    // NB: no foreign key, like audit events: alerts outlive what they mention. Null for alerts about
    // people rather than one request (a spike, reciprocal approvals).
    requestId: text('request_id'),
    raisedAt: instant('raised_at').notNull(),
    message: text('message').notNull(),
    acknowledgedBy: text('acknowledged_by'),
    acknowledgedAt: instant('acknowledged_at'),
    /** Where the acknowledgement came from, as audit events record it (`via`, the OS user for the CLI). */
    acknowledgedOrigin: jsonb('acknowledged_origin').$type<Record<string, unknown>>(),
  },
  (t) => [
    unique('alerts_kind_request_id_unique').on(t.kind, t.requestId),
    unique('alerts_dedupe_key_unique').on(t.dedupeKey),
    index('alerts_raised_at_idx').on(t.raisedAt),
    // NB: `alerts list --open` and the digest read the open ones, newest first; they are few.
    index('alerts_open_raised_at_idx').on(t.raisedAt).where(sql`${t.acknowledgedAt} IS NULL`),
    check('alerts_acknowledged_whole', sql`(${t.acknowledgedBy} IS NULL) = (${t.acknowledgedAt} IS NULL)`),
  ],
);

/** Where each alert was posted, per chat platform, to update it in place when it is acknowledged. */
export const alertMessages = pgTable(
  'alert_messages',
  {
    platform: text('platform').notNull(),
    alertId: bigint('alert_id', { mode: 'number' })
      .notNull()
      .references(() => alerts.id),
    channel: text('channel').notNull(),
    messageId: text('message_id').notNull(),
    postedAt: instant('posted_at').notNull(),
  },
  (t) => [primaryKey({ name: 'alert_messages_pk', columns: [t.platform, t.alertId] })],
);

/**
 * How far each notifier (chat platform, log) has delivered the audit log: the audit log is the
 * outbox, so a notice can never be lost by a crash or an outage between a state change and its
 * message. Leased like grants, so one replica delivers at a time and in order.
 */
export const notificationCursors = pgTable('notification_cursors', {
  notifier: text('notifier').primaryKey(),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: instant('next_attempt_at'),
  leaseOwner: text('lease_owner'),
  leaseUntil: instant('lease_until'),
  lastError: text('last_error'),
});

/** Where each request's approval card was posted, per chat platform, to update it in place. */
export const chatMessages = pgTable(
  'chat_messages',
  {
    platform: text('platform').notNull(),
    requestId: text('request_id').notNull(),
    channel: text('channel').notNull(),
    messageId: text('message_id').notNull(),
    postedAt: instant('posted_at').notNull(),
  },
  (t) => [primaryKey({ name: 'chat_messages_pk', columns: [t.platform, t.requestId] })],
);

/**
 * Deliveries from chat platforms already acted on (Slack `trigger_id`s, submitted view ids), so a
 * replayed or redelivered payload does nothing twice, across restarts and replicas. Rows older
 * than the platform's replay window are deleted as new ones arrive.
 */
export const chatDeliveries = pgTable(
  'chat_deliveries',
  {
    key: text('key').primaryKey(),
    receivedAt: instant('received_at').notNull(),
  },
  (t) => [index('chat_deliveries_received_at_idx').on(t.receivedAt)],
);

/**
 * The Teams channels the bot may post to unprompted (approval cards, security lines): learnt when
 * it is installed in a team (`conversationUpdate`), when channels are created, and from any
 * message in a channel. Proactive messages go to the channel's `serviceUrl`, in its tenant.
 */
export const teamsChannels = pgTable(
  'teams_channels',
  {
    /** `19:…@thread.tacv2` (a team's General channel has the team's own id). */
    channelId: text('channel_id').primaryKey(),
    teamId: text('team_id').notNull(),
    tenantId: text('tenant_id').notNull(),
    serviceUrl: text('service_url').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [index('teams_channels_team_id_idx').on(t.teamId)],
);

/**
 * People the bot has seen in Teams, by Entra object id: their Teams user id (`29:…`), the e-mail
 * the Teams member look-up gave for them, and their 1:1 chat with the bot once it exists. Learnt
 * from the rosters of teams the bot is installed in and from every verified activity; how a
 * notice reaches a person by e-mail.
 */
export const teamsPeople = pgTable(
  'teams_people',
  {
    aadObjectId: text('aad_object_id').primaryKey(),
    userId: text('user_id').notNull(),
    tenantId: text('tenant_id').notNull(),
    email: text('email').notNull(),
    serviceUrl: text('service_url').notNull(),
    personalConversationId: text('personal_conversation_id'),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [index('teams_people_email_idx').on(t.email)],
);

/**
 * Weekly digests posted, one row per period: inserting the row is the claim that makes a digest
 * posted exactly once across replicas and restarts (the loser's insert finds the key taken). The
 * digest itself is the `digest_published` audit event written in the same transaction.
 */
export const digests = pgTable('digests', {
  /** The period as an ISO 8601 interval `since/until` in UTC, the same on every replica. */
  period: text('period').primaryKey(),
  since: instant('since').notNull(),
  until: instant('until').notNull(),
  postedAt: instant('posted_at').notNull(),
  /** Posted after its time, because no replica was running when it was due. */
  late: boolean('late').notNull(),
});

/**
 * Signed checkpoints of the audit chain's head: each digest's, and those made on demand. The key
 * that signs them is never in the database, so rows here can be deleted but not forged; each is also
 * in the audit log and in the security channel.
 */
export const checkpoints = pgTable('checkpoints', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  /** The digest's period (`since/until`), or `on-demand`. */
  period: text('period').notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: char('hash', { length: 64 }).notNull(),
  signedAt: instant('signed_at').notNull(),
  keyId: text('key_id').notNull(),
  /** Base64 Ed25519 signature over the checkpoint's canonical message (domain/checkpoint.ts). */
  signature: text('signature').notNull(),
});

/**
 * Drift reconciliation runs: when each ran, what the providers listed, what was found and revoked,
 * and whether the guard held its revocations for a person (who approved, and when). A run is leased
 * while it works, so one replica (or one `drift check`) runs at a time; `scheduled_for` is unique, so
 * one cron tick is run once however many replicas see it.
 */
export const driftRuns = pgTable(
  'drift_runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    trigger: driftRunTrigger('trigger').notNull(),
    /** The cron tick this run is for (null when run on demand). */
    scheduledFor: instant('scheduled_for').unique('drift_runs_scheduled_for_unique'),
    state: driftRunState('state').notNull(),
    startedAt: instant('started_at').notNull(),
    finishedAt: instant('finished_at'),
    leaseOwner: text('lease_owner'),
    leaseUntil: instant('lease_until'),
    listed: integer('listed').notNull().default(0),
    unexpected: integer('unexpected').notNull().default(0),
    missing: integer('missing').notNull().default(0),
    revoked: integer('revoked').notNull().default(0),
    revokeFailed: integer('revoke_failed').notNull().default(0),
    held: boolean('held').notNull().default(false),
    heldReason: text('held_reason'),
    /** For a run made by an approval: the held run it carries out. */
    approvesRun: bigint('approves_run', { mode: 'number' }),
    approvedBy: text('approved_by'),
    approvedAt: instant('approved_at'),
    approvedOsUser: text('approved_os_user'),
    /** Per provider kind: `{ listed }` or `{ error }`. */
    providers: jsonb('providers').$type<Record<string, unknown>>().notNull().default({}),
    /** The findings, as `drift show` prints them (see drift-run.ts). */
    findings: jsonb('findings').$type<unknown[]>().notNull().default([]),
  },
  (t) => [index('drift_runs_started_at_idx').on(t.startedAt)],
);
