import { GENESIS_HASH } from '../domain/audit-chain';
import { checkpointMessage, describeCheckpoint } from '../domain/checkpoint';
import type { AccessStore, StoredCheckpoint } from '../ports/access-store';
import type { CheckpointKey } from '../ports/checkpoint-signer';
import { verifyAuditLog, type VerifyReport } from './verify-audit-log';

/** How many failing checkpoints a report names. */
const NAMED = 5;

/**
 * `audit verify --checkpoints`: the whole chain from its first event (everything `audit verify`
 * checks), then every stored checkpoint against keys the auditor brings: its signature, and that
 * the event at its seq still has its hash (and `head`, a head recorded elsewhere, as `audit verify --head`). The database is trusted for nothing: a history rewritten
 * with every hash recomputed verifies as a chain, but cannot carry a signed head that is no longer
 * in it, and a checkpoint row can be deleted but not forged or altered.
 */
export async function verifyCheckpoints(store: AccessStore, keys: readonly CheckpointKey[], head?: { seq: number; hash: string }): Promise<VerifyReport> {
  const chain = await verifyAuditLog(store, head);
  if (!chain.ok) return chain;
  const stored = await store.checkpoints();
  if (stored.length === 0) {
    return {
      ok: false,
      count: chain.count,
      message: `${chain.message}; but there is no signed checkpoint to check: each digest signs one (with AUDIT_SIGNING_KEY_FILE set), and \`audit checkpoint\` makes one now. If checkpoints were posted before, their rows were deleted: check the last one posted in the security channel with --head`,
    };
  }
  const byId = new Map(keys.map((k) => [k.keyId, k]));
  const problems: string[] = [];
  for (const c of stored) {
    const problem = await checkpointProblem(c, byId, chain.head, store);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    const more = problems.length > NAMED ? `; and ${problems.length - NAMED} more` : '';
    return {
      ok: false,
      count: chain.count,
      message: `audit chain intact on its own (${chain.count} event${chain.count === 1 ? '' : 's'}), but ${problems.length} of ${stored.length} signed checkpoint${stored.length === 1 ? '' : 's'} fail${problems.length === 1 ? 's' : ''}: ${problems.slice(0, NAMED).join('; ')}${more}`,
    };
  }
  const latest = stored[stored.length - 1] as StoredCheckpoint;
  const used = [...new Set(stored.map((c) => c.keyId))].join(', ');
  return {
    ok: true,
    count: chain.count,
    ...(chain.head ? { head: chain.head } : {}),
    message:
      `${chain.message}; ${stored.length} signed checkpoint${stored.length === 1 ? '' : 's'} verified with key ${used}, every head still in the chain. ` +
      `The latest is ${describeCheckpoint(latest)}: compare it with the last one posted in the security channel (a deleted row is not seen here)`,
  };
}

async function checkpointProblem(
  c: StoredCheckpoint,
  keys: ReadonlyMap<string, CheckpointKey>,
  tip: { seq: number; hash: string } | undefined,
  store: AccessStore,
): Promise<string | undefined> {
  const name = describeCheckpoint(c);
  const key = keys.get(c.keyId);
  if (!key) {
    return `${name} was signed with key ${c.keyId}, not with ${[...keys.keys()].join(' or ')}: give that key's public key too (--public-key), or the row is not one the bot signed`;
  }
  if (!key.verify(checkpointMessage(c), c.signature)) return `${name} does not match its signature: the row was altered, or was never signed with that key`;
  if (c.seq === 0) return c.hash === GENESIS_HASH ? undefined : `${name} names event 0, which only the empty log's head (64 zeros) can`;
  if (!tip || tip.seq < c.seq) return `${name} is not in the chain: the log ends at ${tip ? `event ${tip.seq}` : 'nothing'}; events were cut off`;
  const event = await store.auditEventAt(c.seq);
  if (!event || event.hash !== c.hash) {
    return `${name} is not in the chain: event ${c.seq} now has hash ${event ? `${event.hash.slice(0, 12)}…` : 'none'}: the history up to it was rewritten`;
  }
  return undefined;
}
