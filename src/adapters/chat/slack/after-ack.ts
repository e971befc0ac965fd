import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Work that runs after an ack. NB: acks and the work after them share one event loop, and under a
 * burst of commands the work (database writes, replies to response_url) would take the CPU from
 * the next requests' signature checks and acks. So work waits while requests are still waiting for
 * their ack (up to `maxDeferMs`, so it is never starved), and runs a few pieces at a time. Replies
 * go to response_url, which stays valid for 30 minutes, so a short delay costs nothing.
 */
export class AfterAck {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly acksPending: () => boolean,
    private readonly maxDeferMs = 1_000,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    const deferUntil = Date.now() + this.maxDeferMs;
    while (this.acksPending() && Date.now() < deferUntil) await sleep(2);
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}
