import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import type { Email } from '../../domain/email';
import { mayRevoke } from '../../domain/lifecycle/revoke';
import { requestableRoles } from '../../domain/policy';
import { bold, code, joinRich, type RichText, say } from '../../domain/rich-text';
import type { AppContext } from '../app-context';
import { cancelRequest } from '../cancel-request';
import { describeFailure, describeRevocationFailure, ProviderError } from '../errors';
import { extendAccess } from '../extend-access';
import { listMyRequests, showRequest } from '../list-requests';
import type { Origin } from '../origin';
import type { Outcome } from '../outcome';
import { requestAccess } from '../request-access';
import { lastWeekReport } from '../report/last-week-report';
import { revokeAccess } from '../revoke-access';
import { cancelText, extensionOpenedText, openedText, revokeText } from '../outcome-text';
import { CHAT_USAGE, chatRefusalText, type ChatCommand } from './chat-command';

/** Who typed the command: the e-mail the platform verified, never text they typed. */
export interface ChatActor {
  readonly email: Email;
  readonly origin: Origin;
}

/**
 * The answer to the person who typed the command (ephemeral in Slack). The bot's words and what
 * people typed stay apart in `text`, so each platform formats the first and escapes only the second.
 */
export interface ChatReply {
  readonly ok: boolean;
  readonly text: RichText;
  readonly request?: AccessRequest;
}

/**
 * Runs a chat command for a verified person, through the same use cases as the CLI. Refusals and
 * failures come back as replies with a sentence saying what to do; nothing here throws for bad input.
 */
export async function runChatCommand(ctx: AppContext, actor: ChatActor, command: Exclude<ChatCommand, { kind: 'open_form' }>): Promise<ChatReply> {
  try {
    return await run(ctx, actor, command);
  } catch (error) {
    ctx.logger.error({ err: error, command: command.kind }, 'chat command failed');
    return { ok: false, text: say`${describeFailure(error)}` };
  }
}

async function run(ctx: AppContext, actor: ChatActor, command: Exclude<ChatCommand, { kind: 'open_form' }>): Promise<ChatReply> {
  const policy = ctx.policy.current().policy;
  switch (command.kind) {
    case 'help':
      return { ok: true, text: CHAT_USAGE };
    case 'roles': {
      const roles = requestableRoles(policy, actor.email);
      if (roles.length === 0) return { ok: true, text: say`No role in the policy lists ${actor.email} as a requester. Ask your security team.` };
      return {
        ok: true,
        text: joinRich(
          roles.map(
            (r) =>
              say`${bold(r.name)}: ${r.description} (up to ${formatDuration(r.maxDuration)}, ${r.approvals} approval${r.approvals === 1 ? '' : 's'}${
                r.ticket.example ? say`, ticket like ${r.ticket.example}` : ''
              }${r.breakGlass.allowed ? say`, break-glass allowed` : ''})`,
          ),
        ),
      };
    }
    case 'list': {
      const mine = await listMyRequests(ctx, actor.email, 15);
      if (mine.length === 0) return { ok: true, text: say`You have no requests yet. ${code('/prod-access roles')} lists what you can ask for.` };
      return { ok: true, text: joinRich(mine.map(describeLine)) };
    }
    case 'report':
      return lastWeekReport(ctx, actor.email);
    case 'status': {
      const request = await showRequest(ctx, command.id);
      // NB: the same answer for "no such request" and "not yours to see", so ids cannot be probed.
      if (!request || !(request.requester === actor.email || mayRevoke(request, actor.email, policy))) {
        return { ok: false, text: say`There is no request ${command.id} that you can see. ${code('/prod-access list')} shows yours.` };
      }
      return { ok: true, text: describeLine(request), request };
    }
    case 'request':
      return reply(
        await requestAccess(ctx, { requester: actor.email, role: command.role, duration: command.duration, ticket: command.ticket, reason: command.reason, breakGlass: command.breakGlass }, actor.origin),
        openedText,
      );
    case 'extend':
      return reply(
        await extendAccess(ctx, command.id, { requester: actor.email, duration: command.duration, reason: command.reason }, actor.origin),
        extensionOpenedText,
      );
    case 'revoke':
      try {
        return reply(await revokeAccess(ctx, command.id, actor.email, 'revoked_early', actor.origin), revokeText);
      } catch (error) {
        // NB: the revocation is recorded as started and stays due: unlike other failures, it is not "nothing done".
        if (!(error instanceof ProviderError)) throw error;
        return { ok: false, text: say`${describeRevocationFailure(command.id, error)}` };
      }
    case 'cancel':
      return reply(await cancelRequest(ctx, command.id, actor.email, actor.origin), cancelText);
  }
}

function reply(outcome: Outcome<AccessRequest>, describe: (r: AccessRequest, changed: boolean) => RichText): ChatReply {
  if (!outcome.ok) return { ok: false, text: chatRefusalText(outcome.refusal) };
  return { ok: true, text: describe(outcome.value, outcome.changed), request: outcome.value };
}

/** One line per request: id, role, state, and its time if it has one. */
export function describeLine(r: AccessRequest): RichText {
  const when =
    r.state === 'active' && r.grant
      ? ` until ${r.grant.expiresAt.toISOString()}`
      : r.state === 'pending'
        ? ` (${r.approvals.length} of ${r.approvalsRequired} approvals)`
        : '';
  return say`${code(r.id)} ${r.kind === 'extension' ? say`extension of ${r.parentId ?? '?'}` : bold(r.role)} ${r.state}${when} ${r.ticket}: ${r.reason}`;
}
