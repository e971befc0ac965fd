import { ProviderError } from '../../../app/errors';

export const AWS_KIND = 'aws';

/** What the SDK puts on a service error; read structurally so the pure code needs no SDK import. */
interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly $response?: { readonly headers?: Readonly<Record<string, unknown>> };
}

/** The error's name as AWS sent it (`ThrottlingException`, `ConflictException`, …). */
export function awsErrorName(error: unknown): string | undefined {
  const name = (error as SdkErrorShape | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as SdkErrorShape | null | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

// NB: names from the AWS common errors list and the SSO Admin / Identity Store models.
const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'Throttling', 'SlowDown']);
const OWN_IDENTITY = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'MissingAuthenticationTokenException',
  'IncompleteSignature',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Throttling: retried inside the adapter a few times before it becomes `unavailable`. */
export function isThrottling(error: unknown): boolean {
  const name = awsErrorName(error);
  return (name !== undefined && THROTTLING.has(name)) || statusOf(error) === 429;
}

/** A `Retry-After` the service sent (seconds or an HTTP date), as a moment; undefined when none. */
export function retryAfterOf(error: unknown, now: Date): Date | undefined {
  const headers = (error as SdkErrorShape | null | undefined)?.$response?.headers;
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  if (/^\d+$/.test(raw.trim())) return new Date(now.getTime() + Number(raw.trim()) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : new Date(date);
}

/**
 * Turns what the SDK threw into a `ProviderError` that keeps it as `cause`. `action` says what was
 * being done and where (account, permission set); AWS's own message is appended, and never holds
 * credentials (the SDK does not echo the signature or the keys).
 */
export function classifyAwsError(error: unknown, action: string, now: Date): ProviderError {
  if (error instanceof ProviderError) return error;
  const name = awsErrorName(error);
  const status = statusOf(error);
  const detail = detailOf(error);
  const code = (error as SdkErrorShape | null | undefined)?.code;
  const fault = (error as SdkErrorShape | null | undefined)?.$fault;
  if (isThrottling(error)) {
    const retryAt = retryAfterOf(error, now);
    return new ProviderError('unavailable', AWS_KIND, `${action}: AWS kept throttling the bot (${name ?? status}) after retries${detail}`, {
      cause: error,
      ...(retryAt ? { retryAt } : {}),
    });
  }
  if (name !== undefined && OWN_IDENTITY.has(name)) {
    return new ProviderError('misconfigured', AWS_KIND, `${action}: the bot's own AWS identity was refused (${name}); check its credentials and IAM policy (docs/iam-aws.md)${detail}`, {
      cause: error,
    });
  }
  if (typeof (error as SdkErrorShape | null | undefined)?.message === 'string' && /region is missing/i.test(String((error as Error).message))) {
    return new ProviderError('misconfigured', AWS_KIND, `${action}: no AWS region: set target.region or AWS_REGION`, { cause: error });
  }
  if (status !== undefined && status >= 500) {
    return new ProviderError('unavailable', AWS_KIND, `${action}: AWS answered ${status}${name ? ` ${name}` : ''}${detail}`, { cause: error });
  }
  if (fault === 'server') return new ProviderError('unavailable', AWS_KIND, `${action}: AWS failed (${name ?? 'server error'})${detail}`, { cause: error });
  if (name === 'ValidationException' || name === 'ResourceNotFoundException') {
    return new ProviderError('misconfigured', AWS_KIND, `${action}: AWS refused the target (${name})${detail}`, { cause: error });
  }
  if (name === 'ConflictException') {
    return new ProviderError('unavailable', AWS_KIND, `${action}: another change to the same assignment is in progress at AWS (${name})${detail}`, { cause: error });
  }
  if (status !== undefined && status >= 400) {
    return new ProviderError('refused', AWS_KIND, `${action}: AWS refused (${name ?? status})${detail}`, { cause: error });
  }
  const message = String((error as SdkErrorShape | null | undefined)?.message ?? '');
  const networkCode = typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : [...NETWORK_CODES].find((c) => message.includes(c));
  // NB: the SDK's retry step adds `$metadata` to every error that passed through the HTTP handler;
  // without an HTTP status and without a service fault, no answer came back at all.
  const unanswered = (error as SdkErrorShape | null | undefined)?.$metadata !== undefined && fault === undefined;
  if (networkCode !== undefined || name === 'TimeoutError' || name === 'AbortError' || unanswered) {
    const what = networkCode ?? (name && name !== 'Error' ? name : 'no answer');
    return new ProviderError('unavailable', AWS_KIND, `${action}: AWS did not answer (${what})${detail}`, {
      cause: error,
    });
  }
  return new ProviderError('refused', AWS_KIND, `${action}${detail}`, { cause: error });
}

function detailOf(error: unknown): string {
  const message = (error as SdkErrorShape | null | undefined)?.message;
  if (typeof message !== 'string' || message === '' || message === 'UnknownError') return '';
  // NB: one line, bounded: an AWS message can quote the request, and a chat message must stay short.
  return `: ${message.replace(/\s+/g, ' ').slice(0, 300)}`;
}
