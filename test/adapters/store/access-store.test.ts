import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { DrizzleAccessStore } from '../../../src/adapters/store/drizzle-access-store';
import { driverError, migrate, MIGRATIONS_FOLDER, openDatabase, type Database, type StoreDatabase } from '../../../src/adapters/store/open-database';
import { StoreError } from '../../../src/app/errors';
import type { AccessRequest } from '../../../src/domain/access-request';
import { ChainVerifier, checkSegment } from '../../../src/domain/audit-chain';
import type { AuditEvent, ChainedAuditEvent } from '../../../src/domain/audit-event';
import type { Minutes } from '../../../src/domain/duration';
import { email } from '../../../src/domain/email';
import { requestIdFromBytes, type RequestId } from '../../../src/domain/request-id';
import { createPostgresDatabase, storeBackends } from '../../support/test-database';

const POLICY_SHA = 'a'.repeat(64);

function newId(): RequestId {
  return requestIdFromBytes(randomBytes(5));
}

/** A pending request with every required field; tests override what they are about. */
function aRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: newId(),
    kind: 'access',
    requester: email('erin@example.com'),
    role: 'prod-db-readonly',
    resource: { provider: 'local', target: { database: 'payments', schema: 'public' } },
    duration: 90 as Minutes,
    ticket: 'INC-4211',
    reason: 'payouts stuck since 09:00',
    breakGlass: false,
    state: 'pending',
    approvalsRequired: 2,
    approvals: [],
    createdAt: new Date('2025-03-03T09:00:00.123Z'),
    decisionDeadline: new Date('2025-03-03T09:30:00.123Z'),
    policySha: POLICY_SHA,
    version: 0,
    ...overrides,
  };
}

