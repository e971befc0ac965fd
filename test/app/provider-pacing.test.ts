import { CallPacer, ProviderPacing } from '../../src/app/provider-pacing';
import type { IamProvider } from '../../src/ports/iam-provider';

/**
 * A pacer on a clock the test controls. Sleeping records the wait; with `advanceOnSleep` it also
 * moves the clock (one caller at a time), without it the clock stands still (callers arriving together).
 */
function pacedClock(callsPerSecond: number, advanceOnSleep = true) {
  let now = 1_000_000;
  const waits: number[] = [];
  const pacer = new CallPacer(
    callsPerSecond,
    () => now,
    async (ms) => {
      waits.push(ms);
      if (advanceOnSleep) now += ms;
    },
  );
  return { pacer, waits, now: () => now, advance: (ms: number) => (now += ms) };
}

describe('CallPacer', () => {
  it('lets the first call go at once and spaces the next ones 1/rate apart', async () => {
    const clock = pacedClock(20);
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      await clock.pacer.turn();
      starts.push(clock.now());
    }
    expect(starts.map((t) => t - starts[0]!)).toEqual([0, 50, 100, 150, 200]);
    expect(clock.waits).toEqual([50, 50, 50, 50]);
  });

  it('gives callers arriving together turns in call order, one interval apart', async () => {
    const clock = pacedClock(10, false);
    await Promise.all([clock.pacer.turn(), clock.pacer.turn(), clock.pacer.turn(), clock.pacer.turn()]);
    // The first goes at once; the others wait 100, 200 and 300 ms from the same instant
    expect(clock.waits).toEqual([100, 200, 300]);
  });

  it('does not bank unused time: after a quiet spell the next call goes at once, and the one after waits a full interval', async () => {
    const clock = pacedClock(5);
    await clock.pacer.turn();
    clock.advance(10_000);
    await clock.pacer.turn();
    await clock.pacer.turn();
    expect(clock.waits).toEqual([200]);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new CallPacer(0)).toThrow('callsPerSecond must be positive');
    expect(() => new CallPacer(Number.NaN)).toThrow('callsPerSecond must be positive');
  });
});

describe('ProviderPacing', () => {
  const provider = (limits?: IamProvider['limits']): IamProvider => ({
    kind: 'cloud',
    ...(limits ? { limits } : {}),
    grant: async () => undefined,
    revoke: async () => ({ removed: false }),
  });

  it("uses the provider's limits, and the engine's concurrency for a provider without any", () => {
    const pacing = new ProviderPacing(4);
    expect(pacing.paceOf(provider({ concurrency: 8, callsPerSecond: 20 }), 'cloud')).toMatchObject({ concurrency: 8 });
    expect(pacing.paceOf(provider({ concurrency: 8, callsPerSecond: 20 }), 'cloud').pacer).toBeDefined();
    const plain = pacing.paceOf(provider(), 'local');
    expect(plain).toEqual({ concurrency: 4, pacer: undefined });
  });

  it('keeps one pacer per provider across batches, so a second batch cannot burst', () => {
    const pacing = new ProviderPacing(4);
    const cloud = provider({ concurrency: 2, callsPerSecond: 5 });
    expect(pacing.paceOf(cloud, 'cloud').pacer).toBe(pacing.paceOf(cloud, 'cloud').pacer);
  });
});
