import { alertUnreviewedBreakGlass } from '../../src/app/alert-unreviewed-break-glass';
import { approveRequest } from '../../src/app/approve-request';
import { cancelRequest } from '../../src/app/cancel-request';
import { denyRequest } from '../../src/app/deny-request';
import { ProviderError } from '../../src/app/errors';
import { extendAccess } from '../../src/app/extend-access';
import { requestAccess } from '../../src/app/request-access';
import { revokeAccess } from '../../src/app/revoke-access';
import { revokeDueGrants, type RevocationWorker } from '../../src/app/revoke-due-grants';
import { timeOutRequests } from '../../src/app/time-out-requests';
import type { AccessRequest } from '../../src/domain/access-request';
import type { Period } from '../../src/domain/digest-schedule';
import { email, type Email } from '../../src/domain/email';
import { chatOrigin, cliOrigin, type Harness } from './app-harness';
import { flakyRole, value } from './revocation-fixtures';

/** The example policy with a one-approval role on the provider the test can make fail. */
export { flakyRole };

const dave = email('dave@example.com');
const erin = email('erin@example.com');
const frank = email('frank@example.com');
const alice = email('alice@example.com');
const bob = email('bob@example.com');
const carol = email('carol@example.com');

const worker: RevocationWorker = { owner: 'digest-test:1:aaaa', leaseMs: 60_000, batchSize: 100, concurrency: 2, random: { next: () => 0.5 } };

/** The week the seeded history's digest covers: Monday 2 March 2026 00:00 UTC to Monday 9 March. */
export const seededWeek: Period = { since: new Date('2026-03-02T00:00:00.000Z'), until: new Date('2026-03-09T00:00:00.000Z') };
/** When the seeded history ends and its figures are read: 9 March 01:00 UTC. */
export const seededAsOf = new Date('2026-03-09T01:00:00.000Z');

export interface SeededHistory {
  /** A: granted before the week (dave, sandbox-admin, 22:10 to 02:10), revoked at expiry inside it. */
  readonly a: AccessRequest;
  /** B: erin, prod-readonly, approved in 4m, granted 09:04 for 2h, extended by 1h, revoked at 12:04. */
  readonly b: AccessRequest;
  /** C: dave, sandbox-admin, approved in 10m (two approvals), given back after 30m. */
  readonly c: AccessRequest;
  /** D: frank, break-glass sandbox-admin for 3h, reviewed once of two: an unreviewed alert. */
  readonly d: AccessRequest;
  /** E: dave, prod-readonly, approved in 30m at 20:30 on Sunday, still live when read. */
  readonly e: AccessRequest;
  /** J: dave, flaky-admin, approved in 5m, three failed revocations (an alert), revoked at 10:10. */
  readonly j: AccessRequest;
}

/**
 * A week of history made through the real use cases on a manual clock, with answers known by hand
 * (see `digest-figures.test.ts`). Needs the harness's policy to include `flakyRole`.
 */
