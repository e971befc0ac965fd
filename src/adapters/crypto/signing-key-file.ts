import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { keyIdOf } from '../../domain/checkpoint';
import type { CheckpointKey, CheckpointSigner } from '../../ports/checkpoint-signer';

/**
 * `unreadable`: missing, not a file, or not readable by this user. `exposed`: group or others may read
 * or write it. `not_ed25519`: not an (unencrypted PEM) Ed25519 key of the kind asked for.
 * `exists`: `keys generate` never overwrites a key.
 */
export const signingKeyErrorCodes = ['unreadable', 'exposed', 'not_ed25519', 'exists'] as const;
export type SigningKeyErrorCode = (typeof signingKeyErrorCodes)[number];

/** A key file that cannot be used; the message names the file and what to do. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
  constructor(
    readonly code: SigningKeyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A new Ed25519 key pair: the private key and the public key as PEM, and the key id. */
export function generateSigningKeyPair(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: idOf(publicKey),
  };
}

/**
 * Writes a new private key, readable by its owner only (0600). Refuses, with `exists`, when the file
 * is there already: a key that signed checkpoints must never be lost by a second `keys generate`.
 */
export async function writePrivateKeyFile(file: string, privatePem: string): Promise<void> {
  try {
    // NB: `wx` creates or fails in one step, so a file appearing meanwhile is never overwritten.
    await writeFile(file, privatePem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EEXIST') {
      throw new SigningKeyError('exists', `${file} already exists; prod-access never overwrites a key (checkpoints it signed would no longer be yours to prove). Choose another --out, or move the old key away first.`, { cause: error });
    }
    throw new SigningKeyError('unreadable', `cannot write ${file} (${code})`, { cause: error });
  }
  // NB: the mode given to writeFile is filtered by the umask; the key must be 0600 whatever the umask.
  await chmod(file, 0o600);
}

/**
 * The signer for `AUDIT_SIGNING_KEY_FILE`: a regular file, readable, with no permission for group or
 * others, holding an unencrypted PEM Ed25519 private key. Anything else is refused with a sentence
 * that names the file and the fix.
 */
export async function readSigningKeyFile(file: string): Promise<CheckpointSigner> {
  const label = `AUDIT_SIGNING_KEY_FILE ${file}`;
  const text = await readKeyText(file, label);
  const stats = await stat(file);
  if ((stats.mode & 0o077) !== 0) {
    throw new SigningKeyError('exposed', `${label} can be read or written by others than its owner (mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${file}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new SigningKeyError('not_ed25519', `${label} is not an unencrypted PEM private key; make one with: prod-access keys generate --out <file>`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SigningKeyError('not_ed25519', `${label} is ${article(key.asymmetricKeyType)} key, not Ed25519; make one with: prod-access keys generate --out <file>`);
  }
  const keyId = idOf(createPublicKey(key));
  return { keyId, sign: (message) => sign(null, Buffer.from(message, 'utf8'), key).toString('base64') };
}

/** A public key (PEM, as `keys generate` prints it) to check checkpoints with. A private key is refused. */
export async function readPublicKeyFile(file: string): Promise<CheckpointKey> {
  const text = await readKeyText(file, file);
  // NB: createPublicKey would derive the public half from a private key; an auditor must never need
  // the private key, so handing it one is a mistake worth saying.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new SigningKeyError('not_ed25519', `${file} is a private key; give the public key (printed by keys generate), which is all an auditor needs`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new SigningKeyError('not_ed25519', `${file} is not a PEM public key (-----BEGIN PUBLIC KEY-----)`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError('not_ed25519', `${file} is ${article(key.asymmetricKeyType)} key, not Ed25519`);
  return publicCheckpointKey(key);
}

/** A `CheckpointKey` for a public key object. */
export function publicCheckpointKey(key: KeyObject): CheckpointKey {
  return {
    keyId: idOf(key),
    verify: (message, signature) => {
      const bytes = Buffer.from(signature, 'base64');
      // NB: Buffer.from skips what is not base64; only the exact encoding of 64 bytes is a signature.
      if (bytes.length !== 64 || bytes.toString('base64') !== signature) return false;
      return verify(null, Buffer.from(message, 'utf8'), key, bytes);
    },
  };
}

async function readKeyText(file: string, label: string): Promise<string> {
  try {
    const stats = await stat(file);
    if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' });
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new SigningKeyError('unreadable', `${label} cannot be read (${code})`, { cause: error });
  }
}

function idOf(publicKey: KeyObject): string {
  return keyIdOf(publicKey.export({ type: 'spki', format: 'der' }));
}

function article(type: string | undefined): string {
  const name = type ?? 'unknown';
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}
