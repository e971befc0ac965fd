import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessRequest } from '../../src/domain/access-request';
import type { AuditEvent } from '../../src/domain/audit-event';
import { email } from '../../src/domain/email';
import { approve } from '../../src/domain/lifecycle/approve';
import { markGranted } from '../../src/domain/lifecycle/grant';
import { openRequest, type RequestInput } from '../../src/domain/lifecycle/open-request';
import type { Refusal, Transition } from '../../src/domain/lifecycle/transition';
import { parsePolicy, type LoadedPolicy, type Policy } from '../../src/domain/policy';
import type { Minutes } from '../../src/domain/duration';
import { parseRequestId, type RequestId } from '../../src/domain/request-id';

/**
 * A small policy for the lifecycle tests. `db-admin` needs two of three leads and allows
 * break-glass; `readonly` needs one lead and does not.
 */
export const POLICY_YAML = `
version: 1
timezone: Europe/Berlin
groups:
  leads: { members: [alice@example.com, bob@example.com, carol@example.com] }
  engineering: { members: ["*@example.com"] }
  security: { members: [erin@example.com] }
admins: [group:security]
roles:
  db-admin:
    description: Admin on the production database
    provider: local
    target: { environment: production, access: admin }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 2
    maxDuration: 4h
    defaultDuration: 1h
    approvalTimeout: 30m
    ticket: { pattern: "^(OPS|INC)-[0-9]+$", example: OPS-1 }
    reason: { minLength: 10 }
    breakGlass: { allowed: true, reviewWithin: 24h }
  readonly:
    description: Read-only view of production
    provider: local
    target: { environment: production, access: readonly }
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 1
    maxDuration: 8h
    defaultDuration: 2h
    approvalTimeout: 1h
    ticket: { pattern: "^(OPS|INC)-[0-9]+$" }
    breakGlass: { allowed: false }
`;

/** Parses a policy that must be valid; a parse failure fails the test with the policy's own errors. */
export function loadPolicy(text: string = POLICY_YAML, providers: readonly string[] = ['local']): LoadedPolicy {
  const parsed = parsePolicy(text, providers);
  if (!parsed.ok) throw new Error(`fixture policy is invalid:\n${parsed.errors.join('\n')}`);
  return parsed.loaded;
}

/** A role's maximum in `policy`, what `markGranted` caps a grant at; a missing role fails the test. */
export function maxDurationOf(policy: Policy, role: string): Minutes {
  const found = policy.roles.get(role);
  if (!found) throw new Error(`role ${role} is not in the fixture policy`);
  return found.maxDuration;
}

// NB: parsed once for the request builders below; domain values are immutable, so sharing is safe.
const fixturePolicy = loadPolicy();

/** The policy shipped in `manifests/`, read from disk (the only I/O in the domain tests). */
export function examplePolicyText(): string {
  return readFileSync(join(__dirname, '..', '..', 'manifests', 'policy.example.yaml'), 'utf8');
}

export const people = {
  /** Leads: approvers of both roles. */
  alice: email('alice@example.com'),
  bob: email('bob@example.com'),
  carol: email('carol@example.com'),
  /** An engineer: may request, may not approve. */
  dave: email('dave@example.com'),
  /** Another engineer, unrelated to dave's requests. */
  frank: email('frank@example.com'),
  /** Security: a policy admin. */
  erin: email('erin@example.com'),
  /** Not in any group. */
  mallory: email('mallory@contractor.test'),
};

export function requestId(text: string): RequestId {
  const id = parseRequestId(text);
  if (id === undefined) throw new Error(`not a request id: ${text}`);
  return id;
}

/** The transition's result; fails the test with the refusal when there is one. */
export function succeeded(transition: Transition): { request: AccessRequest; events: AuditEvent[] } {
  if (!transition.ok) throw new Error(`expected success, got ${transition.refusal.code}: ${transition.refusal.message}`);
  return transition;
}

/** The transition's refusal; fails the test when it succeeded. */
export function refused(transition: Transition): Refusal {
  if (transition.ok) throw new Error(`expected a refusal, got state ${transition.request.state} with ${transition.events.length} event(s)`);
  return transition.refusal;
}

/** Every request event carries the facts an auditor needs without joining tables. */
export function expectRequestFacts(event: AuditEvent | undefined, request: AccessRequest): void {
  if (event === undefined) throw new Error('expected an audit event');
  expect(event.requestId).toBe(request.id);
  expect(event.data).toMatchObject({
    kind: request.kind,
    requester: request.requester,
    role: request.role,
    resource: { provider: request.resource.provider, target: request.resource.target },
    ticket: request.ticket,
    reason: request.reason,
    breakGlass: request.breakGlass,
  });
  expect(typeof event.data['ticket']).toBe('string');
  expect(typeof event.data['reason']).toBe('string');
}

export const OPENED_AT = new Date('2026-03-03T10:00:00Z');

export function requestInput(overrides: Partial<RequestInput> = {}): RequestInput {
  return {
    requester: people.dave,
    role: 'db-admin',
    duration: '2h',
    ticket: 'INC-4211',
    reason: 'payouts stuck since 09:00, need to inspect the queue',
    ...overrides,
  };
}

/** dave's pending `db-admin` request for 2h, opened at 10:00Z. */
export function pendingRequest(overrides: Partial<RequestInput> = {}, loaded: LoadedPolicy = fixturePolicy): AccessRequest {
  return succeeded(openRequest(requestInput(overrides), requestId('REQ00001'), loaded, OPENED_AT)).request;
}

/** dave's `db-admin` request, approved by alice and bob at 10:05Z and granted at 10:10Z. */
export function activeRequest(overrides: Partial<RequestInput> = {}, loaded: LoadedPolicy = fixturePolicy): AccessRequest {
  const pending = pendingRequest(overrides, loaded);
  const once = succeeded(approve(pending, people.alice, loaded.policy, new Date('2026-03-03T10:05:00Z'))).request;
  const approved = succeeded(approve(once, people.bob, loaded.policy, new Date('2026-03-03T10:05:00Z'))).request;
  return succeeded(markGranted(approved, maxDurationOf(loaded.policy, approved.role), new Date('2026-03-03T10:10:00Z'))).request;
}
