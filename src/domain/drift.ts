import type { Email } from './email';
import type { RequestId } from './request-id';
import { printable } from './text';

/**
 * Drift reconciliation, pure: what providers say exists, compared with what the bot granted.
 * Two kinds of finding:
 * - `unexpected`: access at a provider that no live grant explains (granted behind the bot's back,
 *   or left behind by a revocation that was never confirmed there);
 * - `missing`: a live grant whose access the provider no longer has (removed by hand, or lost).
 */

/** One piece of access a provider reported, with the provider kind it came from. */
export interface FoundAccess {
  /** The provider kind (`postgres`, `aws`, …). */
  readonly provider: string;
  /** The policy role whose target it matches. */
  readonly role: string;
  /** The provider's own principal id (login role, Identity Center user id, `user:<e-mail>`, …). */
  readonly principal: string;
  /** The person it belongs to, when known (from the provider, or `identities` in the policy). */
  readonly person?: Email;
  /** The request that made it, when the provider records it (a GCP binding title, an Azure justification). */
  readonly requestId?: RequestId;
  /** The provider's own end of this access, when it has one. */
  readonly expiresAt?: Date;
  /** The provider's words for it, for a person reading the finding. */
  readonly detail: string;
}

/**
 * Access the bot stands behind: a live grant (`active`, or `revoking` and not yet confirmed), or an
 * `approved` request being granted right now (the provider grants before the grant is recorded, so
 * its access may be listed first). Only an `active` grant can be missing.
 */
export type LiveGrant =
  | {
      readonly requestId: RequestId;
      readonly requester: Email;
      readonly role: string;
      readonly provider: string;
      readonly state: 'active' | 'revoking';
      readonly grantedAt: Date;
      readonly expiresAt: Date;
    }
  | { readonly requestId: RequestId; readonly requester: Email; readonly role: string; readonly provider: string; readonly state: 'approved' };
export type ActiveGrant = Extract<LiveGrant, { state: 'active' | 'revoking' }>;

/** What one provider listed, for which roles; a provider that failed to list is left out. */
export interface ProviderListing {
  readonly provider: string;
  /** The roles it was asked about: only grants of these roles can be missing there. */
  readonly roles: readonly string[];
  readonly accesses: readonly FoundAccess[];
}

export type DriftFinding =
  | { readonly kind: 'unexpected'; readonly key: string; readonly access: FoundAccess }
  | { readonly kind: 'missing'; readonly key: string; readonly grant: ActiveGrant };
export type UnexpectedAccess = Extract<DriftFinding, { kind: 'unexpected' }>;
export type MissingAccess = Extract<DriftFinding, { kind: 'missing' }>;

export interface DriftInput {
  readonly listings: readonly ProviderListing[];
  /** Live grants (and approved requests) read before the providers were asked. */
  readonly before: readonly LiveGrant[];
  /** Live grants (and approved requests) read after every provider answered. */
  readonly after: readonly LiveGrant[];
  /** The policy's `identities`: a principal named there belongs to that person. */
  readonly identities: ReadonlyMap<Email, Readonly<Record<string, string>>>;
  /**
   * Each policy role's target, as a canonical key: two roles on one target (one database role, one
   * permission set) grant the same access, so a grant of either explains it.
   */
  readonly targets: ReadonlyMap<string, string>;
}

/**
 * Compares what the providers listed with the live grants.
 *
 * NB: listing takes time while grants come and go, so each kind of finding is judged on the side
 * where a race can only make it quieter: access counts as explained by a grant live at either read
 * (one revoked or made while the providers were asked is not drift), and a grant counts as missing
 * only when it was live at both reads (a grant is recorded only after its provider confirmed it, so
 * one live at the first read existed at the provider before the listing began; one made meanwhile
 * may not have been listed yet). A race can hide drift until the next run; it never invents any, which
 * matters because unexpected access may be revoked automatically.
 */
export function reconcileDrift(input: DriftInput): { unexpected: UnexpectedAccess[]; missing: MissingAccess[]; listed: number } {
  const live = new Map<RequestId, LiveGrant>();
  for (const grant of [...input.before, ...input.after]) live.set(grant.requestId, grant);
  const liveGrants = [...live.values()];
  const unexpected: UnexpectedAccess[] = [];
  const missing: MissingAccess[] = [];
  const stillLive = new Set(input.after.map((g) => g.requestId));
  const target = (role: string) => input.targets.get(role) ?? `role ${role}`;
  const explains = (access: FoundAccess, grant: LiveGrant) => target(access.role) === target(grant.role) && sameHolder(access, grant);
  /** Each piece of access once, however many policy roles name its target: what the guard's share counts. */
  const distinct = new Set<string>();
  for (const listing of input.listings) {
    const attributed = listing.accesses.map((access) => withPerson(access, input.identities));
    // NB: one membership is listed once per policy role on its target; it is one finding, not several.
    const reported = new Set<string>();
    for (const access of attributed) {
      const same = JSON.stringify([listing.provider, target(access.role), access.principal, access.requestId ?? null]);
      const first = !distinct.has(same);
      distinct.add(same);
      const explained = liveGrants.some((grant) => grant.provider === listing.provider && explains(access, grant));
      if (explained || reported.has(same) || !first) continue;
      reported.add(same);
      unexpected.push({ kind: 'unexpected', key: unexpectedKey(access), access });
    }
    const asked = new Set(listing.roles);
    for (const grant of input.before) {
      if (grant.provider !== listing.provider || !asked.has(grant.role) || !stillLive.has(grant.requestId)) continue;
      // NB: a grant being revoked may be gone at the provider already; that is the revocation working, not drift.
      if (grant.state !== 'active') continue;
      if (!attributed.some((access) => explains(access, grant))) missing.push({ kind: 'missing', key: missingKey(grant), grant });
    }
  }
  return { unexpected, missing, listed: distinct.size };
}

