/**
 * Editing a Google Cloud IAM allow policy the way prod-access does: one conditional binding per
 * request, `role` + `members: [<member>]` + condition `request.time < timestamp("<expiry>")` titled
 * `prod-access <requestId>`, so Google itself ends the access at expiry. Pure: no SDK, no I/O; the
 * adapter reads the policy, calls one of these, and writes the result back with the etag it read.
 */
import { parseExactRequestId, type RequestId } from '../../../domain/request-id';

export interface IamCondition {
  readonly expression: string;
  readonly title: string;
  readonly description?: string | null;
  readonly location?: string | null;
}

export interface IamBinding {
  readonly role: string;
  readonly members: readonly string[];
  readonly condition?: IamCondition | null;
}

/** Every binding the bot made carries this title prefix, and nothing else is ever removed or edited. */
export const TITLE_PREFIX = 'prod-access ';
/** Google's limits on a condition (IAM "Quotas and limits", condition attributes). */
export const MAX_TITLE_LENGTH = 100;
export const MAX_DESCRIPTION_LENGTH = 256;

const EXPRESSION = /^request\.time < timestamp\("(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z)"\)$/;
const TITLE = /^prod-access ([0-9A-HJKMNP-TV-Z]{8})$/;

/** The condition title that names a request: `prod-access 7K2M9QXA`. */
export function titleFor(requestId: RequestId): string {
  return `${TITLE_PREFIX}${requestId}`;
}

/** The request a binding's condition title names, when the bot wrote that title; `undefined` otherwise. */
export function requestIdOfTitle(title: string | null | undefined): RequestId | undefined {
  const match = typeof title === 'string' ? TITLE.exec(title) : null;
  return match ? parseExactRequestId(match[1]) : undefined;
}

/** The CEL expression that ends access at `expiresAt` (UTC, millisecond precision). */
export function expiryExpression(expiresAt: Date): string {
  return `request.time < timestamp("${expiresAt.toISOString()}")`;
}

/**
 * The expiry of an expression in exactly the form `expiryExpression` writes; `undefined` for any other
 * expression, so a condition someone edited (say, to add an IP range) is never taken for ours.
 */
