import type { AccessRequest } from '../access-request';
import { viaChat, type ActingVia } from '../acting-via';
import { SYSTEM_ACTOR } from '../audit-event';
import { addMinutes, formatDuration } from '../duration';
import type { Email } from '../email';
import type { LoadedPolicy, Policy } from '../policy';
import type { RequestId } from '../request-id';
import { describeState } from './approve';
import { checkDuration, checkReason } from './open-request';
import { refuse, requestEvent, type Refusal, type Transition } from './transition';

export interface ExtensionInput {
  readonly requester: Email;
  readonly duration: string;
  readonly reason: string;
}

/**
 * Asks for more time on live access. An extension is a request of its own, approved like any
 * other; the grant's total length can never pass the role's maximum.
 */
export function openExtension(
  parent: AccessRequest,
  input: ExtensionInput,
  pendingExtension: RequestId | undefined,
  id: RequestId,
  loaded: LoadedPolicy,
  now: Date,
  via: ActingVia = viaChat,
): Transition {
  if (input.requester !== parent.requester) {
    return refuse('not_requester', `Only ${parent.requester} can extend request ${parent.id}.`);
  }
  if (parent.kind !== 'access' || parent.state !== 'active' || !parent.grant) {
    return refuse('not_active', `Request ${parent.id} is ${describeState(parent)}; only live access can be extended.`);
  }
  if (pendingExtension) {
    return refuse('already_extending', `Extension ${pendingExtension} for ${parent.id} is still waiting for approval; cancel it first or wait for the decision.`);
  }
  const role = loaded.policy.roles.get(parent.role);
  if (!role) return refuse('unknown_role', `Role ${parent.role} is no longer in the policy, so ${parent.id} cannot be extended.`);
  if (!input.duration.trim()) return refuse('bad_duration', 'Say how much longer you need, for example 30m or 1h.');
  const duration = checkDuration(input.duration, role);
  if ('code' in duration) return { ok: false, refusal: duration };
  const tooLong = checkTotal(parent, duration.minutes, role.maxDuration);
  if (tooLong) return { ok: false, refusal: tooLong };
  const reason = checkReason(input.reason, role.reason.minLength);
  if (typeof reason !== 'string') return { ok: false, refusal: reason };

  const extension: AccessRequest = {
    id,
    kind: 'extension',
    parentId: parent.id,
    requester: parent.requester,
    role: parent.role,
    resource: parent.resource,
    duration: duration.minutes,
    ticket: parent.ticket,
    reason,
    breakGlass: false,
    state: 'pending',
    approvalsRequired: role.approvals,
    approvals: [],
    createdAt: now,
    decisionDeadline: addMinutes(now, role.approvalTimeout),
    policySha: loaded.sha256,
    version: 0,
    ...(via.via === 'cli' ? { osUser: via.osUser } : {}),
  };
  return {
    ok: true,
    request: extension,
    events: [
      requestEvent('request_opened', parent.requester, extension, {
        duration: formatDuration(extension.duration),
        approvalsRequired: extension.approvalsRequired,
        decisionDeadline: extension.decisionDeadline.toISOString(),
      }),
    ],
  };
}

function checkTotal(parent: AccessRequest, extra: number, max: number): Refusal | undefined {
  if (!parent.grant) return undefined;
  const soFar = Math.round((parent.grant.expiresAt.getTime() - parent.grant.grantedAt.getTime()) / 60_000);
  if (soFar + extra <= max) return undefined;
  const room = Math.max(0, max - soFar);
  return {
    code: 'extension_too_long',
    message: `${parent.role} allows ${formatDuration(max)} in all; ${parent.id} already has ${formatDuration(soFar)}, so ${room > 0 ? `at most ${formatDuration(room)} more` : 'no more time'} can be added.`,
  };
}

/**
 * Applies an approved extension to its parent's grant. When the parent's access has ended in the
 * meantime, or the role's maximum has shrunk below the new total, the extension fails instead.
 */
export function applyExtension(parent: AccessRequest, extension: AccessRequest, policy: Policy, now: Date): {
  parent: AccessRequest;
  extension: AccessRequest;
  events: ReturnType<typeof requestEvent>[];
} {
  const role = policy.roles.get(parent.role);
  const problem =
    parent.state !== 'active' || !parent.grant
      ? `request ${parent.id} is ${describeState(parent)}`
      : !role
        ? `role ${parent.role} is no longer in the policy`
        : checkTotal(parent, extension.duration, role.maxDuration)?.message;
  if (problem || !parent.grant) {
    const failed: AccessRequest = { ...extension, state: 'failed', endedAt: now, endCause: 'parent_ended' };
    return { parent, extension: failed, events: [requestEvent('extension_failed', SYSTEM_ACTOR, failed, { error: problem })] };
  }
  const expiresAt = addMinutes(parent.grant.expiresAt, extension.duration);
  const next: AccessRequest = { ...parent, grant: { ...parent.grant, expiresAt } };
  return {
    parent: next,
    extension,
    events: [
      requestEvent('grant_extended', SYSTEM_ACTOR, next, {
        extensionId: extension.id,
        added: formatDuration(extension.duration),
        previousExpiresAt: parent.grant.expiresAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
      }),
    ],
  };
}
