import { DescribeUserCommand, GetUserIdCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  DescribePermissionSetCommand,
  ListAccountAssignmentsCommand,
  SSOAdminClient,
  type AccountAssignmentOperationStatus,
  type SSOAdminClientConfig,
} from '@aws-sdk/client-sso-admin';
import type { Logger } from 'pino';
import { ProviderError } from '../../../app/errors';
import type { Email } from '../../../domain/email';
import { parseAwsTarget, type AwsTarget } from '../../../domain/provider-targets';
import type { GrantSpec, IamProvider, ProviderAccess, ProviderLimits } from '../../../ports/iam-provider';
import { awsErrorName, AWS_KIND, classifyAwsError, isThrottling } from './aws-errors';
import { awsEndpointProblems, awsLimitsFrom } from './aws-settings';
import { DEFAULT_POLL_DELAYS_MS, DEFAULT_THROTTLE_RETRY, retryWhile, type RetryPolicy } from './backoff';
import { formatMinutes, isoDurationMinutes } from './iso-duration';
import { UserIdCache } from './user-cache';

/** AWS's own default when a permission set names no session duration. */
const DEFAULT_SESSION_DURATION = 'PT1H';
/** The shortest session AWS allows a permission set (PT1H to PT12H). */
const SHORTEST_SESSION_MINUTES = 60;
const USER_CACHE_TTL_MS = 5 * 60_000;
const PAGE_SIZE = 100;

export interface AwsIamProviderOptions {
  /** `process.env` in production: the pacing variables, and the endpoint variables checked for typos. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The policy's `identities` override: the person's Identity Center user id, if the policy names one. */
  readonly resolvePrincipal: (who: Email) => string | undefined;
  readonly logger: Logger;
  /** Test hook: fixed credentials instead of the SDK's default chain. */
  readonly credentials?: SSOAdminClientConfig['credentials'];
  /**
   * Test hook: fixed endpoints. In production leave them out: the SDK itself reads
   * `AWS_ENDPOINT_URL_SSO_ADMIN`, `AWS_ENDPOINT_URL_IDENTITYSTORE` (and `AWS_ENDPOINT_URL`, the
   * shared config file's `services` section) from its default configuration chain.
   */
  readonly endpoints?: { readonly ssoAdmin?: string; readonly identityStore?: string };
  /** The region for targets that name none; default the SDK's chain (`AWS_REGION`, profile). */
  readonly region?: string;
  /** Test hooks for time: waits between retries and polls, the jitter, and the clock of the look-up cache. */
  readonly timing?: {
    readonly sleep?: (ms: number) => Promise<void>;
    readonly random?: () => number;
    readonly now?: () => number;
    readonly throttleRetry?: RetryPolicy;
    /** Waits between status polls of an assignment operation; when they run out, `unavailable`. */
    readonly pollDelaysMs?: readonly number[];
  };
  /** Per-request timeouts of the HTTP client (default 5 s to connect, 30 s per request). */
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

interface Clients {
  readonly ssoAdmin: SSOAdminClient;
  readonly identityStore: IdentitystoreClient;
}

type Operation = 'creation' | 'deletion';

/**
 * Grants a permission set in one AWS account to a person's own IAM Identity Center user:
 * `CreateAccountAssignment` (TargetType AWS_ACCOUNT, PrincipalType USER), then waits for AWS to
 * report the asynchronous operation SUCCEEDED; revokes with `DeleteAccountAssignment`, confirmed
 * the same way. The person's user is found by e-mail in the identity store (`GetUserId` on
 * `emails.value`), or named in the policy's `identities`.
 *
 * NB: AWS has no API that ends an Identity Center session: a session opened before a revocation
 * lives until the permission set's `SessionDuration` ends. `check` refuses a role whose permission
 * set keeps sessions longer than the role's longest grant (docs/iam-aws.md).
 *
 * NB: one assignment per (user, permission set, account) is all AWS has, with no expiry of its own
 * and no record of who asked: hence no `extend`, and `grantsPerRequest` false (the engine keeps the
 * assignment while another live grant covers the same target).
 */
export class AwsIamProvider implements IamProvider {
  readonly kind = AWS_KIND;
  readonly grantsPerRequest = false;
  private readonly clientsByRegion = new Map<string, Clients>();
  private readonly users: UserIdCache;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly throttleRetry: RetryPolicy;
  private readonly pollDelaysMs: readonly number[];
  private readonly logger: Logger;

