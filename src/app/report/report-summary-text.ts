import type { ReportSummary } from '../../domain/access-report';
import { bold, code, joinRich, say, type RichText } from '../../domain/rich-text';

/** How many names each "by …" line shows. */
const TOP = 5;

/**
 * A report's figures as a few sentences: the head of `prod-access report` and what security members
 * get from `/prod-access report` in chat. Names and roles are the people's and the policy's words, so
 * they stay verbatim.
 */
export function reportSummaryText(summary: ReportSummary, range: { since: Date; until: Date }, options: { readonly fullReportHint?: boolean } = {}): RichText {
  const s = summary.byState;
  const top = (entries: readonly [string, number][]): RichText =>
    entries.length === 0
      ? say`none`
      : joinRich([...entries.slice(0, TOP).map(([name, n]) => say`${name} ${n}`), ...(entries.length > TOP ? [say`and ${entries.length - TOP} more`] : [])], ', ');
  const lines: RichText[] = [
    say`${bold('Access report')} for requests opened from ${range.since.toISOString()} to ${range.until.toISOString()}`,
    say`${summary.requests} request${summary.requests === 1 ? '' : 's'} (${summary.extensions} extension${summary.extensions === 1 ? '' : 's'}), ${summary.granted} granted, ${summary.breakGlass} break-glass`,
    say`Ended: ${s.revoked} revoked, ${s.denied} denied, ${s.cancelled} cancelled, ${s.timed_out} timed out, ${s.failed} failed. Open: ${s.pending} pending, ${s.approved} approved, ${s.active + s.revoking} live`,
    say`By role: ${top(summary.byRole)}`,
    say`By requester: ${top(summary.byRequester)}`,
    say`Approvals by: ${top(summary.byApprover)}`,
  ];
  if (options.fullReportHint) {
    lines.push(say`Every request, with its decisions and the policy behind each: ${code(`prod-access report --since ${range.since.toISOString()} --until ${range.until.toISOString()} --format csv`)}`);
  }
  return joinRich(lines);
}
