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
  private readonly deferred = new Set<() => void>();

  constructor(
    private readonly concurrency: number,
    private readonly acksPending: () => boolean,
    private readonly maxDeferMs = 1_000,
  ) {}

  /** Call when the last request waiting for its ack has been answered: deferred work may start. */
  acksDone(): void {
    for (const resume of [...this.deferred]) resume();
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.acksPending()) {
      await new Promise<void>((resolve) => {
        const resume = () => {
          clearTimeout(timer);
          this.deferred.delete(resume);
          resolve();
        };
        const timer = setTimeout(resume, this.maxDeferMs);
        this.deferred.add(resume);
      });
    }
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
