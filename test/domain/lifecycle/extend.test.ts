import type { AccessRequest } from '../../../src/domain/access-request';
import { approve } from '../../../src/domain/lifecycle/approve';
import { applyExtension, openExtension, type ExtensionInput } from '../../../src/domain/lifecycle/extend';
import { beginRevocation } from '../../../src/domain/lifecycle/revoke';
import { activeRequest, expectRequestFacts, loadPolicy, pendingRequest, people, POLICY_YAML, refused, requestId, succeeded } from '../fixtures';

const loaded = loadPolicy();
const policy = loaded.policy;
const EXT_ID = requestId('EXT00001');
// activeRequest(): dave's 2h db-admin access (max 4h), granted at 10:10Z, expiring at 12:10Z.
const NOW = new Date('2026-03-03T11:00:00Z');

function input(overrides: Partial<ExtensionInput> = {}): ExtensionInput {
  return { requester: people.dave, duration: '1h', reason: 'migration still running, needs another hour', ...overrides };
}

/** An extension of `parent` approved by alice and bob. */
function approvedExtension(parent: AccessRequest, duration = '1h'): AccessRequest {
  const opened = succeeded(openExtension(parent, input({ duration }), undefined, EXT_ID, loaded, NOW)).request;
  const once = succeeded(approve(opened, people.alice, policy, NOW)).request;
  return succeeded(approve(once, people.bob, policy, NOW)).request;
}

