import {
  botBindings,
  descriptionFor,
  expiryExpression,
  expiryOfExpression,
  isExpiredBotBinding,
  requestIdOfTitle,
  sameMember,
  titleFor,
  withExpiryMoved,
  withGrant,
  withoutRequest,
  type IamBinding,
} from '../../../../src/adapters/iam/gcp/gcp-policy';
import { parseExactRequestId, type RequestId } from '../../../../src/domain/request-id';

const now = new Date('2026-11-30T10:00:00.000Z');
const at = (iso: string): Date => new Date(iso);
const rid = (text: string): RequestId => parseExactRequestId(text) ?? (() => { throw new Error(text); })();
const ROLE = 'roles/cloudsql.viewer';
const DAVE = 'user:dave@example.com';
const A = rid('7K2M9QXA');
const B = rid('8M3N0RYB');

const ours = (requestId: RequestId, expiry: string, member = DAVE, role = ROLE): IamBinding => ({
  role,
  members: [member],
  condition: { title: titleFor(requestId), expression: expiryExpression(at(expiry)) },
});
const foreign: IamBinding = { role: 'roles/storage.admin', members: ['group:platform@example.com'] };

describe('titles and expressions', () => {
  it('round-trips the request id and the expiry', () => {
    expect(requestIdOfTitle(titleFor(A))).toBe(A);
    expect(expiryOfExpression(expiryExpression(at('2026-12-01T08:30:00.000Z')))).toEqual(at('2026-12-01T08:30:00.000Z'));
  });

  it('reads nobody else\'s titles or expressions as the bot\'s', () => {
    expect(requestIdOfTitle('prod-access 7K2M9QXA extra')).toBeUndefined();
    expect(requestIdOfTitle('prod-access 7k2m9qxa')).toBeUndefined();
    expect(requestIdOfTitle('temporary access')).toBeUndefined();
    expect(requestIdOfTitle(undefined)).toBeUndefined();
    expect(expiryOfExpression('request.time < timestamp("2026-12-01T08:30:00Z") && resource.name == "x"')).toBeUndefined();
    expect(expiryOfExpression('request.time < timestamp("tomorrow")')).toBeUndefined();
    expect(expiryOfExpression('request.time < timestamp("2026-12-01T08:30:00Z")')).toEqual(at('2026-12-01T08:30:00Z'));
  });

  it('keeps the description within Google\'s 256 bytes, naming role, member and ticket', () => {
    const text = descriptionFor({ role: ROLE, member: DAVE, ticket: 'INC-4211' });
    expect(text).toContain(ROLE);
    expect(text).toContain(DAVE);
    expect(text).toContain('INC-4211');
    const long = descriptionFor({ role: ROLE, member: DAVE, ticket: 'Ü'.repeat(300) });
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(256);
    expect(long.endsWith('...')).toBe(true);
  });
});

describe('isExpiredBotBinding', () => {
  it('is true only for the bot\'s title AND expression with a past time', () => {
    expect(isExpiredBotBinding(ours(A, '2026-11-30T09:59:59.000Z'), now)).toBe(true);
    expect(isExpiredBotBinding(ours(A, '2026-11-30T10:00:01.000Z'), now)).toBe(false);
    expect(isExpiredBotBinding({ ...ours(A, '2026-11-30T09:00:00.000Z'), condition: { title: 'someone', expression: expiryExpression(at('2026-11-30T09:00:00.000Z')) } }, now)).toBe(false);
    expect(isExpiredBotBinding(foreign, now)).toBe(false);
  });
});

describe('withGrant', () => {
  const grant = { role: ROLE, member: DAVE, requestId: A, expiresAt: at('2026-11-30T11:00:00.000Z'), description: 'd' };

  it('appends a binding of its own and keeps the others in place', () => {
    const edit = withGrant([foreign], grant, now);
    expect(edit.changed).toBe(true);
    expect(edit.bindings).toEqual([foreign, { role: ROLE, members: [DAVE], condition: { title: 'prod-access 7K2M9QXA', description: 'd', expression: 'request.time < timestamp("2026-11-30T11:00:00.000Z")' } }]);
  });

  it('moves an existing binding to the later expiry only', () => {
    const earlier = withGrant([ours(A, '2026-11-30T10:30:00.000Z')], grant, now);
    expect(earlier.changed).toBe(true);
    expect(expiryOfExpression(earlier.bindings[0]?.condition?.expression)).toEqual(grant.expiresAt);
    const later = withGrant([ours(A, '2026-11-30T12:00:00.000Z')], grant, now);
    expect(later.changed).toBe(false);
    expect(expiryOfExpression(later.bindings[0]?.condition?.expression)).toEqual(at('2026-11-30T12:00:00.000Z'));
  });

  it('drops expired bot bindings on the same write and counts them', () => {
    const edit = withGrant([foreign, ours(B, '2026-11-30T09:00:00.000Z', 'user:erin@example.com')], grant, now);
    expect(edit.purged).toBe(1);
    expect(edit.bindings.map((b) => b.condition?.title ?? b.role)).toEqual(['roles/storage.admin', 'prod-access 7K2M9QXA']);
  });
});

