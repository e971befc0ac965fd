import { AuthorizationManagementClient, type RoleAssignmentSchedule, type RoleAssignmentScheduleRequest } from '@azure/arm-authorization';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { ProviderError } from '../../../app/errors';
import type { Email } from '../../../domain/email';
import { parseAzureTarget, type AzureTarget } from '../../../domain/provider-targets';
import type { RequestId } from '../../../domain/request-id';
import { systemClock, type Clock } from '../../../ports/clock';
import type { GrantSpec, IamProvider, ProviderAccess, ProviderLimits } from '../../../ports/iam-provider';
import { azureSettingsFrom, type AzureEndpoints } from './azure-settings';
import {
  needsLaterEnd,
  pimJustification,
  pimRequestName,
  removableAt,
  requestIdOfJustification,
  roleDefinitionGuidOf,
  roleDefinitionIdFor,
  sameScope,
  scopeWithin,
  sdkScope,
  type PimRequestType,
} from './pim-request';
import { checkRetryPolicy, DEFAULT_RETRY_POLICY, nextRetry, parseRetryAfter, type RetryPolicy } from './retry-plan';

const KIND = 'azure';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Each HTTP call (ARM or Graph) gives up after this long; the retry loop then decides. */
const CALL_TIMEOUT_MS = 30_000;
// NB: the client requires a subscription id, but every call here takes a full scope instead.
const UNUSED_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const NETWORK_CODES = new Set(['REQUEST_SEND_ERROR', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'AbortError', 'TimeoutError']);

export interface AzureIamProviderOptions {
  /** `process.env` in production: endpoints (`AZURE_CLOUD`, `AZURE_RESOURCE_MANAGER_ENDPOINT`, …) and pacing. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The policy's `identities` override: the person's Entra object id, or undefined to look them up in Graph. */
  readonly resolvePrincipal: (who: Email) => string | undefined;
  readonly logger: Logger;
  /** Default: `DefaultAzureCredential` with the configured authority host. Tests pass a stub. */
  readonly credential?: TokenCredential;
  readonly clock?: Clock;
  /** Test hooks: shorter backoff, no real sleeping, fixed jitter. */
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Test hook: trust this CA certificate (PEM) for ARM and Graph, e.g. a local fake's self-signed one. */
  readonly tlsCa?: string;
}

/** Builds the provider from the environment; a bad variable is `misconfigured`, naming it. */
export function createAzureIamProvider(options: AzureIamProviderOptions): AzureIamProvider {
  const settings = azureSettingsFrom(options.env);
  if (!settings.ok) throw new ProviderError('misconfigured', KIND, settings.problems.join('; '));
  const retry = options.retry ?? DEFAULT_RETRY_POLICY;
  const problems = checkRetryPolicy(retry);
  if (problems.length > 0) throw new ProviderError('misconfigured', KIND, `retry policy: ${problems.join('; ')}`);
  const credential = options.credential ?? new DefaultAzureCredential({ authorityHost: settings.value.endpoints.authorityHost, disableInstanceDiscovery: settings.value.disableInstanceDiscovery });
  return new AzureIamProvider({ ...options, retry, credential }, settings.value.endpoints, settings.value.limits);
}

interface Schedule {
  readonly id: string;
  readonly principalId: string;
  readonly start?: Date;
  readonly end?: Date;
  readonly created?: Date;
  readonly requestId?: string;
}

/**
 * Azure PIM active role assignments through `roleAssignmentScheduleRequests` (ARM api-version
 * 2020-10-01). A grant is an `AdminAssign` request that ends by itself at `spec.expiresAt`
 * (`AfterDateTime`), carrying `prod-access <request id> · <ticket> · <reason>` as its
 * justification; a revoke is `AdminRemove`; an extension (or a second live grant of the same person
 * and role) is `AdminUpdate` of the one assignment Azure keeps per (principal, role, scope).
 *
 * NB: one assignment per (principal, role definition, scope): two live requests of the same person
 * for the same role share it, so `grantsPerRequest` is false and the engine revokes only when no
 * other live grant needs it.
 */
export class AzureIamProvider implements IamProvider {
  readonly kind = KIND;
  readonly grantsPerRequest = false;
  readonly limits: ProviderLimits;
  private readonly client: AuthorizationManagementClient;
  private readonly credential: TokenCredential;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly dispatcher: Dispatcher | undefined;