  constructor(
    private readonly options: AwsIamProviderOptions,
    readonly limits: ProviderLimits,
  ) {
    this.sleep = options.timing?.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.timing?.random ?? Math.random;
    this.now = options.timing?.now ?? Date.now;
    this.throttleRetry = options.timing?.throttleRetry ?? DEFAULT_THROTTLE_RETRY;
    this.pollDelaysMs = options.timing?.pollDelaysMs ?? DEFAULT_POLL_DELAYS_MS;
    this.users = new UserIdCache(USER_CACHE_TTL_MS, this.now);
    this.logger = options.logger.child({ provider: AWS_KIND });
  }

  /** Idempotent: an assignment that already exists (AWS answers ConflictException) is success, once the listing confirms it. */
  async grant(spec: GrantSpec): Promise<void> {
    const target = this.target(spec.target);
    const action = `granting ${where(target)} to ${spec.principal}`;
    await this.run(action, async () => {
      const userId = await this.userId(spec.principal, target);
      const { ssoAdmin } = this.clients(target);
      let status: AccountAssignmentOperationStatus | undefined;
      try {
        const created = await this.send(() => ssoAdmin.send(new CreateAccountAssignmentCommand({ ...assignmentOf(target), PrincipalType: 'USER', PrincipalId: userId })));
        status = created.AccountAssignmentCreationStatus;
      } catch (error) {
        if (awsErrorName(error) !== 'ConflictException') throw error;
        // NB: ConflictException also means "another operation on this assignment is running" (a
        // deletion, say): only the listing tells "already assigned" apart from that.
        if (await this.isAssigned(target, userId)) {
          this.logger.info({ requestId: spec.requestId, accountId: target.accountId }, 'aws assignment already existed');
          return;
        }
        throw error;
      }
      await this.awaitOperation('creation', target, status, action);
      this.logger.info({ requestId: spec.requestId, accountId: target.accountId, permissionSetArn: target.permissionSetArn }, 'aws assignment created');
    });
  }

  /**
   * Deletes the person's assignment and waits until AWS confirms it. `removed: false` when it was
   * already gone (not listed, or AWS answers ResourceNotFoundException). Sessions opened before stay
   * valid until their `SessionDuration` ends: AWS offers no way to end them.
   */
  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    const target = this.target(spec.target);
    const action = `revoking ${where(target)} from ${spec.principal}`;
    return this.run(action, async () => {
      // NB: a person no longer found by e-mail is a refusal, not "nothing to remove": their user may
      // only have been renamed, and would keep the assignment.
      const userId = await this.userId(spec.principal, target);
      if (!(await this.isAssigned(target, userId))) return { removed: false };
      const { ssoAdmin } = this.clients(target);
      let status: AccountAssignmentOperationStatus | undefined;
      try {
        const deleted = await this.send(() => ssoAdmin.send(new DeleteAccountAssignmentCommand({ ...assignmentOf(target), PrincipalType: 'USER', PrincipalId: userId })));
        status = deleted.AccountAssignmentDeletionStatus;
      } catch (error) {
        // NB: listed a moment ago, gone now (someone else removed it): the permission set exists, so "not found" is the assignment.
        if (awsErrorName(error) === 'ResourceNotFoundException') return { removed: false };
        throw error;
      }
      await this.awaitOperation('deletion', target, status, action);
      this.logger.info({ requestId: spec.requestId, accountId: target.accountId, permissionSetArn: target.permissionSetArn }, 'aws assignment deleted');
      return { removed: true };
    });
  }

