import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { AppContext } from '../app/app-context';
import { detectAnomalies, type DetectionPass } from '../app/detect-anomalies';
import { cronLogger } from './cron-logger';

export interface AnomalyDetectorOptions {
  /** Lease owner id; default this process's (`ctx.work.instance`). */
  readonly owner?: string;
  /** node-cron expression of the regular pass (default every 10 seconds). */
  readonly schedule?: string;
  /** Audit events read at once (default 2,000). */
  readonly batchSize?: number;
}

const DEFAULT_SCHEDULE = '*/10 * * * * *';

/**
 * Runs the anomaly detection pass (`detectAnomalies`) on a node-cron schedule, and soon after
 * `trigger()` (the service calls it when chat changed something). Passes run one after another and
 * triggers coalesce. Nothing is held in memory: the detector's place in the audit log and the
 * alerts' unique keys are in the database, so any number of replicas can run one, and one that
 * starts after downtime catches up from where the last pass stopped.
 */
export class AnomalyDetector {
  readonly owner: string;
  private readonly log: Logger;
  private task: ScheduledTask | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private triggered = false;
  private stopping = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly options: AnomalyDetectorOptions = {},
  ) {
    this.owner = options.owner ?? ctx.work.instance;
    this.log = ctx.logger.child({ component: 'anomaly-detector', owner: this.owner });
  }

  /** Starts the schedule and a first pass (not awaited: detection never holds up the service's start). */
  async start(): Promise<void> {
    if (this.task) throw new Error('the anomaly detector is already running');
    this.stopping = false;
    this.task = createTask(this.options.schedule ?? DEFAULT_SCHEDULE, () => this.trigger(), { name: `anomaly-detector ${this.owner}`, logger: cronLogger(this.log) });
    await this.task.start();
    this.trigger();
  }

  /** Stops the schedule and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    const task = this.task;
    this.task = undefined;
    if (task) await task.destroy();
    await this.tail;
  }

  /** One pass, after any pass already running. Public for tests, which drive the clock themselves. */
  passOnce(): Promise<DetectionPass> {
    const result = this.tail.then(
      () => this.pass(),
      () => this.pass(),
    );
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** A pass soon, joined with one already waiting. */
  trigger(): void {
    if (this.stopping || this.triggered) return;
    this.triggered = true;
    const run = this.tail.then(() => {
      this.triggered = false;
      return this.stopping ? undefined : this.pass();
    });
    this.tail = run.catch((err: unknown) => {
      // NB: nothing is lost: the detector's place in the log only moves after a batch is raised.
      this.log.error({ err }, 'anomaly detection failed; it resumes from the same place on the next pass');
    });
  }

  private async pass(): Promise<DetectionPass> {
    const result = await detectAnomalies(this.ctx, this.owner, this.options.batchSize !== undefined ? { batchSize: this.options.batchSize } : {});
    if (result.raised.length > 0) {
      this.log.warn({ alerts: result.raised.map((a) => ({ id: a.id, rule: a.rule, severity: a.severity, key: a.key })) }, 'anomalies found; security alerted');
    }
    return result;
  }
}
