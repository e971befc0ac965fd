import { validate } from 'node-cron';
import { z } from 'zod';
import { digestScheduleProblem } from './digest-schedule';
import type { Minutes } from './duration';
import { durationField, operatorRef } from './policy-fields';

/**
 * The policy's `detection:` block: the anomaly rules with their severity and thresholds, the
 * weekly digest's schedule, drift reconciliation, and the group whose members may acknowledge
 * alerts and read reports in chat. Every part has a default, so a policy without the block
 * still runs every rule with the thresholds below.
 */

export const severities = ['low', 'medium', 'high'] as const;
export type Severity = (typeof severities)[number];

const duration = durationField;

/** A node-cron expression (5 or 6 fields), checked with node-cron's own parser. */
const cronExpression = z.string().refine((text) => validate(text), { message: 'is not a cron expression like "0 9 * * 1" (minute hour day month weekday)' });

const severity = z.enum(severities);
/** `enabled: false` turns a rule off; severity says how loudly it is posted. */
const rule = <T extends z.ZodRawShape>(defaultSeverity: Severity, shape: T) =>
  z.strictObject({ enabled: z.boolean().default(true), severity: severity.default(defaultSeverity), ...shape });

const count = (min: number, max: number) => z.number().int().min(min).max(max);

// NB: `prefault` runs the defaults of every field when the key is absent, so `rules: {}` and no
// `detection` at all both give the full set of defaults.
const rulesSchema = z.strictObject({
  /** A request opened, or access granted, outside the policy's business hours. */
  offHours: rule('low', {}).prefault({}),
  /** Any use of break-glass. */
  breakGlass: rule('high', {}).prefault({}),
  /** The first grant of a role to a person. */
  firstGrant: rule('low', {}).prefault({}),
  /** More requests than usual: by one person, or for one role, within `window`. */
  requestSpike: rule('medium', { perPerson: count(2, 1000).default(5), perRole: count(2, 10000).default(20), window: duration.prefault('24h') }).prefault({}),
  /** One ticket used by many requests, or by several people, within `window`. */
  ticketReuse: rule('medium', { requests: count(2, 1000).default(4), people: count(2, 100).default(2), window: duration.prefault('7d') }).prefault({}),
  /** A person asking for the role's maximum duration `of` times in their last `lastRequests` requests. */
  maxDuration: rule('low', { of: count(2, 100).default(3), lastRequests: count(2, 100).default(5) }).prefault({}),
  /** An approver approving at least `share` of at least `minDecisions` decisions within `withinSeconds` of the request (within `window`). */
  rubberStamp: rule('medium', {
    minDecisions: count(2, 10000).default(10),
    share: z.number().min(0.5).max(1).default(0.9),
    withinSeconds: count(1, 3600).default(60),
    window: duration.prefault('30d'),
  }).prefault({}),
  /** A approved B's requests and B approved A's, within `window`. */
  reciprocal: rule('medium', { window: duration.prefault('30d') }).prefault({}),
  /** A grant still live `grace` after its expiry. */
  overdueGrant: rule('high', { grace: duration.prefault('5m') }).prefault({}),
  /** A revocation that keeps failing. */
  revocationFailing: rule('high', {}).prefault({}),
  /** Access found at a provider without a live grant (drift). */
  drift: rule('high', {}).prefault({}),
});

const detectionSchema = z.strictObject({
  /** The group (in `groups`) whose members may acknowledge alerts and run `/prod-access report`; default `security`. */
  securityGroup: z.string().default('security'),
  /**
   * OS users (or `group:<os group>`, or `*any-os-user*`) who may act for the security group from the
   * CLI: `alerts ack --as <email>` and `drift approve --as <email>`. Absent: neither works from the
   * CLI (acknowledging is for chat only), since `--as` is only a claim.
   */
  cliOperators: z.array(operatorRef).min(1, 'name at least one OS user or group:<os group>, or leave cliOperators out to keep acting for security from the CLI off').optional(),
  rules: rulesSchema.prefault({}),
  /** The weekly digest: a node-cron expression in the policy's time zone (default Monday 09:00). */
  digest: z
    .strictObject({
      enabled: z.boolean().default(true),
      // NB: each digest covers the time since the schedule's fire before it, found by walking back
      // over plain cron fields; node-cron's L, W and # day tokens are refused rather than misread.
      schedule: cronExpression
        .superRefine((text, ctx) => {
          const problem = validate(text) ? digestScheduleProblem(text) : undefined;
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .default('0 9 * * 1'),
    })
    .prefault({}),
  /**
   * Drift reconciliation: how often providers that can list are compared with live grants; whether
   * access without a grant is revoked automatically; and the guard that holds a mass revocation
   * (more than `maxRevokeShare` of what was found, or more than `maxRevokeCount`) for a person.
   */
  drift: z
    .strictObject({
      enabled: z.boolean().default(true),
      schedule: cronExpression.default('*/15 * * * *'),
      revoke: z.boolean().default(false),
      maxRevokeShare: z.number().min(0).max(1).default(0.2),
      maxRevokeCount: count(0, 100000).default(10),
    })
    .prefault({}),
});

export const detectionPolicySchema = detectionSchema.prefault({});
export type DetectionPolicy = z.output<typeof detectionSchema>;
export type DetectionRules = DetectionPolicy['rules'];
export type DetectionRuleName = keyof DetectionRules;

/** The defaults, as a policy without `detection:` gets them. */
export const defaultDetectionPolicy: DetectionPolicy = detectionPolicySchema.parse(undefined);

/** A rule's window in milliseconds. */
export function windowMs(minutes: Minutes): number {
  return minutes * 60_000;
}
