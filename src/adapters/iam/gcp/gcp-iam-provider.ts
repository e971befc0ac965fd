import { FoldersClient, OrganizationsClient, ProjectsClient, type protos } from '@google-cloud/resource-manager';
import type { ClientOptions } from 'google-gax';
import type { Logger } from 'pino';
import { ProviderError } from '../../../app/errors';
import { GCP_BASIC_ROLES, parseGcpTarget, type GcpTarget } from '../../../domain/provider-targets';
import type { Email } from '../../../domain/email';
import type { RequestId } from '../../../domain/request-id';
import { systemClock, type Clock } from '../../../ports/clock';
import type { GrantSpec, IamProvider, ProviderAccess, ProviderLimits } from '../../../ports/iam-provider';
import { DEFAULT_BACKOFF, nextDelay, type BackoffPolicy } from './gcp-backoff';
import { classifyGcpError, type GcpFailure } from './gcp-failure';
import { emailOfMember, memberFor } from './gcp-member';
import { botBindings, descriptionFor, titleFor, withExpiryMoved, withGrant, withoutRequest, type IamBinding, type PolicyEdit } from './gcp-policy';
import { parseEndpoint, parseLimits, type ResourceManagerEndpoint } from './gcp-settings';

const KIND = 'gcp';

/** The three Resource Manager clients share these calls (google.iam.v1.IAMPolicy). */
type ResourceClient = Pick<ProjectsClient, 'getIamPolicy' | 'setIamPolicy' | 'testIamPermissions' | 'initialize' | 'close'>;
type SdkPolicy = protos.google.iam.v1.IPolicy;
type ResourceKind = GcpTarget['resourceKind'];

export interface GcpIamProviderOptions {
  /** `process.env` in production: `GCP_RESOURCE_MANAGER_ENDPOINT`, `PROD_ACCESS_GCP_CONCURRENCY`, `PROD_ACCESS_GCP_CALLS_PER_SECOND`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The policy's `identities` override for a person (`principalFor(policy, who, 'gcp')`): an e-mail, `user:…` or a workforce subject. */
  readonly resolvePrincipal: (who: Email) => string | undefined;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Test hook: credentials for the SDK instead of Application Default Credentials. */
  readonly authClient?: ClientOptions['authClient'];
  /** Test hook: retries of throttled calls (429 / RESOURCE_EXHAUSTED). */
  readonly throttleBackoff?: BackoffPolicy;
  /** Test hook: re-reads after an etag conflict (409 / ABORTED). */
  readonly conflictBackoff?: BackoffPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for jitter. */
  readonly random?: () => number;
  /** Per API call (default 30 s). */
  readonly callTimeoutMs?: number;
}

/** Builds the provider from the environment; throws `ProviderError('misconfigured')` naming a bad variable. */
export function createGcpIamProvider(options: GcpIamProviderOptions): GcpIamProvider {
  const endpoint = parseEndpoint(options.env);
  if (!endpoint.ok) throw new ProviderError('misconfigured', KIND, endpoint.message);
  const limits = parseLimits(options.env);
  if (!limits.ok) throw new ProviderError('misconfigured', KIND, limits.message);
  return new GcpIamProvider(options, endpoint.value, limits.value);
}

/** Conflict backoff: a handful of re-reads; a human edit in the console does not race us for long. */
const DEFAULT_CONFLICT_BACKOFF: BackoffPolicy = { retries: 6, baseMs: 100, capMs: 1_000, budgetMs: 5_000 };

/**
 * Grants a Google Cloud IAM role on a project, folder or organization for a while, by adding to the
 * resource's allow policy a binding of its own per request: `user:<e-mail>` with the condition
 * `request.time < timestamp("<expiry>")` titled `prod-access <requestId>`, so Google ends the
 * access at expiry even if the bot is down. Revoke removes that binding and nothing else; every write
 * the bot makes also drops the bot's own expired bindings, so they never pile up in the policy.
 *
 * Every change is a read-modify-write of the whole policy (`requestedPolicyVersion: 3`, written with
 * `version: 3` and the etag read): a concurrent writer makes Google answer 409 ABORTED, and the edit
 * is re-applied to a fresh read. Writes to one resource from this process are queued, so they never
 * race each other; other replicas and people are handled by the etag.
 *
 * NB: REST (`fallback: true`) always, not gRPC: one wire format for production and the test fake,
 * it passes HTTP proxies, and gax's gRPC retry settings would retry getIamPolicy on UNAVAILABLE for
 * up to 10 minutes, far past what the bot's own retry schedule wants.
 */
