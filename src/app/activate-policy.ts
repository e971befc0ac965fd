import { SYSTEM_ACTOR } from '../domain/audit-event';
import { diffPolicies, parsePolicy, type LoadedPolicy } from '../domain/policy';
import type { AccessStore } from '../ports/access-store';
import type { Clock } from '../ports/clock';
import type { Origin } from './origin';

/**
 * Records that a policy came into force: its text is kept by SHA-256 and a `policy_activated`
 * event says what changed against the previous one. Activating the policy already in force
 * writes nothing, so replicas and restarts do not repeat the event.
 */
export async function activatePolicy(
  deps: { store: AccessStore; clock: Clock },
  loaded: LoadedPolicy,
  knownProviders: readonly string[],
  origin: Origin,
  source: string,
): Promise<{ activated: boolean }> {
  return deps.store.transaction(async (tx) => {
    const previousSha = await tx.activePolicySha();
    if (previousSha === loaded.sha256) return { activated: false };
    const previousText = previousSha ? await tx.policyText(previousSha) : undefined;
    const previous = previousText === undefined ? undefined : parsePolicy(previousText, knownProviders);
    const diff = diffPolicies(previous?.ok ? previous.loaded.policy : undefined, loaded.policy);
    const now = deps.clock.now();
    await tx.recordPolicy(loaded.sha256, loaded.text, now);
    await tx.appendAudit(
      [
        {
          action: 'policy_activated',
          actor: SYSTEM_ACTOR,
          data: { policySha: loaded.sha256, previousPolicySha: previousSha ?? null, source, ...diff, origin: { ...origin } },
        },
      ],
      now,
    );
    return { activated: true };
  });
}

/** Records a refused policy change: the previous policy stays in force. */
export async function recordPolicyRefusal(
  deps: { store: AccessStore; clock: Clock },
  refusedSha: string,
  errors: readonly string[],
  inForceSha: string | undefined,
  origin: Origin,
  source: string,
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx.appendAudit(
      [
        {
          action: 'policy_rejected',
          actor: SYSTEM_ACTOR,
          data: { refusedPolicySha: refusedSha, policySha: inForceSha ?? null, source, errors: errors.slice(0, 50), origin: { ...origin } },
        },
      ],
      deps.clock.now(),
    );
  });
}
