import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import { requestAccess } from '../../src/app/request-access';
import { timeOutRequests } from '../../src/app/time-out-requests';
import { chatOrigin, cliOrigin, createHarness, type Harness } from '../support/app-harness';
import { actionsFor, alice, dave, value } from '../support/revocation-fixtures';
import { storeBackends } from '../support/test-database';

describe.each(storeBackends)('timeOutRequests on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database);
  });
  afterEach(async () => {
    await database.close();
  });

  /** prod-readonly: one approval within 1h. */
  async function openRequest() {
    return value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin));
  }

  it('times out a pending request past its deadline, once', async () => {
    // Given a request nobody decided on, and the clock at its deadline
    const opened = await openRequest();
    h.clock.set(opened.decisionDeadline);

    // When time-outs are swept twice
    const first = await timeOutRequests(h.ctx, 10);
    const second = await timeOutRequests(h.ctx, 10);

    // Then it timed out once, with one audit event written by the scheduler
    expect(first).toEqual({ claimed: 1, timedOut: 1 });
    expect(second).toEqual({ claimed: 0, timedOut: 0 });
    expect(await h.ctx.store.findRequest(opened.id)).toMatchObject({ state: 'timed_out', endedAt: opened.decisionDeadline });
    expect(await actionsFor(h, opened.id)).toEqual(['request_opened', 'request_timed_out']);
    const events = await h.ctx.store.readAudit(1, 10);
    expect(events.find((e) => e.action === 'request_timed_out')).toMatchObject({ actor: 'system', data: { origin: { via: 'scheduler' } } });

    // And a late approval is refused
    expect(await approveRequest(h.ctx, opened.id, alice, chatOrigin)).toMatchObject({ ok: false, refusal: { code: 'not_pending' } });
  });

  it('leaves requests within their window, and decided ones, alone', async () => {
    // Given one request approved in time and one still inside its window
    const approved = await openRequest();
    value(await approveRequest(h.ctx, approved.id, alice, chatOrigin));
    h.clock.advance(30);
    const waiting = await openRequest();

    // When time-outs are swept 61 minutes after the first was opened
    h.clock.advance(31);
    const batch = await timeOutRequests(h.ctx, 10);

    // Then neither changed
    expect(batch).toEqual({ claimed: 0, timedOut: 0 });
    expect((await h.ctx.store.findRequest(approved.id))?.state).toBe('active');
    expect((await h.ctx.store.findRequest(waiting.id))?.state).toBe('pending');
  });

  it('times out a full backlog batch by batch, oldest deadline first', async () => {
    // Given three requests past their deadlines
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await openRequest()).id);
      h.clock.advance(1);
    }
    h.clock.advance(120);

    // When swept two at a time
    const first = await timeOutRequests(h.ctx, 2);
    const second = await timeOutRequests(h.ctx, 2);

    // Then the oldest two went first, and the third next
    expect(first).toEqual({ claimed: 2, timedOut: 2 });
    expect(second).toEqual({ claimed: 1, timedOut: 1 });
    const timedOut = (await h.ctx.store.readAudit(1, 100)).filter((e) => e.action === 'request_timed_out').map((e) => e.requestId);
    expect(timedOut).toEqual(ids);
  });
});
