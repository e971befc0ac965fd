/**
 * The pure parts of an Azure PIM role assignment schedule request: its deterministic name, the
 * justification that carries the prod-access request id, the role definition id, and the 5-minute
 * rule. No SDK, no I/O.
 */
import { createHash } from 'node:crypto';
import { parseExactRequestId, type RequestId } from '../../../domain/request-id';
import type { AzureTarget } from '../../../domain/provider-targets';

/** The request types prod-access sends (api-version 2020-10-01 `RequestType`). */
export type PimRequestType = 'AdminAssign' | 'AdminUpdate' | 'AdminRemove';

/**
 * NB: the ARM reference gives no maximum for `justification`; the PIM portal's justification box
 * takes at most 500 characters, so we stay within that and never depend on more.
 */
export const JUSTIFICATION_MAX = 500;
/** Azure refuses to remove an active assignment within 5 minutes of its start (`ActiveDurationTooShort`). */
export const MINIMUM_ACTIVE_MS = 5 * 60_000;

const PREFIX = 'prod-access';
const JUSTIFICATION_ID = /^prod-access ([0-9A-HJKMNP-TV-Z]{8})(?:\s|$)/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The schedule request's name: a GUID derived from everything that makes the request what it is,
 * so a retry of the same call PUTs the same name (Azure then answers `RoleAssignmentRequestExists`
 * instead of acting twice) while a different call (another request, another expiry) gets its own.
 * A name-based (version 5 style) UUID over SHA-256, with the version and variant bits set.
 */
export function pimRequestName(parts: { readonly requestId: RequestId; readonly type: PimRequestType; readonly principalId: string; readonly target: AzureTarget; readonly endsAt?: Date; readonly attempt?: string }): string {
  const material = [
    'prod-access/azure/v1',
    parts.requestId,
    parts.type,
    parts.principalId.toLowerCase(),
    parts.target.scope.toLowerCase(),
    parts.target.roleDefinitionGuid.toLowerCase(),
    parts.endsAt?.toISOString() ?? '',
    parts.attempt ?? '',
  ].join('\n');
  const bytes = createHash('sha256').update(material).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * `prod-access <requestId> · <ticket> · <reason>`, on one line, cut to {@link JUSTIFICATION_MAX}
 * characters from the reason's end: the request id is always kept, because drift reconciliation
 * finds the bot's assignments by it.
 */
export function pimJustification(requestId: RequestId, ticket: string | undefined, reason: string | undefined, max = JUSTIFICATION_MAX): string {
  const head = `${PREFIX} ${requestId}`;
  const parts = [ticket, reason].map((p) => (p === undefined ? '' : oneLine(p))).filter((p) => p !== '');
  const full = [head, ...parts].join(' · ');
  if (full.length <= max) return full;
  return `${full.slice(0, Math.max(head.length, max - 1)).trimEnd()}…`;
}

/** The prod-access request id a justification carries, if it was written by {@link pimJustification}. */
export function requestIdOfJustification(justification: string | undefined): RequestId | undefined {
  const match = justification === undefined ? null : JUSTIFICATION_ID.exec(justification);
  return match ? parseExactRequestId(match[1]) : undefined;
}

/**
 * The full role definition id to send: under the subscription for subscription, resource group and
 * resource scopes (as in Microsoft's PIM REST examples), under the management group otherwise.
 */
export function roleDefinitionIdFor(target: AzureTarget): string {
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(target.scope);
  const base = subscription ? `/subscriptions/${subscription[1]!.toLowerCase()}` : target.scope;
  return `${base}/providers/Microsoft.Authorization/roleDefinitions/${target.roleDefinitionGuid}`;
}

/** The role definition GUID at the end of a full role definition id (lower case), or undefined. */
export function roleDefinitionGuidOf(roleDefinitionId: string | undefined): string | undefined {
  const last = roleDefinitionId?.split('/').pop();
  return last !== undefined && GUID.test(last) ? last.toLowerCase() : undefined;
}

/** The SDK takes the scope without its leading `/` (the path template is `/{scope}/providers/…`). */
export function sdkScope(scope: string): string {
  return scope.replace(/^\/+/, '');
}

/** Whether two ARM scopes are the same (ARM ids compare case-insensitively). */
export function sameScope(a: string | undefined, b: string): boolean {
  return a !== undefined && a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}

/**
 * Whether `scope` lies at or below `parent` (a role definition's assignable scope). A management
 * group parent counts as containing everything: its subscriptions are not visible from the scope's id.
 */
export function scopeWithin(scope: string, parent: string): boolean {
  const s = scope.replace(/\/+$/, '').toLowerCase();
  const p = parent.replace(/\/+$/, '').toLowerCase();
  if (p === '' || p.startsWith('/providers/microsoft.management/managementgroups/')) return true;
  return s === p || s.startsWith(`${p}/`);
}

/**
 * When Azure will accept the removal of an assignment that started at `start` (and was created at
 * `created`): 5 minutes after the later of the two. Never earlier than `now` plus a short margin, so
 * a clock difference with Azure cannot make the retry come back too early forever.
 */
export function removableAt(start: Date | undefined, created: Date | undefined, now: Date, marginMs = 15_000): Date {
  const from = Math.max(start?.getTime() ?? 0, created?.getTime() ?? 0, 0);
  const at = from === 0 ? now.getTime() + MINIMUM_ACTIVE_MS : from + MINIMUM_ACTIVE_MS + marginMs;
  return new Date(Math.max(at, now.getTime() + marginMs));
}

/**
 * Whether Azure's end (`undefined`: the assignment has none) must move later to reach `wanted`: a
 * grant or extension only ever moves it later, never earlier. A second of slack absorbs Azure
 * storing times at a coarser precision than ours.
 */
export function needsLaterEnd(current: Date | undefined, wanted: Date): boolean {
  return current !== undefined && current.getTime() < wanted.getTime() - 1_000;
}

function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
}