  /**
   * Reads only: the permission set exists in the instance, its sessions end no later than the role's
   * longest grant, and the person has an Identity Center user.
   */
  async check(spec: GrantSpec, role: { readonly maxDurationMinutes: number }): Promise<void> {
    const target = this.target(spec.target);
    const { ssoAdmin } = this.clients(target);
    const described = await this.run(`reading permission set ${target.permissionSetArn}`, async () => {
      try {
        return await this.send(() => ssoAdmin.send(new DescribePermissionSetCommand({ InstanceArn: target.instanceArn, PermissionSetArn: target.permissionSetArn })));
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
        throw new ProviderError('misconfigured', AWS_KIND, `permission set ${target.permissionSetArn} does not exist in Identity Center instance ${target.instanceArn}`, { cause: error });
      }
    });
    const written = described.PermissionSet?.SessionDuration ?? DEFAULT_SESSION_DURATION;
    const sessionMinutes = isoDurationMinutes(written);
    const name = described.PermissionSet?.Name ? `"${described.PermissionSet.Name}" (${target.permissionSetArn})` : target.permissionSetArn;
    if (sessionMinutes === undefined) {
      throw new ProviderError('misconfigured', AWS_KIND, `permission set ${name} has a session duration AWS wrote as ${JSON.stringify(written).slice(0, 30)}, which is not an ISO-8601 duration`);
    }
    if (sessionMinutes > role.maxDurationMinutes) {
      const fix =
        role.maxDurationMinutes < SHORTEST_SESSION_MINUTES
          ? `AWS allows no session shorter than 1h, so give the role a maxDuration of at least 1h`
          : `set the permission set's session duration to at most ${formatMinutes(role.maxDurationMinutes)} (aws sso-admin update-permission-set --session-duration ${isoOf(role.maxDurationMinutes)}, then provision it), or raise the role's maxDuration`;
      throw new ProviderError(
        'misconfigured',
        AWS_KIND,
        `permission set ${name} keeps AWS sessions for ${formatMinutes(sessionMinutes)} (SessionDuration ${written}), longer than the role's maxDuration of ${formatMinutes(role.maxDurationMinutes)}; AWS cannot end a session early, so access could outlive the grant: ${fix}`,
      );
    }
    await this.run(`looking up ${spec.principal} in identity store ${target.identityStoreId}`, async () => {
      const override = this.options.resolvePrincipal(spec.principal);
      if (override === undefined) {
        await this.userId(spec.principal, target);
        return;
      }
      const { identityStore } = this.clients(target);
      try {
        await this.send(() => identityStore.send(new DescribeUserCommand({ IdentityStoreId: target.identityStoreId, UserId: override })));
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
        throw new ProviderError(
          'refused',
          AWS_KIND,
          `${spec.principal} has no IAM Identity Center user ${override} (named in the policy's identities) in identity store ${target.identityStoreId}`,
          { cause: error },
        );
      }
    });
  }

  /**
   * The USER assignments of each distinct (instance, account, permission set) among `roles`, one
   * entry per role naming that target. NB: AWS does not record who made an assignment: assignments
   * an administrator made by hand are listed too, and group assignments are left out.
   */
  async listGranted(roles: readonly { readonly role: string; readonly target: Readonly<Record<string, string>> }[]): Promise<readonly ProviderAccess[]> {
    const groups = new Map<string, { target: AwsTarget; roles: string[] }>();
    for (const { role, target: raw } of roles) {
      const target = this.target(raw);
      const key = [target.region ?? '', target.instanceArn, target.accountId, target.permissionSetArn].join('\n');
      const group = groups.get(key);
      if (group) group.roles.push(role);
      else groups.set(key, { target, roles: [role] });
    }
    const found: ProviderAccess[] = [];
    for (const { target, roles: names } of groups.values()) {
      const principals = await this.run(`listing assignments of ${where(target)}`, () => this.assignedUsers(target));
      for (const role of names) {
        for (const principal of principals) {
          found.push({ role, principal, detail: `Identity Center user ${principal} holds permission set ${target.permissionSetArn} in account ${target.accountId}` });
        }
      }
    }
    return found;
  }

  async close(): Promise<void> {
    for (const clients of this.clientsByRegion.values()) {
      clients.ssoAdmin.destroy();
      clients.identityStore.destroy();
    }
    this.clientsByRegion.clear();
  }

