import type { Brand } from './brand';

/** Short, typeable request id: 8 characters of Crockford base32 (40 random bits). */
export type RequestId = Brand<string, 'RequestId'>;

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID = /^[0-9A-HJKMNP-TV-Z]{8}$/;

/** Accepts what people type: any case, I/L read as 1, O as 0, and dashes or spaces ignored. */
export function parseRequestId(text: string): RequestId | undefined {
  const normalised = text
    .trim()
    .toUpperCase()
    .replace(/[-\s]/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  return ID.test(normalised) ? (normalised as RequestId) : undefined;
}

/**
 * Accepts an id exactly as the bot wrote it (a button value, a form's metadata), nothing else.
 * NB: what the bot wrote needs no forgiving; a value that needs it was not written by the bot.
 */
export function parseExactRequestId(value: unknown): RequestId | undefined {
  return typeof value === 'string' && ID.test(value) ? (value as RequestId) : undefined;
}

/** Encodes 5 random bytes as an id. Randomness comes from the caller (an `IdGenerator`). */
export function requestIdFromBytes(bytes: Uint8Array): RequestId {
  if (bytes.length < 5) throw new Error('a request id needs 5 random bytes');
  let value = 0n;
  for (let i = 0; i < 5; i++) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = CROCKFORD[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out as RequestId;
}
