import { hash } from 'node:crypto';

/**
 * A signed checkpoint: the audit chain's head (seq and hash) at a moment, signed with an Ed25519 key
 * that lives outside the database. Whoever can write the database can recompute every hash of a
 * rewritten history, but cannot sign; a checkpoint whose head is no longer in the chain shows the
 * rewrite without trusting anything the database says.
 *
 * The signature covers exactly these bytes (UTF-8; every line ends with one LF, the last one too;
 * no other white space), which the README documents for auditors who check with openssl alone:
 *
 *     prod-access audit checkpoint v1
 *     period: 2026-03-02T08:00:00.000Z/2026-03-09T08:00:00.000Z
 *     seq: 12345
 *     hash: <64 lower-case hex digits>
 *     signed-at: 2026-03-09T08:00:00.123Z
 *     key-id: <16 lower-case hex digits>
 *
 * `period` is the digest's period as an ISO 8601 interval, or `on-demand`; `seq: 0` with 64 zeros is
 * the head of an empty log. The signature is pure Ed25519 (RFC 8032) over those bytes, in base64.
 */
export interface CheckpointFields {
  /** The digest period `since/until` (ISO 8601, UTC), or `on-demand`. */
  readonly period: string;
  readonly seq: number;
  readonly hash: string;
  readonly signedAt: Date;
  /** The signing key's id (`keyIdOf`). */
  readonly keyId: string;
}

export interface Checkpoint extends CheckpointFields {
  /** Base64 of the 64-byte Ed25519 signature over `checkpointMessage`. */
  readonly signature: string;
}

export const ON_DEMAND = 'on-demand';
export const CHECKPOINT_HEADER = 'prod-access audit checkpoint v1';

/** The exact text a checkpoint's signature covers (see above). */
export function checkpointMessage(c: CheckpointFields): string {
  return [CHECKPOINT_HEADER, `period: ${c.period}`, `seq: ${c.seq}`, `hash: ${c.hash}`, `signed-at: ${c.signedAt.toISOString()}`, `key-id: ${c.keyId}`, ''].join('\n');
}

/** The checkpoint as posted to the security channel: the signed lines, then the signature's line. */
export function checkpointText(c: Checkpoint): string {
  return `${checkpointMessage(c)}signature: ${c.signature}\n`;
}

/**
 * A key's id: the first 16 hex digits of the SHA-256 of its public key in DER (SubjectPublicKeyInfo),
 * what `openssl pkey -pubin -in pub.pem -outform DER | sha256sum` prints.
 */
export function keyIdOf(publicKeyDer: Uint8Array): string {
  return hash('sha256', publicKeyDer, 'hex').slice(0, 16);
}

/** `checkpoint #3 of period … (head 4711:9c1e4f…, key …)`, for people reading verify's messages. */
export function describeCheckpoint(c: CheckpointFields & { readonly id?: number }): string {
  const which = c.id === undefined ? 'checkpoint' : `checkpoint #${c.id}`;
  const when = c.period === ON_DEMAND ? `made on demand at ${c.signedAt.toISOString()}` : `of period ${c.period}`;
  return `${which} ${when} (head ${c.seq}:${c.hash.slice(0, 12)}…, key ${c.keyId})`;
}
