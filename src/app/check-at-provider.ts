import type { AccessRequest } from '../domain/access-request';
import { addMinutes } from '../domain/duration';
import type { Refusal } from '../domain/lifecycle/transition';
import type { LoadedPolicy } from '../domain/policy';
import type { AppContext } from './app-context';
import { describeFailure, ProviderError } from './errors';
import { grantSpecOf } from './grant-access';

/**
 * Asks the role's provider, before anyone is asked to approve, whether it could grant this at all:
 * the person has a principal there, the target exists and is usable, and (AWS) no session it hands
 * out outlives the role's maximum. A refusal names what is missing, so nobody approves a request
 * that can only fail. Reads only; providers without a check pass.
 * NB: a provider that does not answer refuses a normal request (nothing recorded, try again), but
 * never holds up break-glass: its grant is retried like any other.
 */
export async function checkAtProvider(ctx: AppContext, request: AccessRequest, loaded: LoadedPolicy, now: Date): Promise<Refusal | undefined> {
  const provider = ctx.iam.get(request.resource.provider);
  const role = loaded.policy.roles.get(request.role);
  if (!provider?.check || !role) return undefined;
  try {
    await provider.check(grantSpecOf(request, addMinutes(now, request.duration)), { maxDurationMinutes: role.maxDuration });
    return undefined;
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const log = ctx.logger.child({ requestId: request.id, role: request.role, provider: error.provider });
    if (error.code === 'refused' || error.code === 'misconfigured') {
      log.warn({ err: error }, 'the provider cannot grant this request; refused before any approval');
      return { code: 'provider_refused', message: `${request.role} cannot be granted to ${request.requester}. ${describeFailure(error)}` };
    }
    if (request.breakGlass) {
      log.warn({ err: error }, 'the provider did not answer the check; break-glass goes ahead and its grant is retried');
      return undefined;
    }
    log.warn({ err: error }, 'the provider did not answer the check; the request is refused for now');
    return { code: 'provider_unavailable', message: `${describeFailure(error)} Your request was not opened.` };
  }
}