function anEvent(action: AuditEvent['action'], data: Record<string, unknown> = {}, requestId?: RequestId): AuditEvent {
  return { action, actor: 'erin@example.com', ...(requestId && { requestId }), data };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(storeBackends)('DrizzleAccessStore on $name', ({ name, open }) => {
  let database: Database;
  let store: DrizzleAccessStore;

  beforeAll(async () => {
    database = await open();
    store = new DrizzleAccessStore(database.db);
  });

  afterAll(async () => {
    await database?.close();
  });

  /** The whole chain, page by page, as `audit verify` reads it. */
  async function verifyWholeChain(): Promise<ReturnType<ChainVerifier['result']>> {
    const verifier = new ChainVerifier();
    for (let from = 1; ; from += 7) {
      const page = await store.readAudit(from, 7);
      page.forEach((event) => verifier.add(event));
      if (page.length < 7) break;
    }
    return verifier.result();
  }

  describe('requests', () => {
    it('round-trips a request with every field, approvals in order and its grant window', async () => {
      // Given an access request and an extension of it, stored as opened
      const parent = aRequest({ breakGlass: true, approvalsRequired: 1 });
      const extension = aRequest({ kind: 'extension', parentId: parent.id, duration: 30 as Minutes });
      await store.transaction(async (tx) => {
        await tx.insertRequest(parent);
        await tx.insertRequest(extension);
      });

      // When the parent is approved twice at the same millisecond, granted and ended
      const locked = await store.transaction((tx) => tx.lockRequest(parent.id));
      expect(locked).toEqual(parent);
      const sameInstant = new Date('2025-03-03T09:05:00.999Z');
      const changed: AccessRequest = {
        ...parent,
        state: 'revoked',
        approvals: [
          { approver: email('zed@example.com'), at: sameInstant },
          { approver: email('alice@example.com'), at: sameInstant },
        ],
        grant: { grantedAt: new Date('2025-03-03T09:06:00.001Z'), expiresAt: new Date('2025-03-03T10:36:00.001Z') },
        endedAt: new Date('2025-03-03T09:40:00.456Z'),
        endCause: 'revoked_early',
        endedBy: email('erin@example.com'),
      };
      const saved = await store.transaction((tx) => tx.saveRequest(changed));

      // Then what is read back is exactly what was saved, with the next version
      expect(saved).toEqual({ ...changed, version: 1 });
      const found = await store.findRequest(parent.id);
      expect(found).toEqual(saved);
      expect(found?.approvals.map((a) => a.approver)).toEqual(['zed@example.com', 'alice@example.com']);
      expect(found?.grant?.expiresAt.getTime()).toBe(Date.parse('2025-03-03T10:36:00.001Z'));
      expect(await store.findRequest(extension.id)).toEqual(extension);
    });

    it('adds new approvals after the stored ones and moves the grant expiry on a later save', async () => {
      // Given an active request with one approval and a grant
      const opened = aRequest();
      await store.transaction((tx) => tx.insertRequest(opened));
      const first = await store.transaction((tx) =>
        tx.saveRequest({
          ...opened,
          state: 'active',
          approvals: [{ approver: email('bob@example.com'), at: new Date('2025-03-03T09:10:00.000Z') }],
          grant: { grantedAt: new Date('2025-03-03T09:11:00.000Z'), expiresAt: new Date('2025-03-03T10:41:00.000Z') },
        }),
      );

      // When a second approval arrives and the grant is extended
      const second = await store.transaction(async (tx) => {
        const current = await tx.lockRequest(opened.id);
        if (!current?.grant) throw new Error('expected a granted request');
        return tx.saveRequest({
          ...current,
          approvals: [...current.approvals, { approver: email('alice@example.com'), at: new Date('2025-03-03T09:12:00.000Z') }],
          grant: { ...current.grant, expiresAt: new Date('2025-03-03T11:41:00.000Z') },
        });
      });

      // Then both approvals are kept in order and the grant has the new expiry
      expect(first.version).toBe(1);
      const found = await store.findRequest(opened.id);
      expect(found).toEqual(second);
      expect(found?.version).toBe(2);
      expect(found?.approvals.map((a) => a.approver)).toEqual(['bob@example.com', 'alice@example.com']);
      expect(found?.grant).toEqual({ grantedAt: new Date('2025-03-03T09:11:00.000Z'), expiresAt: new Date('2025-03-03T11:41:00.000Z') });
    });

    it('round-trips a denial', async () => {
      // Given a pending request
      const opened = aRequest();
      await store.transaction((tx) => tx.insertRequest(opened));

      // When it is denied
      const denied: AccessRequest = {
        ...opened,
        state: 'denied',
        denial: { by: email('bob@example.com'), at: new Date('2025-03-03T09:07:00.007Z'), reason: 'use the replica' },
        endedAt: new Date('2025-03-03T09:07:00.007Z'),
      };
      await store.transaction((tx) => tx.saveRequest(denied));

      // Then the denial reads back as saved
      expect(await store.findRequest(opened.id)).toEqual({ ...denied, version: 1 });
    });

    it('round-trips the OS users behind CLI requests, approvals, denials and early ends', async () => {
      // Given a request opened from the CLI, one approval from the CLI and one from chat
      const opened = aRequest({ osUser: 'tom' });
      await store.transaction((tx) => tx.insertRequest(opened));
      const approvals = [
        { approver: email('bob@example.com'), at: new Date('2025-03-03T09:10:00.000Z'), osUser: 'sam' },
        { approver: email('alice@example.com'), at: new Date('2025-03-03T09:11:00.000Z') },
      ];
      const approved = await store.transaction((tx) => tx.saveRequest({ ...opened, state: 'active', approvals }));
      // When it is revoked early from the CLI, and another is denied from the CLI
      const revoking: AccessRequest = { ...approved, state: 'revoking', endCause: 'revoked_early', endedBy: email('bob@example.com'), endedByOsUser: 'sam' };
      await store.transaction((tx) => tx.saveRequest(revoking));
      const other = aRequest();
      await store.transaction((tx) => tx.insertRequest(other));
      const at = new Date('2025-03-03T09:07:00.007Z');
      const denied: AccessRequest = { ...other, state: 'denied', denial: { by: email('bob@example.com'), at, reason: 'use the replica', osUser: 'sam' }, endedAt: at };
      await store.transaction((tx) => tx.saveRequest(denied));

      // Then every OS user reads back where it was saved, and none appears where there was none
      expect(await store.findRequest(opened.id)).toEqual({ ...revoking, version: 2 });
      expect(await store.findRequest(other.id)).toEqual({ ...denied, version: 1 });
    });

    it('returns undefined for an unknown id', async () => {
      // Given an id that was never stored
      const id = newId();

      // When it is looked up, with and without a lock
      const found = await store.findRequest(id);
      const locked = await store.transaction((tx) => tx.lockRequest(id));

      // Then neither finds anything
      expect(found).toBeUndefined();
      expect(locked).toBeUndefined();
    });

    it('refuses a second request with an id already taken (duplicate_id)', async () => {
      // Given a stored request
      const first = aRequest();
      await store.transaction((tx) => tx.insertRequest(first));

      // When another request is inserted with the same id
      const error = await rejection(store.transaction((tx) => tx.insertRequest(aRequest({ id: first.id, ticket: 'OPS-1' }))));

      // Then it is refused with duplicate_id and the first request is untouched
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('duplicate_id');
      expect(await store.findRequest(first.id)).toEqual(first);
    });

    it('keeps the transaction usable after duplicate_id, so the caller can retry with a fresh id', async () => {
      // Given a stored request
      const first = aRequest();
      await store.transaction((tx) => tx.insertRequest(first));

      // When a transaction hits the duplicate, then inserts under a new id
      const retried = aRequest();
      await store.transaction(async (tx) => {
        await expect(tx.insertRequest({ ...retried, id: first.id })).rejects.toMatchObject({ code: 'duplicate_id' });
        await tx.insertRequest(retried);
      });

      // Then the retry is stored
      expect(await store.findRequest(retried.id)).toEqual(retried);
    });

    it('refuses a save from a stale version (version_conflict)', async () => {
      // Given a request that two people read at version 0
      const opened = aRequest();
      await store.transaction((tx) => tx.insertRequest(opened));
      const readByBob = await store.findRequest(opened.id);
      const readByAlice = await store.findRequest(opened.id);
      if (!readByBob || !readByAlice) throw new Error('expected the request');

      // When Bob saves first and Alice saves from her stale copy
      await store.transaction((tx) =>
        tx.saveRequest({ ...readByBob, approvals: [{ approver: email('bob@example.com'), at: new Date('2025-03-03T09:01:00Z') }] }),
      );
      const error = await rejection(
        store.transaction((tx) =>
          tx.saveRequest({ ...readByAlice, approvals: [{ approver: email('alice@example.com'), at: new Date('2025-03-03T09:02:00Z') }] }),
        ),
      );

      // Then Alice's save is refused and only Bob's approval is stored
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('version_conflict');
      const found = await store.findRequest(opened.id);
      expect(found?.version).toBe(1);
      expect(found?.approvals.map((a) => a.approver)).toEqual(['bob@example.com']);
    });

    it('lets two concurrent approvals each win one version: the second sees the first after the lock', async () => {
      // Given a pending request needing two approvals
      const opened = aRequest();
      await store.transaction((tx) => tx.insertRequest(opened));
      const bobHoldsLock = deferred();

      // When Bob and Alice approve at the same time, Bob taking the lock first
      const approveAs = (approver: string, at: string, beforeLock: Promise<void>) =>
        store.transaction(async (tx) => {
          await beforeLock;
          const current = await tx.lockRequest(opened.id);
          if (!current) throw new Error('expected the request');
          if (approver === 'bob@example.com') {
            bobHoldsLock.resolve();
            await sleep(150); // NB: long enough for Alice to be waiting on the row lock
          }
          const saved = await tx.saveRequest({
            ...current,
            approvals: [...current.approvals, { approver: email(approver), at: new Date(at) }],
          });
          return { sawVersion: current.version, sawApprovals: current.approvals.length, saved };
        });
      const [bob, alice] = await Promise.all([
        approveAs('bob@example.com', '2025-03-03T09:01:00Z', Promise.resolve()),
        approveAs('alice@example.com', '2025-03-03T09:01:01Z', bobHoldsLock.promise),
      ]);

      // Then each save produced a different version and Alice built on Bob's write
      expect([bob.saved.version, alice.saved.version]).toEqual([1, 2]);
      expect(alice.sawVersion).toBe(1);
      expect(alice.sawApprovals).toBe(1);
      const found = await store.findRequest(opened.id);
      expect(found?.approvals.map((a) => a.approver)).toEqual(['bob@example.com', 'alice@example.com']);
    });

    it('lists requests newest first, filtered, with approvals and grant windows', async () => {
      // Given three requests of one requester (one active, one pending, one of another role) and one of someone else
      const requester = email(`lister-${name}-${randomBytes(3).toString('hex')}@example.com`);
      const older = aRequest({ requester, createdAt: new Date('2025-04-01T10:00:00.001Z') });
      const newer = aRequest({ requester, createdAt: new Date('2025-04-01T11:00:00.002Z') });
      const otherRole = aRequest({ requester, role: 'prod-admin', createdAt: new Date('2025-04-01T12:00:00.003Z') });
      const someoneElse = aRequest({ requester: email('mallory@example.com'), createdAt: new Date('2025-04-01T13:00:00Z') });
      await store.transaction(async (tx) => {
        for (const request of [older, newer, otherRole, someoneElse]) await tx.insertRequest(request);
      });
      const active = await store.transaction((tx) =>
        tx.saveRequest({
          ...older,
          state: 'active',
          approvals: [{ approver: email('bob@example.com'), at: new Date('2025-04-01T10:01:00Z') }],
          grant: { grantedAt: new Date('2025-04-01T10:02:00Z'), expiresAt: new Date('2025-04-01T11:32:00Z') },
        }),
      );

      // When they are listed with various filters
      const all = await store.listRequests({ requester });
      const pendingOfRole = await store.listRequests({ requester, states: ['pending'], role: 'prod-db-readonly' });
      const firstOnly = await store.listRequests({ requester, limit: 1 });
      const insideTransaction = await store.transaction((tx) => tx.listRequests({ requester, states: ['active'] }));
      const noStates = await store.listRequests({ requester, states: [] });

      // Then each shows the matching requests, newest first, complete
      expect(all).toEqual([otherRole, newer, active]);
      expect(pendingOfRole).toEqual([newer]);
      expect(firstOnly).toEqual([otherRole]);
      expect(insideTransaction).toEqual([active]);
      expect(noStates).toEqual([]);
    });

    it('lists at most 50 requests by default', async () => {
      // Given 55 requests of one requester
      const requester = email(`many-${name}-${randomBytes(3).toString('hex')}@example.com`);
      await store.transaction(async (tx) => {
        for (let i = 0; i < 55; i++) await tx.insertRequest(aRequest({ requester, createdAt: new Date(Date.UTC(2025, 4, 1, 0, i)) }));
      });

      // When they are listed without a limit
      const listed = await store.listRequests({ requester });

      // Then the 50 newest come back
      expect(listed).toHaveLength(50);
      expect(listed[0]?.createdAt).toEqual(new Date(Date.UTC(2025, 4, 1, 0, 54)));
    });
  });

  describe('audit log', () => {
    it('appends events across transactions as one valid hash chain', async () => {
      // Given a request
      const request = aRequest();
      const before = (await store.auditHead())?.seq ?? 0;

      // When its events are appended in three transactions
      const appended: ChainedAuditEvent[] = [];
      appended.push(
        ...(await store.transaction(async (tx) => {
          await tx.insertRequest(request);
          return tx.appendAudit([anEvent('request_opened', { ticket: 'INC-4211', via: 'cli' }, request.id)], new Date('2025-03-03T09:00:00.123Z'));
        })),
      );
      appended.push(
        ...(await store.transaction((tx) =>
          tx.appendAudit(
            [
              anEvent('approval_recorded', { nested: { b: 1, a: [1, 'two', null, true] }, unicode: 'Grüße ✓' }, request.id),
              anEvent('request_approved', {}, request.id),
            ],
            new Date('2025-03-03T09:05:00.999Z'),
          ),
        )),
      );
      appended.push(...(await store.transaction((tx) => tx.appendAudit([{ action: 'policy_activated', actor: 'system', data: { n: 1.5 } }], new Date('2025-03-03T09:06:00Z')))));

      // Then seqs follow on, each event links to the one before, and the stored chain verifies
      expect(appended.map((e) => e.seq)).toEqual([before + 1, before + 2, before + 3, before + 4]);
      for (let i = 1; i < appended.length; i++) expect(appended[i]?.prevHash).toBe(appended[i - 1]?.hash);
      expect(await store.readAudit(before + 1, 4)).toEqual(appended);
      expect(await store.auditEventAt(before + 2)).toEqual(appended[1]);
      expect(await store.auditEventAt(before + 1000)).toBeUndefined();
      const result = await verifyWholeChain();
      expect(result).toMatchObject({ ok: true, head: { seq: before + 4, hash: appended[3]?.hash } });
      expect(await store.auditHead()).toEqual({ seq: before + 4, hash: appended[3]?.hash });
    });

    it('hashes the data as stored, dropping what JSON cannot keep', async () => {
      // Given an event whose data holds undefined and a Date
      const event = anEvent('request_opened', { gone: undefined, when: new Date('2025-03-03T09:00:00Z'), kept: 'yes' });

      // When it is appended and read back
      const [appended] = await store.transaction((tx) => tx.appendAudit([event], new Date('2025-03-03T09:00:00Z')));
      const read = await store.auditEventAt(appended?.seq ?? 0);

      // Then the returned, stored and hashed data agree
      expect(read).toEqual(appended);
      expect(read?.data).toEqual({ when: '2025-03-03T09:00:00.000Z', kept: 'yes' });
      expect((await verifyWholeChain()).ok).toBe(true);
    });

    it('writes nothing for an empty batch of events', async () => {
      // Given the current head
      const head = await store.auditHead();

      // When no events are appended
      const appended = await store.transaction((tx) => tx.appendAudit([], new Date('2025-03-03T09:00:00Z')));

      // Then nothing changes
      expect(appended).toEqual([]);
      expect(await store.auditHead()).toEqual(head);
    });

    it('leaves neither the state change nor its audit events after a rollback', async () => {
      // Given a pending request and the current head
      const opened = aRequest();
      await store.transaction((tx) => tx.insertRequest(opened));
      const head = await store.auditHead();

      // When a transaction saves a change, appends its event and then fails
      const failure = new Error('provider exploded');
      const error = await rejection(
        store.transaction(async (tx) => {
          await tx.saveRequest({ ...opened, state: 'cancelled', endedAt: new Date('2025-03-03T09:03:00Z'), endedBy: opened.requester });
          await tx.appendAudit([anEvent('request_cancelled', {}, opened.id)], new Date('2025-03-03T09:03:00Z'));
          throw failure;
        }),
      );

      // Then the error comes through unchanged and nothing was written
      expect(error).toBe(failure);
      expect(await store.findRequest(opened.id)).toEqual(opened);
      expect(await store.auditHead()).toEqual(head);
    });

    it('reads pages longer than one statement, by seq and by time', async () => {
      // Given 2,500 events appended in one transaction, more than one read statement returns
      const before = (await store.auditHead())?.seq ?? 0;
      const at = new Date('2029-06-01T00:00:00.000Z');
      const appended = await store.transaction((tx) =>
        tx.appendAudit(Array.from({ length: 2_500 }, (_, i) => anEvent('approval_recorded', { i })), at),
      );

      // When they are read as one page by seq, past the head, and by time with a limit
      const bySeq = await store.readAudit(before + 1, 1_000_000);
      const byTime = await store.readAuditBetween({ since: at, until: new Date('2029-06-01T00:00:00.001Z') }, before, 2_100);

      // Then every event comes back once, in order, as appended
      expect(bySeq).toEqual(appended);
      expect(byTime).toEqual(appended.slice(0, 2_100));
    });

    it('passes an outside connection failure thrown inside a transaction through unchanged', async () => {
      // Given work that fails the way an unreachable IAM provider does
      const providerDown = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });

      // When it throws inside a store transaction
      const error = await rejection(store.transaction(async () => Promise.reject(providerDown)));

      // Then the store does not mistake it for its own database being unavailable
      expect(error).toBe(providerDown);
    });

    it('keeps the chain gap-free when 8 transactions append at once', async () => {
      // Given the current head
      const before = (await store.auditHead())?.seq ?? 0;

      // When 8 transactions append 3 events each, concurrently
      const batches = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.transaction(async (tx) => {
            const request = aRequest();
            await tx.insertRequest(request);
            return tx.appendAudit(
              [
                anEvent('request_opened', { i, n: 0 }, request.id),
                anEvent('approval_recorded', { i, n: 1 }, request.id),
                anEvent('request_approved', { i, n: 2 }, request.id),
              ],
              new Date(Date.UTC(2025, 5, 1, 12, 0, i)),
            );
          }),
        ),
      );

      // Then the 24 events take the 24 next seqs, each batch contiguous, and the chain verifies
      const seqs = batches.flat().map((e) => e.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 24 }, (_, i) => before + 1 + i));
      for (const batch of batches) expect(batch.map((e) => e.seq)).toEqual([batch[0]?.seq ?? 0, (batch[0]?.seq ?? 0) + 1, (batch[0]?.seq ?? 0) + 2]);
      expect(await verifyWholeChain()).toMatchObject({ ok: true, head: { seq: before + 24 } });
    });

    it('reads the events between two instants, page by page', async () => {
      // Given events in 2031, 2032 and 2033
      const at = (year: number) => new Date(Date.UTC(year, 0, 1, 0, 0, 0, 1));
      for (const year of [2031, 2032, 2032, 2032, 2033]) {
        await store.transaction((tx) => tx.appendAudit([anEvent('request_opened', { year })], at(year)));
      }

      // When the events of 2032 are read two at a time, and everything since 2033
      const firstPage = await store.readAuditBetween({ since: at(2032), until: at(2033) }, 0, 2);
      const secondPage = await store.readAuditBetween({ since: at(2032), until: at(2033) }, firstPage[1]?.seq ?? 0, 2);
      const since2033 = await store.readAuditBetween({ since: at(2033) }, 0, 100);
      const until2031 = await store.readAuditBetween({ until: at(2031) }, 0, 100_000);

      // Then each read returns exactly the events in its range, in seq order
      expect(firstPage.map((e) => e.data)).toEqual([{ year: 2032 }, { year: 2032 }]);
      expect(secondPage.map((e) => e.data)).toEqual([{ year: 2032 }]);
      expect(secondPage[0]?.seq).toBeGreaterThan(firstPage[1]?.seq ?? Infinity);
      expect(since2033.map((e) => e.data)).toEqual([{ year: 2033 }]);
      expect(until2031.every((e) => e.occurredAt < at(2031))).toBe(true);
      expect(until2031.some((e) => (e.data as { year?: number }).year !== undefined)).toBe(false);
      expect(await store.countAuditBetween({ since: at(2032), until: at(2033) })).toBe(3);
      expect(await store.countAuditBetween({ since: at(2033) })).toBe(1);
      expect(await store.countAuditBetween({})).toBe((await store.auditHead())?.seq);
    });

    it('reads events as stored, as text that hashes to the same chain', async () => {
      // Given events with nested data, non-ASCII text, a fraction and a null, and the hash before them
      const before = (await store.auditHead())?.seq ?? 0;
      const prevHash = (await store.auditEventAt(before))?.hash;
      const appended = await store.transaction((tx) =>
        tx.appendAudit(
          [
            anEvent('approval_recorded', { nested: { b: 1, a: [1, 'two', null, true] }, unicode: 'Grüße ✓ "quoted" \\ \n', n: 1.5 }),
            anEvent('request_approved', {}),
            { action: 'policy_activated', actor: 'system', data: { z: 'last', a: 'first' } },
          ],
          new Date('2035-03-03T09:05:00.007Z'),
        ),
      );

      // When they are read as stored, past the head too
      const rows = await store.readStoredAudit(before + 1, 10);

      // Then each is the event as text: the same time (ISO, milliseconds), data that parses to the same
      // value, and the segment verifies from the hash before it
      expect(rows.map((r) => r.seq)).toEqual(appended.map((e) => e.seq));
      expect(rows.map((r) => r.occurredAt)).toEqual(appended.map((e) => e.occurredAt.toISOString()));
      expect(rows.map((r) => JSON.parse(r.data) as unknown)).toEqual(appended.map((e) => e.data));
      expect(rows.map((r) => [r.actor, r.action, r.requestId, r.prevHash, r.hash])).toEqual(appended.map((e) => [e.actor, e.action, e.requestId, e.prevHash, e.hash]));
      expect(checkSegment({ start: { seq: before + 1, prevHash: prevHash ?? '' }, events: rows })).toEqual({ count: 3, last: { seq: before + 3, hash: appended[2]?.hash } });
      expect(await store.readStoredAudit(before + 2, 1)).toEqual([rows[1]]);
      expect(await store.readStoredAudit(before + 1, 0)).toEqual([]);
    });

    it('gives a time written with microseconds the same text as the parsed event has', async () => {
      // Given an event inserted behind the app with a time finer than milliseconds (rolled back after)
      const seq = ((await store.auditHead())?.seq ?? 0) + 1;
      const seen = await rejection(
        database.db.transaction(async (tx) => {
          await tx.execute(sql`INSERT INTO audit_events (seq, occurred_at, actor, action, request_id, data, prev_hash, hash)
            VALUES (${seq}, '2035-03-03T09:05:00.123999Z', 'x', 'request_opened', NULL, '{}', ${'0'.repeat(64)}, ${'e'.repeat(64)})`);
          const inTx = new DrizzleAccessStore(tx as unknown as StoreDatabase);
          throw { parsed: (await inTx.auditEventAt(seq))?.occurredAt.toISOString(), stored: (await inTx.readStoredAudit(seq, 1))[0]?.occurredAt };
        }),
      );

      // Then both read it as the same millisecond (truncated, not rounded)
      expect(seen).toEqual({ parsed: '2035-03-03T09:05:00.123Z', stored: '2035-03-03T09:05:00.123Z' });
    });

    describe('append-only trigger', () => {
      beforeAll(async () => {
        await store.transaction((tx) => tx.appendAudit([anEvent('request_opened')], new Date('2025-03-03T09:00:00Z')));
      });

      it.each([
        ['UPDATE', sql`UPDATE audit_events SET actor = 'mallory@example.com'`],
        ['DELETE', sql`DELETE FROM audit_events`],
        ['TRUNCATE', sql`TRUNCATE audit_events`],
      ])('refuses %s of audit events', async (operation, statement) => {
        // Given a chain with events
        const head = await store.auditHead();

        // When someone runs the statement directly
        const error = await rejection(database.db.execute(statement));

        // Then the database refuses it, naming the rule, and the chain is unchanged
        expect(String((driverError(error) as Error).message)).toBe(`audit_events is append-only: ${operation} refused`);
        expect(await store.auditHead()).toEqual(head);
        expect((await verifyWholeChain()).ok).toBe(true);
      });
    });
  });

  describe('policies', () => {
    it('records policies, makes the latest one active and keeps every text', async () => {
      // Given no policy recorded yet
      expect(await store.activePolicySha()).toBeUndefined();

      // When policy A, then B, then A again are recorded
      await store.transaction((tx) => tx.recordPolicy('sha-a', 'version: 1 # A', new Date('2025-03-01T00:00:00Z')));
      await store.transaction((tx) => tx.recordPolicy('sha-b', 'version: 1 # B', new Date('2025-03-02T00:00:00Z')));
      const insideAfterB = await store.transaction(async (tx) => ({ active: await tx.activePolicySha(), textA: await tx.policyText('sha-a') }));
      await store.transaction((tx) => tx.recordPolicy('sha-a', 'version: 1 # A', new Date('2025-03-03T00:00:00Z')));

      // Then the last one recorded is active and both texts are kept
      expect(insideAfterB).toEqual({ active: 'sha-b', textA: 'version: 1 # A' });
      expect(await store.activePolicySha()).toBe('sha-a');
      expect(await store.policyText('sha-b')).toBe('version: 1 # B');
      expect(await store.policyText('sha-unknown')).toBeUndefined();
    });
  });

  describe('chat deliveries', () => {
    it('acts on a delivery once, even when two arrive together, and forgets it after the window', async () => {
      // Given a delivery key never seen
      const at = new Date('2026-03-01T10:00:00Z');
      const window = (now: Date) => new Date(now.getTime() - 10 * 60_000);

      // When it is recorded twice at once, and again later within the window
      const both = await Promise.all([store.recordChatDelivery('slack:T1:command:trigger-1', at, window(at)), store.recordChatDelivery('slack:T1:command:trigger-1', at, window(at))]);
      const later = new Date(at.getTime() + 9 * 60_000);
      const again = await store.recordChatDelivery('slack:T1:command:trigger-1', later, window(later));

      // Then exactly one of them is first, and the repeat is refused
      expect(both.sort()).toEqual([false, true]);
      expect(again).toBe(false);

      // When the window has passed, the old key is forgotten (and other keys never collided)
      const muchLater = new Date(at.getTime() + 11 * 60_000);
      expect(await store.recordChatDelivery('slack:T1:command:trigger-2', muchLater, window(muchLater))).toBe(true);
      expect(await store.recordChatDelivery('slack:T1:command:trigger-1', muchLater, window(muchLater))).toBe(true);
    });

    it('keeps each platform’s keys for its own window', async () => {
      // Given a Teams delivery remembered for an hour, and a Slack one for ten minutes
      const at = new Date('2026-03-02T10:00:00Z');
      expect(await store.recordChatDelivery('teams:activity:a-1', at, new Date(at.getTime() - 60 * 60_000))).toBe(true);

      // When Slack records a delivery 20 minutes later, forgetting its own keys older than ten minutes
      const later = new Date(at.getTime() + 20 * 60_000);
      expect(await store.recordChatDelivery('slack:T1:command:trigger-9', later, new Date(later.getTime() - 10 * 60_000))).toBe(true);

      // Then the Teams key is still remembered within its hour
      expect(await store.recordChatDelivery('teams:activity:a-1', later, new Date(later.getTime() - 60 * 60_000))).toBe(false);
    });
  });

  it('answers a ping', async () => {
    // Given an open store / When it is pinged / Then it answers
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('applies migrations only once', async () => {
    // Given a migrated database / When migrations are applied again / Then nothing fails and the data stays
    const head = await store.auditHead();
    await migrate(database);
    expect(await store.auditHead()).toEqual(head);
  });
});

