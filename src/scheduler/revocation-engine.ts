import os from 'node:os';
import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { AppContext } from '../app/app-context';
import { revokeDueGrants, type RevocationWorker } from '../app/revoke-due-grants';
import { alertUnreviewedBreakGlass } from '../app/alert-unreviewed-break-glass';
import { dispatchNotices } from '../app/dispatch-notices';
import { grantDueRequests } from '../app/grant-due-requests';
import { noticeExpiringGrants } from '../app/notice-expiring-grants';
import { timeOutRequests } from '../app/time-out-requests';
import { ProviderPacing } from '../app/provider-pacing';
import type { Notifier } from '../ports/notifier';
import type { Random } from '../ports/random';
import { cronLogger } from './cron-logger';

export interface RevocationEngineOptions {
  /** Lease owner id; default this process's (`ctx.work.instance`). */
  readonly owner?: string;
  /** How long a claim on a grant holds (default `ctx.work.leaseMs`, 60 s). */
  readonly leaseMs?: number;
  /** Rows claimed at once (default 100); a full batch is followed by another at once. */
  readonly batchSize?: number;
  /** Grants revoked at the same time within a batch (default 4), for providers without `limits` of their own. */
  readonly concurrency?: number;
  /** Jitter for retry backoff (default `ctx.work.random`). */
  readonly random?: Random;
  /** Where notices (audit events for people) are delivered, each from its own position in the log. */
  readonly notifiers?: readonly Notifier[];
  /** node-cron expression of the regular sweep (default every second). */
  readonly schedule?: string;
  /** How long `stop()` waits for notices being delivered (default 10 s); a notice cut off is delivered again later. */
  readonly stopWaitMs?: number;
}

/** What one sweep did. */
export interface SweepResult {
  readonly timedOut: number;
  /** Grants claimed for revocation. */
  readonly claimed: number;
  readonly revoked: number;
  /** Revocations that failed this sweep (still due, retried after a backoff). */
  readonly failed: number;
  /** Approved requests granted by the scheduler (retries, or a crash between approval and grant). */
  readonly granted: number;
  /** Expiring-soon notices that came due. */
  readonly expiryNotices: number;
  /** Break-glass review alerts raised. */
  readonly reviewAlerts: number;
}

/** One notifier's delivery: runs one after another on its own tail. */
interface NoticeLane {
  readonly notifier: Notifier;
  tail: Promise<unknown>;
  /** A triggered delivery is queued and has not started: further triggers join it. */
  triggered: boolean;
  /** A delivery is running (for the shutdown's warning). */
  busy?: boolean;
}

