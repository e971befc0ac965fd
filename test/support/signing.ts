import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { publicCheckpointKey } from '../../src/adapters/crypto/signing-key-file';
import type { CheckpointKey, CheckpointSigner } from '../../src/ports/checkpoint-signer';

/** A fresh Ed25519 key in memory: the signer the service would load, and the public key an auditor holds. */
export function testSigningKey(): { signer: CheckpointSigner; key: CheckpointKey } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = publicCheckpointKey(createPublicKey(privateKey));
  return { signer: { keyId: key.keyId, sign: (message) => sign(null, Buffer.from(message, 'utf8'), privateKey).toString('base64') }, key };
}