describe('withoutRequest', () => {
  it('removes this request\'s binding and no other request\'s', () => {
    const edit = withoutRequest([foreign, ours(A, '2026-11-30T11:00:00.000Z'), ours(B, '2026-11-30T12:00:00.000Z')], { role: ROLE, member: DAVE, requestId: A }, now);
    expect(edit.removed).toBe(true);
    expect(edit.bindings.map((b) => b.condition?.title ?? b.role)).toEqual(['roles/storage.admin', 'prod-access 8M3N0RYB']);
  });

  it('reports removed for an expired binding of this request (it is dropped) and nothing for a missing one', () => {
    expect(withoutRequest([ours(A, '2026-11-30T09:00:00.000Z')], { role: ROLE, member: DAVE, requestId: A }, now)).toMatchObject({ removed: true, changed: true, bindings: [] });
    expect(withoutRequest([foreign], { role: ROLE, member: DAVE, requestId: A }, now)).toMatchObject({ removed: false, changed: false });
  });

  it('matches the member once Google shows it deleted, and leaves other members in the binding', () => {
    const binding: IamBinding = { ...ours(A, '2026-11-30T11:00:00.000Z'), members: ['deleted:user:dave@example.com?uid=123456', 'user:erin@example.com'] };
    const edit = withoutRequest([binding], { role: ROLE, member: DAVE, requestId: A }, now);
    expect(edit.removed).toBe(true);
    expect(edit.bindings).toEqual([{ ...binding, members: ['user:erin@example.com'] }]);
  });
});

describe('withExpiryMoved', () => {
  it('sets exactly the new expiry, earlier or later', () => {
    const edit = withExpiryMoved([ours(A, '2026-11-30T11:00:00.000Z')], { role: ROLE, member: DAVE, requestId: A, expiresAt: at('2026-11-30T10:15:00.000Z') }, now);
    expect(edit).toMatchObject({ found: true, changed: true });
    expect(expiryOfExpression(edit.bindings[0]?.condition?.expression)).toEqual(at('2026-11-30T10:15:00.000Z'));
  });

  it('finds nothing to move when the binding is gone or expired', () => {
    expect(withExpiryMoved([foreign], { role: ROLE, member: DAVE, requestId: A, expiresAt: at('2026-11-30T12:00:00.000Z') }, now).found).toBe(false);
    expect(withExpiryMoved([ours(A, '2026-11-30T09:00:00.000Z')], { role: ROLE, member: DAVE, requestId: A, expiresAt: at('2026-11-30T12:00:00.000Z') }, now).found).toBe(false);
  });
});

describe('botBindings and sameMember', () => {
  it('lists the bot\'s bindings with request and expiry, undefined expiry when the condition was edited', () => {
    const edited: IamBinding = { role: ROLE, members: [DAVE], condition: { title: titleFor(B), expression: 'true' } };
    expect(botBindings([foreign, ours(A, '2026-11-30T11:00:00.000Z'), edited])).toEqual([
      { index: 1, requestId: A, role: ROLE, members: [DAVE], expiresAt: at('2026-11-30T11:00:00.000Z') },
      { index: 2, requestId: B, role: ROLE, members: [DAVE], expiresAt: undefined },
    ]);
  });

  it('compares members case-insensitively and sees through deleted:', () => {
    expect(sameMember('user:Dave@Example.com', DAVE)).toBe(true);
    expect(sameMember('deleted:user:dave@example.com?uid=1', DAVE)).toBe(true);
    expect(sameMember('user:erin@example.com', DAVE)).toBe(false);
  });
});
