import { refuse, requestEvent, requestFacts } from '../../../src/domain/lifecycle/transition';
import { activeRequest, requestId } from '../fixtures';

describe('requestFacts', () => {
  it('carries requester, role, resource, ticket, reason and break-glass', () => {
    // Given dave's live db-admin access
    const request = activeRequest();
    // When
    const facts = requestFacts(request);
    // Then
    expect(facts).toEqual({
      kind: 'access',
      requester: 'dave@example.com',
      role: 'db-admin',
      resource: { provider: 'local', target: { environment: 'production', access: 'admin' } },
      ticket: 'INC-4211',
      reason: 'payouts stuck since 09:00, need to inspect the queue',
      breakGlass: false,
    });
  });

  it('adds the parent id for an extension', () => {
    // Given
    const extension = { ...activeRequest(), kind: 'extension' as const, parentId: requestId('PARENT01') };
    // When / Then
    expect(requestFacts(extension)).toMatchObject({ kind: 'extension', parentId: 'PARENT01' });
  });
});

describe('requestEvent', () => {
  it('puts the request id on the event and lets extra data sit beside the facts', () => {
    // Given
    const request = activeRequest();
    // When
    const event = requestEvent('access_granted', 'system', request, { expiresAt: 'x' });
    // Then
    expect(event).toEqual({ action: 'access_granted', actor: 'system', requestId: request.id, data: { ...requestFacts(request), expiresAt: 'x' } });
  });
});

describe('refuse', () => {
  it('wraps a code and a message as a failed transition', () => {
    // Given / When / Then
    expect(refuse('not_pending', 'no')).toEqual({ ok: false, refusal: { code: 'not_pending', message: 'no' } });
  });
});