  private target(raw: Readonly<Record<string, string>>): AwsTarget {
    const parsed = parseAwsTarget(raw);
    if (!parsed.ok) {
      throw new ProviderError('misconfigured', AWS_KIND, `the role's aws target is invalid: ${parsed.problems.map((p) => `target.${p.key} ${p.message}`).join('; ')}`);
    }
    return parsed.value;
  }

  /** The person's Identity Center user id: the policy's override, else found by e-mail (hits cached 5 minutes, misses never). */
  private async userId(who: Email, target: AwsTarget): Promise<string> {
    const override = this.options.resolvePrincipal(who);
    if (override !== undefined) return override;
    const cached = this.users.get(target.identityStoreId, who);
    if (cached !== undefined) return cached;
    const { identityStore } = this.clients(target);
    try {
      // NB: the Identity Store API accepts only `userName` and `emails.value` as unique attributes;
      // the value is matched as stored, so the store must hold the address as the chat platform
      // reports it (lower case: Email is lower-cased on construction).
      const found = await this.send(() =>
        identityStore.send(
          new GetUserIdCommand({
            IdentityStoreId: target.identityStoreId,
            AlternateIdentifier: { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: who } },
          }),
        ),
      );
      if (!found.UserId) throw new ProviderError('unavailable', AWS_KIND, `identity store ${target.identityStoreId} answered GetUserId without a UserId`);
      this.users.set(target.identityStoreId, who, found.UserId);
      return found.UserId;
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
      throw new ProviderError(
        'refused',
        AWS_KIND,
        `${who} has no IAM Identity Center user with that e-mail in identity store ${target.identityStoreId}; add one, or name their user id under identities in the policy`,
        { cause: error },
      );
    }
  }

  private async isAssigned(target: AwsTarget, userId: string): Promise<boolean> {
    return (await this.assignedUsers(target)).includes(userId);
  }

  private async assignedUsers(target: AwsTarget): Promise<string[]> {
    const { ssoAdmin } = this.clients(target);
    const users: string[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.send(() =>
        ssoAdmin.send(new ListAccountAssignmentsCommand({ ...listOf(target), MaxResults: PAGE_SIZE, ...(token ? { NextToken: token } : {}) })),
      );
      for (const assignment of page.AccountAssignments ?? []) {
        if (assignment.PrincipalType === 'USER' && assignment.PrincipalId && assignment.PermissionSetArn === target.permissionSetArn) users.push(assignment.PrincipalId);
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    return users;
  }

  /** Polls the asynchronous operation until AWS says SUCCEEDED (returns) or FAILED (a permanent refusal with AWS's reason). */
  private async awaitOperation(operation: Operation, target: AwsTarget, first: AccountAssignmentOperationStatus | undefined, action: string): Promise<void> {
    const requestId = first?.RequestId;
    let status = first;
    let waitedMs = 0;
    for (let poll = 0; ; poll++) {
      if (status?.Status === 'SUCCEEDED') return;
      if (status?.Status === 'FAILED') {
        throw new ProviderError('refused', AWS_KIND, `${action}: AWS reports the ${operation} FAILED: ${(status.FailureReason ?? 'no reason given').slice(0, 300)}`);
      }
      if (requestId === undefined) throw new ProviderError('unavailable', AWS_KIND, `${action}: AWS answered without an operation request id to follow`);
      const delay = this.pollDelaysMs[poll];
      if (delay === undefined) {
        throw new ProviderError(
          'unavailable',
          AWS_KIND,
          `${action}: the ${operation} (AWS request ${requestId}) was still ${status?.Status ?? 'pending'} after ${Math.round(waitedMs / 1000)} s; the next attempt checks again`,
        );
      }
      await this.sleep(delay);
      waitedMs += delay;
      status = await this.describeOperation(operation, target, requestId);
    }
  }

  private async describeOperation(operation: Operation, target: AwsTarget, requestId: string): Promise<AccountAssignmentOperationStatus | undefined> {
    const { ssoAdmin } = this.clients(target);
    if (operation === 'creation') {
      const out = await this.send(() =>
        ssoAdmin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: target.instanceArn, AccountAssignmentCreationRequestId: requestId })),
      );
      return out.AccountAssignmentCreationStatus;
    }
    const out = await this.send(() =>
      ssoAdmin.send(new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: target.instanceArn, AccountAssignmentDeletionRequestId: requestId })),
    );
    return out.AccountAssignmentDeletionStatus;
  }

  /** One SDK call, retried while AWS throttles it (bounded); any other error comes back as it was. */
  private send<T>(call: () => Promise<T>): Promise<T> {
    return retryWhile(call, isThrottling, this.throttleRetry, {
      sleep: this.sleep,
      random: this.random,
      onRetry: (error, retry, delayMs) => this.logger.warn({ retry, delayMs, error: awsErrorName(error) }, 'aws throttled the bot; retrying'),
    });
  }

  /** Runs one provider operation, turning whatever the SDK threw into a `ProviderError` that names the action. */
  private async run<T>(action: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw classifyAwsError(error, action, new Date(this.now()));
    }
  }

  private clients(target: AwsTarget): Clients {
    const region = target.region ?? this.options.region;
    const key = region ?? '';
    let clients = this.clientsByRegion.get(key);
    if (clients === undefined) {
      const common = {
        ...(region ? { region } : {}),
        ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
        // NB: the SDK's own retries are off: `send` is the one bounded retry loop (see backoff.ts).
        maxAttempts: 1,
        requestHandler: {
          connectionTimeout: this.options.connectTimeoutMs ?? 5_000,
          requestTimeout: this.options.requestTimeoutMs ?? 30_000,
          throwOnRequestTimeout: true,
        },
      };
      // NB: `endpoint` is only set when given: an explicit `endpoint: undefined` would still count as
      // set, and the SDK would stop reading AWS_ENDPOINT_URL_SSO_ADMIN / _IDENTITYSTORE.
      const ssoAdminEndpoint = this.options.endpoints?.ssoAdmin;
      const identityStoreEndpoint = this.options.endpoints?.identityStore;
      clients = {
        ssoAdmin: new SSOAdminClient({ ...common, ...(ssoAdminEndpoint ? { endpoint: ssoAdminEndpoint } : {}) }),
        identityStore: new IdentitystoreClient({ ...common, ...(identityStoreEndpoint ? { endpoint: identityStoreEndpoint } : {}) }),
      };
      this.clientsByRegion.set(key, clients);
    }
    return clients;
  }
}

