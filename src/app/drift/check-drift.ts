import canonicalize from 'canonicalize';
import { SYSTEM_ACTOR, type AuditEvent } from '../../domain/audit-event';
import {
  guardRevocation,
  heldRunMessage,
  newFindings,
  reconcileDrift,
  unexpectedAccessMessage,
  type FoundAccess,
  type GuardDecision,
  type ProviderListing,
  type UnexpectedAccess,
} from '../../domain/drift';
import { storedMissing, storedUnexpected, type DriftRun, type DriftRunTrigger, type ProviderResult, type StoredFinding, type UnexpectedOutcome } from '../../domain/drift-run';
import type { Email } from '../../domain/email';
import type { Policy } from '../../domain/policy';
import type { DriftRunRecord } from '../../ports/access-store';
import type { AppContext } from '../app-context';
import { stamp, type Origin } from '../origin';
import { raiseDriftAlert } from './raise-drift-alert';

/**
 * How long a run holds its lease. NB: listing a cloud can take minutes (Azure reads each assignment's
 * request); a run that outlives its lease may overlap the next one, which is harmless (revoking is
 * idempotent) but may repeat an alert.
 */
export const DRIFT_LEASE_MS = 10 * 60_000;

export interface DriftCheckOptions {
  readonly trigger: DriftRunTrigger;
  /** The cron tick it runs for: each tick is run once across replicas. */
  readonly scheduledFor?: Date;
  /** Compare and report only: nothing is stored, alerted or revoked. */
  readonly dryRun?: boolean;
  readonly origin: Origin;
}

export type DriftCheckResult =
  | { readonly status: 'busy'; readonly running: { readonly id: number; readonly startedAt: Date } }
  | { readonly status: 'duplicate' }
  | { readonly status: 'checked'; readonly run: DriftRun; readonly dryRun: boolean };

/** For a run that carries out an approval: the held run and which of its findings it may revoke. */
export interface ApprovedRevocations {
  readonly run: number;
  /** Who approved: the actor of the revocations. */
  readonly by: Email;
  readonly keys: ReadonlySet<string>;
}

/**
 * Drift reconciliation: asks every provider that can list what access exists for the policy's roles,
 * compares it with the live grants, and acts:
 * - access no live grant explains raises a `drift` alert the first run it is seen, and when
 *   `detection.drift.revoke` is on it is revoked through the provider's `revokeFound`, unless the
 *   guard holds the run (more than `maxRevokeCount`, or more than `maxRevokeShare` of all that was
 *   listed): then nothing is revoked, security gets a `drift_held` alert, and a person decides
 *   (`approveDriftRun`);
 * - a live grant whose access is missing at its provider is flagged (`drift_grant_missing`) once.
 * The run is stored and audited (`drift_checked`); one runs at a time (a lease), each cron tick once.
 * A provider that fails to list is recorded as such, and none of its grants is called missing.
 */
export async function checkDrift(ctx: AppContext, options: DriftCheckOptions): Promise<DriftCheckResult> {
  return runDrift(ctx, options, undefined);
}

/** `checkDrift`, and for an approval run the revocations the person approved (no guard for those). */
export async function runDrift(ctx: AppContext, options: DriftCheckOptions, approved: ApprovedRevocations | undefined): Promise<DriftCheckResult> {
  if (options.dryRun) return executeDriftRun(ctx, 0, options, approved);
  const claim = await claimDriftRun(ctx, options, approved?.run);
  if (claim.status !== 'claimed') return claim;
  return executeDriftRun(ctx, claim.id, options, approved);
}

/** Starts a run: its id, or why none starts (another holds the lease; this tick has run). */
export async function claimDriftRun(
  ctx: AppContext,
  options: DriftCheckOptions,
  approvesRun?: number,
): Promise<{ readonly status: 'claimed'; readonly id: number } | Exclude<DriftCheckResult, { status: 'checked' }>> {
  const claim = await ctx.store.claimDriftRun({
    trigger: options.trigger,
    ...(options.scheduledFor ? { scheduledFor: options.scheduledFor } : {}),
    ...(approvesRun !== undefined ? { approvesRun } : {}),
    owner: ctx.work.instance,
    now: ctx.clock.now(),
    leaseMs: DRIFT_LEASE_MS,
  });
  if ('busy' in claim) return { status: 'busy', running: claim.busy };
  if ('duplicate' in claim) return { status: 'duplicate' };
  return { status: 'claimed', id: claim.claimed };
}