/** The person a principal belongs to: what the provider said, else the policy's `identities`. */
export function withPerson(access: FoundAccess, identities: ReadonlyMap<Email, Readonly<Record<string, string>>>): FoundAccess {
  if (access.person !== undefined) return access;
  const person = personOfPrincipal(identities, access.provider, access.principal);
  return person === undefined ? access : { ...access, person };
}

/** Who `principal` is at `provider`, by the policy's `identities` (principals are unique per kind there). */
export function personOfPrincipal(identities: ReadonlyMap<Email, Readonly<Record<string, string>>>, provider: string, principal: string): Email | undefined {
  for (const [who, ids] of identities) {
    if (Object.hasOwn(ids, provider) && ids[provider] === principal) return who;
  }
  return undefined;
}

/**
 * Whether this access belongs to a grant's holder (the caller checks it is the same target): where
 * the provider records the request, that request; otherwise the same person. NB: access nobody can
 * be matched to (no request, no known person) is never explained: that is what drift looks like.
 */
function sameHolder(access: FoundAccess, grant: LiveGrant): boolean {
  if (access.requestId !== undefined) return access.requestId === grant.requestId;
  return access.person !== undefined && access.person === grant.requester;
}

/** Stable across runs for the same access, so a finding seen in the last run is not news. */
export function unexpectedKey(access: FoundAccess): string {
  return JSON.stringify(['unexpected', access.provider, access.role, access.principal, access.requestId ?? null]);
}

export function missingKey(grant: ActiveGrant): string {
  return JSON.stringify(['missing', grant.requestId]);
}

/** The findings not seen in the previous run (each is alerted or flagged once, while it lasts). */
export function newFindings<F extends DriftFinding>(findings: readonly F[], previousKeys: ReadonlySet<string>): F[] {
  return findings.filter((f) => !previousKeys.has(f.key));
}

export interface RevocationLimits {
  /** Hold when more than this share of what was listed would be revoked (0 … 1). */
  readonly maxRevokeShare: number;
  /** Hold when more than this many would be revoked. */
  readonly maxRevokeCount: number;
}

export type GuardDecision = { readonly held: false } | { readonly held: true; readonly reason: string };

/**
 * The guard against a clean-up that has lost its state: when one run would revoke more than
 * `maxRevokeCount` accesses, or more than `maxRevokeShare` of all it listed, nothing is revoked and a
 * person decides. An emptied or restored-from-old-backup grants table makes every access look like
 * drift; revoking all of it would be the outage, not the fix.
 */
export function guardRevocation(toRevoke: number, listed: number, limits: RevocationLimits): GuardDecision {
  if (toRevoke === 0) return { held: false };
  if (toRevoke > limits.maxRevokeCount) {
    return { held: true, reason: `${toRevoke} revocations are more than detection.drift.maxRevokeCount (${limits.maxRevokeCount})` };
  }
  // NB: compared as counts, not as a rounded percentage, so 0.2 of 10 allows exactly 2.
  if (toRevoke > limits.maxRevokeShare * listed) {
    const share = Math.round((toRevoke / Math.max(1, listed)) * 100);
    return {
      held: true,
      reason: `${toRevoke} of ${listed} accesses listed (${share}%) is more than detection.drift.maxRevokeShare (${Math.round(limits.maxRevokeShare * 100)}%)`,
    };
  }
  return { held: false };
}

/** "role pg-readonly for login pa_dave (dave@example.com) at postgres" */
export function describeAccess(access: FoundAccess): string {
  // NB: the principal is the provider's word (a role name may hold ESC): shown escaped, never raw.
  const principal = printable(access.principal);
  const who = access.person !== undefined && access.person !== access.principal ? `${principal} (${access.person})` : principal;
  return `${access.role} for ${who} at ${access.provider}${access.requestId ? `, made by request ${access.requestId}` : ''}`;
}

/** The alert for access without a live grant: what, where, and what happens next. */
export function unexpectedAccessMessage(access: FoundAccess, runId: number, next: 'revoke' | 'alert_only' | 'cannot_revoke'): string {
  const then =
    next === 'revoke'
      ? 'It is being revoked (detection.drift.revoke is on).'
      : next === 'cannot_revoke'
        ? `The ${access.provider} provider cannot revoke what it lists: remove it by hand.`
        : 'It was not revoked (detection.drift.revoke is off): remove it by hand if nobody can explain it.';
  return `Drift run ${runId}: access without a live grant: ${describeAccess(access)} (${printable(access.detail)}). ${then}`;
}

/** The alert for a run whose revocations the guard held. */
export function heldRunMessage(runId: number, toRevoke: number, reason: string): string {
  return (
    `Drift run ${runId} would revoke ${toRevoke} access${toRevoke === 1 ? '' : 'es'} that no live grant explains, and was held: ${reason}. ` +
    `That looks like lost state, not drift, so nothing was revoked. Check the findings with \`prod-access drift show ${runId}\`; ` +
    `if they are right, a member of the security group revokes them with \`prod-access drift approve ${runId} --as <email>\`.`
  );
}
