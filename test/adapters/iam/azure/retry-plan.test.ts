import { checkRetryPolicy, DEFAULT_RETRY_POLICY, nextRetry, parseRetryAfter } from '../../../../src/adapters/iam/azure/retry-plan';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 1_500 };

describe('nextRetry', () => {
  it('backs off exponentially with full jitter', () => {
    expect(nextRetry(policy, 1, 0, undefined, 0.5)).toEqual({ retry: true, delayMs: 50 });
    expect(nextRetry(policy, 2, 50, undefined, 0.5)).toEqual({ retry: true, delayMs: 100 });
    expect(nextRetry(policy, 3, 150, undefined, 0.999)).toEqual({ retry: true, delayMs: 399 });
  });

  it('stops after maxAttempts', () => {
    expect(nextRetry(policy, 4, 0, undefined, 0.5)).toEqual({ retry: false });
  });

  it('caps each wait and the total', () => {
    expect(nextRetry({ ...policy, baseDelayMs: 10_000 }, 1, 0, undefined, 0.99)).toEqual({ retry: true, delayMs: 990 });
    expect(nextRetry(policy, 3, 1_450, undefined, 0.99)).toEqual({ retry: true, delayMs: 49 });
    expect(nextRetry(policy, 3, 1_500, undefined, 0.5)).toEqual({ retry: false });
  });

  it('honours Retry-After exactly when it fits, and gives up when it does not', () => {
    expect(nextRetry(policy, 1, 0, 700, 0.1)).toEqual({ retry: true, delayMs: 700 });
    expect(nextRetry(policy, 1, 0, 1_001, 0.1)).toEqual({ retry: false });
    expect(nextRetry(policy, 2, 1_000, 700, 0.1)).toEqual({ retry: false });
  });

  it('keeps the default within a few seconds', () => {
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      const d = nextRetry(DEFAULT_RETRY_POLICY, attempt, waited, undefined, 0.999);
      if (!d.retry) break;
      waited += d.delayMs;
    }
    expect(waited).toBeLessThanOrEqual(DEFAULT_RETRY_POLICY.budgetMs);
    expect(waited).toBeGreaterThan(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T10:00:00Z');
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 10:00:20 GMT', now)).toBe(20_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('ignores what is absent or unreadable', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('checkRetryPolicy', () => {
  it('names what is wrong', () => {
    expect(checkRetryPolicy(DEFAULT_RETRY_POLICY)).toEqual([]);
    expect(checkRetryPolicy({ maxAttempts: 0, baseDelayMs: -1, maxDelayMs: 1, budgetMs: Number.NaN })).toEqual([
      'maxAttempts must be a positive integer',
      'baseDelayMs must be a non-negative number',
      'budgetMs must be a non-negative number',
    ]);
  });
});
