import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { checkSegment, GENESIS_HASH, type ChainSegment } from '../../domain/audit-chain';
import type { AccessStore } from '../../ports/access-store';

/**
 * The thread behind `WorkerChainChecker`: checks each segment it is sent, or (given a database URL)
 * reads a page of the log itself and checks it, and answers with the request's id.
 */
export type CheckerRequest = { id: number; segment: ChainSegment } | { id: number; stored: { from: number; limit: number } } | { id: number; close: true };
export type CheckerReply =
  | { id: number; check: ReturnType<typeof checkSegment>; read?: number }
  | { id: number; error: { name: string; code?: string; message: string } };

const port = parentPort;
if (!port) throw new Error('chain-check-worker runs as a worker thread (see WorkerChainChecker)');
const databaseUrl = (workerData as { databaseUrl?: string } | undefined)?.databaseUrl;

let opened: Promise<{ store: AccessStore; close(): Promise<void> }> | undefined;
// NB: loaded only by threads that read: a thread that only hashes needs neither Drizzle nor pg. A
// plain require: tsx's hook in this thread compiles CommonJS requires, not import().
const open = (url: string) =>
  (opened ??= (async () => {
    const { openDatabase } = require('../store/open-database') as typeof import('../store/open-database');
    const { DrizzleAccessStore } = require('../store/drizzle-access-store') as typeof import('../store/drizzle-access-store');
    const database = await openDatabase({ databaseUrl: url, dataDir: os.tmpdir(), migrate: false });
    return { store: new DrizzleAccessStore(database.db), close: () => database.close() };
  })());

async function checkStored(from: number, limit: number): Promise<{ check: ReturnType<typeof checkSegment>; read: number }> {
  if (!databaseUrl) throw new Error('this thread was started without a database to read');
  const { store } = await open(databaseUrl);
  // NB: the event before the page too: its stored hash is where the page must link.
  const rows = await store.readStoredAudit(Math.max(1, from - 1), from > 1 ? limit + 1 : limit);
  const before = from > 1 && rows[0]?.seq === from - 1 ? rows.shift() : undefined;
  return { check: checkSegment({ start: { seq: from, prevHash: before?.hash ?? GENESIS_HASH }, events: rows }), read: rows.length };
}

port.on('message', (message: CheckerRequest) => {
  if ('close' in message) {
    void (opened ?? Promise.resolve(undefined)).then((db) => db?.close()).finally(() => port.postMessage({ id: message.id, check: { count: 0 } } satisfies CheckerReply));
    return;
  }
  if ('segment' in message) {
    port.postMessage({ id: message.id, check: checkSegment(message.segment) } satisfies CheckerReply);
    return;
  }
  checkStored(message.stored.from, message.stored.limit).then(
    (result) => port.postMessage({ id: message.id, ...result } satisfies CheckerReply),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      const code = (e as { code?: unknown }).code;
      port.postMessage({ id: message.id, error: { name: e.name, ...(typeof code === 'string' ? { code } : {}), message: e.message } } satisfies CheckerReply);
    },
  );
});
