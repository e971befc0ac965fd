import type { Finding } from '../alert';
import type { DetectionRules } from '../detection-policy';
import { formatDuration } from '../duration';
import type { DetectionContext, DetectionHistory } from './history';

/**
 * A grant still live `grace` after its expiry: the revocation scheduler should have ended it within
 * seconds, so it is stuck, down on every replica, or failing (see also `revocationFailing`).
 */
export function overdueGrant(history: DetectionHistory, settings: DetectionRules['overdueGrant'], { now }: DetectionContext): Finding[] {
  return history.liveGrants.flatMap(({ request, revokeAttempts, lastError }): Finding[] => {
    const expiresAt = request.grant?.expiresAt;
    if (!expiresAt || (request.state !== 'active' && request.state !== 'revoking')) return [];
    const late = Math.floor((now.getTime() - expiresAt.getTime()) / 60_000);
    if (now.getTime() - expiresAt.getTime() <= settings.grace * 60_000) return [];
    const how =
      revokeAttempts > 0
        ? `its revocation has failed ${revokeAttempts} time${revokeAttempts === 1 ? '' : 's'}${lastError ? ` (last error: ${lastError})` : ''}`
        : request.state === 'revoking'
          ? 'its revocation started and was never confirmed'
          : 'nothing has tried to revoke it (is the service running?)';
    return [
      {
        rule: 'overdueGrant',
        severity: settings.severity,
        key: `overdue_grant:${request.id}`,
        requestId: request.id,
        message: `${request.role} for ${request.requester} (request ${request.id}) is still live ${formatDuration(late)} after it expired at ${expiresAt.toISOString()}; ${how}.`,
      },
    ];
  });
}
