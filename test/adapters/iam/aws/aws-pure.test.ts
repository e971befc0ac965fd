import { ProviderError } from '../../../../src/app/errors';
import { classifyAwsError, isThrottling, retryAfterOf } from '../../../../src/adapters/iam/aws/aws-errors';
import { awsEndpointProblems, awsLimitsFrom, DEFAULT_AWS_LIMITS } from '../../../../src/adapters/iam/aws/aws-settings';
import { backoffDelay, DEFAULT_POLL_DELAYS_MS, DEFAULT_THROTTLE_RETRY, retryWhile, worstCaseWaitMs } from '../../../../src/adapters/iam/aws/backoff';
import { formatMinutes, isoDurationMinutes } from '../../../../src/adapters/iam/aws/iso-duration';
import { UserIdCache } from '../../../../src/adapters/iam/aws/user-cache';

describe('isoDurationMinutes', () => {
  it.each([
    ['PT1H', 60],
    ['PT12H', 720],
    ['PT90M', 90],
    ['PT1H30M', 90],
    ['PT3600S', 60],
    ['PT61S', 2],
    ['P1D', 1440],
    ['P1DT2H', 1560],
  ])('reads %s as %i minutes', (text, minutes) => {
    expect(isoDurationMinutes(text)).toBe(minutes);
  });

  it.each(['', 'P', 'PT', '1H', 'PT1X', 'P1Y', 'P1W', 'P1DT', 'PT-1H'])('refuses %j', (text) => {
    expect(isoDurationMinutes(text)).toBeUndefined();
  });

  it('formats minutes for a person', () => {
    expect([formatMinutes(45), formatMinutes(60), formatMinutes(90), formatMinutes(480)]).toEqual(['45m', '1h', '1h30m', '8h']);
  });
});

describe('backoff', () => {
  it('doubles from the base, with half of each step left to chance, never above the cap', () => {
    const policy = { attempts: 6, baseMs: 100, capMs: 500 };
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(r, policy, () => 0))).toEqual([50, 100, 200, 250, 250]);
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(r, policy, () => 1))).toEqual([100, 200, 400, 500, 500]);
  });

  it('bounds the default throttling retries to a few seconds and the status polls to about a minute', () => {
    expect(DEFAULT_THROTTLE_RETRY.attempts).toBeGreaterThanOrEqual(3);
    expect(worstCaseWaitMs(DEFAULT_THROTTLE_RETRY)).toBe(1_750);
    expect(DEFAULT_POLL_DELAYS_MS.reduce((a, b) => a + b, 0)).toBe(55_500);
  });

  it('retries only what the predicate accepts, as many times as the policy allows, and rethrows the last error', async () => {
    const waits: number[] = [];
    let calls = 0;
    const hooks = { sleep: async (ms: number) => void waits.push(ms), random: () => 0 };
    const always = retryWhile(
      async () => {
        calls += 1;
        throw new Error(`throttled ${calls}`);
      },
      () => true,
      { attempts: 3, baseMs: 10, capMs: 100 },
      hooks,
    );
    await expect(always).rejects.toThrow('throttled 3');
    expect(waits).toEqual([5, 10]);
    calls = 0;
    const permanent = retryWhile(
      async () => {
        calls += 1;
        throw new Error('denied');
      },
      () => false,
      { attempts: 3, baseMs: 10, capMs: 100 },
      hooks,
    );
    await expect(permanent).rejects.toThrow('denied');
    expect(calls).toBe(1);
  });

  it('returns the first success', async () => {
    let calls = 0;
    const result = await retryWhile(
      async () => {
        calls += 1;
        if (calls < 2) throw new Error('throttled');
        return 'done';
      },
      () => true,
      DEFAULT_THROTTLE_RETRY,
      { sleep: async () => {}, random: () => 0.5 },
    );
    expect([result, calls]).toEqual(['done', 2]);
  });
});