/**
 * Builds the AWS provider from the environment: pacing limits from `PROD_ACCESS_AWS_CONCURRENCY` and
 * `PROD_ACCESS_AWS_CALLS_PER_SECOND`, credentials and endpoints from the SDK's default chain. Throws
 * `ProviderError('misconfigured')` naming every bad variable.
 */
export function createAwsIamProvider(options: AwsIamProviderOptions): AwsIamProvider {
  const limits = awsLimitsFrom(options.env);
  const problems = [...(limits.ok ? [] : limits.problems), ...awsEndpointProblems(options.env)];
  if (!limits.ok || problems.length > 0) {
    throw new ProviderError('misconfigured', AWS_KIND, `bad AWS provider settings: ${problems.join('; ')}`);
  }
  return new AwsIamProvider(options, limits.value);
}

function assignmentOf(target: AwsTarget) {
  return {
    InstanceArn: target.instanceArn,
    TargetId: target.accountId,
    TargetType: 'AWS_ACCOUNT' as const,
    PermissionSetArn: target.permissionSetArn,
  };
}

function listOf(target: AwsTarget) {
  return { InstanceArn: target.instanceArn, AccountId: target.accountId, PermissionSetArn: target.permissionSetArn };
}

function where(target: AwsTarget): string {
  return `permission set ${target.permissionSetArn} in account ${target.accountId}`;
}

function isoOf(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `PT${hours > 0 ? `${hours}H` : ''}${rest > 0 ? `${rest}M` : ''}`;
}