/** Runs a claimed run (`runId`; 0 for a dry run) to its end and frees its lease. */
export async function executeDriftRun(ctx: AppContext, runId: number, options: DriftCheckOptions, approved: ApprovedRevocations | undefined): Promise<DriftCheckResult> {
  const owner = ctx.work.instance;
  const startedAt = ctx.clock.now();
  const log = ctx.logger.child({ component: 'drift', run: runId || undefined });
  try {
    const loaded = ctx.policy.current();
    const before = await ctx.store.liveGrants();
    const { listings, providers } = await listProviders(ctx, loaded.policy);
    const after = await ctx.store.liveGrants();
    const { unexpected, missing, listed } = reconcileDrift({ listings, before, after, identities: loaded.policy.identities, targets: roleTargets(loaded.policy) });
    const previous = options.dryRun ? undefined : await ctx.store.previousDriftRun(runId);
    const seen = previous?.keys ?? new Set<string>();

    const plan = planRevocations(ctx, loaded.policy, unexpected, listed, approved);
    const outcomes = new Map<string, { outcome: UnexpectedOutcome; error?: string }>(unexpected.map((f) => [f.key, { outcome: plan.outcomeOf(f) }]));
    const findingsNow = (): StoredFinding[] => [
      ...unexpected.map((f) => {
        const o = outcomes.get(f.key);
        return storedUnexpected(f, !seen.has(f.key), o?.outcome ?? 'alert_only', o?.error);
      }),
      ...missing.map((f) => storedMissing(f, !seen.has(f.key))),
    ];
    const record = (revoked: number, revokeFailed: number): DriftRunRecord => ({
      state: plan.guard.held ? 'held' : 'done',
      finishedAt: ctx.clock.now(),
      listed,
      unexpected: unexpected.length,
      missing: missing.length,
      revoked,
      revokeFailed,
      held: plan.guard.held,
      ...(plan.guard.held ? { heldReason: plan.guard.reason } : {}),
      providers,
      findings: findingsNow(),
    });
    if (options.dryRun) return { status: 'checked', dryRun: true, run: { id: 0, trigger: options.trigger, startedAt, ...record(0, 0) } };

    // Step 1: what was found, its alerts and its audit events, in one transaction, before anything is
    // revoked: a crash during the revocations leaves the findings told.
    const first = record(0, 0);
    await ctx.store.transaction(async (tx) => {
      await tx.recordDriftRun(runId, first);
      const now = ctx.clock.now();
      const events: AuditEvent[] = [checkedEvent(runId, options.trigger, first, approved)];
      for (const f of newFindings(missing, seen)) {
        events.push({
          action: 'drift_grant_missing',
          actor: SYSTEM_ACTOR,
          requestId: f.grant.requestId,
          data: { run: runId, requester: f.grant.requester, role: f.grant.role, provider: f.grant.provider, grantedAt: f.grant.grantedAt.toISOString(), expiresAt: f.grant.expiresAt.toISOString() },
        });
      }
      await tx.appendAudit(stamp(events, options.origin, loaded.sha256), now);
      const rule = loaded.policy.detection.rules.drift;
      if (rule.enabled) {
        for (const f of newFindings(unexpected, seen)) {
          const next = plan.outcomeOf(f) === 'revoking' ? 'revoke' : plan.outcomeOf(f) === 'cannot_revoke' ? 'cannot_revoke' : 'alert_only';
          await raiseDriftAlert(tx, { kind: 'drift', key: `drift:${runId}:${f.key}`, severity: rule.severity, message: unexpectedAccessMessage(f.access, runId, next) }, options.origin, loaded.sha256, now);
        }
      }
      // NB: a hold is told once while it lasts: the runs after it are held again until someone acts.
      if (plan.guard.held && !previous?.held) {
        const message = heldRunMessage(runId, plan.toRevoke.length, plan.guard.reason);
        await raiseDriftAlert(tx, { kind: 'drift_held', key: `drift-held:${runId}`, severity: 'high', message }, options.origin, loaded.sha256, now);
      }
    });
    if (plan.guard.held) log.warn({ toRevoke: plan.toRevoke.length, listed, reason: plan.guard.reason }, 'drift revocations held for a person');

    // Step 2: the revocations, then their results in one transaction.
    if (plan.toRevoke.length > 0) {
      const events: AuditEvent[] = [];
      let revoked = 0;
      let failed = 0;
      // NB: grants made since the comparison (an approval landing meanwhile) explain access too: what
      // they explain now is kept, never taken from a person who was just granted it.
      const fresh = await ctx.store.liveGrants();
      const stillUnexplained = new Set(
        reconcileDrift({ listings: listingsOf(plan.toRevoke), before: fresh, after: fresh, identities: loaded.policy.identities, targets: roleTargets(loaded.policy) }).unexpected.map((f) => f.key),
      );
      for (const f of plan.toRevoke) {
        if (!stillUnexplained.has(f.key)) {
          outcomes.set(f.key, { outcome: 'explained' });
          continue;
        }
        const result = await revokeFound(ctx, loaded.policy, f.access);
        const subject = { run: runId, provider: f.access.provider, role: f.access.role, principal: f.access.principal, ...(f.access.person ? { person: f.access.person } : {}), detail: f.access.detail };
        if (result.ok) {
          revoked += 1;
          outcomes.set(f.key, { outcome: result.removed ? 'revoked' : 'already_gone' });
          events.push({ action: 'drift_access_revoked', actor: approved?.by ?? SYSTEM_ACTOR, data: { ...subject, removed: result.removed, ...(approved ? { approvedRun: approved.run } : {}) } });
        } else {
          failed += 1;
          outcomes.set(f.key, { outcome: 'revoke_failed', error: result.error });
          // NB: retried every run; security hears the first failure, not one a quarter of an hour.
          if (!previous?.failedKeys.has(f.key)) events.push({ action: 'drift_revocation_failed', actor: SYSTEM_ACTOR, data: { ...subject, error: result.error } });
          log.error({ provider: f.access.provider, role: f.access.role, principal: f.access.principal, error: result.error }, 'revoking access found without a grant failed');
        }
      }
      await ctx.store.transaction(async (tx) => {
        await tx.recordDriftRun(runId, record(revoked, failed));
        await tx.appendAudit(stamp(events, options.origin, loaded.sha256), ctx.clock.now());
      });
    }
    const run = await ctx.store.driftRun(runId);
    if (!run) throw new Error(`bug: drift run ${runId} vanished`);
    if (run.unexpected + run.missing > 0) log.info({ unexpected: run.unexpected, missing: run.missing, revoked: run.revoked, held: run.held }, 'drift found');
    return { status: 'checked', dryRun: false, run };
  } finally {
    if (!options.dryRun) await ctx.store.endDriftRun(runId, owner, ctx.clock.now()).catch((err: unknown) => log.error({ err }, 'freeing the drift run lease failed; it lapses on its own'));
  }
}

