import { keyPrefix, type AnomalyRule, type Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import type { RequestId } from '../request-id';
import { breakGlass } from './break-glass';
import { firstGrant } from './first-grant';
import type { DetectionContext, DetectionHistory } from './history';
import { maxDuration } from './max-duration';
import { offHours } from './off-hours';
import { overdueGrant } from './overdue-grant';
import { reciprocal } from './reciprocal';
import { requestSpike } from './request-spike';
import { revocationFailing } from './revocation-failing';
import { rubberStamp } from './rubber-stamp';
import { ticketReuse } from './ticket-reuse';

/** The rules the detection pass runs over history (drift has its own reconciliation job). */
export type HistoryRule = Exclude<AnomalyRule, 'drift'>;

type RuleFunction<R extends HistoryRule> = (history: DetectionHistory, settings: DetectionRules[R], context: DetectionContext) => Finding[];

const historyRules: { readonly [R in HistoryRule]: RuleFunction<R> } = {
  offHours,
  breakGlass,
  firstGrant,
  requestSpike,
  ticketReuse,
  maxDuration,
  rubberStamp,
  reciprocal,
  overdueGrant,
  revocationFailing,
};

/** Every finding of every rule the policy leaves on, over one history. */
export function findAnomalies(history: DetectionHistory, rules: DetectionRules, context: DetectionContext): Finding[] {
  const run = <R extends HistoryRule>(name: R): Finding[] => (rules[name].enabled ? historyRules[name](history, rules[name], context) : []);
  return (Object.keys(historyRules) as HistoryRule[]).flatMap((name) => run(name));
}

/**
 * A finding of `rule` made outside the detection pass (drift, by the reconciliation job; a failing
 * revocation, by the scheduler), with the severity the policy gives the rule, or undefined when the
 * policy turns the rule off. Throws on a key that does not start with the rule (`drift:…`): a bug.
 */
export function ruleFinding(rules: DetectionRules, rule: AnomalyRule, what: { readonly key: string; readonly message: string; readonly requestId?: RequestId }): Finding | undefined {
  if (!what.key.startsWith(`${keyPrefix(rule)}:`)) throw new Error(`bug: a ${rule} finding's key must start with "${keyPrefix(rule)}:", got ${JSON.stringify(what.key)}`);
  const settings = rules[rule];
  if (!settings.enabled) return undefined;
  return { rule, severity: settings.severity, key: what.key, message: what.message, ...(what.requestId ? { requestId: what.requestId } : {}) };
}
