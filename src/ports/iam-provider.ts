import type { FoundAccess } from '../domain/drift';
import type { Email } from '../domain/email';
import type { RequestId } from '../domain/request-id';

/** What a provider is asked to grant or revoke: one person, one role, one target. */
export interface GrantSpec {
  readonly requestId: RequestId;
  readonly role: string;
  readonly principal: Email;
  readonly provider: string;
  readonly target: Readonly<Record<string, string>>;
  /** The grant's expiry, for providers that can enforce a TTL themselves (belt and braces). */
  readonly expiresAt: Date;
  /** Why, and under which ticket: clouds that keep a justification (Azure PIM) record them. */
  readonly reason?: string;
  readonly ticket?: string;
}

/**
 * One piece of access a provider holds that the bot made, as the provider reports it (drift input):
 * the role, the provider's principal, the person, request and end when it knows them, and its words
 * for it. Drift adds which provider kind it came from (`FoundAccess`).
 */
export type ProviderAccess = Omit<FoundAccess, 'provider'>;

/**
 * How hard the bot may drive a provider: revocations run at most `concurrency` at a time and
 * start at most `callsPerSecond` per second, so a thousand grants expiring together respect the
 * cloud's documented throttling instead of tripping it.
 */
export interface ProviderLimits {
  readonly concurrency: number;
  readonly callsPerSecond: number;
}

/**
 * A cloud or database IAM system. Both calls are idempotent: granting what is already granted,
 * or revoking what is already gone, succeeds. Failures throw `ProviderError` with a cause:
 * `unavailable` (including throttling) is retried, `refused` and `misconfigured` are permanent.
 */
export interface IamProvider {
  /** The policy's `provider:` value this adapter serves (`local`, `postgres`, `aws`, …). */
  readonly kind: string;
  /** Pacing for bulk work (revocations); absent means the engine's defaults. */
  readonly limits?: ProviderLimits;
  /**
   * True when each request gets access of its own at the provider (a GCP binding titled with the
   * request id), so revoking one request never touches another's: the engine then revokes it even
   * while another live grant covers the same role and target.
   */
  readonly grantsPerRequest?: boolean;
  /**
   * What the person should know about this provider, added to their notice: `granted` (Google takes
   * minutes to apply a change), `revoked` (what an early revoke does not cut off). Plain text.
   */
  readonly notes?: { readonly granted?: string; readonly revoked?: string };
  /**
   * Grants access until `spec.expiresAt`, and where the provider keeps its own expiry, sets it:
   * a grant that already exists has its provider-side expiry moved to the later of the two.
   */
  grant(spec: GrantSpec): Promise<void>;
  /** `removed: false` when there was nothing to remove (already gone). */
  revoke(spec: GrantSpec): Promise<{ removed: boolean }>;
  /**
   * Before any approval round: can this person be granted this target at all? Throws
   * `ProviderError` (`refused` when the person has no principal there, `misconfigured` when the
   * target cannot be used, or outlives what the role allows) with a sentence that names what is
   * missing. Reads only. `role.maxDurationMinutes` is the role's longest grant.
   */
  check?(spec: GrantSpec, role: { readonly maxDurationMinutes: number }): Promise<void>;
  /**
   * Moves the provider's own expiry of live access to `spec.expiresAt` (an approved extension),
   * so the cloud never ends access before the bot does, nor after. Providers without their own
   * expiry leave this out.
   */
  extend?(spec: GrantSpec): Promise<void>;
  /** The access the bot made that exists at the provider now, for the given roles (drift reconciliation). */
  listGranted?(roles: readonly { readonly role: string; readonly target: Readonly<Record<string, string>> }[]): Promise<readonly ProviderAccess[]>;
  /**
   * Removes access that `listGranted` reported and no live grant explains (drift), by the provider's
   * own principal: there is no request, and perhaps no person, to build a `GrantSpec` from. `target`
   * is the role's. Idempotent like `revoke`. Providers without it only alert about drift.
   */
  revokeFound?(access: ProviderAccess, target: Readonly<Record<string, string>>): Promise<{ removed: boolean }>;
  /** Ends connections and timers. */
  close?(): Promise<void>;
}

/** The providers this process has configured, by kind. */
export type IamProviders = ReadonlyMap<string, IamProvider>;
