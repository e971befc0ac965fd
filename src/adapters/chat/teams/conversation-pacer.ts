/** At most `limit` calls in any `ms` milliseconds. */
export interface RateWindow {
  readonly limit: number;
  readonly ms: number;
}

/**
 * Teams' limits for one bot in one conversation (Teams rate-limit page, 2026): 7 messages per
 * second, 8 per 2 s, 60 per 30 s, 1,800 per hour.
 */
export const TEAMS_CONVERSATION_LIMITS: readonly RateWindow[] = [
  { limit: 7, ms: 1_000 },
  { limit: 8, ms: 2_000 },
  { limit: 60, ms: 30_000 },
  { limit: 1_800, ms: 3_600_000 },
];

/** Teams' limit for one app across a tenant: 50 requests per second (kept for the whole process). */
export const TEAMS_APP_LIMITS: readonly RateWindow[] = [{ limit: 50, ms: 1_000 }];

/**
 * Spaces the bot's messages so that no conversation gets more than Teams allows in any window, and
 * the app as a whole stays under its own limit. Callers for one conversation get their turns in call
 * order; a burst (fifty approval cards for one channel) is sent as fast as the limits allow and no
 * faster, so Teams does not answer 429 and nothing waits on retries. Per process: replicas each pace
 * their own calls (notices are delivered by one replica at a time), and 429s are retried anyway.
 */
export class ConversationPacer {
  private readonly sent = new Map<string, number[]>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly global: number[] = [];
  private readonly longest: number;

  constructor(
    private readonly perConversation: readonly RateWindow[] = TEAMS_CONVERSATION_LIMITS,
    private readonly perApp: readonly RateWindow[] = TEAMS_APP_LIMITS,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.longest = Math.max(1, ...perConversation.map((w) => w.ms), ...perApp.map((w) => w.ms));
  }

  /** Resolves when a message to `conversation` may be sent; the slot is taken then. */
  turn(conversation: string): Promise<void> {
    const previous = this.queues.get(conversation) ?? Promise.resolve();
    const mine = previous.then(() => this.take(conversation));
    const tail = mine.catch(() => undefined);
    this.queues.set(conversation, tail);
    void tail.then(() => {
      if (this.queues.get(conversation) === tail) this.queues.delete(conversation);
    });
    return mine;
  }

  private async take(conversation: string): Promise<void> {
    for (;;) {
      const now = this.now();
      const times = this.prune(this.sent.get(conversation) ?? [], now);
      this.prune(this.global, now);
      const wait = Math.max(waitFor(times, this.perConversation, now), waitFor(this.global, this.perApp, now));
      if (wait <= 0) {
        times.push(now);
        this.global.push(now);
        this.sent.set(conversation, times);
        this.forgetIdle(now);
        return;
      }
      await this.sleep(wait);
    }
  }

  /** Drops the times no window looks at any more (in place). */
  private prune(times: number[], now: number): number[] {
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= now - this.longest) drop += 1;
    if (drop > 0) times.splice(0, drop);
    return times;
  }

  private forgetIdle(now: number): void {
    // NB: bounded memory: a conversation quiet for longer than the longest window has nothing to remember.
    if (this.sent.size < 1_000) return;
    for (const [key, times] of this.sent) if ((times[times.length - 1] ?? 0) <= now - this.longest) this.sent.delete(key);
  }
}

/** How long until one more call fits in every window (≤ 0: now). `times` is sorted, oldest first. */
function waitFor(times: readonly number[], windows: readonly RateWindow[], now: number): number {
  let wait = 0;
  for (const window of windows) {
    const recent = times.filter((t) => t > now - window.ms);
    if (recent.length >= window.limit) {
      // NB: the call that must leave the window before one more fits.
      const oldest = recent[recent.length - window.limit] ?? now;
      wait = Math.max(wait, oldest + window.ms - now);
    }
  }
  return wait;
}