export function expiryOfExpression(expression: string | null | undefined): Date | undefined {
  const match = typeof expression === 'string' ? EXPRESSION.exec(expression) : null;
  if (!match) return undefined;
  const time = Date.parse(match[1]!);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** What a person reads in the console next to the binding: role and requester, within Google's 256 characters. */
export function descriptionFor(input: { readonly role: string; readonly member: string; readonly ticket?: string | undefined }): string {
  const ticket = input.ticket ? `, ticket ${input.ticket}` : '';
  const text = `Temporary ${input.role} for ${input.member} granted by prod-access${ticket}; ends by itself at the condition's time`;
  return truncate(text, MAX_DESCRIPTION_LENGTH);
}

/** One binding the bot made, as found in a policy. */
export interface BotBinding {
  readonly index: number;
  readonly requestId: RequestId;
  readonly role: string;
  readonly members: readonly string[];
  /** `undefined` when the condition is no longer the bot's own expression (someone edited it). */
  readonly expiresAt: Date | undefined;
}

/** The bindings whose condition title the bot wrote (for any role), in policy order. */
export function botBindings(bindings: readonly IamBinding[]): BotBinding[] {
  const found: BotBinding[] = [];
  bindings.forEach((binding, index) => {
    const requestId = requestIdOfTitle(binding.condition?.title);
    if (requestId === undefined) return;
    found.push({ index, requestId, role: binding.role, members: binding.members, expiresAt: expiryOfExpression(binding.condition?.expression) });
  });
  return found;
}

/**
 * Whether a binding is one the bot made and has expired: its title AND its expression are exactly
 * the bot's, and the time is past. NB: both, so a binding of the customer's that merely reuses our
 * title prefix, or one of ours whose condition someone changed, is left alone.
 */
export function isExpiredBotBinding(binding: IamBinding, now: Date): boolean {
  if (requestIdOfTitle(binding.condition?.title) === undefined) return false;
  const expiry = expiryOfExpression(binding.condition?.expression);
  return expiry !== undefined && expiry.getTime() <= now.getTime();
}

/** What one request's binding is: the role, the member, and the request. */
export interface RequestBinding {
  readonly role: string;
  readonly member: string;
  readonly requestId: RequestId;
}

export interface PolicyEdit {
  readonly bindings: readonly IamBinding[];
  /** False when the policy needs no write at all. */
  readonly changed: boolean;
  /** How many expired bot bindings were dropped on the way. */
  readonly purged: number;
}

/**
 * Adds this request's binding, or moves an existing one's expiry to the later of the two (a retried
 * grant, or a grant of a request that already has one). Expired bot bindings go on the same write.
 */
export function withGrant(bindings: readonly IamBinding[], grant: RequestBinding & { readonly expiresAt: Date; readonly description: string }, now: Date): PolicyEdit {
  const { kept, purged } = withoutExpired(bindings, now);
  const index = kept.findIndex((b) => isRequestBinding(b, grant));
  if (index >= 0) {
    const existing = kept[index]!;
    const current = expiryOfExpression(existing.condition?.expression);
    if (current !== undefined && current.getTime() >= grant.expiresAt.getTime()) {
      return { bindings: kept, changed: purged > 0, purged };
    }
    // NB: an unparseable expression on our own title (edited by someone) is replaced by ours: the
    // bot promised this request an expiry, and a condition it cannot read might never end.
    return { bindings: replaceAt(kept, index, withExpiry(existing, grant.expiresAt)), changed: true, purged };
  }
  const added: IamBinding = {
    role: grant.role,
    members: [grant.member],
    condition: { title: titleFor(grant.requestId), description: truncate(grant.description, MAX_DESCRIPTION_LENGTH), expression: expiryExpression(grant.expiresAt) },
  };
  return { bindings: [...kept, added], changed: true, purged };
}

/**
 * Moves this request's binding's expiry to exactly `expiresAt` (an approved extension, or a shortening).
 * `found: false` when the request has no binding (expired and purged, or removed by someone).
 */
export function withExpiryMoved(bindings: readonly IamBinding[], target: RequestBinding & { readonly expiresAt: Date }, now: Date): PolicyEdit & { readonly found: boolean } {
  const { kept, purged } = withoutExpired(bindings, now);
  const index = kept.findIndex((b) => isRequestBinding(b, target));
  if (index < 0) return { bindings: kept, changed: purged > 0, purged, found: false };
  const existing = kept[index]!;
  if (existing.condition?.expression === expiryExpression(target.expiresAt)) return { bindings: kept, changed: purged > 0, purged, found: true };
  return { bindings: replaceAt(kept, index, withExpiry(existing, target.expiresAt)), changed: true, purged, found: true };
}

/**
 * Takes this request's member out of this request's binding, and drops the binding when nobody is
 * left in it. `removed` says whether the request had a binding for the member (live or expired).
 * NB: members someone else added to our binding stay (we remove what we made, nothing else), and
 * the member is matched in its `deleted:` form too, which Google shows once an account is deleted.
 */
export function withoutRequest(bindings: readonly IamBinding[], target: RequestBinding, now: Date): PolicyEdit & { readonly removed: boolean } {
  let removed = false;
  const out: IamBinding[] = [];
  let purged = 0;
  for (const binding of bindings) {
    const ours = isRequestBinding(binding, target);
    if (ours) removed = true;
    if (isExpiredBotBinding(binding, now)) {
      purged += ours ? 0 : 1;
      continue;
    }
    if (!ours) {
      out.push(binding);
      continue;
    }
    const members = binding.members.filter((m) => !sameMember(m, target.member));
    if (members.length > 0) out.push({ ...binding, members });
  }
  return { bindings: out, changed: removed || purged > 0, purged, removed };
}

/** Whether `member` appears in `binding`, in its own or its `deleted:` form (case-insensitive for e-mails). */
export function sameMember(candidate: string, member: string): boolean {
  const plain = candidate.startsWith('deleted:') ? candidate.slice('deleted:'.length).replace(/\?uid=\d+$/, '') : candidate;
  return plain.toLowerCase() === member.toLowerCase();
}

/** How many members a policy names, counted as Google counts them against its 1,500 limit. */
export function memberCount(bindings: readonly IamBinding[]): number {
  return bindings.reduce((n, b) => n + b.members.length, 0);
}

function isRequestBinding(binding: IamBinding, target: RequestBinding): boolean {
  return binding.role === target.role && binding.condition?.title === titleFor(target.requestId) && binding.members.some((m) => sameMember(m, target.member));
}

function withoutExpired(bindings: readonly IamBinding[], now: Date): { kept: IamBinding[]; purged: number } {
  const kept = bindings.filter((b) => !isExpiredBotBinding(b, now));
  return { kept, purged: bindings.length - kept.length };
}

function withExpiry(binding: IamBinding, expiresAt: Date): IamBinding {
  return { ...binding, condition: { ...(binding.condition ?? { title: '' }), expression: expiryExpression(expiresAt) } };
}

function replaceAt(bindings: readonly IamBinding[], index: number, binding: IamBinding): IamBinding[] {
  return bindings.map((b, i) => (i === index ? binding : b));
}

// NB: Google counts the limit in bytes of UTF-8 (a ticket or an e-mail may carry non-ASCII), so the
// text is cut by bytes, at a character boundary, and ends in an ASCII ellipsis.
function truncate(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > maxBytes - 3) break;
    out += char;
    bytes += size;
  }
  return `${out}...`;
}
