import type { RequestId } from '../../src/domain/request-id';
import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import { dispatchNotices } from '../../src/app/dispatch-notices';
import { NotificationError } from '../../src/app/errors';
import { requestAccess } from '../../src/app/request-access';
import type { Notice, Notifier } from '../../src/ports/notifier';
import { chatOrigin, cliOrigin, createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { alice, dave, value } from '../support/revocation-fixtures';
import { storeBackends } from '../support/test-database';

/** A notifier that records what it was given and fails on demand. */
class RecordingNotifier implements Notifier {
  readonly delivered: Notice[] = [];
  failures: NotificationError[] = [];
  constructor(readonly name: string) {}
  async deliver(notice: Notice): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.delivered.push(notice);
  }
  actions(): string[] {
    return this.delivered.map((n) => n.event.action);
  }
}

describe.each(storeBackends)('dispatchNotices on $name', ({ open }) => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await open();
    h = createHarness(database, examplePolicyText);
  });
  afterEach(async () => {
    await database.close();
  });

  async function openReadonly(): Promise<RequestId> {
    return value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-7', reason: 'inspect the billing account' }, cliOrigin)).id;
  }

  it('starts a new notifier at the end of the log, then delivers each later event once, in order, with its request as it now stands', async () => {
    // Given history from before the notifier existed
    await openReadonly();
    const notifier = new RecordingNotifier('chat');
    expect(await dispatchNotices(h.ctx, notifier, 'replica-a', 100)).toEqual({ read: 0, delivered: 0, skipped: 0, blocked: false });

    // When a request is opened and approved
    const id = await openReadonly();
    value(await approveRequest(h.ctx, id, alice, chatOrigin));
    const batch = await dispatchNotices(h.ctx, notifier, 'replica-a', 100);

    // Then exactly those events arrive, in order, each carrying the request in its current state
    expect(batch).toEqual({ read: 4, delivered: 4, skipped: 0, blocked: false });
    expect(notifier.actions()).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'access_granted']);
    expect(notifier.delivered.map((n) => [n.request?.id, n.request?.state])).toEqual(Array(4).fill([id, 'active']));
    expect(await dispatchNotices(h.ctx, notifier, 'replica-a', 100)).toMatchObject({ read: 0, delivered: 0 });
  });

  it('stops at a notice the platform could not take, and delivers it and the rest after the backoff, losing none', async () => {
    // Given a notifier that is caught up, and a platform outage for the next two attempts
    const notifier = new RecordingNotifier('chat');
    await dispatchNotices(h.ctx, notifier, 'replica-a', 100);
    const id = await openReadonly();
    value(await approveRequest(h.ctx, id, alice, chatOrigin));
    notifier.failures = [new NotificationError('unavailable', 'chat', 'ratelimited'), new NotificationError('unavailable', 'chat', 'ratelimited')];

    // When delivery is tried: blocked at the first event, nothing delivered
    expect(await dispatchNotices(h.ctx, notifier, 'replica-a', 100)).toEqual({ read: 4, delivered: 0, skipped: 0, blocked: true });

    // Then it is not tried again before the backoff (2 s with jitter 0.5: 1.5 s)
    h.clock.set(new Date(h.clock.now().getTime() + 1_000));
    expect(await dispatchNotices(h.ctx, notifier, 'replica-a', 100)).toMatchObject({ read: 0 });
    h.clock.set(new Date(h.clock.now().getTime() + 500));
    expect(await dispatchNotices(h.ctx, notifier, 'replica-a', 100)).toMatchObject({ delivered: 0, blocked: true });

    // And once the platform is back, everything arrives once, in order
    h.clock.advance(1);
    expect(await dispatchNotices(h.ctx, notifier, 'replica-a', 100)).toEqual({ read: 4, delivered: 4, skipped: 0, blocked: false });
    expect(notifier.actions()).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'access_granted']);
  });

  it('skips a notice the platform rejects for good and goes on with the next', async () => {
    const notifier = new RecordingNotifier('chat');
    await dispatchNotices(h.ctx, notifier, 'replica-a', 100);
    await openReadonly();
    await openReadonly();
    notifier.failures = [new NotificationError('rejected', 'chat', 'channel_not_found')];
    expect(await dispatchNotices(h.ctx, notifier, 'replica-a', 100)).toEqual({ read: 2, delivered: 1, skipped: 1, blocked: false });
    expect(notifier.delivered.map((n) => n.event.seq)).toEqual([(await h.ctx.store.auditHead())?.seq]);
  });

  it('delivers each event exactly once when two replicas dispatch at the same time', async () => {
    // Given two processes' notifiers for the same platform, caught up, and 40 new events
    const a = new RecordingNotifier('chat');
    const b = new RecordingNotifier('chat');
    await dispatchNotices(h.ctx, a, 'replica-a', 100);
    for (let i = 0; i < 40; i++) await openReadonly();

    // When both dispatch concurrently in small batches until the log is delivered (bounded)
    const drain = async (notifier: RecordingNotifier, owner: string) => {
      for (let round = 0; round < 500 && a.delivered.length + b.delivered.length < 40; round++) await dispatchNotices(h.ctx, notifier, owner, 5);
    };
    await Promise.all([drain(a, 'replica-a'), drain(b, 'replica-b')]);

    // Then every event went out once between them
    const seqs = [...a.delivered, ...b.delivered].map((n) => n.event.seq).sort((x, y) => x - y);
    expect(seqs).toHaveLength(40);
    expect(new Set(seqs).size).toBe(40);
    expect(a.delivered.length).toBeGreaterThan(0);
    expect(b.delivered.length).toBeGreaterThan(0);
  });
});
