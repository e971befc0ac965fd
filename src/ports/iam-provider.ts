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
}

/**
 * A cloud or database IAM system. Both calls are idempotent: granting what is already granted,
 * or revoking what is already gone, succeeds. Failures throw `ProviderError` with a cause.
 */
export interface IamProvider {
  /** The policy's `provider:` value this adapter serves (`local`, `postgres`, `aws`, …). */
  readonly kind: string;
  grant(spec: GrantSpec): Promise<void>;
  /** `removed: false` when there was nothing to remove (already gone). */
  revoke(spec: GrantSpec): Promise<{ removed: boolean }>;
}

/** The providers this process has configured, by kind. */
export type IamProviders = ReadonlyMap<string, IamProvider>;
