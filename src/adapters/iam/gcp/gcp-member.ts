/**
 * A person's IAM member string in Google Cloud: `user:<e-mail>` from their verified e-mail, unless the
 * policy's `identities` give a `gcp` override. Pure.
 */
import { parseEmail, type Email } from '../../../domain/email';

export type MemberParse = { ok: true; member: string } | { ok: false; message: string };

// NB: a Workforce Identity Federation subject is one person too (people signing in through Okta or
// Entra ID rather than a Google account); pools and groups of such subjects are not.
const WORKFORCE_SUBJECT = /^principal:\/\/iam\.googleapis\.com\/locations\/global\/workforcePools\/[a-z][a-z0-9-]{2,61}[a-z0-9]\/subject\/[A-Za-z0-9@._:+=-]{1,127}$/;

/**
 * The member for `who`: `override` (from the policy's identities) when given, which may be an e-mail,
 * `user:<e-mail>` or a workforce pool subject `principal://…/subject/<id>`; else `user:<who>`.
 * NB: `group:`, `domain:`, `serviceAccount:`, `allUsers` and the like are refused: temporary access
 * goes to one person, and an override naming a group would quietly hand it to every member.
 */
export function memberFor(who: Email, override: string | undefined): MemberParse {
  if (override === undefined) return { ok: true, member: `user:${who}` };
  const text = override.trim();
  if (WORKFORCE_SUBJECT.test(text)) return { ok: true, member: text };
  const address = text.startsWith('user:') ? text.slice('user:'.length) : text;
  const parsed = parseEmail(address);
  if (parsed !== undefined && !address.includes(':')) return { ok: true, member: `user:${parsed}` };
  return {
    ok: false,
    message: `the gcp identity mapped to ${who} must be an e-mail, user:<e-mail> or principal://iam.googleapis.com/locations/global/workforcePools/<pool>/subject/<id> (one person, not a group, domain or service account)`,
  };
}

/** The e-mail a `user:` member names, for messages; `undefined` for other member kinds. */
export function emailOfMember(member: string): string | undefined {
  return member.startsWith('user:') ? member.slice('user:'.length) : undefined;
}
