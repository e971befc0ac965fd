import { assertNever } from '../domain/assert-never';
import type { DriftRun, StoredFinding, UnexpectedOutcome } from '../domain/drift-run';
import { viaCliNote } from '../app/origin';
import { printable } from '../domain/text';

/** A drift run as JSON for scripts: dates as ISO strings. */
export function driftRunJson(run: DriftRun): Record<string, unknown> {
  return JSON.parse(JSON.stringify(run)) as Record<string, unknown>;
}

/** What happened to access without a grant, in a few words. */
export function outcomeWords(finding: Extract<StoredFinding, { kind: 'unexpected' }>): string {
  const outcome: UnexpectedOutcome = finding.outcome;
  switch (outcome) {
    case 'alert_only':
      return 'not revoked (detection.drift.revoke is off)';
    case 'held':
      return 'held for a person to approve';
    case 'cannot_revoke':
      return 'the provider cannot revoke it: remove it by hand';
    case 'revoking':
      return 'being revoked';
    case 'revoked':
      return 'revoked';
    case 'already_gone':
      return 'already gone when revoked';
    case 'explained':
      return 'kept: a grant made since the comparison explains it';
    case 'revoke_failed':
      return `revocation failed: ${finding.error ?? 'unknown error'}`;
    default:
      return assertNever(outcome);
  }
}

/**
 * A run for people: what was listed, held or approved, and every finding with what became of it.
 * NB: findings carry the providers' words (principals, details, errors): every line is shown `printable`.
 */
export function describeDriftRun(run: DriftRun, dryRun = false): string {
  const lines: string[] = [];
  lines.push(
    dryRun
      ? `drift check (dry run: nothing recorded, alerted or revoked), ${run.startedAt.toISOString()}`
      : `drift run ${run.id} (${run.trigger}${run.approvesRun !== undefined ? ` of held run ${run.approvesRun}` : ''}), started ${run.startedAt.toISOString()}, ${run.state}`,
  );
  const providers = Object.entries(run.providers).map(([kind, r]) => ('listed' in r ? `${kind} ${r.listed}` : 'error' in r ? `${kind} could not list (${r.error})` : `${kind} not asked (${r.skipped})`));
  lines.push(`listed    ${providers.length > 0 ? providers.join('; ') : 'no provider the policy uses can list'}`);
  if (run.held) {
    lines.push(`held      ${run.heldReason ?? ''}`);
    if (run.state === 'held') lines.push(`          nothing was revoked; if the findings are right: prod-access drift approve ${run.id} --as <email>`);
  }
  if (run.approvedBy) lines.push(`approved  by ${run.approvedBy}${viaCliNote(run.approvedOsUser)}${run.approvedAt ? ` at ${run.approvedAt.toISOString()}` : ''}`);
  const unexpected = run.findings.filter((f): f is Extract<StoredFinding, { kind: 'unexpected' }> => f.kind === 'unexpected');
  const missing = run.findings.filter((f): f is Extract<StoredFinding, { kind: 'missing' }> => f.kind === 'missing');
  if (unexpected.length === 0 && missing.length === 0) {
    lines.push('no drift found');
    return `${lines.map(printable).join('\n')}\n`;
  }
  if (unexpected.length > 0) {
    lines.push(`access without a live grant (${unexpected.length}):`);
    for (const f of unexpected) {
      const who = f.person && f.person !== f.principal ? `${f.principal} (${f.person})` : f.principal;
      lines.push(`  ${f.provider}  ${f.role}  ${who}${f.requestId ? `  request ${f.requestId}` : ''}  ${outcomeWords(f)}${f.new ? '  [new]' : ''}`);
      lines.push(`      ${f.detail}`);
    }
  }
  if (missing.length > 0) {
    lines.push(`live grants whose access is missing at the provider (${missing.length}):`);
    for (const f of missing) {
      lines.push(`  ${f.provider}  ${f.role}  request ${f.requestId} for ${f.requester}, granted ${f.grantedAt}, expires ${f.expiresAt}${f.new ? '  [new]' : ''}`);
    }
  }
  return `${lines.map(printable).join('\n')}\n`;
}

/** One row per run for `drift runs`. */
export function driftRunRow(run: DriftRun): string[] {
  const note = run.state === 'held' ? `held: ${run.heldReason ?? ''}` : run.approvedBy ? `approved by ${run.approvedBy}` : run.approvesRun !== undefined ? `approval of run ${run.approvesRun}` : '';
  return [String(run.id), run.trigger, run.startedAt.toISOString(), run.state, String(run.listed), String(run.unexpected), String(run.missing), String(run.revoked), note];
}