/** Asks each provider kind the policy's roles use, and that can list, about those roles. */
async function listProviders(ctx: AppContext, policy: Policy): Promise<{ listings: ProviderListing[]; providers: Record<string, ProviderResult> }> {
  const listings: ProviderListing[] = [];
  const providers: Record<string, ProviderResult> = {};
  const byKind = new Map<string, { role: string; target: Readonly<Record<string, string>> }[]>();
  for (const role of policy.roles.values()) byKind.set(role.provider, [...(byKind.get(role.provider) ?? []), { role: role.name, target: role.target }]);
  for (const [kind, roles] of byKind) {
    const provider = ctx.iam.get(kind);
    if (!provider?.listGranted) {
      providers[kind] = { skipped: `the ${kind} provider cannot list what exists` };
      continue;
    }
    try {
      const accesses = (await provider.listGranted(roles)).map((a): FoundAccess => ({ ...a, provider: kind }));
      listings.push({ provider: kind, roles: roles.map((r) => r.role), accesses });
      providers[kind] = { listed: accesses.length };
    } catch (error) {
      // NB: a provider that cannot list is skipped this run; its grants are not called missing.
      providers[kind] = { error: error instanceof Error ? error.message : String(error) };
      ctx.logger.warn({ err: error, provider: kind }, 'drift: the provider could not list what exists; skipped this run');
    }
  }
  return { listings, providers };
}

