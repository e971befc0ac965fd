import type { AccessRequest } from '../access-request';
import type { Finding } from '../alert';
import type { DetectionRules, Severity } from '../detection-policy';
import type { DetectionContext, DetectionHistory } from './history';

/**
 * A revocation that keeps failing: `revocationAlertAfter` failed attempts in a row on a grant still
 * being revoked. The revocation scheduler raises it as soon as the count is reached; the detection
 * pass raises it too, in case that was lost (a crash between the failure and the alert).
 */
export function revocationFailing(history: DetectionHistory, settings: DetectionRules['revocationFailing'], { revocationAlertAfter }: DetectionContext): Finding[] {
  return history.liveGrants
    .filter((g) => g.request.state === 'revoking' && g.revokeAttempts >= revocationAlertAfter)
    .map((g) => revocationFailingFinding(g.request, g.revokeAttempts, g.lastError ?? 'unknown', settings.severity));
}

export function revocationFailingFinding(request: AccessRequest, attempts: number, lastError: string, severity: Severity): Finding {
  return {
    rule: 'revocationFailing',
    severity,
    key: `revocation_failing:${request.id}`,
    requestId: request.id,
    message:
      `Revoking ${request.role} from ${request.requester} (request ${request.id}) has failed ${attempts} times; ` +
      `the access is still live and the revocation is retried. Last error: ${lastError}. Remove the access by hand if the provider stays down.`,
  };
}
