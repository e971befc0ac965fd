import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { AppContext } from '../app/app-context';
import type { Origin } from '../app/origin';
import { publishDueDigests, type PublishOutcome } from '../app/publish-digest';
import type { CheckpointSigner } from '../ports/checkpoint-signer';
import { cronLogger } from './cron-logger';

export interface DigestSchedulerOptions {
  /** Signs each digest's head; without it digests post the head unsigned, and say so. */
  readonly signer?: CheckpointSigner;
  /** After a failed run (the database away), the next try comes this much later (default 60 s). */
  readonly retryMs?: number;
}

const origin: Origin = { via: 'scheduler' };
const DEFAULT_RETRY_MS = 60_000;

/**
 * Posts the weekly digest on the policy's schedule (`detection.digest.schedule`, a node-cron task in
 * the policy's time zone), and at start posts whatever was missed while no replica ran. Every run
 * posts all due periods not posted yet (`publishDueDigests`), so a missed tick, a restart or a
 * second replica changes nothing: each period is claimed once in the database. A run that fails is
 * tried again a minute later until it succeeds, so a database outage at 09:00 delays the digest and
 * never loses it.
 */
export class DigestScheduler {
  private readonly log: Logger;
  private task: ScheduledTask | undefined;
  private scheduled: { expression: string; timezone: string } | undefined;
  private retry: NodeJS.Timeout | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private running = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly options: DigestSchedulerOptions = {},
  ) {
    this.log = ctx.logger.child({ component: 'digest-scheduler' });
  }

  /** Posts what is due now (missed digests, marked late), then follows the schedule. Never throws: a failed catch-up is retried. */
  async start(): Promise<PublishOutcome[]> {
    this.running = true;
    this.reschedule();
    return this.run().catch(() => []);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const task = this.task;
    this.task = undefined;
    this.scheduled = undefined;
    if (task) await task.destroy();
    await this.tail;
  }

  /** The policy changed: follow its schedule and time zone from now on (nothing to do when they did not change). */
  reschedule(): void {
    if (!this.running) return;
    const { policy } = this.ctx.policy.current();
    const wanted = policy.detection.digest.enabled ? { expression: policy.detection.digest.schedule, timezone: policy.timezone } : undefined;
    if (wanted?.expression === this.scheduled?.expression && wanted?.timezone === this.scheduled?.timezone) return;
    const previous = this.task;
    this.task = undefined;
    this.scheduled = undefined;
    if (previous) void Promise.resolve(previous.destroy()).catch((err: unknown) => this.log.warn({ err }, 'stopping the previous digest schedule failed'));
    if (!wanted) {
      this.log.info('the weekly digest is off in the policy (detection.digest.enabled: false)');
      return;
    }
    this.task = createTask(wanted.expression, () => this.trigger(), { name: 'weekly-digest', timezone: wanted.timezone, logger: cronLogger(this.log) });
    void Promise.resolve(this.task.start()).catch((err: unknown) => this.log.error({ err }, 'the digest schedule did not start'));
    this.scheduled = wanted;
    this.log.info({ schedule: wanted.expression, timezone: wanted.timezone }, 'weekly digest scheduled');
  }

  /** The schedule followed now, or undefined when the digest is off or the scheduler stopped. */
  scheduledAs(): { expression: string; timezone: string } | undefined {
    return this.scheduled;
  }

  /** Posts every due period not posted yet, after any run in progress. Public for tests. */
  runOnce(): Promise<PublishOutcome[]> {
    return this.run();
  }

  private trigger(): void {
    this.run().catch(() => undefined);
  }

  private run(): Promise<PublishOutcome[]> {
    const work = async (): Promise<PublishOutcome[]> => {
      if (this.retry) clearTimeout(this.retry);
      this.retry = undefined;
      try {
        const outcomes = await publishDueDigests(this.ctx, this.options.signer, origin);
        for (const outcome of outcomes) {
          if (outcome.published) this.log.info({ period: outcome.period, late: outcome.late, signed: outcome.checkpoint !== undefined }, 'digest posted');
          else this.log.debug({ period: outcome.period }, 'digest already posted by another replica');
        }
        return outcomes;
      } catch (err) {
        // NB: nothing is lost: the period stays unposted in the database until a run succeeds.
        this.log.error({ err }, 'posting the digest failed; tried again in a minute');
        if (this.running) this.retry = setTimeout(() => this.trigger(), this.options.retryMs ?? DEFAULT_RETRY_MS);
        throw err;
      }
    };
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
