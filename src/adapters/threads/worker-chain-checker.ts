import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { ChainSegment, SegmentCheck } from '../../domain/audit-chain';
import type { ChainChecker } from '../../ports/chain-checker';
import { startWorker } from './start-worker';

interface Pending {
  readonly resolve: (check: SegmentCheck) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/** A worker thread died or could not start; what it was checking is unknown. */
export class ChainCheckerError extends Error {
  override readonly name = 'ChainCheckerError';
}

/**
 * Checks audit chain segments in worker threads, one segment per thread at a time (more are
 * queued), each sent to the thread with the fewest waiting. Threads start on the first check, so
 * a checker that is never used costs nothing.
 * NB: the hashing (JSON.parse, RFC 8785, SHA-256) is CPU work that the thread reading the database
 * would otherwise do between its reads; here it runs beside them, on every core.
 */
export class WorkerChainChecker implements ChainChecker {
  private threads: Thread[] | undefined;
  private failure: Error | undefined;
  private nextId = 0;

  constructor(readonly parallelism: number = os.availableParallelism()) {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new RangeError(`parallelism must be a whole number of threads, not ${parallelism}`);
  }

  check(segment: ChainSegment): Promise<SegmentCheck> {
    if (this.failure) return Promise.reject(this.failure);
    this.threads ??= Array.from({ length: this.parallelism }, () => this.start());
    const thread = this.threads.reduce((least, t) => (t.pending.size < least.pending.size ? t : least));
    const id = this.nextId++;
    return new Promise<SegmentCheck>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      // NB: a thread with work keeps the process alive until it answers; an idle one does not, so a
      // caller that forgot close() still exits.
      thread.worker.ref();
      thread.worker.postMessage({ id, segment });
    });
  }

  async close(): Promise<void> {
    const threads = this.threads ?? [];
    this.failure ??= new ChainCheckerError('the chain checker was closed');
    this.fail(this.failure);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private start(): Thread {
    // NB: a larger young generation than the default: each segment's rows and their parsed data
    // die young, and a small nursery promotes them to the old generation before they do.
    const worker = startWorker('chain-check-worker', { resourceLimits: { maxYoungGenerationSizeMb: 48 } });
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (message: { id: number; check: SegmentCheck }) => {
      const waiting = thread.pending.get(message.id);
      thread.pending.delete(message.id);
      if (thread.pending.size === 0) worker.unref();
      waiting?.resolve(message.check);
    });
    worker.on('error', (error) => this.fail(new ChainCheckerError(`a hashing thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      if (thread.pending.size > 0) this.fail(new ChainCheckerError(`a hashing thread stopped (exit code ${code}) with segments unchecked`));
    });
    worker.unref();
    return thread;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const thread of this.threads ?? []) {
      for (const waiting of thread.pending.values()) waiting.reject(this.failure);
      thread.pending.clear();
    }
  }
}
