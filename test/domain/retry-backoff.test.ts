import { REVOCATION_BACKOFF, retryDelayMs } from '../../src/domain/retry-backoff';

describe('retryDelayMs', () => {
  it('doubles from 5 s after each failure, with the upper half random', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 0))).toEqual([2_500, 5_000, 10_000, 20_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 0.999_999))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(1, 0.5)).toBe(3_750);
  });

  it('never waits more than the 5 min cap, however many failures', () => {
    for (const attempts of [7, 8, 50, 10_000]) {
      const delay = retryDelayMs(attempts, 0.999_999);
      expect(delay).toBeLessThanOrEqual(REVOCATION_BACKOFF.capMs);
      expect(delay).toBeGreaterThanOrEqual(REVOCATION_BACKOFF.capMs / 2);
    }
  });

  it('treats nonsense input as the first attempt and clamps the random value', () => {
    expect(retryDelayMs(0, 0)).toBe(2_500);
    expect(retryDelayMs(-3, 5)).toBe(5_000);
  });
});
