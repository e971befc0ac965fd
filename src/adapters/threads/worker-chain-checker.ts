import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { StoreError, storeErrorCodes, type StoreErrorCode } from '../../app/errors';
import type { ChainSegment, SegmentCheck } from '../../domain/audit-chain';
import type { ChainChecker, StoredPageCheck } from '../../ports/chain-checker';
import type { CheckerReply, CheckerRequest } from './chain-check-worker';
import { startWorker } from './start-worker';

interface Pending {
  readonly resolve: (reply: { check: SegmentCheck; read?: number }) => void;
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

/** How long close() waits for a thread to close its database connection before stopping it. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Checks audit chain segments in worker threads, each sent to the thread with the fewest waiting.
 * Threads start on the first check, so a checker that is never used costs nothing.
 * With `databaseUrl` (PostgreSQL), each thread also opens its own connection and reads the pages
 * it checks (`checkStored`), so the rows never pass through the calling thread.
 * NB: the hashing (JSON.parse, RFC 8785, SHA-256) and the reading are CPU work that one thread
 * would do one after the other; here they run on every core. An embedded database (PGlite) lives in
 * the calling thread, so there the caller reads and the threads only hash.
 */
export class WorkerChainChecker implements ChainChecker {
  readonly checkStored?: (from: number, limit: number) => Promise<StoredPageCheck>;
  private threads: Thread[] | undefined;
  private failure: Error | undefined;
  private nextId = 0;

  constructor(
    readonly parallelism: number = os.availableParallelism(),
    private readonly options: { readonly databaseUrl?: string } = {},
  ) {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new RangeError(`parallelism must be a whole number of threads, not ${parallelism}`);
    if (options.databaseUrl) {
      this.checkStored = async (from, limit) => {
        const reply = await this.send((id) => ({ id, stored: { from, limit } }));
        return { check: reply.check, read: reply.read ?? 0 };
      };
    }
  }

  async check(segment: ChainSegment): Promise<SegmentCheck> {
    return (await this.send((id) => ({ id, segment }))).check;
  }

  async close(): Promise<void> {
    const threads = this.threads ?? [];
    if (!this.failure && this.options.databaseUrl) {
      // NB: threads that read close their connections before they stop, so the server sees a clean goodbye.
      await Promise.all(threads.map((t) => this.sendTo(t, (id) => ({ id, close: true as const })).catch(() => undefined)));
    }
    this.fail((this.failure ??= new ChainCheckerError('the chain checker was closed')));
    await Promise.all(threads.map((t) => Promise.race([t.worker.terminate(), new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())])));
  }

  private send(request: (id: number) => CheckerRequest): Promise<{ check: SegmentCheck; read?: number }> {
    if (this.failure) return Promise.reject(this.failure);
    this.threads ??= Array.from({ length: this.parallelism }, () => this.start());
    const thread = this.threads.reduce((least, t) => (t.pending.size < least.pending.size ? t : least));
    return this.sendTo(thread, request);
  }

  private sendTo(thread: Thread, request: (id: number) => CheckerRequest): Promise<{ check: SegmentCheck; read?: number }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      // NB: a thread with work keeps the process alive until it answers; an idle one does not, so a
      // caller that forgot close() still exits.
      thread.worker.ref();
      thread.worker.postMessage(request(id));
    });
  }

  private start(): Thread {
    // NB: a larger young generation than the default: each segment's rows and their parsed data
    // die young, and a small nursery promotes them to the old generation before they do.
    const worker = startWorker('chain-check-worker', {
      resourceLimits: { maxYoungGenerationSizeMb: 48 },
      ...(this.options.databaseUrl ? { workerData: { databaseUrl: this.options.databaseUrl } } : {}),
    });
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (reply: CheckerReply) => {
      const waiting = thread.pending.get(reply.id);
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      if (!waiting) return;
      if ('error' in reply) waiting.reject(fromThread(reply.error));
      else waiting.resolve(reply);
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

/** An error a thread reported, as the caller would have seen it in its own thread. */
function fromThread(error: { name: string; code?: string; message: string }): Error {
  if (error.name === 'StoreError' && storeErrorCodes.includes(error.code as StoreErrorCode)) return new StoreError(error.code as StoreErrorCode, error.message);
  return new ChainCheckerError(`a hashing thread could not check a page: ${error.message}`);
}
