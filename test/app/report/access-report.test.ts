import type { Database } from '../../../src/adapters/store/open-database';
import { approveRequest } from '../../../src/app/approve-request';
import { runChatCommand } from '../../../src/app/chat/run-chat-command';
import { denyRequest } from '../../../src/app/deny-request';
import { accessReport } from '../../../src/app/report/access-report';
import { requestAccess } from '../../../src/app/request-access';
import { revokeAccess } from '../../../src/app/revoke-access';
import type { ReportEntry } from '../../../src/domain/access-report';
import { email } from '../../../src/domain/email';
import { toPlainText } from '../../../src/domain/rich-text';
import { chatOrigin, cliOrigin, createHarness, examplePolicyText, type Harness } from '../../support/app-harness';
import { alice, dave, value } from '../../support/revocation-fixtures';
import { storeBackends } from '../../support/test-database';

const bob = email('bob@example.com');
const carol = email('carol@example.com');
const frank = email('frank@example.com');
const erin = email('erin@example.com');

describe.each(storeBackends)('the access report on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
  });
  afterEach(async () => {
    await database.close();
  });

  async function report(since: Date, until: Date, pageSize?: number): Promise<{ entries: ReportEntry[]; summary: Awaited<ReturnType<typeof accessReport>> }> {
    const entries: ReportEntry[] = [];
    const summary = await accessReport(h.ctx.store, { since, until }, (e) => void entries.push(e), pageSize);
    return { entries, summary };
  }

  it('tells each request in the window: who asked, who decided and when, the grant window, how it ended, and the policy behind each decision', async () => {
    // Given a request before the window
    value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-1', reason: 'before the window opens' }, cliOrigin));
    h.clock.advance(60);
    const since = h.clock.now();
    // And in the window: dave's request, approved by alice (CLI) and bob (chat) under the first policy
    const first = h.ctx.policy.current().sha256;
    const granted = value(await requestAccess(h.ctx, { requester: dave, role: 'sandbox-admin', duration: '2h', ticket: 'OPS-7', reason: 'rotate the signing keys' }, cliOrigin));
    h.clock.advance(5);
    value(await approveRequest(h.ctx, granted.id, alice, cliOrigin));
    h.clock.advance(1);
    // And the policy changed before bob's approval, which granted the access
    h.setPolicy(`${examplePolicyText}\n# a change\n`);
    const second = h.ctx.policy.current().sha256;
    value(await approveRequest(h.ctx, granted.id, bob, chatOrigin));
    h.clock.advance(30);
    value(await revokeAccess(h.ctx, granted.id, dave, 'revoked_early', cliOrigin));
    // And frank's request, denied by carol
    const denied = value(await requestAccess(h.ctx, { requester: frank, role: 'prod-readonly', duration: '1h', ticket: 'INC-9', reason: 'look at the billing job' }, chatOrigin));
    value(await denyRequest(h.ctx, denied.id, carol, 'use the staging copy', chatOrigin));
    h.clock.advance(10);
    const until = h.clock.now();
    // And a request after the window
    value(await requestAccess(h.ctx, { requester: frank, role: 'prod-readonly', duration: '1h', ticket: 'INC-10', reason: 'after the window closes' }, chatOrigin));

    // When the window is reported
    const { entries, summary } = await report(since, until);

    // Then the two requests of the window are told, oldest first
    expect(entries.map((e) => e.request)).toEqual([granted.id, denied.id]);
    const [g, d] = entries;
    expect(g).toMatchObject({
      requester: dave,
      role: 'sandbox-admin',
      provider: 'local',
      target: { environment: 'sandbox' },
      duration: '2h',
      ticket: 'OPS-7',
      reason: 'rotate the signing keys',
      outcome: 'revoked (revoked early)',
      policyAtOpen: first,
      approvals: [
        { by: alice, osUser: 'tester', policySha: first },
        { by: bob, osUser: null, policySha: second },
      ],
      denial: null,
      grant: { policySha: second },
      ended: { cause: 'revoked_early', by: dave, osUser: 'tester' },
    });
    expect(g?.grant?.grantedAt).toBe(new Date(since.getTime() + 6 * 60_000).toISOString());
    expect(g?.decisions.map((x) => [x.action, x.by, x.policySha === first ? 'first' : 'second'])).toEqual([
      ['request_opened', dave, 'first'],
      ['approval_recorded', alice, 'first'],
      ['approval_recorded', bob, 'second'],
      ['request_approved', bob, 'second'],
      ['access_granted', 'system', 'second'],
      ['revocation_started', dave, 'second'],
      ['access_revoked', 'system', 'second'],
    ]);
    expect(d).toMatchObject({ requester: frank, outcome: 'denied', denial: { by: carol, reason: 'use the staging copy', policySha: second }, grant: null, approvals: [] });
    // And the figures add up
    expect(summary).toMatchObject({ requests: 2, granted: 1, breakGlass: 0, byRole: [['prod-readonly', 1], ['sandbox-admin', 1]], byApprover: [['alice@example.com', 1], ['bob@example.com', 1]] });
    expect(summary.byState).toMatchObject({ revoked: 1, denied: 1, pending: 0 });
  });

  it('reports every request once across pages, even when they were opened at the same instant', async () => {
    // Given five requests opened at the same time (the clock does not move)
    const since = h.clock.now();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: `OPS-${i + 1}`, reason: 'check the nightly export' }, chatOrigin)).id);
    }
    // When they are reported two at a time
    const { entries } = await report(since, new Date(since.getTime() + 1));
    const paged = await report(since, new Date(since.getTime() + 1), 2);
    // Then each comes once, in id order
    expect(paged.entries.map((e) => e.request)).toEqual([...ids].sort());
    expect(entries.map((e) => e.request)).toEqual([...ids].sort());
  });

  it('gives security members last week\'s figures in chat, and nobody else', async () => {
    value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-1', reason: 'check the nightly export' }, chatOrigin));
    h.clock.advance(60);

    const asErin = await runChatCommand(h.ctx, { email: erin, origin: chatOrigin }, { kind: 'report' });
    const asDave = await runChatCommand(h.ctx, { email: dave, origin: chatOrigin }, { kind: 'report' });

    expect(asErin.ok).toBe(true);
    expect(toPlainText(asErin.text)).toContain('1 request (0 extensions), 0 granted, 0 break-glass');
    expect(toPlainText(asErin.text)).toContain('By requester: dave@example.com 1');
    expect(toPlainText(asErin.text)).toContain('`prod-access report --since 2026-02-24T11:00:00.000Z --until 2026-03-03T11:00:00.000Z --format csv`');
    expect(asDave).toEqual({ ok: false, text: expect.anything() });
    expect(toPlainText(asDave.text)).toBe('The access report is for members of the security group (security in the policy); dave@example.com is not one. Ask your security team.');
  });
});
