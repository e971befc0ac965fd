/** Failures (not refusals): a few coded classes that keep their cause (STYLE §8). */

/** `exposed`: the embedded database's directory is open to other users (or owned by one); the message names the fix. */
export const storeErrorCodes = ['duplicate_id', 'version_conflict', 'unavailable', 'locked', 'exposed', 'missing_database'] as const;
export type StoreErrorCode = (typeof storeErrorCodes)[number];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * `unavailable`: retried (outages, throttling). `refused`, `misconfigured`: permanent.
 * `deferred`: the provider cannot do it yet by its own rules, and will at `retryAt` (Azure refuses to
 * remove an assignment in its first 5 minutes): retried then, and not a failure worth an alert.
 */
export const providerErrorCodes = ['unavailable', 'refused', 'misconfigured', 'deferred'] as const;
export type ProviderErrorCode = (typeof providerErrorCodes)[number];

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  /** When to try again: a throttling `Retry-After`, or when a `deferred` call becomes possible. */
  readonly retryAt: Date | undefined;
  constructor(
    readonly code: ProviderErrorCode,
    readonly provider: string,
    message: string,
    options?: { cause?: unknown; retryAt?: Date },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAt = options?.retryAt;
  }
}

export const notificationErrorCodes = ['unavailable', 'rejected'] as const;
export type NotificationErrorCode = (typeof notificationErrorCodes)[number];

/** A notifier could not deliver: `unavailable` is retried, `rejected` is skipped (see `Notifier`). */
export class NotificationError extends Error {
  override readonly name = 'NotificationError';
  constructor(
    readonly code: NotificationErrorCode,
    readonly notifier: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One place that turns failures into text for a person (STYLE §8). Never includes secrets. */
export function describeFailure(error: unknown): string {
  if (error instanceof ProviderError) {
    switch (error.code) {
      case 'unavailable':
        return `The ${error.provider} provider did not answer (${error.message}). Nothing was recorded as done; try again shortly.`;
      case 'refused':
        return `The ${error.provider} provider refused: ${error.message}.`;
      case 'misconfigured':
        return `The ${error.provider} provider is misconfigured: ${error.message}. Tell the bot's operators.`;
      case 'deferred':
        return `The ${error.provider} provider cannot do this yet (${error.message}); it is retried automatically${error.retryAt ? ` at ${error.retryAt.toISOString()}` : ''}.`;
    }
  }
  if (error instanceof StoreError) {
    switch (error.code) {
      case 'unavailable':
        return `The database is unavailable (${error.message}). Nothing was changed; try again shortly.`;
      case 'locked':
      case 'exposed':
      case 'missing_database':
        return error.message;
      case 'version_conflict':
      case 'duplicate_id':
        return 'Someone else changed this request at the same moment. Nothing was changed; try again.';
    }
  }
  return `Unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * A revocation the provider did not confirm: unlike other failures something was recorded (the
 * request is `revoking`), and the scheduler keeps retrying it, so the person is told exactly that.
 */
export function describeRevocationFailure(id: string, error: ProviderError): string {
  if (error.code === 'deferred') {
    const when = error.retryAt ? ` at ${error.retryAt.toISOString()}` : ' as soon as it allows';
    return `Revocation of ${id} has started, but the ${error.provider} provider cannot remove the access yet (${error.message}). It is removed automatically${when}; the access ends then at the latest. Nobody needs to do anything.`;
  }
  return `Revocation of ${id} has started, but the ${error.provider} provider did not confirm it (${error.message}). It is retried automatically until it does; security is alerted if it keeps failing.`;
}