export class GcpIamProvider implements IamProvider {
  readonly kind = KIND;
  readonly grantsPerRequest = true;
  readonly limits: ProviderLimits;
  private readonly clients = new Map<ResourceKind, ResourceClient>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly throttleBackoff: BackoffPolicy;
  private readonly conflictBackoff: BackoffPolicy;

  constructor(
    private readonly options: GcpIamProviderOptions,
    private readonly endpoint: ResourceManagerEndpoint | undefined,
    limits: ProviderLimits,
  ) {
    this.limits = limits;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger.child({ provider: KIND });
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.throttleBackoff = options.throttleBackoff ?? DEFAULT_BACKOFF;
    this.conflictBackoff = options.conflictBackoff ?? DEFAULT_CONFLICT_BACKOFF;
  }

  /**
   * Adds this request's binding, or moves an existing one's expiry to the later of the two.
   * A person Google does not know is `refused` naming the e-mail (Google has no read API for accounts
   * here, so this is the first moment it shows).
   */
  async grant(spec: GrantSpec): Promise<void> {
    const target = this.target(spec.target);
    const member = this.member(spec.principal);
    this.assertFuture(spec.expiresAt, `granting ${target.role} on ${target.resource}`);
    const action = `granting ${target.role} to ${member} on ${target.resource}`;
    const description = descriptionFor({ role: target.role, member, ticket: spec.ticket });
    const edit = await this.readModifyWrite(target, action, member, (bindings, now) =>
      withGrant(bindings, { role: target.role, member, requestId: spec.requestId, expiresAt: spec.expiresAt, description }, now),
    );
    this.logger.info({ resource: target.resource, role: target.role, requestId: spec.requestId, written: edit.changed, purged: edit.purged }, 'gcp grant');
  }

