import { approvingDriftRuns, checkCliSecurityAction } from '../../domain/acting-via';
import type { DriftRun } from '../../domain/drift-run';
import type { Email } from '../../domain/email';
import { matchesAny } from '../../domain/policy';
import type { AppContext } from '../app-context';
import { actingVia, stamp, type Origin } from '../origin';
import { claimDriftRun, executeDriftRun, type DriftCheckResult } from './check-drift';

export type DriftApprovalRefusal = { readonly code: 'not_security' | 'cli_not_allowed' | 'no_such_run' | 'not_held' | 'busy'; readonly message: string };

export type DriftApproval =
  | { readonly ok: true; readonly held: DriftRun; readonly result: Extract<DriftCheckResult, { status: 'checked' }> }
  | { readonly ok: false; readonly refusal: DriftApprovalRefusal };

/**
 * A person's answer to a run the guard held: records who approved it (`drift_run_approved`), then
 * runs drift again and revokes, without the guard, the accesses the held run found that are still
 * found without a live grant now (state recovered since is not revoked). Only members of the
 * policy's `detection.securityGroup` may approve, and from the CLI (where `--as` is only a claim)
 * only an OS user that `detection.cliOperators` names. A run is approved once.
 */
export async function approveDriftRun(ctx: AppContext, id: number, by: Email, origin: Origin): Promise<DriftApproval> {
  const loaded = ctx.policy.current();
  const group = loaded.policy.detection.securityGroup;
  if (!matchesAny(loaded.policy, [{ group }], by)) {
    return refuse('not_security', `Only members of the security group (${group}, detection.securityGroup in the policy) may approve a held drift run; ${by} is not one.`);
  }
  const cli = checkCliSecurityAction(loaded.policy.detection.cliOperators, actingVia(origin), approvingDriftRuns);
  if (!cli.ok) return refuse('cli_not_allowed', cli.refusal.message);
  const held = await ctx.store.driftRun(id);
  if (!held) return refuse('no_such_run', `There is no drift run ${id}. \`prod-access drift runs\` lists them.`);
  if (held.state === 'approved') return refuse('not_held', `Drift run ${id} was approved already by ${held.approvedBy ?? 'someone'}${held.approvedAt ? ` at ${held.approvedAt.toISOString()}` : ''}.`);
  if (held.state !== 'held') return refuse('not_held', `Drift run ${id} was not held (it is ${held.state}): nothing of it waits for approval.`);
  const keys = new Set(held.findings.flatMap((f) => (f.kind === 'unexpected' && f.outcome === 'held' ? [f.key] : [])));

  // NB: the run that carries the approval out is claimed first, so an approval is never recorded
  // without its revocations running; the approval itself is a conditional update on `held`, so two
  // people approving at once cannot both carry it out.
  const options = { trigger: 'approval' as const, origin };
  const claim = await claimDriftRun(ctx, options, id);
  if (claim.status !== 'claimed') {
    const why = claim.status === 'busy' ? `drift run ${claim.running.id} is in progress (started ${claim.running.startedAt.toISOString()})` : 'a run could not start';
    return refuse('busy', `Nothing was approved: ${why}. Try again when it is done.`);
  }
  let approvedNow: boolean;
  try {
    approvedNow = await ctx.store.transaction(async (tx) => {
      if (!(await tx.approveDriftRun(id, by, origin.osUser, ctx.clock.now()))) return false;
      await tx.appendAudit(stamp([{ action: 'drift_run_approved', actor: by, data: { run: id, approvalRun: claim.id, toRevoke: keys.size, heldReason: held.heldReason ?? null, ...(cli.operator ? { operator: cli.operator } : {}) } }], origin, loaded.sha256), ctx.clock.now());
      return true;
    });
  } catch (error) {
    await ctx.store.endDriftRun(claim.id, ctx.work.instance, ctx.clock.now()).catch(() => undefined);
    throw error;
  }
  if (!approvedNow) {
    await ctx.store.endDriftRun(claim.id, ctx.work.instance, ctx.clock.now());
    return refuse('not_held', `Drift run ${id} is no longer held: someone approved it a moment ago.`);
  }
  const result = await executeDriftRun(ctx, claim.id, options, { run: id, by, keys });
  if (result.status !== 'checked') throw new Error(`bug: a claimed drift run came back ${result.status}`);
  return { ok: true, held: { ...held, state: 'approved', approvedBy: by }, result };
}

function refuse(code: DriftApprovalRefusal['code'], message: string): { ok: false; refusal: DriftApprovalRefusal } {
  return { ok: false, refusal: { code, message } };
}