export async function seedDigestHistory(h: Harness): Promise<SeededHistory> {
  const at = (iso: string) => h.clock.set(new Date(iso));
  const ask = async (who: Email, role: string, duration: string, ticket: string, breakGlass = false) =>
    value(await requestAccess(h.ctx, { requester: who, role, duration, ticket, reason: 'look into the payouts queue', breakGlass }, breakGlass ? chatOrigin : cliOrigin));
  const approve = async (id: AccessRequest['id'], by: Email) => value(await approveRequest(h.ctx, id, by, chatOrigin));
  const revokeDue = async () => revokeDueGrants(h.ctx, worker);

  // A, before the week: granted Sunday 22:10, expires Monday 02:10
  at('2026-03-01T22:00:00.000Z');
  const a = await ask(dave, 'sandbox-admin', '4h', 'OPS-1');
  at('2026-03-01T22:10:00.000Z');
  await approve(a.id, alice);
  await approve(a.id, bob);
  at('2026-03-02T02:10:00.000Z');
  await revokeDue();

  // B: opened 09:00, approved 09:04 (granted for 2h), extended at 10:00 by 1h (approved 10:02), revoked at 12:04
  at('2026-03-02T09:00:00.000Z');
  const b = await ask(erin, 'prod-readonly', '2h', 'OPS-2');
  at('2026-03-02T09:04:00.000Z');
  await approve(b.id, alice);
  at('2026-03-02T10:00:00.000Z');
  const extension = value(await extendAccess(h.ctx, b.id, { requester: erin, duration: '1h', reason: 'the queue is still stuck' }, cliOrigin));
  at('2026-03-02T10:02:00.000Z');
  await approve(extension.id, alice);
  at('2026-03-02T12:04:00.000Z');
  await revokeDue();

  // C: opened Tuesday 10:00, approvals at 10:01 and 10:10, given back at 10:40
  at('2026-03-03T10:00:00.000Z');
  const c = await ask(dave, 'sandbox-admin', '1h', 'OPS-3');
  at('2026-03-03T10:01:00.000Z');
  await approve(c.id, alice);
  at('2026-03-03T10:10:00.000Z');
  await approve(c.id, bob);
  at('2026-03-03T10:40:00.000Z');
  value(await revokeAccess(h.ctx, c.id, dave, 'revoked_early', cliOrigin));

  // D: break-glass at 12:00 for 3h, one review of two at 13:00, revoked at expiry; unreviewed after 24h
  at('2026-03-03T12:00:00.000Z');
  const d = await ask(frank, 'sandbox-admin', '3h', 'INC-4', true);
  at('2026-03-03T13:00:00.000Z');
  await approve(d.id, alice);
  at('2026-03-03T15:00:00.000Z');
  await revokeDue();
  at('2026-03-04T12:01:00.000Z');
  await alertUnreviewedBreakGlass(h.ctx, 100);

  // F denied, G cancelled, H timed out
  at('2026-03-04T08:00:00.000Z');
  const f = await ask(erin, 'sandbox-admin', '1h', 'OPS-5');
  at('2026-03-04T08:20:00.000Z');
  value(await denyRequest(h.ctx, f.id, carol, 'use the read-only role', chatOrigin));
  at('2026-03-05T09:00:00.000Z');
  const g = await ask(dave, 'prod-readonly', '1h', 'OPS-6');
  at('2026-03-05T09:05:00.000Z');
  value(await cancelRequest(h.ctx, g.id, dave, cliOrigin));
  at('2026-03-06T09:00:00.000Z');
  await ask(dave, 'prod-readonly', '1h', 'OPS-7');
  at('2026-03-06T10:01:00.000Z');
  await timeOutRequests(h.ctx, 100);

  // J: flaky-admin opened Saturday 09:00, approved 09:05 for 1h; revocation fails at 10:05, 10:06 and 10:07 (alert), succeeds at 10:10
  at('2026-03-07T09:00:00.000Z');
  const j = await ask(dave, 'flaky-admin', '1h', 'OPS-8');
  at('2026-03-07T09:05:00.000Z');
  await approve(j.id, alice);
  for (const minute of ['05', '06', '07']) {
    at(`2026-03-07T10:${minute}:00.000Z`);
    h.flaky.failNext = new ProviderError('unavailable', 'flaky', 'the provider is down');
    await revokeDue();
  }
  at('2026-03-07T10:10:00.000Z');
  await revokeDue();

  // E: opened Sunday 20:00, approved 20:30 for 8h: still live at the end of the week
  at('2026-03-08T20:00:00.000Z');
  const e = await ask(dave, 'prod-readonly', '8h', 'OPS-9');
  at('2026-03-08T20:30:00.000Z');
  await approve(e.id, bob);

  // K, after the week: not in its figures, and not in its head
  at('2026-03-09T00:30:00.000Z');
  await ask(erin, 'prod-readonly', '1h', 'OPS-10');
  at(seededAsOf.toISOString());

  const found = async (r: AccessRequest) => (await h.ctx.store.findRequest(r.id)) ?? r;
  return { a: await found(a), b: await found(b), c: await found(c), d: await found(d), e: await found(e), j: await found(j) };
}