  constructor(
    private readonly options: AzureIamProviderOptions & { readonly credential: TokenCredential; readonly retry: RetryPolicy },
    private readonly endpoints: AzureEndpoints,
    limits: ProviderLimits,
  ) {
    this.limits = limits;
    this.credential = options.credential;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ provider: KIND });
    this.retry = options.retry;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.dispatcher = options.tlsCa === undefined ? undefined : new Agent({ connect: { ca: options.tlsCa } });
    this.client = new AuthorizationManagementClient(this.credential, UNUSED_SUBSCRIPTION, {
      endpoint: endpoints.resourceManager,
      $host: endpoints.resourceManager,
      credentialScopes: [endpoints.resourceManagerScope],
      // NB: the SDK's own retry honours any Retry-After, however long, and retries without our
      // budget; ours (below) is bounded and reports the server's time as retryAt.
      retryOptions: { maxRetries: 0 },
      ...(options.tlsCa === undefined ? {} : { tlsOptions: { ca: options.tlsCa } }),
      userAgentOptions: { userAgentPrefix: 'prod-access' },
    });
  }

  /**
   * `AdminAssign` ending at `spec.expiresAt`. When the person already holds the role at the scope
   * (`RoleAssignmentExists`: another live grant, or this one retried), Azure's end is moved to
   * `spec.expiresAt` if that is later, never earlier.
   */
  async grant(spec: GrantSpec): Promise<void> {
    const target = this.target(spec.target);
    const principalId = await this.principalId(spec.principal);
    const where = describeTarget(spec.principal, target);
    const submitted = await this.submit(where, 'AdminAssign', { requestId: spec.requestId, principalId, target }, {
      principalId,
      roleDefinitionId: roleDefinitionIdFor(target),
      requestType: 'AdminAssign',
      scheduleInfo: { startDateTime: this.clock.now(), expiration: { type: 'AfterDateTime', endDateTime: spec.expiresAt } },
      ...this.justification(spec),
    }, ['RoleAssignmentExists']);
    if (submitted === 'done') return;
    const schedule = await this.schedule(target, principalId, where);
    if (schedule === undefined) {
      if (submitted === 'RoleAssignmentExists') {
        // NB: Azure said it exists but does not list it yet (replication): try again later.
        throw new ProviderError('unavailable', KIND, `${where}: Azure reports the assignment exists but does not list it yet`);
      }
      // This request's AdminAssign was accepted once, and its assignment is gone since: assign anew.
      await this.submit(where, 'AdminAssign', { requestId: spec.requestId, principalId, target, attempt: this.clock.now().toISOString() }, {
        principalId,
        roleDefinitionId: roleDefinitionIdFor(target),
        requestType: 'AdminAssign',
        scheduleInfo: { startDateTime: this.clock.now(), expiration: { type: 'AfterDateTime', endDateTime: spec.expiresAt } },
        ...this.justification(spec),
      }, []);
      return;
    }
    // NB: a standing assignment (no end) was made outside prod-access: taking it over would mean our
    // revoke later removes access the person is meant to keep. Nothing is changed; the request fails.
    if (schedule.end === undefined) throw standingAssignment(where);
    await this.moveEndLater(spec, target, principalId, schedule, where);
  }

  /**
   * `AdminRemove`. Already gone is `removed: false`. Within Azure's first 5 minutes of the assignment
   * it throws `deferred` with `retryAt` when Azure will accept the removal.
   */
  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    const target = this.target(spec.target);
    const principalId = await this.principalId(spec.principal);
    const where = describeTarget(spec.principal, target);
    const remove = (attempt?: string) =>
      this.submit(where, 'AdminRemove', { requestId: spec.requestId, principalId, target, ...(attempt ? { attempt } : {}) }, {
        principalId,
        roleDefinitionId: roleDefinitionIdFor(target),
        requestType: 'AdminRemove',
        ...this.justification(spec),
      }, ['RoleAssignmentDoesNotExist', 'ActiveDurationTooShort']);
    let outcome = await remove();
    if (outcome === 'RoleAssignmentRequestExists') {
      // NB: this very removal was submitted before (a retry after a lost answer, or after a deferral):
      // what counts is whether the assignment is still there.
      if ((await this.schedule(target, principalId, where)) === undefined) return { removed: false };
      outcome = await remove(this.clock.now().toISOString());
      if (outcome === 'RoleAssignmentRequestExists') throw new ProviderError('unavailable', KIND, `${where}: Azure keeps refusing the removal request name; try again`);
    }
    if (outcome === 'done') return { removed: true };
    if (outcome === 'RoleAssignmentDoesNotExist') return { removed: false };
    const schedule = await this.schedule(target, principalId, where);
    if (schedule === undefined) return { removed: false };
    const retryAt = removableAt(schedule.start, schedule.created, this.clock.now());
    const ends = schedule.end === undefined ? '' : `, and Azure ends it by itself at ${schedule.end.toISOString()} if that is sooner`;
    throw new ProviderError('deferred', KIND, `Azure refuses to remove an assignment in its first 5 minutes: ${where} is removed at ${retryAt.toISOString()}${ends}`, { retryAt });
  }

  /** Moves Azure's end of the live assignment to `spec.expiresAt` (`AdminUpdate`); never earlier. */
  async extend(spec: GrantSpec): Promise<void> {
    const target = this.target(spec.target);
    const principalId = await this.principalId(spec.principal);
    const where = describeTarget(spec.principal, target);
    const schedule = await this.schedule(target, principalId, where);
    if (schedule === undefined) throw new ProviderError('refused', KIND, `${where}: there is no active assignment to extend (it ended or was removed in Azure)`);
    await this.moveEndLater(spec, target, principalId, schedule, where);
  }

  /**
   * Reads only: the person has an Entra object id, and the role definition exists and is assignable
   * at the scope. NB: the role's longest grant is not compared with the PIM role setting's maximum
   * active assignment duration here; a grant beyond it fails as `misconfigured` (ExpirationRule).
   */
  async check(spec: GrantSpec, _role?: { readonly maxDurationMinutes: number }): Promise<void> {
    const target = this.target(spec.target);
    const principalId = await this.principalId(spec.principal);
    const where = describeTarget(spec.principal, target);
    const existing = await this.schedule(target, principalId, where);
    if (existing !== undefined && existing.end === undefined) throw standingAssignment(where);
    let definition;
    try {
      definition = await this.withRetries(() => this.client.roleDefinitions.get(sdkScope(target.scope), target.roleDefinitionGuid, { abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) }));
    } catch (error) {
      if (codeOf(error) === 'RoleDefinitionDoesNotExist' || statusOf(error) === 404) {
        throw new ProviderError('misconfigured', KIND, `role definition ${target.roleDefinitionGuid} does not exist at ${target.scope} (or the scope does not)`, { cause: error });
      }
      throw this.failure(error, `reading role definition ${target.roleDefinitionGuid} at ${target.scope}`);
    }
    const assignable = definition.assignableScopes ?? [];
    const fits = assignable.length === 0 || assignable.some((s) => scopeWithin(target.scope, s));
    if (!fits) throw new ProviderError('misconfigured', KIND, `role definition ${target.roleDefinitionGuid} is not assignable at ${target.scope} (assignable scopes: ${assignable.join(', ')})`);
  }

  /**
   * The active assignments at the roles' scopes that prod-access made: those whose linked schedule
   * request's justification starts with `prod-access <request id>`. One list call per scope
   * (`$filter=atScope()`), plus one read of the linked request per matching assignment.
   */
  async listGranted(roles: readonly { readonly role: string; readonly target: Readonly<Record<string, string>> }[]): Promise<readonly ProviderAccess[]> {
    const byScope = new Map<string, { scope: string; roles: { role: string; guid: string }[] }>();
    for (const { role, target } of roles) {
      const parsed = this.target(target);
      const key = parsed.scope.toLowerCase();
      const entry = byScope.get(key) ?? { scope: parsed.scope, roles: [] };
      entry.roles.push({ role, guid: parsed.roleDefinitionGuid });
      byScope.set(key, entry);
    }
    const found: ProviderAccess[] = [];
    for (const { scope, roles: wanted } of byScope.values()) {
      const schedules = await this.listSchedules(scope, 'atScope()', `listing assignments at ${scope}`);
      for (const s of schedules) {
        if (!sameScope(s.scope, scope)) continue;
        const guid = roleDefinitionGuidOf(s.roleDefinitionId);
        const matches = wanted.filter((w) => w.guid === guid);
        if (matches.length === 0 || s.principalId === undefined) continue;
        const requestId = await this.requestIdOfSchedule(s);
        if (requestId === undefined) continue;
        for (const { role } of matches) {
          found.push({
            role,
            principal: s.principalId,
            requestId,
            ...(s.endDateTime ? { expiresAt: s.endDateTime } : {}),
            detail: `Azure PIM active assignment of role definition ${guid} at ${scope} to ${s.principalId}${s.endDateTime ? `, ending ${s.endDateTime.toISOString()}` : ', with no end'}`,
          });
        }
      }
    }
    return found;
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  private target(raw: Readonly<Record<string, string>>): AzureTarget {
    const parsed = parseAzureTarget(raw);
    if (!parsed.ok) throw new ProviderError('misconfigured', KIND, `target: ${parsed.problems.map((p) => `${p.key} ${p.message}`).join('; ')}`);
    return parsed.value;
  }

  private justification(spec: GrantSpec): { justification: string; ticketInfo?: { ticketNumber: string; ticketSystem: string } } {
    const justification = pimJustification(spec.requestId, spec.ticket, spec.reason);
    return spec.ticket === undefined || spec.ticket === '' ? { justification } : { justification, ticketInfo: { ticketNumber: spec.ticket.slice(0, 100), ticketSystem: 'prod-access' } };
  }

  private async moveEndLater(spec: GrantSpec, target: AzureTarget, principalId: string, schedule: Schedule, where: string): Promise<void> {
    if (!needsLaterEnd(schedule.end, spec.expiresAt)) return;
    const update = (attempt?: string) =>
      this.submit(where, 'AdminUpdate', { requestId: spec.requestId, principalId, target, endsAt: spec.expiresAt, ...(attempt ? { attempt } : {}) }, {
        principalId,
        roleDefinitionId: roleDefinitionIdFor(target),
        requestType: 'AdminUpdate',
        scheduleInfo: { ...(schedule.start ? { startDateTime: schedule.start } : {}), expiration: { type: 'AfterDateTime', endDateTime: spec.expiresAt } },
        targetRoleAssignmentScheduleId: schedule.id,
        ...this.justification(spec),
      }, []);
    if ((await update()) === 'done') return;
    // NB: this same update was submitted before; if Azure's end is still short, it did not take.
    const again = await this.schedule(target, principalId, where);
    if (again === undefined) throw new ProviderError('refused', KIND, `${where}: the assignment ended while its end was being moved`);
    if (!needsLaterEnd(again.end, spec.expiresAt)) return;
    if ((await update(this.clock.now().toISOString())) !== 'done') throw new ProviderError('unavailable', KIND, `${where}: Azure keeps refusing the update request name; try again`);
  }

  /**
   * PUTs one schedule request under its deterministic name. Returns `done`, or the code of an
   * expected refusal (`accepted` codes, and always `RoleAssignmentRequestExists`: this name was used
   * before), or throws a classified `ProviderError`.
   */
  private async submit<C extends string>(
    where: string,
    type: PimRequestType,
    name: { requestId: RequestId; principalId: string; target: AzureTarget; endsAt?: Date; attempt?: string },
    body: RoleAssignmentScheduleRequest,
    accepted: readonly C[],
  ): Promise<'done' | 'RoleAssignmentRequestExists' | C> {
    const requestName = pimRequestName({ ...name, type });
    try {
      await this.withRetries(() => this.client.roleAssignmentScheduleRequests.create(sdkScope(name.target.scope), requestName, body, { abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) }));
      this.log.info({ requestId: name.requestId, requestType: type, scheduleRequest: requestName, scope: name.target.scope }, 'azure schedule request accepted');
      return 'done';
    } catch (error) {
      const code = codeOf(error);
      if (code === 'RoleAssignmentRequestExists') return code;
      if (code !== undefined && (accepted as readonly string[]).includes(code)) return code as C;
      throw this.failure(error, `${type} for ${where}`);
    }
  }

  /** The one active assignment of this principal, role definition and exact scope, if any. */
  private async schedule(target: AzureTarget, principalId: string, where: string): Promise<Schedule | undefined> {
    const all = await this.listSchedules(target.scope, `principalId eq '${principalId}'`, `reading the assignment for ${where}`);
    const mine = all.find(
      (s) => s.principalId?.toLowerCase() === principalId && sameScope(s.scope, target.scope) && roleDefinitionGuidOf(s.roleDefinitionId) === target.roleDefinitionGuid && (s.assignmentType ?? 'Assigned') === 'Assigned',
    );
    if (mine === undefined || mine.id === undefined) return undefined;
    return {
      id: mine.id,
      principalId,
      ...(mine.startDateTime ? { start: mine.startDateTime } : {}),
      ...(mine.endDateTime ? { end: mine.endDateTime } : {}),
      ...(mine.createdOn ? { created: mine.createdOn } : {}),
      ...(mine.roleAssignmentScheduleRequestId ? { requestId: mine.roleAssignmentScheduleRequestId } : {}),
    };
  }

  private async listSchedules(scope: string, filter: string, action: string): Promise<RoleAssignmentSchedule[]> {
    return this.withRetries(async () => {
      const out: RoleAssignmentSchedule[] = [];
      for await (const s of this.client.roleAssignmentSchedules.listForScope(sdkScope(scope), { filter, abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) })) out.push(s);
      return out;
    }).catch((error: unknown) => {
      throw this.failure(error, action);
    });
  }

  private async requestIdOfSchedule(s: RoleAssignmentSchedule): Promise<RequestId | undefined> {
    const id = s.roleAssignmentScheduleRequestId;
    const marker = '/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/';
    const at = id?.toLowerCase().lastIndexOf(marker.toLowerCase()) ?? -1;
    if (id === undefined || at < 0) return undefined;
    const scope = id.slice(0, at);
    const name = id.slice(at + marker.length);
    try {
      const request = await this.withRetries(() => this.client.roleAssignmentScheduleRequests.get(sdkScope(scope), name, { abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) }));
      return requestIdOfJustification(request.justification);
    } catch (error) {
      // NB: a request Azure no longer has (history is trimmed) cannot tell whose this is: not ours to report.
      if (statusOf(error) === 404) return undefined;
      throw this.failure(error, `reading schedule request ${name} at ${scope}`);
    }
  }

  /** The person's Entra object id: the policy's `identities` first, else Microsoft Graph by e-mail. */
  private async principalId(who: Email): Promise<string> {
    const mapped = this.options.resolvePrincipal(who);
    if (mapped !== undefined) {
      if (!GUID.test(mapped)) throw new ProviderError('misconfigured', KIND, `the azure identity mapped to ${who} in the policy's identities is not an Entra object id (a GUID)`);
      return mapped.toLowerCase();
    }
    // NB: the user principal name first (one read by key, what most tenants use as e-mail), then
    // the mail attribute, for tenants whose sign-in names differ from their addresses.
    const byName = await this.graph(`/v1.0/users/${encodeURIComponent(who)}?$select=id,accountEnabled`, who);
    if (byName !== undefined) return this.usableUser(byName, who);
    const filter = `mail eq '${who.replace(/'/g, "''")}'`;
    const byMail = await this.graph(`/v1.0/users?$filter=${encodeURIComponent(filter)}&$select=id,accountEnabled`, who);
    const users = Array.isArray(byMail?.['value']) ? (byMail['value'] as Record<string, unknown>[]) : [];
    if (users.length === 0) throw new ProviderError('refused', KIND, `${who} has no user in Microsoft Entra ID (no user principal name or mail matches)`);
    if (users.length > 1) throw new ProviderError('misconfigured', KIND, `${users.length} Entra users have the mail ${who}; map the right one in the policy's identities`);
    return this.usableUser(users[0]!, who);
  }

  private usableUser(user: Record<string, unknown>, who: Email): string {
    const id = user['id'];
    if (typeof id !== 'string' || !GUID.test(id)) throw new ProviderError('unavailable', KIND, `Microsoft Graph answered a user for ${who} without an object id`);
    if (user['accountEnabled'] === false) throw new ProviderError('refused', KIND, `the Entra user of ${who} is disabled`);
    return id.toLowerCase();
  }

  /** GET on Graph with the same credential; undefined on 404. */
  private async graph(path: string, who: Email): Promise<Record<string, unknown> | undefined> {
    const action = `looking up ${who} in Microsoft Graph`;
    try {
      return await this.withRetries(async () => {
        const token = await this.credential.getToken(this.endpoints.graphScope);
        if (token === null) throw Object.assign(new Error('the credential gave no token for Microsoft Graph'), { name: 'CredentialUnavailableError' });
        const response = await undiciFetch(`${this.endpoints.graph}${path}`, {
          headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' },
          signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
          ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        });
        const text = await response.text();
        if (response.status === 404) return undefined;
        if (!response.ok) throw GraphError.from(response.status, text, response.headers.get('retry-after'));
        return JSON.parse(text) as Record<string, unknown>;
      });
    } catch (error) {
      throw this.failure(error, action);
    }
  }

  /** Calls `fn` until it succeeds, fails for good, or the retry budget is spent; rethrows the last error as is. */
  private async withRetries<T>(fn: () => Promise<T>): Promise<T> {
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isRetryable(error)) throw error;
        const decision = nextRetry(this.retry, attempt, waited, retryAfterMs(error, this.clock.now()), this.random());
        if (!decision.retry) throw error;
        this.log.warn({ attempt, status: statusOf(error), code: codeOf(error), delayMs: decision.delayMs }, 'azure call failed; retrying');
        waited += decision.delayMs;
        await this.sleep(decision.delayMs);
      }
    }
  }

  /** Classifies an SDK, Graph or credential error; keeps it as cause; never includes a token. */
  private failure(error: unknown, action: string): ProviderError {
    if (error instanceof ProviderError) return error;
    const status = statusOf(error);
    const code = codeOf(error);
    const detail = `${status !== undefined ? ` (HTTP ${status}${code ? ` ${code}` : ''})` : code ? ` (${code})` : ''}${messageOf(error)}`;
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'CredentialUnavailableError' || name === 'AuthenticationRequiredError' || (name === 'AuthenticationError' && !(status !== undefined && (status >= 500 || status === 429)))) {
      return new ProviderError('misconfigured', KIND, `${action}: the bot's Azure credential failed${detail}`, { cause: error });
    }
    if (isRetryable(error) || (name === 'AuthenticationError' && status !== undefined)) {
      const after = retryAfterMs(error, this.clock.now());
      return new ProviderError('unavailable', KIND, `${action}: Azure did not answer${detail}`, {
        cause: error,
        ...(after !== undefined ? { retryAt: new Date(this.clock.now().getTime() + after) } : {}),
      });
    }
    if (status === 401 || status === 403 || code === 'AuthorizationFailed' || code === 'InvalidAuthenticationToken' || code === 'LinkedAuthorizationFailed') {
      return new ProviderError('misconfigured', KIND, `${action}: the bot's Azure identity is not allowed to do this${detail}`, { cause: error });
    }
    if (code === 'RoleDefinitionDoesNotExist' || code === 'SubscriptionNotFound' || code === 'ResourceGroupNotFound' || code === 'InvalidResourceType' || code === 'ResourceNotFound' || code === 'MissingSubscription' || code === 'RoleAssignmentRequestPolicyValidationFailed' || code === 'InvalidRoleAssignmentRequest') {
      return new ProviderError('misconfigured', KIND, `${action}${detail}`, { cause: error });
    }
    return new ProviderError('refused', KIND, `${action}${detail}`, { cause: error });
  }
}

