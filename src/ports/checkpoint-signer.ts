/** Signs checkpoints with a key the database never sees (`AUDIT_SIGNING_KEY_FILE`). */
export interface CheckpointSigner {
  /** The id of the key's public half (`keyIdOf`), written into every checkpoint it signs. */
  readonly keyId: string;
  /** Base64 of the Ed25519 signature over `message`'s UTF-8 bytes. */
  sign(message: string): string;
}

/** A public key an auditor trusts, to check checkpoints with. */
export interface CheckpointKey {
  readonly keyId: string;
  /** Whether `signature` (base64) is this key's Ed25519 signature over `message`'s UTF-8 bytes. */
  verify(message: string, signature: string): boolean;
}
