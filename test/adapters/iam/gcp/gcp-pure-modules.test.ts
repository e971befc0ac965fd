import { nextDelay, parseRetryAfter, type BackoffPolicy } from '../../../../src/adapters/iam/gcp/gcp-backoff';
import { classifyGcpError } from '../../../../src/adapters/iam/gcp/gcp-failure';
import { memberFor } from '../../../../src/adapters/iam/gcp/gcp-member';
import { parseEndpoint, parseLimits } from '../../../../src/adapters/iam/gcp/gcp-settings';
import { email } from '../../../../src/domain/email';

const now = new Date('2026-11-30T10:00:00.000Z');
const dave = email('dave@example.com');

describe('memberFor', () => {
  it('is user:<e-mail> without an override', () => {
    expect(memberFor(dave, undefined)).toEqual({ ok: true, member: 'user:dave@example.com' });
  });

  it('accepts an e-mail, user:<e-mail> (lower-cased) or a workforce subject', () => {
    expect(memberFor(dave, 'D.Smith@Corp.example.com')).toEqual({ ok: true, member: 'user:d.smith@corp.example.com' });
    expect(memberFor(dave, 'user:d.smith@corp.example.com')).toEqual({ ok: true, member: 'user:d.smith@corp.example.com' });
    const subject = 'principal://iam.googleapis.com/locations/global/workforcePools/corp-pool/subject/dave@corp';
    expect(memberFor(dave, subject)).toEqual({ ok: true, member: subject });
  });

  it('refuses groups, domains, service accounts and junk, naming the person', () => {
    for (const bad of ['group:sre@example.com', 'domain:example.com', 'serviceAccount:bot@p.iam.gserviceaccount.com', 'allUsers', 'user:', 'dave', 'principalSet://iam.googleapis.com/locations/global/workforcePools/p/group/g']) {
      const parsed = memberFor(dave, bad);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain('dave@example.com');
    }
  });
});

describe('parseEndpoint', () => {
  it('is undefined (Google\'s public endpoint) when unset', () => {
    expect(parseEndpoint({})).toEqual({ ok: true, value: undefined });
  });

  it('splits an https URL into host and port, defaulting to 443', () => {
    expect(parseEndpoint({ GCP_RESOURCE_MANAGER_ENDPOINT: 'https://cloudresourcemanager.p.googleapis.com' })).toEqual({ ok: true, value: { protocol: 'https', host: 'cloudresourcemanager.p.googleapis.com', port: 443 } });
    expect(parseEndpoint({ GCP_RESOURCE_MANAGER_ENDPOINT: 'https://10.0.0.5:8443/' })).toEqual({ ok: true, value: { protocol: 'https', host: '10.0.0.5', port: 8443 } });
    expect(parseEndpoint({ GCP_RESOURCE_MANAGER_ENDPOINT: 'http://127.0.0.1:4010' })).toEqual({ ok: true, value: { protocol: 'http', host: '127.0.0.1', port: 4010 } });
  });

  it('refuses plain http off loopback, paths, credentials and non-URLs', () => {
    for (const bad of ['http://rm.internal:80', 'https://rm.example.com/v3', 'https://u:p@rm.example.com', 'rm.example.com', 'ftp://rm.example.com']) {
      const parsed = parseEndpoint({ GCP_RESOURCE_MANAGER_ENDPOINT: bad });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain('GCP_RESOURCE_MANAGER_ENDPOINT');
    }
  });
});

describe('parseLimits', () => {
  it('defaults to 4 and 4, and takes positive whole numbers', () => {
    expect(parseLimits({})).toEqual({ ok: true, value: { concurrency: 4, callsPerSecond: 4 } });
    expect(parseLimits({ PROD_ACCESS_GCP_CONCURRENCY: ' 8 ', PROD_ACCESS_GCP_CALLS_PER_SECOND: '2' })).toEqual({ ok: true, value: { concurrency: 8, callsPerSecond: 2 } });
  });

  it('refuses zero, negatives, fractions and words, naming the variable', () => {
    for (const value of ['0', '-1', '2.5', 'many', '1e3']) {
      const parsed = parseLimits({ PROD_ACCESS_GCP_CALLS_PER_SECOND: value });
      expect(parsed).toEqual({ ok: false, message: expect.stringContaining('PROD_ACCESS_GCP_CALLS_PER_SECOND') as unknown });
    }
  });
});