/** A non-2xx answer from Microsoft Graph, shaped like the SDK's RestError for classification. */
class GraphError extends Error {
  override readonly name = 'GraphError';
  constructor(
    readonly statusCode: number,
    readonly code: string | undefined,
    message: string,
    readonly retryAfter: string | null,
  ) {
    super(message);
  }

  static from(status: number, body: string, retryAfter: string | null): GraphError {
    let code: string | undefined;
    let message = '';
    try {
      const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
      code = typeof error?.code === 'string' ? error.code : undefined;
      message = typeof error?.message === 'string' ? error.message : '';
    } catch {
      // NB: a proxy's HTML error page: the status says enough.
    }
    return new GraphError(status, code, message || `HTTP ${status}`, retryAfter);
  }
}

function describeTarget(who: Email, target: AzureTarget): string {
  return `role definition ${target.roleDefinitionGuid} at ${target.scope} for ${who}`;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  // NB: one line, bounded: Azure's messages can be long and end up in chat.
  return typeof message === 'string' && message !== '' ? `: ${message.replace(/\s+/g, ' ').slice(0, 300)}` : '';
}

function isRetryable(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined) return status === 429 || status === 408 || status >= 500;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'AuthenticationError' || name === 'CredentialUnavailableError') return false;
  const code = codeOf(error) ?? (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return (typeof code === 'string' && NETWORK_CODES.has(code)) || name === 'AbortError' || name === 'TimeoutError' || (error instanceof TypeError && /fetch failed/i.test(error.message));
}

function retryAfterMs(error: unknown, now: Date): number | undefined {
  if (error instanceof GraphError) return parseRetryAfter(error.retryAfter, now.getTime());
  const headers = (error as { response?: { headers?: { get?: (name: string) => string | undefined } } } | null)?.response?.headers;
  const value = typeof headers?.get === 'function' ? headers.get('retry-after') : undefined;
  return parseRetryAfter(value, now.getTime());
}

/** The person holds the role with no end date, granted outside prod-access: neither extended nor ever removed by it. */
function standingAssignment(where: string): ProviderError {
  return new ProviderError(
    'refused',
    KIND,
    `${where}: the person already holds this role with no end date (a standing assignment made outside prod-access); nothing was changed, and prod-access never removes or shortens it`,
  );
}
