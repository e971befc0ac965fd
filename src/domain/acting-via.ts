import type { AccessRequest } from './access-request';
import { ANY_OS_USER, type CliOperatorRef, type RolePolicy } from './policy';
import type { Refusal } from './lifecycle/transition';

/**
 * How a person acted. In chat, the platform verified their e-mail. On the CLI, `--as <email>` is
 * only a claim: what is known is the operating-system user who ran the command (and that user's OS
 * groups), so the CLI's decisions are allowed only where the policy names its operators.
 */
export type ActingVia = { readonly via: 'chat' } | { readonly via: 'cli'; readonly osUser: string; readonly osGroups: readonly string[] };

export const viaChat: ActingVia = { via: 'chat' };

export function viaCli(osUser: string, osGroups: readonly string[] = []): ActingVia {
  return { via: 'cli', osUser, osGroups };
}

/** What the audit trail records about a CLI decision: who ran it, and which policy entry let them. */
export interface OperatorTrace {
  readonly osUser: string;
  readonly allowedBy: string;
}

/**
 * Whether `via` may make a decision (approve, deny, revoke for someone else, break-glass) on a
 * request for `roleName`. Chat decisions need nothing more; a CLI decision needs the role's `cli`
 * block to name the OS user, one of its OS groups, or `*any-os-user*`. `role` is undefined when the
 * role has left the policy: then the CLI decides nothing.
 */
export function checkCliDecision(
  role: RolePolicy | undefined,
  roleName: string,
  via: ActingVia,
  decision: string,
): { ok: true; operator?: OperatorTrace } | { ok: false; refusal: Refusal } {
  if (via.via === 'chat') return { ok: true };
  const path = `roles.${roleName}.cli.operators`;
  if (!role?.cli) {
    return cliRefusal(`CLI decisions are off for ${roleName}, so you cannot ${decision} from a terminal; decide in chat, or ask security to list your OS user (${via.osUser}) under ${path}.`);
  }
  const match = role.cli.operators.find((ref) => operatorMatches(ref, via.osUser, via.osGroups));
  if (!match) {
    return cliRefusal(`OS user ${via.osUser} may not make decisions on ${roleName} from the CLI, so you cannot ${decision} from this terminal; decide in chat, or ask security to list you under ${path}.`);
  }
  return { ok: true, operator: { osUser: via.osUser, allowedBy: describeOperator(match) } };
}

/** What a security member does from the CLI that `detection.cliOperators` governs, for its refusals. */
export interface SecurityCliAction {
  /** `Acknowledging alerts`. */
  readonly doing: string;
  /** `acknowledge alerts`. */
  readonly verb: string;
  /** Where else it can be done, if anywhere: `use the button in the security channel`. */
  readonly inChat?: string;
}

export const acknowledgingAlerts: SecurityCliAction = { doing: 'Acknowledging alerts', verb: 'acknowledge alerts', inChat: 'use the button in the security channel' };
export const approvingDriftRuns: SecurityCliAction = { doing: 'Approving held drift runs', verb: 'approve a held drift run' };

/**
 * Whether `via` may act for the security group (acknowledge an alert, approve a held drift run).
 * In chat, yes (the platform verified who clicked); from the CLI, where `--as` is only a claim, only
 * where the policy's `detection.cliOperators` names the OS user or one of its OS groups.
 */
export function checkCliSecurityAction(
  operators: readonly CliOperatorRef[] | undefined,
  via: ActingVia,
  action: SecurityCliAction,
): { ok: true; operator?: OperatorTrace } | { ok: false; refusal: Refusal } {
  if (via.via === 'chat') return { ok: true };
  const path = 'detection.cliOperators';
  const elsewhere = action.inChat ? `${action.inChat}, or ` : '';
  if (!operators) {
    return cliRefusal(`${action.doing} from the CLI is off, so you cannot ${action.verb} from a terminal; ${elsewhere}ask security to list your OS user (${via.osUser}) under ${path}.`);
  }
  const match = operators.find((ref) => operatorMatches(ref, via.osUser, via.osGroups));
  if (!match) {
    return cliRefusal(`OS user ${via.osUser} may not ${action.verb} from the CLI; ${elsewhere}ask security to list you under ${path}.`);
  }
  return { ok: true, operator: { osUser: via.osUser, allowedBy: describeOperator(match) } };
}

/**
 * Unless the role allows it, one OS user never supplies both the request and an approval, or two
 * approvals, of one request: otherwise one terminal could claim to be several people.
 */
export function checkDistinctOperator(request: AccessRequest, role: RolePolicy, via: ActingVia): Refusal | undefined {
  if (via.via === 'chat' || role.cli?.sameOperatorMayActTwice === true) return undefined;
  const tail = `another person must approve in chat or from their own OS account (roles.${role.name}.cli.sameOperatorMayActTwice is off).`;
  if (request.osUser === via.osUser) {
    return { code: 'same_operator', message: `OS user ${via.osUser} opened request ${request.id} from the CLI and cannot also approve it; ${tail}` };
  }
  const earlier = request.approvals.find((a) => a.osUser === via.osUser);
  if (earlier) {
    return { code: 'same_operator', message: `OS user ${via.osUser} already approved request ${request.id} from the CLI (as ${earlier.approver}); ${tail}` };
  }
  return undefined;
}

function operatorMatches(ref: CliOperatorRef, osUser: string, osGroups: readonly string[]): boolean {
  if (ref.anyOsUser) return true;
  if (ref.user !== undefined) return ref.user === osUser;
  return osGroups.includes(ref.group);
}

function describeOperator(ref: CliOperatorRef): string {
  if (ref.anyOsUser) return ANY_OS_USER;
  return ref.user !== undefined ? ref.user : `group:${ref.group}`;
}

function cliRefusal(message: string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { code: 'cli_not_allowed', message } };
}
