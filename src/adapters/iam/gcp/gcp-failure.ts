/**
 * What an error from the Resource Manager client means, whatever its shape: over REST (what the
 * adapter uses) gax hands back a `GaxiosError` whose `code`/`status` is the HTTP status and whose
 * message is Google's JSON error body (a 409 arrives as 409, not gRPC ABORTED = 10; gax-nodejs
 * #1803); over gRPC it is a `GoogleError` with a numeric gRPC code. Pure: reads the object only.
 */
import { parseRetryAfter } from './gcp-backoff';

export type GcpFailureKind =
  /** 409 / ABORTED: the etag was stale; re-read and re-apply. */
  | 'conflict'
  /** 429 / RESOURCE_EXHAUSTED: retry after a while. */
  | 'throttled'
  /** 5xx, network, time-out: retry later. */
  | 'unavailable'
  /** 400 "User … does not exist": the person has no Google account. */
  | 'unknown-principal'
  /** 403: the bot's identity lacks a permission, or the resource does not exist (Google does not say which). */
  | 'denied'
  | 'not-found'
  /** 401, no Application Default Credentials, or the token endpoint refused the credentials. */
  | 'unauthenticated'
  /** Any other 4xx: Google refused the request as it stands. */
  | 'invalid';

export interface GcpFailure {
  readonly kind: GcpFailureKind;
  /** Google's own sentence (never a token), or a short description of a network failure. */
  readonly detail: string;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;
}

const GRPC_NAMES: Readonly<Record<number, string>> = {
  3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION', 10: 'ABORTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED',
};
const NETWORK_CODE = /^(E[A-Z0-9_]+|UND_ERR_[A-Z_]+|ERR_SOCKET[A-Z_]*|ERR_STREAM_PREMATURE_CLOSE)$/;
const UNKNOWN_PRINCIPAL = /\b(user|principal|member)\b.{0,300}\bdoes not exist\b/i;
const MAX_DETAIL = 300;

interface GoogleErrorBody {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly status?: unknown;
  readonly details?: unknown;
}

/** Classifies an error from the SDK (or from its auth library); `now` reads an HTTP-date Retry-After. */
export function classifyGcpError(error: unknown, now: Date): GcpFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const message = typeof e['message'] === 'string' ? e['message'] : String(error);
  const parsed = parseBody(message);
  const body = typeof parsed?.['error'] === 'object' && parsed['error'] !== null ? (parsed['error'] as GoogleErrorBody) : undefined;
  const response = (typeof e['response'] === 'object' && e['response'] !== null ? e['response'] : undefined) as Record<string, unknown> | undefined;
  const httpStatus = firstNumber(e['status'], response?.['status'], typeof e['code'] === 'number' && e['code'] >= 100 ? e['code'] : undefined, body?.code);
  const grpcCode = typeof e['code'] === 'number' && e['code'] < 100 ? e['code'] : undefined;
  const status = typeof body?.status === 'string' ? body.status : grpcCode !== undefined ? GRPC_NAMES[grpcCode] : undefined;
  const detail = clip(typeof body?.message === 'string' && body.message !== '' ? body.message : messageWithoutBody(message, httpStatus));
  const base = { detail, ...(httpStatus !== undefined ? { httpStatus } : {}) };

  // NB: an OAuth token endpoint answers `{"error":"invalid_grant","error_description":…}`, a string
  // where Google APIs put an object: the credentials were refused, not the IAM call.
  if (typeof parsed?.['error'] === 'string') {
    const description = typeof parsed['error_description'] === 'string' ? `: ${parsed['error_description']}` : '';
    return { kind: 'unauthenticated', detail: clip(`the token endpoint refused the credentials (${parsed['error']}${description})`) };
  }
  if (/could not load the default credentials|could not refresh access token|no authentication was provided/i.test(message)) {
    return { kind: 'unauthenticated', detail: clip(message) };
  }
  if (status === 'ABORTED' || httpStatus === 409) return { kind: 'conflict', ...base };
  if (status === 'RESOURCE_EXHAUSTED' || httpStatus === 429) {
    const retryAfterMs = parseRetryAfter(header(response, 'retry-after'), now) ?? retryInfoDelay(body, now);
    return { kind: 'throttled', ...base, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status === 'UNAUTHENTICATED' || httpStatus === 401) return { kind: 'unauthenticated', ...base };
  if (status === 'PERMISSION_DENIED' || httpStatus === 403) return { kind: 'denied', ...base };
  if (status === 'NOT_FOUND' || httpStatus === 404) return { kind: 'not-found', ...base };
  if ((status === 'INVALID_ARGUMENT' || httpStatus === 400) && UNKNOWN_PRINCIPAL.test(detail)) return { kind: 'unknown-principal', ...base };
  if (status === 'UNAVAILABLE' || status === 'INTERNAL' || status === 'DEADLINE_EXCEEDED' || (httpStatus !== undefined && httpStatus >= 500)) {
    return { kind: 'unavailable', ...base };
  }
  if (httpStatus !== undefined && httpStatus >= 400) return { kind: 'invalid', ...base };
  if (status !== undefined && status !== 'UNKNOWN') return { kind: 'invalid', ...base };
  // No HTTP status: the request never got an answer (refused connection, reset, DNS, time-out).
  const code = typeof e['code'] === 'string' ? e['code'] : undefined;
  const name = typeof e['name'] === 'string' ? e['name'] : '';
  if ((code !== undefined && NETWORK_CODE.test(code)) || name === 'AbortError' || name === 'TimeoutError' || /timeout|timed out|socket hang up|fetch failed/i.test(message)) {
    return { kind: 'unavailable', detail: clip(code !== undefined ? `${code}: ${message}` : message) };
  }
  return { kind: 'unavailable', detail };
}

function parseBody(message: string): Record<string, unknown> | undefined {
  const start = message.indexOf('{');
  if (start < 0) return undefined;
  try {
    const value: unknown = JSON.parse(message.slice(start));
    if (Array.isArray(value)) return value.find((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && 'error' in v);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function header(response: Record<string, unknown> | undefined, name: string): string | undefined {
  const headers = response?.['headers'];
  if (headers === undefined || headers === null) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function retryInfoDelay(body: GoogleErrorBody | undefined, now: Date): number | undefined {
  if (!Array.isArray(body?.details)) return undefined;
  for (const detail of body.details as unknown[]) {
    const d = detail as Record<string, unknown> | null;
    if (d && typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.RetryInfo') && typeof d['retryDelay'] === 'string') {
      return parseRetryAfter(d['retryDelay'], now);
    }
  }
  return undefined;
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value < 600) return value;
  return undefined;
}

// NB: a proxy's HTML error page is not worth quoting; the status says enough.
function messageWithoutBody(message: string, httpStatus: number | undefined): string {
  if (/<html|<!doctype/i.test(message)) return `HTTP ${httpStatus ?? 'error'} from the endpoint`;
  return message;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= MAX_DETAIL ? oneLine : `${oneLine.slice(0, MAX_DETAIL - 3)}...`;
}
