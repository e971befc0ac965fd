import canonicalize from 'canonicalize';
import type { ReportEntry } from '../domain/access-report';
import { viaCliNote } from '../app/origin';

/**
 * `prod-access report` as CSV that opens in a spreadsheet as it is (RFC 4180: comma-separated, CRLF
 * line ends, a header row, fields with a comma, quote or line break in double quotes, quotes
 * doubled), and text for people. The columns are documented in the README ("Reports").
 */

export const CSV_COLUMNS = [
  'request',
  'kind',
  'extends',
  'opened_at',
  'requester',
  'role',
  'provider',
  'target',
  'duration',
  'ticket',
  'reason',
  'break_glass',
  'approvals_required',
  'approved_by',
  'approved_at',
  'denied_by',
  'denied_at',
  'denial_reason',
  'granted_at',
  'expires_at',
  'ended_at',
  'outcome',
  'ended_by',
  'cli_os_users',
  'policy_at_open',
  'policy_of_decisions',
] as const;

/** Written first by default so Excel reads the file as UTF-8 (names and reasons with accents); `--no-bom` leaves it out. */
export const UTF8_BOM = '\uFEFF';

/**
 * One CSV field. NB: a field a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`,
 * a tab or a carriage return, OWASP's list) gets a leading `'`, so a reason such as
 * `=HYPERLINK("http://evil", "click")` is shown as text, never run. People typed these fields.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export function csvHeader(): string {
  return csvLine(CSV_COLUMNS);
}

/** One request as a CSV line, in `CSV_COLUMNS` order; lists within a field are separated by `; `. */
export function csvRecord(entry: ReportEntry): string {
  const cli = entry.decisions.filter((d) => d.via === 'cli' && d.osUser !== null).map((d) => `${d.action} by ${d.by}: ${d.osUser}`);
  const row: Record<(typeof CSV_COLUMNS)[number], string> = {
    request: entry.request,
    kind: entry.kind,
    extends: entry.extends ?? '',
    opened_at: entry.openedAt,
    requester: entry.requester,
    role: entry.role,
    provider: entry.provider,
    target: canonicalize(entry.target) ?? '{}',
    duration: entry.duration,
    ticket: entry.ticket,
    reason: entry.reason,
    break_glass: entry.breakGlass ? 'yes' : 'no',
    approvals_required: String(entry.approvalsRequired),
    approved_by: entry.approvals.map((a) => a.by).join('; '),
    approved_at: entry.approvals.map((a) => a.at).join('; '),
    denied_by: entry.denial?.by ?? '',
    denied_at: entry.denial?.at ?? '',
    denial_reason: entry.denial?.reason ?? '',
    granted_at: entry.grant?.grantedAt ?? '',
    expires_at: entry.grant?.expiresAt ?? '',
    ended_at: entry.ended?.at ?? '',
    outcome: entry.outcome,
    ended_by: entry.ended?.by ?? '',
    cli_os_users: cli.join('; '),
    policy_at_open: entry.policyAtOpen,
    policy_of_decisions: distinct(entry.decisions.flatMap((d) => (d.policySha ? [d.policySha] : []))).join('; '),
  };
  return csvLine(CSV_COLUMNS.map((c) => row[c]));
}

/** One request for people: one fact per line, each decision with the policy that governed it. */
export function textRecord(entry: ReportEntry): string {
  const under = (sha: string | null) => (sha ? ` under policy ${sha}` : '');
  const lines = [
    `request   ${entry.request}${entry.extends ? ` (extension of ${entry.extends})` : ''}${entry.breakGlass ? ' BREAK-GLASS' : ''}`,
    `opened    ${entry.openedAt} by ${entry.requester}${viaCliNote(entry.decisions.find((d) => d.action === 'request_opened')?.osUser ?? undefined)}${under(entry.policyAtOpen)}`,
    `role      ${entry.role} (${entry.provider} ${canonicalize(entry.target) ?? '{}'}) for ${entry.duration}`,
    `ticket    ${entry.ticket}`,
    `reason    ${entry.reason}`,
    ...entry.approvals.map((a) => `approved  by ${a.by}${viaCliNote(a.osUser ?? undefined)} at ${a.at}${under(a.policySha)}`),
    ...(entry.denial ? [`denied    by ${entry.denial.by}${viaCliNote(entry.denial.osUser ?? undefined)} at ${entry.denial.at}${under(entry.denial.policySha)}: ${entry.denial.reason}`] : []),
    ...(entry.grant ? [`granted   ${entry.grant.grantedAt} until ${entry.grant.expiresAt}${under(entry.grant.policySha)}`] : []),
    `outcome   ${entry.outcome}${entry.ended ? ` at ${entry.ended.at}${entry.ended.by ? ` by ${entry.ended.by}${viaCliNote(entry.ended.osUser ?? undefined)}` : ''}` : ''}`,
  ];
  return `${lines.join('\n')}\n\n`;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
