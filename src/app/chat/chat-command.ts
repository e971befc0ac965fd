import { nextStepWords, refusalText, type Refusal, type RefusalHint } from '../../domain/lifecycle/transition';
import { parseRequestId, type RequestId } from '../../domain/request-id';
import { code, joinRich, type RichText, say } from '../../domain/rich-text';
import { quoteInput } from '../../domain/text';

/**
 * What someone asked the bot in chat, parsed from the text after `/prod-access` (Slack) or the
 * message to the bot (Teams). The grammar is the same on every platform (DESIGN.md).
 */
export type ChatCommand =
  | { readonly kind: 'open_form' }
  | { readonly kind: 'help' }
  | { readonly kind: 'roles' }
  | { readonly kind: 'list' }
  /** Last week's access report, for members of the policy's security group. */
  | { readonly kind: 'report' }
  | { readonly kind: 'status'; readonly id: RequestId }
  | { readonly kind: 'request'; readonly role: string; readonly duration: string; readonly ticket: string; readonly reason: string; readonly breakGlass: boolean }
  | { readonly kind: 'extend'; readonly id: RequestId; readonly duration: string; readonly reason: string }
  | { readonly kind: 'revoke'; readonly id: RequestId }
  | { readonly kind: 'cancel'; readonly id: RequestId };

/** Bad input: `text` says what to type instead; user text in it is quoted and kept apart from the bot's words. */
export type ChatCommandParse = { ok: true; command: ChatCommand } | { ok: false; text: RichText };

const REQUEST_SYNTAX = code('/prod-access <role> <duration> <ticket> <reason…>');

/** The commands, each shown as code to type, then what it does. */
export const CHAT_USAGE: RichText = joinRich([
  say`${code('/prod-access')} open the request form`,
  say`${REQUEST_SYNTAX} ask for access, e.g. ${code('/prod-access prod-readonly 2h INC-4211 payouts stuck')}`,
  say`${code('/prod-access break-glass <role> <duration> <ticket> <reason…>')} emergency access, reviewed afterwards`,
  say`${code('/prod-access extend <id> <duration> <reason…>')} ask for more time (approved like a request)`,
  say`${code('/prod-access revoke <id>')} give access back early`,
  say`${code('/prod-access cancel <id>')} withdraw a pending request`,
  say`${code('/prod-access list')}, ${code('/prod-access status <id>')}, ${code('/prod-access roles')}, ${code('/prod-access help')}`,
  say`${code('/prod-access report')} last week's access report (security group)`,
]);

/** A refusal's next step as a chat command: "Type `/prod-access roles` to see the roles you may request." */
export function chatNextStep(hint: RefusalHint): RichText {
  return nextStepWords(hint, (verb) => say`Type ${code(`/prod-access ${verb}`)}`);
}

/** A refusal as chat shows it, with its next step as a chat command. */
export function chatRefusalText(refusal: Refusal): RichText {
  return refusalText(refusal, chatNextStep);
}

export function parseChatCommand(text: string): ChatCommandParse {
  // NB: Slack sends the text as typed; runs of white space (and non-breaking spaces from pasted
  // text) separate words, and only the reason keeps its inner spacing.
  const trimmed = text.replace(/\u00a0/g, ' ').trim();
  if (trimmed === '') return { ok: true, command: { kind: 'open_form' } };
  const words = trimmed.split(/\s+/);
  const verb = (words[0] ?? '').toLowerCase();
  const rest = (n: number) => trimmed.split(/\s+/).slice(n).join(' ');
  switch (verb) {
    case 'help':
      return { ok: true, command: { kind: 'help' } };
    case 'roles':
      return { ok: true, command: { kind: 'roles' } };
    case 'list':
      return { ok: true, command: { kind: 'list' } };
    case 'report':
      if (words.length > 1) return usage(say`${code('report')} takes nothing more: ${code('/prod-access report')} sums up the last 7 days; for any window use ${code('prod-access report --since <date>')} on the CLI.`);
      return { ok: true, command: { kind: 'report' } };
    case 'status':
    case 'revoke':
    case 'cancel': {
      const id = idAt(words, 1, verb);
      if (!id.ok) return id;
      if (words.length > 2) return usage(say`${code(verb)} takes only a request id: ${code(`/prod-access ${verb} <id>`)}`);
      return { ok: true, command: { kind: verb, id: id.id } };
    }
    case 'extend': {
      const id = idAt(words, 1, verb);
      if (!id.ok) return id;
      if (words.length < 4) return usage(say`Say how much longer and why: ${code('/prod-access extend <id> <duration> <reason…>')}`);
      return { ok: true, command: { kind: 'extend', id: id.id, duration: words[2] ?? '', reason: rest(3) } };
    }
    case 'break-glass':
    case 'breakglass': {
      if (words.length < 5) return usage(say`Break-glass needs a role, a duration, a ticket and a reason: ${code('/prod-access break-glass <role> <duration> <ticket> <reason…>')}`);
      return { ok: true, command: { kind: 'request', role: words[1] ?? '', duration: words[2] ?? '', ticket: words[3] ?? '', reason: rest(4), breakGlass: true } };
    }
    default: {
      if (words.length < 4) {
        return usage(
          words.length === 1
            ? say`There is no command ${quoteInput(words[0] ?? '')}. To ask for access: ${REQUEST_SYNTAX}, or ${code('/prod-access help')}.`
            : say`A request needs a role, a duration, a ticket and a reason: ${REQUEST_SYNTAX}`,
        );
      }
      return { ok: true, command: { kind: 'request', role: words[0] ?? '', duration: words[1] ?? '', ticket: words[2] ?? '', reason: rest(3), breakGlass: false } };
    }
  }
}

function idAt(words: readonly string[], index: number, verb: string): { ok: true; id: RequestId } | { ok: false; text: RichText } {
  const raw = words[index];
  if (raw === undefined) return usage(say`Which request? ${code(`/prod-access ${verb} <id>`)} (the 8-character id, see ${code('/prod-access list')})`);
  const id = parseRequestId(raw);
  if (!id) return usage(say`${quoteInput(raw)} is not a request id: ids are 8 characters like KP6N6YAR (see ${code('/prod-access list')}).`);
  return { ok: true, id };
}

function usage(text: RichText): { ok: false; text: RichText } {
  return { ok: false, text };
}
