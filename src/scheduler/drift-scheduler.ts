import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { AppContext } from '../app/app-context';
import { checkDrift, type DriftCheckResult } from '../app/drift/check-drift';
import type { Origin } from '../app/origin';
import { cronLogger } from './cron-logger';

const origin: Origin = { via: 'scheduler' };

/**
 * Runs drift reconciliation on the policy's `detection.drift.schedule` (node-cron, in the policy's
 * time zone), and follows policy changes (`refresh`). Every replica runs this timer; each tick is run
 * once across them (a run is stored per tick, `drift_runs.scheduled_for` is unique) and one run at a
 * time (a lease), so N replicas do the work of one.
 */
export class DriftScheduler {
  private task: ScheduledTask | undefined;
  /** The schedule the task runs (`schedule@timezone`), or undefined when drift is off. */
  private running: string | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();
  private stopped = true;
  private readonly log: Logger;

  constructor(private readonly ctx: AppContext) {
    this.log = ctx.logger.child({ component: 'drift-scheduler' });
  }

  /** Starts the timer for the policy in force (nothing when `detection.drift.enabled` is false). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
  }

  /** Re-reads the policy: a changed schedule or time zone re-creates the timer; `enabled: false` stops it. */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    const { detection, timezone } = this.ctx.policy.current().policy;
    const wanted = detection.drift.enabled ? `${detection.drift.schedule}@${timezone}` : undefined;
    if (wanted === this.running) return;
    await this.destroyTask();
    this.running = wanted;
    if (!wanted) return void this.log.info('drift reconciliation is off (detection.drift.enabled: false)');
    this.task = createTask(detection.drift.schedule, (context) => this.tick(context.date), {
      name: 'drift-reconciliation',
      timezone,
      noOverlap: true,
      logger: cronLogger(this.log, { quietInfo: true }),
    });
    await this.task.start();
    this.log.info({ schedule: detection.drift.schedule, timezone }, 'drift reconciliation scheduled');
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.destroyTask();
    await this.inFlight;
  }

  /**
   * One tick: a run for the cron slot `at` (to the second), unless another replica ran it or a run is
   * in progress. Public for tests. Never throws: a failed run is logged, and the next tick tries again.
   */
  tick(at: Date): Promise<DriftCheckResult | undefined> {
    const slot = new Date(Math.floor(at.getTime() / 1000) * 1000);
    const run = checkDrift(this.ctx, { trigger: 'schedule', scheduledFor: slot, origin })
      .then((result) => {
        if (result.status === 'busy') this.log.info({ running: result.running.id }, 'drift run skipped: another run is in progress');
        return result;
      })
      .catch((err: unknown) => {
        this.log.error({ err }, 'drift run failed; the next scheduled run tries again');
        return undefined;
      });
    this.inFlight = run;
    return run;
  }

  private async destroyTask(): Promise<void> {
    const task = this.task;
    this.task = undefined;
    this.running = undefined;
    if (task) await task.destroy();
  }
}