const DEFAULTS = { batchSize: 100, concurrency: 4, schedule: '* * * * * *', stopWaitMs: 10_000 } as const;
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
  /**
   * Notice delivery runs beside the sweeps, so a slow chat platform never delays a revocation, and
   * each notifier has a lane of its own, so one that hangs (a stalled pipe, a platform that never
   * answers) holds up no other.
   */
  private readonly lanes: readonly NoticeLane[];
  private readonly stopWaitMs: number;

  constructor(
    private readonly ctx: AppContext,
    options: RevocationEngineOptions = {},
  ) {
    this.owner = options.owner ?? ctx.work.instance;
    this.worker = {
      owner: this.owner,
      leaseMs: options.leaseMs ?? ctx.work.leaseMs,
      batchSize: options.batchSize ?? DEFAULTS.batchSize,
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
      random: options.random ?? ctx.work.random,
      pacing: new ProviderPacing(options.concurrency ?? DEFAULTS.concurrency),
    };
    this.lanes = (options.notifiers ?? []).map((notifier) => ({ notifier, tail: Promise.resolve(), triggered: false }));
    this.stopWaitMs = options.stopWaitMs ?? DEFAULTS.stopWaitMs;
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
    await this.releaseLeasesOfDeadProcesses();
    const first = await this.sweepOnce();
    if (first.timedOut + first.claimed + first.granted > 0) this.log.info(first, 'caught up on overdue work at start');
    this.task = createTask(this.schedule, () => this.trigger(), { name: `revocation-sweep ${this.owner}`, logger: cronLogger(this.log) });
    await this.task.start();
    return first;
  }

  /**
   * Stops the regular sweep and the timer, and waits for a sweep in progress to finish its batch,
   * and for notices being delivered, up to `stopWaitMs`: a notifier that hangs does not hold up the
   * shutdown (its position is leased, so the notice is delivered again after the lease lapses).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const task = this.task;
    this.task = undefined;
    if (task) await task.destroy();
    this.disarm();
    await this.tail;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(this.lanes.map((lane) => lane.tail)).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.stopWaitMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const notifiers = this.lanes.filter((lane) => lane.busy).map((lane) => lane.notifier.name);
      this.log.warn({ notifiers, waitedMs: this.stopWaitMs }, 'stopped while notices were still being delivered; they are delivered again after their lease lapses');
    }
  }

  /**
   * Delivers waiting notices to every notifier, each in its own lane, until each is caught up or
   * blocked on a failure. Public for tests; the engine runs it after every sweep.
   */
  async deliverNotices(): Promise<number> {
    const counts = await Promise.all(this.lanes.map((lane) => this.deliverTo(lane)));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  private deliverTo(lane: NoticeLane): Promise<number> {
    const run = async (): Promise<number> => {
      lane.busy = true;
      let delivered = 0;
      try {
        for (;;) {
          const batch = await dispatchNotices(this.ctx, lane.notifier, this.owner, this.worker.batchSize);
          delivered += batch.delivered;
          if (batch.blocked || batch.read < this.worker.batchSize || this.stopping) break;
        }
      } finally {
        lane.busy = false;
      }
      return delivered;
    };
    const result = lane.tail.then(run, run);
    lane.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * One full sweep, after any sweep already running: time-outs first, then revocations, each in
   * batches until a batch comes back short. Public for tests, which drive the clock themselves.
   */
  sweepOnce(): Promise<SweepResult> {
    return this.enqueue(() => this.sweep());
  }

  /**
   * A process on this host that died mid-work (a crash, a kill) leaves its leases behind; its
   * successor would wait for them to lapse (60 s) before finishing that work. Owners are
   * `hostname:pid:…`: one on this host whose pid is gone is dead for sure, and its leases are freed.
   * NB: owners on other hosts are never judged; their leases lapse on their own.
   */
  private async releaseLeasesOfDeadProcesses(): Promise<void> {
    const host = `${os.hostname()}:`;
    const dead = (await this.ctx.store.leaseOwners()).filter((owner) => {
      if (!owner.startsWith(host) || owner === this.owner) return false;
      const pid = Number(owner.slice(host.length).split(':')[0]);
      return Number.isInteger(pid) && pid > 0 && !processAlive(pid);
    });
    if (dead.length === 0) return;
    const released = await this.ctx.store.releaseLeasesOf(dead);
    this.log.warn({ owners: dead, released }, 'freed the leases of processes on this host that died mid-work');
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
    const result = { timedOut: 0, claimed: 0, revoked: 0, failed: 0, granted: 0, expiryNotices: 0, reviewAlerts: 0 };
    // NB: revocations first: they are what must be on time.
    for (;;) {
      const batch = await revokeDueGrants(this.ctx, this.worker);
      result.claimed += batch.claimed;
      result.revoked += batch.revoked;
      result.failed += batch.failed;
      if (batch.claimed < batchSize || this.stopping) break;
    }
    for (;;) {
      const batch = await grantDueRequests(this.ctx, this.owner, batchSize);
      result.granted += batch.granted;
      if (batch.claimed < batchSize || this.stopping) break;
    }
    for (;;) {
      const batch = await timeOutRequests(this.ctx, batchSize);
      result.timedOut += batch.timedOut;
      if (batch.claimed < batchSize || this.stopping) break;
    }
    for (;;) {
      const due = await noticeExpiringGrants(this.ctx, batchSize);
      result.expiryNotices += due;
      if (due < batchSize || this.stopping) break;
    }
    result.reviewAlerts = await alertUnreviewedBreakGlass(this.ctx, batchSize);
    if (!this.stopping) {
      await this.arm();
      this.triggerNotices();
    }
    return result;
  }

  /** After a sweep: a delivery soon on each lane, coalesced with one already waiting there. */
  private triggerNotices(): void {
    if (this.stopping) return;
    for (const lane of this.lanes) {
      if (lane.triggered) continue;
      lane.triggered = true;
      lane.tail = lane.tail.then(() => {
        lane.triggered = false;
      });
      this.deliverTo(lane).catch((err: unknown) => {
        // NB: nothing is lost: undelivered notices stay after the stored position for the next try.
        this.log.error({ err, notifier: lane.notifier.name }, 'delivering notices failed; they are retried after the next sweep');
      });
    }
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // NB: EPERM means it exists but belongs to someone else: alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
