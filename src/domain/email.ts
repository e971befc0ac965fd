import type { Brand } from './brand';

/** A person's identity: the verified e-mail from the chat platform, lower-cased on construction. */
export type Email = Brand<string, 'Email'>;

// NB: deliberately narrower than RFC 5322: no quoted local parts, no spaces, no angle brackets,
// so an identity can never carry markup into a chat message or a SQL identifier mapping.
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Parses an e-mail address; `undefined` when it is not one. Surrounding white space is trimmed. */
export function parseEmail(text: string): Email | undefined {
  const trimmed = text.trim();
  // NB: refuse non-ASCII before lower-casing: U+212A KELVIN SIGN lower-cases to an ASCII "k", so
  // "\u212Aim@…" would otherwise become someone else's identity.
  if (/[^\x21-\x7e]/.test(trimmed)) return undefined;
  const candidate = trimmed.toLowerCase();
  if (candidate.length > 254 || !EMAIL.test(candidate)) return undefined;
  return candidate as Email;
}

/** For trusted literals (tests, policy already validated). Throws on a bug. */
export function email(text: string): Email {
  const parsed = parseEmail(text);
  if (parsed === undefined) throw new Error(`not an e-mail address: ${JSON.stringify(text)}`);
  return parsed;
}