  /** Removes this request's binding (the member from it); `removed: false` when it was already gone. */
  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    const target = this.target(spec.target);
    const member = this.member(spec.principal);
    const action = `revoking ${target.role} from ${member} on ${target.resource}`;
    const edit = await this.readModifyWrite(target, action, member, (bindings, now) => withoutRequest(bindings, { role: target.role, member, requestId: spec.requestId }, now));
    this.logger.info({ resource: target.resource, role: target.role, requestId: spec.requestId, removed: edit.removed, purged: edit.purged }, 'gcp revoke');
    return { removed: edit.removed };
  }

  /** Moves this request's binding's condition to `spec.expiresAt`; `refused` when the binding is gone. */
  async extend(spec: GrantSpec): Promise<void> {
    const target = this.target(spec.target);
    const member = this.member(spec.principal);
    this.assertFuture(spec.expiresAt, `extending ${target.role} on ${target.resource}`);
    const action = `extending ${target.role} for ${member} on ${target.resource}`;
    const edit = await this.readModifyWrite(target, action, member, (bindings, now) =>
      withExpiryMoved(bindings, { role: target.role, member, requestId: spec.requestId, expiresAt: spec.expiresAt }, now),
    );
    if (!edit.found) {
      throw new ProviderError(
        'refused',
        KIND,
        `${action}: request ${spec.requestId} has no binding there any more (it expired or someone removed it), so there is nothing to extend`,
      );
    }
    this.logger.info({ resource: target.resource, role: target.role, requestId: spec.requestId, purged: edit.purged }, 'gcp extend');
  }

  /**
   * The target can be used: the resource exists and the bot may read and set its IAM policy.
   * NB: a missing person cannot be found here (Resource Manager has no account look-up); the grant finds it.
   */
  async check(spec: GrantSpec, _role: { readonly maxDurationMinutes: number }): Promise<void> {
    const target = this.target(spec.target);
    this.member(spec.principal);
    const permissions = [`resourcemanager.${target.resourceKind}.getIamPolicy`, `resourcemanager.${target.resourceKind}.setIamPolicy`];
    const action = `checking the bot's permissions on ${target.resource}`;
    const client = await this.client(target.resourceKind, action);
    const [response] = await this.send(action, target, undefined, () => client.testIamPermissions({ resource: target.resource, permissions }, this.callOptions()));
    const held = new Set(response.permissions ?? []);
    const missing = permissions.filter((p) => !held.has(p));
    if (missing.length > 0) {
      throw new ProviderError('misconfigured', KIND, `the bot's Google identity lacks ${missing.join(' and ')} on ${target.resource}; see docs/iam-gcp.md for the role to give it`);
    }
  }

  /** The bot's live bindings (title `prod-access <id>`) for the roles' targets, one entry per member. */
  async listGranted(roles: readonly { readonly role: string; readonly target: Readonly<Record<string, string>> }[]): Promise<readonly ProviderAccess[]> {
    const byResource = new Map<string, { target: GcpTarget; role: string }[]>();
    for (const entry of roles) {
      const target = this.target(entry.target);
      byResource.set(target.resource, [...(byResource.get(target.resource) ?? []), { target, role: entry.role }]);
    }
    const found: ProviderAccess[] = [];
    const now = this.clock.now();
    for (const [resource, entries] of byResource) {
      const first = entries[0]!.target;
      const policy = await this.readPolicy(first, `listing the bot's bindings on ${resource}`);
      const seen = new Set<string>();
      for (const { target, role } of entries) {
        for (const binding of botBindings(toBindings(policy))) {
          // NB: an expired binding grants nothing (and goes on the next write); a binding of ours whose
          // condition someone changed is listed without an expiry, because that is worth a look.
          if (binding.role !== target.role || (binding.expiresAt !== undefined && binding.expiresAt.getTime() <= now.getTime())) continue;
          for (const principal of binding.members) {
            const key = `${binding.index}\u0000${principal}`;
            if (seen.has(key)) continue;
            seen.add(key);
            found.push(access(role, principal, binding.requestId, binding.expiresAt, target));
          }
        }
      }
    }
    return found;
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }

  private target(raw: Readonly<Record<string, string>>): GcpTarget {
    const parsed = parseGcpTarget(raw);
    if (!parsed.ok) {
      throw new ProviderError('misconfigured', KIND, `the role's gcp target is not usable: ${parsed.problems.map((p) => `${p.key} ${p.message}`).join('; ')}`);
    }
    const target = parsed.value;
    // NB: parseGcpTarget refuses these at policy load already; a target built another way still must not pass.
    if (GCP_BASIC_ROLES.includes(target.role)) {
      throw new ProviderError('misconfigured', KIND, `${target.role} is a basic role: Google allows no condition on it, so it could never expire`);
    }
    // NB: a project-level custom role can be granted only in its own project; Google would refuse at grant time.
    const customProject = /^projects\/([^/]+)\/roles\//.exec(target.role)?.[1];
    if (customProject !== undefined && target.resource !== `projects/${customProject}`) {
      throw new ProviderError('misconfigured', KIND, `${target.role} is a custom role of projects/${customProject} and cannot be granted on ${target.resource}`);
    }
    return target;
  }

  private member(who: Email): string {
    const parsed = memberFor(who, this.options.resolvePrincipal(who));
    if (!parsed.ok) throw new ProviderError('misconfigured', KIND, parsed.message);
    return parsed.member;
  }

  private assertFuture(expiresAt: Date, action: string): void {
    if (expiresAt.getTime() <= this.clock.now().getTime()) {
      throw new ProviderError('refused', KIND, `${action}: the expiry ${expiresAt.toISOString()} is not in the future`);
    }
  }

  /** Read, edit, write with the etag; on a conflict, read again and re-apply the edit (bounded, jittered). */
  private readModifyWrite<E extends PolicyEdit>(target: GcpTarget, action: string, member: string, edit: (bindings: readonly IamBinding[], now: Date) => E): Promise<E> {
    return this.serialised(target.resource, async () => {
      let spent = 0;
      for (let conflicts = 0; ; conflicts++) {
        const policy = await this.readPolicy(target, action);
        const result = edit(toBindings(policy), this.clock.now());
        if (!result.changed) return result;
        if (policy.etag === null || policy.etag === undefined || policy.etag.length === 0) {
          // NB: a write without an etag overwrites whatever changed meanwhile; never do it.
          throw new ProviderError('unavailable', KIND, `${action}: Google returned the IAM policy without an etag; not writing it blind`);
        }
        try {
          const client = await this.client(target.resourceKind, action);
          await this.send(action, target, member, () =>
            client.setIamPolicy({ resource: target.resource, policy: { version: 3, etag: policy.etag, bindings: toSdkBindings(result.bindings) } }, this.callOptions()),
          );
          return result;
        } catch (error) {
          if (!(error instanceof EtagConflict)) throw error;
          const delay = nextDelay(this.conflictBackoff, conflicts, spent, this.random());
          if (delay === undefined) {
            throw new ProviderError('unavailable', KIND, `${action}: the IAM policy kept changing under us (${conflicts + 1} etag conflicts in a row); retry later`, { cause: error.cause });
          }
          this.logger.debug({ resource: target.resource, conflicts: conflicts + 1, delayMs: delay }, 'gcp etag conflict, re-reading the policy');
          await this.sleep(delay);
          spent += delay;
        }
      }
    });
  }

  private async readPolicy(target: GcpTarget, action: string): Promise<SdkPolicy> {
    const client = await this.client(target.resourceKind, action);
    const [policy] = await this.send(action, target, undefined, () =>
      client.getIamPolicy({ resource: target.resource, options: { requestedPolicyVersion: 3 } }, this.callOptions()),
    );
    return policy;
  }

  /** One API call, with throttling retried inside a small budget; failures become `ProviderError`s (or `EtagConflict`). */
  private async send<T>(action: string, target: GcpTarget, member: string | undefined, call: () => Promise<T>): Promise<T> {
    let spent = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const failure = classifyGcpError(error, this.clock.now());
        if (failure.kind === 'conflict') throw new EtagConflict(error);
        if (failure.kind === 'throttled') {
          const delay = nextDelay(this.throttleBackoff, attempt, spent, this.random(), failure.retryAfterMs);
          if (delay !== undefined) {
            this.logger.debug({ resource: target.resource, attempt: attempt + 1, delayMs: delay }, 'gcp throttled, retrying');
            await this.sleep(delay);
            spent += delay;
            continue;
          }
        }
        throw this.failure(failure, error, action, target, member, attempt + 1);
      }
    }
  }

  private failure(failure: GcpFailure, cause: unknown, action: string, target: GcpTarget, member: string | undefined, tries: number): ProviderError {
    const detail = failure.detail;
    switch (failure.kind) {
      case 'throttled': {
        const retryAt = failure.retryAfterMs !== undefined ? new Date(this.clock.now().getTime() + failure.retryAfterMs) : undefined;
        return new ProviderError('unavailable', KIND, `${action}: Google throttled the call ${tries} time(s) (RESOURCE_EXHAUSTED: ${detail})`, { cause, ...(retryAt ? { retryAt } : {}) });
      }
      case 'unavailable':
      case 'conflict':
        return new ProviderError('unavailable', KIND, `${action}: Resource Manager did not answer (${detail})`, { cause });
      case 'unknown-principal': {
        const who = member !== undefined ? (emailOfMember(member) ?? member) : 'the principal';
        return new ProviderError('refused', KIND, `${who} has no Google account that Google knows of, so ${target.role} cannot be granted on ${target.resource} (${detail})`, { cause });
      }
      case 'denied':
        return new ProviderError(
          'misconfigured',
          KIND,
          `${action}: permission denied on ${target.resource}: it does not exist, or the bot's Google identity lacks resourcemanager.${target.resourceKind}.getIamPolicy / setIamPolicy there (${detail})`,
          { cause },
        );
      case 'not-found':
        return new ProviderError('misconfigured', KIND, `${action}: ${target.resource} does not exist (${detail})`, { cause });
      case 'unauthenticated':
        return new ProviderError('misconfigured', KIND, `${action}: the bot's Google credentials are missing or were refused (${detail})`, { cause });
      case 'invalid':
        // NB: a 400 naming the role (unknown, or not grantable on this kind of resource) is the policy's
        // mistake; any other (policy size limits, condition limits) is Google refusing this change.
        return new ProviderError(/\brole\b/i.test(detail) ? 'misconfigured' : 'refused', KIND, `${action}: Google refused it (${detail})`, { cause });
    }
  }

  /**
   * The client for one kind of resource, initialised. NB: the generated clients run
   * `this.initialize().catch((err) => { throw err; })` on every call, so a client whose set-up failed
   * (no Application Default Credentials) turns each later call into an unhandled rejection, which
   * ends a Node process. The set-up is awaited here first, and a client that failed is dropped and
   * rebuilt on the next call.
   */
  private async client(kind: ResourceKind, action: string): Promise<ResourceClient> {
    let client = this.clients.get(kind);
    if (client === undefined) {
      client = this.newClient(kind);
      this.clients.set(kind, client);
    }
    try {
      await client.initialize();
      return client;
    } catch (error) {
      if (this.clients.get(kind) === client) this.clients.delete(kind);
      void client.close().catch(() => undefined);
      const failure = classifyGcpError(error, this.clock.now());
      const code = failure.kind === 'unavailable' ? 'unavailable' : 'misconfigured';
      throw new ProviderError(code, KIND, `${action}: the Google client could not start (${failure.detail})`, { cause: error });
    }
  }

  private newClient(kind: ResourceKind): ResourceClient {
    const options: ClientOptions = {
      fallback: true,
      ...(this.endpoint ? { protocol: this.endpoint.protocol, apiEndpoint: this.endpoint.host, port: this.endpoint.port } : {}),
      ...(this.options.authClient !== undefined ? { authClient: this.options.authClient } : {}),
    };
    switch (kind) {
      case 'projects':
        return new ProjectsClient(options);
      case 'folders':
        return new FoldersClient(options);
      case 'organizations':
        return new OrganizationsClient(options);
    }
  }

  private callOptions(): { timeout: number; retry: null } {
    // NB: no gax retries: throttling and conflicts are retried here, within the brief's small budget,
    // and outages go back to the bot's own retry schedule as `unavailable`.
    return { timeout: this.options.callTimeoutMs ?? 30_000, retry: null };
  }

  /** Runs `work` after every earlier write to the same resource has settled. */
  private serialised<T>(resource: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(resource) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(resource, tail);
    void tail.then(() => {
      if (this.queues.get(resource) === tail) this.queues.delete(resource);
    });
    return next;
  }
}

