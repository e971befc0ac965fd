import type { AccessRequest } from './access-request';
import { formatDuration } from './duration';

/**
 * What security is alerted about. Each is raised at most once per request.
 * - `revocation_failing`: a revocation failed this many times in a row; access is still live and
 *   the revocation is still being retried.
 * - `grant_failed`: an approved request could not be granted and was given up (`failed`).
 * - `break_glass_unreviewed`: break-glass access got no after-the-fact review within its window.
 * - `drift`: access found at a provider that no live grant explains (raised once per finding while it lasts).
 * - `drift_held`: a drift run would have revoked too much at once and waits for a person.
 * NB: the two drift kinds concern no request: until alerts get dedupe keys of their own, their
 * `requestId` column holds the dedupe key (see `raiseDriftAlert`).
 */
export const alertKinds = ['revocation_failing', 'grant_failed', 'break_glass_unreviewed', 'drift', 'drift_held'] as const;
export type AlertKind = (typeof alertKinds)[number];

export interface Alert {
  readonly kind: AlertKind;
  readonly requestId: AccessRequest['id'];
  /** One sentence for the security channel; names the person, role and what to do. */
  readonly message: string;
}

export function revocationFailingAlert(request: AccessRequest, attempts: number, lastError: string): Alert {
  return {
    kind: 'revocation_failing',
    requestId: request.id,
    message:
      `Revoking ${request.role} from ${request.requester} (request ${request.id}) has failed ${attempts} times; ` +
      `the access is still live and the revocation is retried. Last error: ${lastError}. Remove the access by hand if the provider stays down.`,
  };
}

export function grantFailedAlert(request: AccessRequest, attempts: number, lastError: string): Alert {
  return {
    kind: 'grant_failed',
    requestId: request.id,
    message:
      `Granting ${request.role} to ${request.requester} (request ${request.id}) failed ${attempts === 1 ? 'for good' : `${attempts} times`} and was given up. ` +
      `Last error: ${lastError}.`,
  };
}

export function breakGlassUnreviewedAlert(request: AccessRequest): Alert {
  const window = Math.round((request.decisionDeadline.getTime() - request.createdAt.getTime()) / 60_000);
  return {
    kind: 'break_glass_unreviewed',
    requestId: request.id,
    message:
      `Break-glass access to ${request.role} by ${request.requester} (request ${request.id}, ticket ${request.ticket}) ` +
      `has ${request.approvals.length} of ${request.approvalsRequired} reviews ${formatDuration(window)} after it was taken.`,
  };
}
