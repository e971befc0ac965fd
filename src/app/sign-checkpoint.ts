import { SYSTEM_ACTOR } from '../domain/audit-event';
import { GENESIS_HASH } from '../domain/audit-chain';
import { ON_DEMAND, checkpointMessage, type Checkpoint, type CheckpointFields } from '../domain/checkpoint';
import type { CheckpointSigner } from '../ports/checkpoint-signer';
import type { AppContext } from './app-context';
import { stamp, type Origin } from './origin';

/** Signs a head: the checkpoint of `head` (the empty log's head is seq 0 with 64 zeros) for `period`. */
export function signCheckpoint(signer: CheckpointSigner, period: string, head: { seq: number; hash: string } | undefined, signedAt: Date): Checkpoint {
  const fields: CheckpointFields = { period, seq: head?.seq ?? 0, hash: head?.hash ?? GENESIS_HASH, signedAt, keyId: signer.keyId };
  return { ...fields, signature: signer.sign(checkpointMessage(fields)) };
}

/** The checkpoint as an audit event's data carries it (strings and integers only, as hashed). */
export function checkpointData(c: Checkpoint): Record<string, unknown> {
  return { period: c.period, seq: c.seq, hash: c.hash, signedAt: c.signedAt.toISOString(), keyId: c.keyId, signature: c.signature };
}

/**
 * A checkpoint of the chain's head now, on demand (`prod-access audit checkpoint`): signed, stored,
 * and audited as `checkpoint_signed`, which the notifiers post to the security channel. The event is
 * appended after the head it signs, in the same transaction as the stored row.
 */
export async function signCheckpointNow(ctx: AppContext, signer: CheckpointSigner, origin: Origin): Promise<{ checkpoint: Checkpoint; id: number; eventSeq: number }> {
  const now = ctx.clock.now();
  const policySha = ctx.policy.current().sha256;
  return ctx.store.transaction(async (tx) => {
    // NB: the head as this transaction sees it; an event appended meanwhile by someone else comes
    // after it, like ours, and the checkpoint stays a true head of a prefix of the chain.
    const head = await tx.auditHead();
    const checkpoint = signCheckpoint(signer, ON_DEMAND, head, now);
    const id = await tx.recordCheckpoint(checkpoint);
    const [event] = await tx.appendAudit(stamp([{ action: 'checkpoint_signed', actor: SYSTEM_ACTOR, data: { checkpoint: checkpointData(checkpoint) } }], origin, policySha), now);
    return { checkpoint, id, eventSeq: event?.seq ?? 0 };
  });
}
