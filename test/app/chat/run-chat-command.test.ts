import type { RequestId } from '../../../src/domain/request-id';
import type { Database } from '../../../src/adapters/store/open-database';
import { approveRequest } from '../../../src/app/approve-request';
import { runChatCommand, type ChatActor } from '../../../src/app/chat/run-chat-command';
import { ProviderError } from '../../../src/app/errors';
import { email } from '../../../src/domain/email';
import { toPlainText } from '../../../src/domain/rich-text';
import { cliOrigin, createHarness, examplePolicyText, type Harness } from '../../support/app-harness';
import { alice, dave, flakyRole } from '../../support/revocation-fixtures';
import { createPgliteDatabase } from '../../support/test-database';

const as = (who: string): ChatActor => ({ email: email(who), origin: { via: 'slack', platformUserId: 'U1' } });

describe('runChatCommand', () => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database, examplePolicyText + flakyRole);
  });
  afterEach(async () => {
    await database.close();
  });

  async function daveHasFlakyAccess(): Promise<RequestId> {
    const opened = await runChatCommand(h.ctx, as(dave), { kind: 'request', role: 'flaky-admin', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account', breakGlass: false });
    const id = opened.request?.id;
    if (!id) throw new Error(toPlainText(opened.text));
    await approveRequest(h.ctx, id, alice, cliOrigin);
    return id;
  }

  it('says a revocation the provider did not confirm has started and will be retried, not that nothing happened', async () => {
    const id = await daveHasFlakyAccess();
    h.flaky.failNext = new ProviderError('unavailable', 'flaky', 'connection reset');
    const reply = await runChatCommand(h.ctx, as(dave), { kind: 'revoke', id: id });
    expect(reply.ok).toBe(false);
    expect(toPlainText(reply.text)).toBe(`Revocation of ${id} has started, but the flaky provider did not confirm it (connection reset). It is retried automatically until it does; security is alerted if it keeps failing.`);
    expect((await h.ctx.store.findRequest(id))?.state).toBe('revoking');
  });

  it('shows a request only to its requester, its approvers and admins, with the same answer for unknown ids', async () => {
    const id = await daveHasFlakyAccess();
    expect(toPlainText((await runChatCommand(h.ctx, as(dave), { kind: 'status', id: id })).text)).toContain(id);
    expect((await runChatCommand(h.ctx, as('carol@example.com'), { kind: 'status', id: id })).ok).toBe(true);
    const stranger = await runChatCommand(h.ctx, as('frank@example.com'), { kind: 'status', id: id });
    const unknown = await runChatCommand(h.ctx, as('frank@example.com'), { kind: 'status', id: 'ZZZZZZZZ' as RequestId });
    expect(stranger.ok).toBe(false);
    expect(toPlainText(stranger.text)).toBe(`There is no request ${id} that you can see. \`/prod-access list\` shows yours.`);
    expect(toPlainText(unknown.text)).toBe('There is no request ZZZZZZZZ that you can see. `/prod-access list` shows yours.');
  });

  it('lists only the roles this person may request, and says so when there are none', async () => {
    const mine = await runChatCommand(h.ctx, as(dave), { kind: 'roles' });
    expect(toPlainText(mine.text).split('\n').map((l) => l.split(':')[0])).toEqual(['sandbox-admin', 'prod-readonly', 'flaky-admin']);
    const outsider = await runChatCommand(h.ctx, as('mallory@elsewhere.org'), { kind: 'roles' });
    expect(toPlainText(outsider.text)).toBe('No role in the policy lists mallory@elsewhere.org as a requester. Ask your security team.');
  });

  it('says a second cancel changed nothing, in the same words as the CLI', async () => {
    // Given dave's pending request
    const opened = await runChatCommand(h.ctx, as(dave), { kind: 'request', role: 'sandbox-admin', duration: '1h', ticket: 'OPS-7', reason: 'rotate the sandbox keys', breakGlass: false });
    const id = opened.request?.id as RequestId;
    // When he cancels it twice
    const first = await runChatCommand(h.ctx, as(dave), { kind: 'cancel', id });
    const second = await runChatCommand(h.ctx, as(dave), { kind: 'cancel', id });
    // Then
    expect(toPlainText(first.text)).toBe(`Request ${id} is cancelled.`);
    expect(toPlainText(second.text)).toBe(`Request ${id} was already cancelled; nothing changed.`);
  });

  it('names the chat command for the next step of a refusal', async () => {
    // When dave asks for a role that does not exist, and cancels a request that does not exist
    const role = await runChatCommand(h.ctx, as(dave), { kind: 'request', role: 'no-such-role', duration: '1h', ticket: 'OPS-7', reason: 'rotate the sandbox keys', breakGlass: false });
    const id = await runChatCommand(h.ctx, as(dave), { kind: 'cancel', id: 'ZZZZZZZZ' as RequestId });
    // Then each refusal says what to type in chat
    expect(toPlainText(role.text)).toBe('There is no role "no-such-role". Type `/prod-access roles` to see the roles you may request.');
    expect(toPlainText(id.text)).toBe('There is no request ZZZZZZZZ. Type `/prod-access list` to see your requests and their ids.');
  });

  it('refuses a duration past any limit with the role\'s maximum', async () => {
    const reply = await runChatCommand(h.ctx, as(dave), { kind: 'request', role: 'sandbox-admin', duration: '99999d', ticket: 'OPS-7', reason: 'rotate the sandbox keys', breakGlass: false });
    expect(reply.ok).toBe(false);
    expect(toPlainText(reply.text)).toBe('99999d is longer than the 4h maximum for sandbox-admin.');
  });
});