describe('openExtension', () => {
  it('opens a pending extension that carries the parent role, resource and ticket', () => {
    // Given dave's live access
    const parent = activeRequest();
    // When he asks for 1h more
    const { request: extension, events } = succeeded(openExtension(parent, input(), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(extension).toMatchObject({
      id: EXT_ID,
      kind: 'extension',
      parentId: parent.id,
      requester: people.dave,
      role: 'db-admin',
      resource: parent.resource,
      duration: 60,
      ticket: parent.ticket,
      reason: 'migration still running, needs another hour',
      breakGlass: false,
      state: 'pending',
      approvalsRequired: 2,
      approvals: [],
      createdAt: NOW,
      decisionDeadline: new Date('2026-03-03T11:30:00Z'),
      policySha: loaded.sha256,
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'request_opened', actor: people.dave, data: { kind: 'extension', parentId: parent.id, duration: '1h' } });
    expectRequestFacts(events[0], extension);
  });

  it('refuses anyone but the requester', () => {
    // Given / When
    const refusal = refused(openExtension(activeRequest(), input({ requester: people.alice }), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'not_requester', message: 'Only dave@example.com can extend request REQ00001.' });
  });

  it('refuses a request that is not live', () => {
    // Given / When
    const refusal = refused(openExtension(pendingRequest(), input(), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'not_active', message: 'Request REQ00001 is waiting for approval; only live access can be extended.' });
  });

  it('refuses access that is being revoked', () => {
    // Given
    const revoking = succeeded(beginRevocation(activeRequest(), 'revoked_early', people.dave, policy, NOW)).request;
    // When / Then
    expect(refused(openExtension(revoking, input(), undefined, EXT_ID, loaded, NOW)).code).toBe('not_active');
  });

  it('refuses while another extension is waiting for approval', () => {
    // Given / When
    const refusal = refused(openExtension(activeRequest(), input(), requestId('EXT00000'), EXT_ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({
      code: 'already_extending',
      message: 'Extension EXT00000 for REQ00001 is still waiting for approval; cancel it first or wait for the decision.',
    });
  });

  it('refuses a total beyond the role maximum, saying how much room is left', () => {
    // Given 2h granted of a 4h maximum
    // When dave asks for 3h more
    const refusal = refused(openExtension(activeRequest(), input({ duration: '3h' }), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({
      code: 'extension_too_long',
      message: 'db-admin allows 4h in all; REQ00001 already has 2h, so at most 2h more can be added.',
    });
  });

  it('refuses an extension past any limit with the role\'s own maximum', () => {
    // Given / When dave asks for far more than a year
    const refusal = refused(openExtension(activeRequest(), input({ duration: '99999d' }), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'duration_too_long', message: '99999d is longer than the 4h maximum for db-admin.' });
  });

  it('accepts an extension up to exactly the role maximum', () => {
    // Given / When
    const { request: extension } = succeeded(openExtension(activeRequest(), input({ duration: '2h' }), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(extension.duration).toBe(120);
  });

  it('says no more time can be added when the grant is already at the maximum', () => {
    // Given 4h granted of a 4h maximum
    const parent = activeRequest({ duration: '4h' });
    // When
    const refusal = refused(openExtension(parent, input({ duration: '30m' }), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({
      code: 'extension_too_long',
      message: 'db-admin allows 4h in all; REQ00001 already has 4h, so no more time can be added.',
    });
  });

  it('counts earlier extensions towards the maximum', () => {
    // Given 2h granted, then extended by 1h
    const parent = activeRequest();
    const extended = applyExtension(parent, approvedExtension(parent), policy, NOW).parent;
    // When dave asks for 2h more
    const refusal = refused(openExtension(extended, input({ duration: '2h' }), undefined, requestId('EXT00002'), loaded, NOW));
    // Then
    expect(refusal).toEqual({
      code: 'extension_too_long',
      message: 'db-admin allows 4h in all; REQ00001 already has 3h, so at most 1h more can be added.',
    });
  });

  it('refuses an empty duration, with an example', () => {
    // Given / When
    const refusal = refused(openExtension(activeRequest(), input({ duration: ' ' }), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(refusal).toEqual({ code: 'bad_duration', message: 'Say how much longer you need, for example 30m or 1h.' });
  });

  it('refuses a meaningless reason', () => {
    // Given / When
    const refusal = refused(openExtension(activeRequest(), input({ reason: '..........' }), undefined, EXT_ID, loaded, NOW));
    // Then
    expect(refusal.code).toBe('bad_reason');
  });

  it('refuses to extend an extension', () => {
    // Given an (approved) extension request
    const extension = approvedExtension(activeRequest());
    // When / Then
    expect(refused(openExtension({ ...extension, state: 'active' }, input(), undefined, requestId('EXT00002'), loaded, NOW)).code).toBe('not_active');
  });
});

describe('applyExtension', () => {
  it('moves the expiry of the live grant by the extension', () => {
    // Given dave's access expiring at 12:10 and an approved 1h extension
    const parent = activeRequest();
    const extension = approvedExtension(parent);
    // When
    const applied = applyExtension(parent, extension, policy, NOW);
    // Then
    expect(applied.parent.grant).toEqual({ grantedAt: new Date('2026-03-03T10:10:00Z'), expiresAt: new Date('2026-03-03T13:10:00Z') });
    expect(applied.parent.state).toBe('active');
    expect(applied.extension).toBe(extension);
    expect(applied.events).toHaveLength(1);
    expect(applied.events[0]).toMatchObject({
      action: 'grant_extended',
      actor: 'system',
      data: {
        extensionId: EXT_ID,
        added: '1h',
        previousExpiresAt: '2026-03-03T12:10:00.000Z',
        expiresAt: '2026-03-03T13:10:00.000Z',
      },
    });
    expectRequestFacts(applied.events[0], applied.parent);
  });

  it('fails the extension when the parent access has ended meanwhile', () => {
    // Given an approved extension, and the parent being revoked since
    const parent = activeRequest();
    const extension = approvedExtension(parent);
    const revoking = succeeded(beginRevocation(parent, 'revoked_early', people.dave, policy, NOW)).request;
    const at = new Date('2026-03-03T11:01:00Z');
    // When
    const applied = applyExtension(revoking, extension, policy, at);
    // Then
    expect(applied.parent).toBe(revoking);
    expect(applied.extension).toMatchObject({ id: EXT_ID, state: 'failed', endedAt: at, endCause: 'parent_ended' });
    expect(applied.events).toHaveLength(1);
    expect(applied.events[0]).toMatchObject({ action: 'extension_failed', actor: 'system', data: { error: 'request REQ00001 is being revoked' } });
    expectRequestFacts(applied.events[0], applied.extension);
  });

  it('fails the extension when the role maximum has shrunk below the new total', () => {
    // Given a 1h extension of 2h, and db-admin cut to a 2h maximum since
    const parent = activeRequest();
    const extension = approvedExtension(parent);
    const shrunk = loadPolicy(POLICY_YAML.replace('maxDuration: 4h', 'maxDuration: 2h')).policy;
    // When
    const applied = applyExtension(parent, extension, shrunk, NOW);
    // Then
    expect(applied.parent).toBe(parent);
    expect(applied.extension.state).toBe('failed');
    expect(applied.events[0]?.data['error']).toBe('db-admin allows 2h in all; REQ00001 already has 2h, so no more time can be added.');
  });

  it('fails the extension when the role has left the policy', () => {
    // Given
    const parent = activeRequest();
    const extension = approvedExtension(parent);
    const without = loadPolicy(POLICY_YAML.replace(/\n {2}db-admin:[\s\S]*?(?=\n {2}readonly:)/, '')).policy;
    // When
    const applied = applyExtension(parent, extension, without, NOW);
    // Then
    expect(applied.extension.state).toBe('failed');
    expect(applied.events[0]?.data['error']).toBe('role db-admin is no longer in the policy');
  });
});
