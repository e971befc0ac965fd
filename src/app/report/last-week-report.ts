import type { Email } from '../../domain/email';
import { matchesAny } from '../../domain/policy';
import { say, type RichText } from '../../domain/rich-text';
import type { AppContext } from '../app-context';
import { accessReport } from './access-report';
import { reportSummaryText } from './report-summary-text';

const WEEK_MS = 7 * 24 * 60 * 60_000;

/**
 * `/prod-access report`: the figures of the last 7 days' requests, for members of the policy's
 * `detection.securityGroup` only (by address in the policy: a chat platform's own user groups do not
 * count here). Everyone else is told who may, and nothing about the requests.
 */
export async function lastWeekReport(ctx: AppContext, who: Email): Promise<{ ok: boolean; text: RichText }> {
  const policy = ctx.policy.current().policy;
  const group = policy.detection.securityGroup;
  if (!matchesAny(policy, [{ group }], who)) {
    return { ok: false, text: say`The access report is for members of the security group (${group} in the policy); ${who} is not one. Ask your security team.` };
  }
  const until = ctx.clock.now();
  const range = { since: new Date(until.getTime() - WEEK_MS), until };
  const summary = await accessReport(ctx.store, range, () => undefined);
  return { ok: true, text: reportSummaryText(summary, range, { fullReportHint: true }) };
}
