import { ConversationPacer, TEAMS_APP_LIMITS, TEAMS_CONVERSATION_LIMITS, type RateWindow } from '../../../../src/adapters/chat/teams/conversation-pacer';

/**
 * A pacer on a virtual clock: when every turn in flight is asleep, the clock jumps to the earliest
 * wake-up, so a burst of hundreds of turns is instant and exact. `run` drives it until `work` ends.
 */
function virtualPacer(perConversation: readonly RateWindow[] = TEAMS_CONVERSATION_LIMITS, perApp: readonly RateWindow[] = TEAMS_APP_LIMITS) {
  let now = 0;
  const sleepers: { at: number; wake: () => void }[] = [];
  const pacer = new ConversationPacer(perConversation, perApp, () => now, (ms) => new Promise<void>((wake) => sleepers.push({ at: now + ms, wake })));
  const run = async <T>(work: Promise<T>): Promise<T> => {
    let done = false;
    void work.finally(() => (done = true)).catch(() => undefined);
    while (!done) {
      // NB: setImmediate runs after every pending promise callback: whoever can move has moved.
      await new Promise((resolve) => setImmediate(resolve));
      if (done || sleepers.length === 0) continue;
      sleepers.sort((a, b) => a.at - b.at);
      now = Math.max(now, sleepers[0]?.at ?? now);
      for (const sleeper of sleepers.filter((s) => s.at <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.wake();
      }
    }
    return work;
  };
  return { pacer, now: () => now, run };
}

/** The largest number of turns inside any window of `ms` (sliding, right-open: [t, t + ms)). */
function busiest(times: readonly number[], ms: number): number {
  let most = 0;
  for (const start of times) most = Math.max(most, times.filter((t) => t >= start && t < start + ms).length);
  return most;
}

describe('ConversationPacer', () => {
  it('never lets one conversation past any of Teams’ windows, however big the burst', async () => {
    // Given 130 messages for one channel asked for at once
    const { pacer, now, run } = virtualPacer();
    const times: number[] = [];
    await run(Promise.all(Array.from({ length: 130 }, () => pacer.turn('19:approvals@thread.tacv2').then(() => times.push(now())))));

    // Then every one got a turn, and no window holds more than Teams allows
    expect(times).toHaveLength(130);
    for (const window of TEAMS_CONVERSATION_LIMITS) expect(busiest(times, window.ms)).toBeLessThanOrEqual(window.limit);
    // And the first seven went at once
    expect(times.slice(0, 7)).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('gives turns in the order they were asked for', async () => {
    const { pacer, run } = virtualPacer([{ limit: 1, ms: 1_000 }], []);
    const order: number[] = [];
    await run(Promise.all([0, 1, 2, 3, 4].map((i) => pacer.turn('c').then(() => order.push(i)))));
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('paces conversations apart, and all of them together under the app’s limit', async () => {
    // Given 60 conversations with two messages each, at once
    const { pacer, now, run } = virtualPacer();
    const perConversation = new Map<string, number[]>();
    const all: number[] = [];
    await run(Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        pacer.turn(`a:${i % 60}`).then(() => {
          all.push(now());
          perConversation.set(`a:${i % 60}`, [...(perConversation.get(`a:${i % 60}`) ?? []), now()]);
        }),
      ),
    ));
    // Then no conversation waited for another's window, but the app stayed under 50 a second
    expect(busiest(all, 1_000)).toBeLessThanOrEqual(50);
    expect(Math.max(...all)).toBeGreaterThan(0);
    expect([...perConversation.values()].every((times) => times.length === 2)).toBe(true);
  });
});
