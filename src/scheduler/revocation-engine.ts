import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { createTask, type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { AppContext } from '../app/app-context';
import { revokeDueGrants, type RevocationWorker } from '../app/revoke-due-grants';
import { timeOutRequests } from '../app/time-out-requests';
import { systemRandom, type Random } from '../ports/random';

export interface RevocationEngineOptions {
  /** Lease owner id; default `hostname:pid:random`, distinct for every engine. */
  readonly owner?: string;
  /** How long a claim on a grant holds (default 60 s). */
  readonly leaseMs?: number;
  /** Rows claimed at once (default 100); a full batch is followed by another at once. */
  readonly batchSize?: number;
  /** Grants revoked at the same time within a batch (default 4). */
  readonly concurrency?: number;
  /** Jitter for retry backoff (default: crypto randomness). */
  readonly random?: Random;
  /** node-cron expression of the regular sweep (default every second). */
  readonly schedule?: string;
}

/** What one sweep did. */
export interface SweepResult {
  readonly timedOut: number;
  readonly claimed: number;
  readonly revoked: number;
  readonly failed: number;
}

const DEFAULTS = { leaseMs: 60_000, batchSize: 100, concurrency: 4, schedule: '* * * * * *' } as const;
// NB: the timer is re-armed after every sweep, so its delay only needs to stay well inside
// setTimeout's 2^31 ms range; the regular sweep covers the rest.
const MAX_TIMER_MS = 60_000;
// NB: timers may fire a millisecond early; waking just after the expiry finds the grant due.
const TIMER_SLACK_MS = 5;

/**
 * Runs the time-driven work: pending requests past their deadline time out, then due grants are
 * revoked, batch after batch while batches come back full. A sweep runs every second (node-cron)
 * and when a timer armed for the nearest expiry fires, so a grant is revoked within about a second
 * of expiring. The database is the only state: claims are leased rows (`FOR UPDATE SKIP LOCKED`),
 * so any number of engines (replicas) can run side by side, and one that starts after downtime
 * catches up on everything overdue before `start()` resolves.
 */
export class RevocationEngine {
  readonly owner: string;
  private readonly worker: RevocationWorker;
  private readonly schedule: string;
  private readonly log: Logger;
  private task: ScheduledTask | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerFor: number | undefined;
  /** Sweeps run one after another: the tail of the queue. */
  private tail: Promise<unknown> = Promise.resolve();
  /** A triggered sweep is queued and has not started: further triggers join it. */
  private triggered = false;
  private stopping = false;

  constructor(
    private readonly ctx: AppContext,
    options: RevocationEngineOptions = {},
  ) {
    this.owner = options.owner ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.worker = {
      owner: this.owner,
      leaseMs: options.leaseMs ?? DEFAULTS.leaseMs,
      batchSize: options.batchSize ?? DEFAULTS.batchSize,
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
      random: options.random ?? systemRandom,
    };
    this.schedule = options.schedule ?? DEFAULTS.schedule;
    this.log = ctx.logger.child({ component: 'revocation-engine', owner: this.owner });
  }

  /**
   * Sweeps once, fully, then starts the regular sweep and the expiry timer. Resolves after the first
   * sweep, so that overdue work is done before the caller starts serving; throws if it fails.
   */
  async start(): Promise<SweepResult> {
    if (this.task) throw new Error('the revocation engine is already running');
    this.stopping = false;
    const first = await this.sweepOnce();
    if (first.timedOut + first.claimed > 0) this.log.info(first, 'caught up on overdue work at start');
    this.task = createTask(this.schedule, () => this.trigger(), { name: `revocation-sweep ${this.owner}`, logger: cronLogger(this.log) });
    await this.task.start();
    return first;
  }

  /** Stops the regular sweep and the timer, and waits for a sweep in progress to finish its batch. */
  async stop(): Promise<void> {
    this.stopping = true;
    const task = this.task;
    this.task = undefined;
    if (task) await task.destroy();
    this.disarm();
    await this.tail;
  }

  /**
   * One full sweep, after any sweep already running: time-outs first, then revocations, each in
   * batches until a batch comes back short. Public for tests, which drive the clock themselves.
   */
  sweepOnce(): Promise<SweepResult> {
    return this.enqueue(() => this.sweep());
  }

  /** When the expiry timer will wake the engine (the expiry it was armed for), if armed. */
  wakeUpAt(): Date | undefined {
    return this.timerFor === undefined ? undefined : new Date(this.timerFor);
  }

  private enqueue(run: () => Promise<SweepResult>): Promise<SweepResult> {
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** From the cron job and the timer: a sweep soon, coalesced with one already waiting. */
  private trigger(): void {
    if (this.stopping || this.triggered) return;
    this.triggered = true;
    this.enqueue(() => {
      this.triggered = false;
      return this.sweep();
    }).catch((err: unknown) => {
      // NB: nothing is lost: whatever was due stays due in the database for the next sweep.
      this.log.error({ err }, 'sweep failed; due work stays due and is retried on the next sweep');
    });
  }

  private async sweep(): Promise<SweepResult> {
    const { batchSize } = this.worker;
    let timedOut = 0;
    let claimed = 0;
    let revoked = 0;
    let failed = 0;
    for (;;) {
      const batch = await timeOutRequests(this.ctx, batchSize);
      timedOut += batch.timedOut;
      if (batch.claimed < batchSize || this.stopping) break;
    }
    for (;;) {
      const batch = await revokeDueGrants(this.ctx, this.worker);
      claimed += batch.claimed;
      revoked += batch.revoked;
      failed += batch.failed;
      if (batch.claimed < batchSize || this.stopping) break;
    }
    if (!this.stopping) await this.arm();
    return { timedOut, claimed, revoked, failed };
  }

  /** Sets the timer for the nearest future expiry; the regular sweep takes anything already due. */
  private async arm(): Promise<void> {
    const now = this.ctx.clock.now();
    const next = await this.ctx.store.nextExpiry(now);
    if (this.stopping) return;
    const at = next?.getTime();
    if (at === this.timerFor && this.timer) return;
    this.disarm();
    if (at === undefined) return;
    const delay = Math.min(Math.max(0, at - now.getTime()) + TIMER_SLACK_MS, MAX_TIMER_MS);
    this.timerFor = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerFor = undefined;
      this.trigger();
    }, delay);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerFor = undefined;
  }
}

/** node-cron's own messages (missed ticks, …) through our logger instead of the console. */
function cronLogger(log: Logger): CronLogger {
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message, err) => log.error({ err: err ?? message }, typeof message === 'string' ? message : 'node-cron error'),
    debug: (message, err) => log.debug({ err }, typeof message === 'string' ? message : message.message),
  };
}