interface RevocationPlan {
  readonly toRevoke: readonly UnexpectedAccess[];
  readonly guard: GuardDecision;
  outcomeOf(finding: UnexpectedAccess): UnexpectedOutcome;
}

/**
 * What this run revokes: with `detection.drift.revoke`, every finding whose provider can revoke what
 * it lists, unless the guard holds them all; for an approval run, exactly the approved findings that
 * are still found (no guard: a person looked).
 */
function planRevocations(ctx: AppContext, policy: Policy, unexpected: readonly UnexpectedAccess[], listed: number, approved: ApprovedRevocations | undefined): RevocationPlan {
  const canRevoke = (f: UnexpectedAccess) => typeof ctx.iam.get(f.access.provider)?.revokeFound === 'function' && policy.roles.has(f.access.role);
  const settings = policy.detection.drift;
  const wanted = approved ? unexpected.filter((f) => approved.keys.has(f.key)) : settings.revoke ? unexpected : [];
  const candidates = wanted.filter(canRevoke);
  const guard: GuardDecision = approved ? { held: false } : guardRevocation(candidates.length, listed, settings);
  const chosen = new Set(candidates.map((f) => f.key));
  const asked = new Set(wanted.map((f) => f.key));
  return {
    toRevoke: guard.held ? [] : candidates,
    guard,
    outcomeOf: (f) => (chosen.has(f.key) ? (guard.held ? 'held' : 'revoking') : asked.has(f.key) ? 'cannot_revoke' : 'alert_only'),
  };
}

/** Findings back as listings, to compare them again with fresh grants. */
function listingsOf(findings: readonly UnexpectedAccess[]): ProviderListing[] {
  const byProvider = new Map<string, FoundAccess[]>();
  for (const f of findings) byProvider.set(f.access.provider, [...(byProvider.get(f.access.provider) ?? []), f.access]);
  return [...byProvider].map(([provider, accesses]) => ({ provider, roles: [], accesses }));
}

/** Each role's provider and target as one canonical key (two roles on one target grant the same access). */
function roleTargets(policy: Policy): Map<string, string> {
  return new Map([...policy.roles.values()].map((r) => [r.name, `${r.provider} ${canonicalize(r.target) ?? '{}'}`]));
}

async function revokeFound(ctx: AppContext, policy: Policy, access: FoundAccess): Promise<{ ok: true; removed: boolean } | { ok: false; error: string }> {
  const provider = ctx.iam.get(access.provider);
  const role = policy.roles.get(access.role);
  if (!provider?.revokeFound || !role) return { ok: false, error: `the ${access.provider} provider cannot revoke it` };
  try {
    return { ok: true, ...(await provider.revokeFound(access, role.target)) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function checkedEvent(runId: number, trigger: DriftRunTrigger, record: DriftRunRecord, approved: ApprovedRevocations | undefined): AuditEvent {
  const news = record.findings.filter((f) => f.new);
  return {
    action: 'drift_checked',
    actor: SYSTEM_ACTOR,
    data: {
      run: runId,
      trigger,
      ...(approved ? { approvesRun: approved.run } : {}),
      listed: record.listed,
      unexpected: record.unexpected,
      missing: record.missing,
      newUnexpected: news.filter((f) => f.kind === 'unexpected').length,
      newMissing: news.filter((f) => f.kind === 'missing').length,
      held: record.held,
      ...(record.heldReason ? { heldReason: record.heldReason } : {}),
      providers: record.providers,
    },
  };
}