describe('openDatabase', () => {
  it('refuses a DATABASE_URL that is not PostgreSQL, without echoing it', async () => {
    // Given a MySQL URL with a password / When it is opened
    const error = await rejection(openDatabase({ databaseUrl: 'mysql://root:hunter2@db/prod', dataDir: os.tmpdir() }));

    // Then the error names the accepted schemes and not the password
    expect((error as Error).message).toMatch(/must start with postgres:\/\/ or postgresql:\/\//);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('reports an unreachable PostgreSQL as unavailable', async () => {
    // Given a port nothing listens on / When it is opened
    const error = await rejection(openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/postgres', dataDir: os.tmpdir() }));

    // Then it fails with StoreError unavailable, keeping the cause
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('unavailable');
    expect((error as StoreError).cause).toBeDefined();
  });

  it('migrates a new PostgreSQL database once when several replicas start together', async () => {
    // Given an empty database
    const empty = await createPostgresDatabase({ migrate: false });
    try {
      // When three replicas open it at the same time
      const replicas = await Promise.all([1, 2, 3].map(() => openDatabase({ databaseUrl: empty.url, dataDir: os.tmpdir() })));
      await Promise.all(replicas.map((replica) => replica.close()));

      // Then each migration was applied exactly once
      const applied = await empty.db.execute(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
      const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
      expect((applied as unknown as { rows: { n: number }[] }).rows[0]?.n).toBe(journal.entries.length);
    } finally {
      await empty.close();
    }
  });

  it('keeps a second opener out of the embedded database directory until the first closes', async () => {
    // Given an embedded database opened under a data directory, holding a request
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prod-access-store-'));
    try {
      const first = await openDatabase({ dataDir });
      const request = aRequest();
      await new DrizzleAccessStore(first.db).transaction((tx) => tx.insertRequest(request));

      // When the same directory is opened again while it is open, then after it is closed
      const error = await rejection(openDatabase({ dataDir }));
      await first.close();
      const second = await openDatabase({ dataDir });

      // Then the second open is refused as locked, and the reopened database has the data
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('locked');
      expect(await new DrizzleAccessStore(second.db).findRequest(request.id)).toEqual(request);
      await second.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