describe('nextDelay', () => {
  const policy: BackoffPolicy = { retries: 3, baseMs: 100, capMs: 300, budgetMs: 1_000 };

  it('grows exponentially up to the cap, scaled by the jitter', () => {
    expect([0, 1, 2].map((attempt) => nextDelay(policy, attempt, 0, 1))).toEqual([100, 200, 300]);
    expect(nextDelay(policy, 2, 0, 0.5)).toBe(150);
    expect(nextDelay(policy, 0, 0, 0)).toBe(0);
  });

  it('stops after its retries or when the budget would be overrun', () => {
    expect(nextDelay(policy, 3, 0, 1)).toBeUndefined();
    expect(nextDelay(policy, 1, 900, 1)).toBeUndefined();
  });

  it('waits at least the server\'s Retry-After, and not at all when that overruns the budget', () => {
    expect(nextDelay(policy, 0, 0, 0.1, 700)).toBe(700);
    expect(nextDelay(policy, 0, 0, 0.1, 30_000)).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, RetryInfo durations and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('1.5s', now)).toBe(1_500);
    expect(parseRetryAfter('Mon, 30 Nov 2026 10:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('classifyGcpError', () => {
  // Shapes as google-gax hands them over REST: a GaxiosError whose message is Google's JSON body.
  const gaxios = (status: number, body: unknown, headers: Record<string, string> = {}): Error =>
    Object.assign(new Error(JSON.stringify(body)), { status, code: status, response: { status, headers: new Headers(headers) } });

  it('409 ABORTED, and gRPC code 10, are conflicts', () => {
    expect(classifyGcpError(gaxios(409, { error: { code: 409, message: 'There were concurrent policy changes.', status: 'ABORTED' } }), now).kind).toBe('conflict');
    expect(classifyGcpError(Object.assign(new Error('10 ABORTED: concurrent'), { code: 10 }), now).kind).toBe('conflict');
  });

  it('429 is throttled, with Retry-After or RetryInfo', () => {
    expect(classifyGcpError(gaxios(429, { error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } }, { 'retry-after': '7' }), now)).toMatchObject({ kind: 'throttled', retryAfterMs: 7_000 });
    const info = { error: { code: 429, message: 'Quota', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }] } };
    expect(classifyGcpError(gaxios(429, info), now)).toMatchObject({ kind: 'throttled', retryAfterMs: 2_000 });
  });

  it('tells an unknown user from other bad requests', () => {
    expect(classifyGcpError(gaxios(400, { error: { code: 400, message: 'User nobody@example.com does not exist.', status: 'INVALID_ARGUMENT' } }), now).kind).toBe('unknown-principal');
    expect(classifyGcpError(gaxios(400, { error: { code: 400, message: 'Role roles/x is not supported for this resource.', status: 'INVALID_ARGUMENT' } }), now).kind).toBe('invalid');
  });

  it('maps permission, existence and credential failures', () => {
    expect(classifyGcpError(gaxios(403, { error: { code: 403, message: 'denied', status: 'PERMISSION_DENIED' } }), now).kind).toBe('denied');
    expect(classifyGcpError(gaxios(404, { error: { code: 404, message: 'gone', status: 'NOT_FOUND' } }), now).kind).toBe('not-found');
    expect(classifyGcpError(gaxios(401, { error: { code: 401, message: 'bad', status: 'UNAUTHENTICATED' } }), now).kind).toBe('unauthenticated');
    expect(classifyGcpError(gaxios(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }), now)).toMatchObject({ kind: 'unauthenticated', detail: expect.stringContaining('invalid_grant') as unknown });
    expect(classifyGcpError(new Error('Could not load the default credentials. Browse to …'), now).kind).toBe('unauthenticated');
  });

  it('5xx, HTML error pages and network failures are unavailable', () => {
    expect(classifyGcpError(gaxios(503, { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } }), now).kind).toBe('unavailable');
    const html = Object.assign(new Error('<html><body>502 Bad Gateway</body></html>'), { status: 502, response: { status: 502 } });
    expect(classifyGcpError(html, now)).toEqual({ kind: 'unavailable', detail: 'HTTP 502 from the endpoint', httpStatus: 502 });
    expect(classifyGcpError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), now).kind).toBe('unavailable');
    expect(classifyGcpError(Object.assign(new Error('aborted'), { name: 'AbortError' }), now).kind).toBe('unavailable');
  });
});