/** An etag conflict (409 / ABORTED), caught by the read-modify-write loop. */
class EtagConflict extends Error {
  override readonly name = 'EtagConflict';
  constructor(cause: unknown) {
    super('etag conflict', { cause });
  }
}

function toBindings(policy: SdkPolicy): IamBinding[] {
  return (policy.bindings ?? []).map((b) => ({
    role: b.role ?? '',
    members: b.members ?? [],
    condition:
      b.condition && (b.condition.expression ?? '') !== ''
        ? { expression: b.condition.expression ?? '', title: b.condition.title ?? '', description: b.condition.description ?? null, location: b.condition.location ?? null }
        : null,
  }));
}

function toSdkBindings(bindings: readonly IamBinding[]): NonNullable<SdkPolicy['bindings']> {
  return bindings.map((b) => ({
    role: b.role,
    members: [...b.members],
    ...(b.condition
      ? {
          condition: {
            expression: b.condition.expression,
            title: b.condition.title,
            ...(b.condition.description ? { description: b.condition.description } : {}),
            ...(b.condition.location ? { location: b.condition.location } : {}),
          },
        }
      : {}),
  }));
}

function access(role: string, principal: string, requestId: RequestId, expiresAt: Date | undefined, target: GcpTarget): ProviderAccess {
  const until = expiresAt ? `until ${expiresAt.toISOString()}` : 'with a condition that is no longer the bot\'s (edited by someone)';
  return {
    role,
    principal,
    requestId,
    ...(expiresAt ? { expiresAt } : {}),
    detail: `${target.role} on ${target.resource} for ${principal} (binding "${titleFor(requestId)}", ${until})`,
  };
}
