import { parseRequestId, type RequestId } from '../../domain/request-id';
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
  | { readonly kind: 'status'; readonly id: RequestId }
  | { readonly kind: 'request'; readonly role: string; readonly duration: string; readonly ticket: string; readonly reason: string; readonly breakGlass: boolean }
  | { readonly kind: 'extend'; readonly id: RequestId; readonly duration: string; readonly reason: string }
  | { readonly kind: 'revoke'; readonly id: RequestId }
  | { readonly kind: 'cancel'; readonly id: RequestId };

/** Bad input: `message` says what to type instead; user text in it is quoted, never raw. */
export type ChatCommandParse = { ok: true; command: ChatCommand } | { ok: false; message: string };

export const CHAT_USAGE = [
  '/prod-access                                      open the request form',
  '/prod-access <role> <duration> <ticket> <reason…>  ask for access, e.g. prod-readonly 2h INC-4211 payouts stuck',
  '/prod-access break-glass <role> <duration> <ticket> <reason…>  emergency access, reviewed afterwards',
  '/prod-access extend <id> <duration> <reason…>     ask for more time (approved like a request)',
  '/prod-access revoke <id>                          give access back early',
  '/prod-access cancel <id>                          withdraw a pending request',
  '/prod-access list | status <id> | roles | help',
].join('\n');

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
    case 'status':
    case 'revoke':
    case 'cancel': {
      const id = idAt(words, 1, verb);
      if (!id.ok) return id;
      if (words.length > 2) return usage(`\`${verb}\` takes only a request id: /prod-access ${verb} <id>`);
      return { ok: true, command: { kind: verb, id: id.id } };
    }
    case 'extend': {
      const id = idAt(words, 1, verb);
      if (!id.ok) return id;
      if (words.length < 4) return usage('Say how much longer and why: /prod-access extend <id> <duration> <reason…>');
      return { ok: true, command: { kind: 'extend', id: id.id, duration: words[2] ?? '', reason: rest(3) } };
    }
    case 'break-glass':
    case 'breakglass': {
      if (words.length < 5) return usage('Break-glass needs a role, a duration, a ticket and a reason: /prod-access break-glass <role> <duration> <ticket> <reason…>');
      return { ok: true, command: { kind: 'request', role: words[1] ?? '', duration: words[2] ?? '', ticket: words[3] ?? '', reason: rest(4), breakGlass: true } };
    }
    default: {
      if (words.length < 4) {
        return usage(
          words.length === 1
            ? `There is no command ${quoteInput(words[0] ?? '')}. To ask for access: /prod-access <role> <duration> <ticket> <reason…>, or /prod-access help.`
            : 'A request needs a role, a duration, a ticket and a reason: /prod-access <role> <duration> <ticket> <reason…>',
        );
      }
      return { ok: true, command: { kind: 'request', role: words[0] ?? '', duration: words[1] ?? '', ticket: words[2] ?? '', reason: rest(3), breakGlass: false } };
    }
  }
}

function idAt(words: readonly string[], index: number, verb: string): { ok: true; id: RequestId } | { ok: false; message: string } {
  const raw = words[index];
  if (raw === undefined) return usage(`Which request? /prod-access ${verb} <id> (the 8-character id, see /prod-access list)`);
  const id = parseRequestId(raw);
  if (!id) return usage(`${quoteInput(raw)} is not a request id: ids are 8 characters like KP6N6YAR (see /prod-access list).`);
  return { ok: true, id };
}

function usage(message: string): { ok: false; message: string } {
  return { ok: false, message };
}