describe('awsLimitsFrom', () => {
  it('defaults to 5 at once and 10 per second (half of Identity Center limits)', () => {
    expect(awsLimitsFrom({})).toEqual({ ok: true, value: DEFAULT_AWS_LIMITS });
    expect(DEFAULT_AWS_LIMITS).toEqual({ concurrency: 5, callsPerSecond: 10 });
  });

  it('takes positive integers from the environment', () => {
    expect(awsLimitsFrom({ PROD_ACCESS_AWS_CONCURRENCY: '2', PROD_ACCESS_AWS_CALLS_PER_SECOND: ' 4 ' })).toEqual({ ok: true, value: { concurrency: 2, callsPerSecond: 4 } });
  });

  it('refuses anything else, naming each variable', () => {
    const parsed = awsLimitsFrom({ PROD_ACCESS_AWS_CONCURRENCY: '0', PROD_ACCESS_AWS_CALLS_PER_SECOND: '2.5' });
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('PROD_ACCESS_AWS_CONCURRENCY must be a positive integer');
    expect(problems[1]).toContain('PROD_ACCESS_AWS_CALLS_PER_SECOND must be a positive integer');
    expect(awsLimitsFrom({ PROD_ACCESS_AWS_CONCURRENCY: 'ten' }).ok).toBe(false);
  });

  it('refuses endpoint variables that are not http(s) URLs, naming them', () => {
    expect(awsEndpointProblems({ AWS_ENDPOINT_URL_SSO_ADMIN: 'https://sso.eu-central-1.amazonaws.com', AWS_ENDPOINT_URL_IDENTITYSTORE: 'http://127.0.0.1:4566' })).toEqual([]);
    const problems = awsEndpointProblems({ AWS_ENDPOINT_URL_IDENTITYSTORE: 'identitystore.local' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('AWS_ENDPOINT_URL_IDENTITYSTORE');
  });
});

describe('UserIdCache', () => {
  it('keeps a hit for its time to live, then forgets it', () => {
    let now = 0;
    const cache = new UserIdCache(300_000, () => now);
    cache.set('d-1', 'dave@example.com', 'u-1');
    now = 299_999;
    expect(cache.get('d-1', 'dave@example.com')).toBe('u-1');
    expect(cache.get('d-2', 'dave@example.com')).toBeUndefined();
    now = 300_000;
    expect(cache.get('d-1', 'dave@example.com')).toBeUndefined();
  });

  it('drops the oldest entry when full, and forgets on request', () => {
    const cache = new UserIdCache(1_000, () => 0, 2);
    cache.set('d-1', 'a@example.com', 'u-a');
    cache.set('d-1', 'b@example.com', 'u-b');
    cache.set('d-1', 'c@example.com', 'u-c');
    expect(cache.get('d-1', 'a@example.com')).toBeUndefined();
    expect(cache.get('d-1', 'c@example.com')).toBe('u-c');
    cache.forget('d-1', 'c@example.com');
    expect(cache.get('d-1', 'c@example.com')).toBeUndefined();
  });
});

describe('classifyAwsError', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const sdkError = (name: string, status: number, fault: 'client' | 'server', extra: object = {}) =>
    Object.assign(new Error(`${name} happened`), { name, $fault: fault, $metadata: { httpStatusCode: status }, ...extra });

  it.each([
    ['ThrottlingException', 400, 'client', 'unavailable'],
    ['InternalServerException', 500, 'server', 'unavailable'],
    ['ServiceUnavailable', 503, 'server', 'unavailable'],
    ['ConflictException', 409, 'client', 'unavailable'],
    ['AccessDeniedException', 400, 'client', 'misconfigured'],
    ['UnrecognizedClientException', 400, 'client', 'misconfigured'],
    ['ExpiredTokenException', 400, 'client', 'misconfigured'],
    ['ValidationException', 400, 'client', 'misconfigured'],
    ['ResourceNotFoundException', 400, 'client', 'misconfigured'],
    ['ServiceQuotaExceededException', 400, 'client', 'refused'],
  ] as const)('%s (%i) is %s, keeping the SDK error as cause', (name, status, fault, code) => {
    const error = sdkError(name, status, fault);
    const classified = classifyAwsError(error, 'granting X', now);
    expect(classified).toBeInstanceOf(ProviderError);
    expect(classified.code).toBe(code);
    expect(classified.provider).toBe('aws');
    expect(classified.message.startsWith('granting X')).toBe(true);
    expect(classified.cause).toBe(error);
  });

  it('a network failure or a timeout is unavailable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyAwsError(refused, 'x', now).code).toBe('unavailable');
    const timeout = Object.assign(new Error('Request timed out'), { name: 'TimeoutError', $metadata: {} });
    expect(classifyAwsError(timeout, 'x', now).code).toBe('unavailable');
  });

  it('missing credentials or region are misconfigured', () => {
    expect(classifyAwsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'x', now).code).toBe('misconfigured');
    const region = classifyAwsError(new Error('Region is missing'), 'x', now);
    expect(region.code).toBe('misconfigured');
    expect(region.message).toContain('AWS_REGION');
  });

  it('a bug (no SDK shape at all) is not passed off as an outage', () => {
    expect(classifyAwsError(new TypeError('cannot read properties of undefined'), 'x', now).code).toBe('refused');
  });

  it('reads Retry-After in seconds or as a date', () => {
    const seconds = sdkError('ThrottlingException', 429, 'client', { $response: { headers: { 'retry-after': '7' } } });
    expect(isThrottling(seconds)).toBe(true);
    expect(retryAfterOf(seconds, now)?.toISOString()).toBe('2030-01-01T00:00:07.000Z');
    expect(classifyAwsError(seconds, 'x', now).retryAt?.toISOString()).toBe('2030-01-01T00:00:07.000Z');
    const date = sdkError('ThrottlingException', 429, 'client', { $response: { headers: { 'retry-after': 'Tue, 01 Jan 2030 00:01:00 GMT' } } });
    expect(retryAfterOf(date, now)?.toISOString()).toBe('2030-01-01T00:01:00.000Z');
    expect(retryAfterOf(sdkError('ThrottlingException', 400, 'client'), now)).toBeUndefined();
  });

  it('passes a ProviderError through unchanged', () => {
    const original = new ProviderError('refused', 'aws', 'already decided');
    expect(classifyAwsError(original, 'x', now)).toBe(original);
  });
});
