import type { AccessRequest } from './access-request';
import type { DetectionRuleName, Severity } from './detection-policy';
import { formatDuration } from './duration';
import type { Email } from './email';
import type { RequestId } from './request-id';

/** The anomaly rules of the policy's `detection.rules`: each raises alerts under its own name. */
export const anomalyRules = [
  'offHours',
  'breakGlass',
  'firstGrant',
  'requestSpike',
  'ticketReuse',
  'maxDuration',
  'rubberStamp',
  'reciprocal',
  'overdueGrant',
  'revocationFailing',
  'drift',
] as const satisfies readonly DetectionRuleName[];
export type AnomalyRule = (typeof anomalyRules)[number];
// NB: a rule added to the policy schema and not here fails to compile.
const everyPolicyRuleIsListed: [Exclude<DetectionRuleName, AnomalyRule>] extends [never] ? true : never = true;
void everyPolicyRuleIsListed;

/**
 * Failures security hears about that are not anomaly rules and have no settings: always on, always
 * high. `grantFailed`: an approved request could not be granted and was given up.
 * `breakGlassUnreviewed`: break-glass access got no after-the-fact review within its window.
 * `driftHeld`: a drift run would have revoked too much at once (lost state, not drift) and waits for a person.
 */
export const failureAlerts = ['grantFailed', 'breakGlassUnreviewed', 'driftHeld'] as const;

/** Every kind of alert, by the rule that raises it. */
export const alertRules = [...anomalyRules, ...failureAlerts] as const;
export type AlertRule = (typeof alertRules)[number];

/** A few words naming each kind of alert, for titles and lists. */
export const alertTitles: { readonly [R in AlertRule]: string } = {
  offHours: 'Outside business hours',
  breakGlass: 'Break-glass used',
  firstGrant: 'First grant of a role',
  requestSpike: 'Request spike',
  ticketReuse: 'Ticket reused',
  maxDuration: 'Maximum durations, again and again',
  rubberStamp: 'Rubber-stamp approvals',
  reciprocal: 'Reciprocal approvals',
  overdueGrant: 'Grant live past its expiry',
  revocationFailing: 'Revocation failing',
  drift: 'Access without a grant (drift)',
  grantFailed: 'Grant failed',
  breakGlassUnreviewed: 'Break-glass not reviewed',
  driftHeld: 'Drift revocations held for a person',
};

/**
 * Something security should hear about, as a rule (or a failure) found it, before it is stored.
 * `key` says which occurrence this is: the same anomaly found again (by another replica, after a
 * restart, by the next pass) has the same key and is raised once. Keys start with the rule in
 * snake case: `first_grant:<request>`, `request_spike:person:<email>:<window start>`, `drift:…`.
 */
export interface Finding {
  readonly rule: AlertRule;
  readonly severity: Severity;
  readonly key: string;
  /** One plain-text sentence for the security channel: who, what and why. Platforms escape it. */
  readonly message: string;
  /** The request it is about, when there is one (a spike or a reciprocal pair is about people). */
  readonly requestId?: RequestId;
}

/** Who acknowledged an alert, when, and from where (`via`: slack, teams, cli; the OS user for the CLI). */
export interface Acknowledgement {
  readonly by: Email;
  readonly at: Date;
  readonly via: string;
  readonly osUser?: string;
}

/** A stored alert. */
export interface Alert extends Finding {
  readonly id: number;
  readonly raisedAt: Date;
  readonly acknowledged?: Acknowledgement;
}

/** How the keys of a rule's findings start: the rule in snake case (`firstGrant` → `first_grant`). */
export function keyPrefix(rule: AlertRule): string {
  return rule.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Alert ids are positive integers; anything else (a forged button value, a typo) is not one. */
export function parseAlertId(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,14}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

export function grantFailedAlert(request: AccessRequest, attempts: number, lastError: string): Finding {
  return {
    rule: 'grantFailed',
    severity: 'high',
    key: `grant_failed:${request.id}`,
    requestId: request.id,
    message:
      `Granting ${request.role} to ${request.requester} (request ${request.id}) failed ${attempts === 1 ? 'for good' : `${attempts} times`} and was given up. ` +
      `Last error: ${lastError}.`,
  };
}

export function breakGlassUnreviewedAlert(request: AccessRequest): Finding {
  const window = Math.round((request.decisionDeadline.getTime() - request.createdAt.getTime()) / 60_000);
  return {
    rule: 'breakGlassUnreviewed',
    severity: 'high',
    key: `break_glass_unreviewed:${request.id}`,
    requestId: request.id,
    message:
      `Break-glass access to ${request.role} by ${request.requester} (request ${request.id}, ticket ${request.ticket}) ` +
      `has ${request.approvals.length} of ${request.approvalsRequired} reviews ${formatDuration(window)} after it was taken.`,
  };
}
