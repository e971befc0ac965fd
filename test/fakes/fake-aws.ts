/**
 * A local stand-in for AWS IAM Identity Center: the SSO Admin API (`X-Amz-Target:
 * SWBExternalService.<Op>`) and the Identity Store API (`AWSIdentityStore.<Op>`), both AWS JSON 1.1,
 * on one port, for the real `@aws-sdk/client-sso-admin` and `@aws-sdk/client-identitystore` clients.
 *
 * It behaves as the documented API does, not as an echo:
 * - requests must be signed (an `Authorization: AWS4-HMAC-SHA256 Credential=…/<region>/<service>/aws4_request`
 *   header, service `sso` or `identitystore` to match the target); unsigned ones get 403
 *   MissingAuthenticationTokenException, a wrong service 403 InvalidSignatureException;
 * - account assignments are created and deleted asynchronously: Create/Delete answer `IN_PROGRESS`
 *   with a request id, the status describes answer `IN_PROGRESS` for the first `pendingDescribes`
 *   calls, then `SUCCEEDED` (the assignment appears or disappears then) or `FAILED` with a
 *   `FailureReason` (for a principal told to fail, or one its identity store does not hold);
 * - a create of an assignment that exists, or with an operation on it in progress, is a
 *   ConflictException; a delete of one that does not exist is a ResourceNotFoundException, as is any
 *   unknown instance, permission set, user or request id;
 * - `ListAccountAssignments` pages (`MaxResults`, `NextToken`); `GetUserId` supports only the
 *   unique attributes `userName` and `emails.value` (and `ExternalId`), as the API reference says.
 *
 * In-process: `const fake = await startFakeAws({ seed })`, then `fake.url`, `fake.requests`,
 * `fake.state()`, `fake.failNext({ kind: 'throttle' | 'outage' | 'error', … })`,
 * `fake.failAssignmentFor(userId, reason)`, `fake.close()`.
 *
 * As a process: `node --import tsx test/fakes/fake-aws.ts [--port 0] [--seed seed.json]` prints
 * `{"listening": <port>}` on one line when ready and serves on 127.0.0.1 until SIGTERM. Over HTTP:
 * - `GET /__fake/state`: users, permission sets, assignments, operations (JSON);
 * - `GET /__fake/requests`: every API request received;
 * - `POST /__fake/seed` with a `FakeAwsSeed` body: adds instances, users, permission sets, assignments;
 * - `POST /__fake/fail` with a `FakeAwsFailure` body: the next N calls fail that way;
 * - `POST /__fake/fail-assignment` with `{ "principalId": "…", "reason": "…" }`: that user's next operations end FAILED;
 * - `POST /__fake/settings` with `{ "pendingDescribes": K, "pageSize": N }`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface FakeAwsSeed {
  readonly instances?: readonly { readonly instanceArn: string; readonly identityStoreId: string }[];
  readonly users?: readonly { readonly identityStoreId: string; readonly userId?: string; readonly userName: string; readonly email?: string; readonly displayName?: string }[];
  /** `sessionDuration` absent: DescribePermissionSet answers without one (AWS's default is PT1H). */
  readonly permissionSets?: readonly { readonly permissionSetArn: string; readonly name?: string; readonly sessionDuration?: string }[];
  readonly assignments?: readonly FakeAssignment[];
}

export interface FakeAssignment {
  readonly instanceArn: string;
  readonly accountId: string;
  readonly permissionSetArn: string;
  readonly principalType: 'USER' | 'GROUP';
  readonly principalId: string;
}

/** What the next `count` API calls (optionally only of operation `op`) answer instead. */
export interface FakeAwsFailure {
  /** `throttle`: 400 ThrottlingException; `outage`: 500 InternalServerException (or `status`); `error`: `status` (400) with `type`. */
  readonly kind: 'throttle' | 'outage' | 'error';
  readonly count?: number;
  readonly op?: string;
  readonly status?: number;
  readonly type?: string;
  readonly message?: string;
  /** Seconds, sent as a `Retry-After` header. */
  readonly retryAfterSeconds?: number;
}

export interface FakeAwsRequest {
  readonly method: string;
  readonly path: string;
  /** The whole `X-Amz-Target` header. */
  readonly target: string;
  /** The operation name (`CreateAccountAssignment`). */
  readonly op: string;
  readonly body: Record<string, unknown>;
  /** The service in the signature's credential scope (`sso`, `identitystore`), undefined when unsigned. */
  readonly signedFor: string | undefined;
  /** The region in the signature's credential scope. */
  readonly region: string | undefined;
}

interface Operation {
  readonly requestId: string;
  readonly kind: 'creation' | 'deletion';
  readonly assignment: FakeAssignment;
  describesLeft: number;
  status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  readonly outcome: 'SUCCEEDED' | 'FAILED';
  readonly failureReason: string | undefined;
  readonly createdDate: number;
}

export interface FakeAwsState {
  readonly instances: { instanceArn: string; identityStoreId: string }[];
  readonly users: { identityStoreId: string; userId: string; userName: string; email?: string }[];
  readonly permissionSets: { permissionSetArn: string; name: string; sessionDuration?: string }[];
  readonly assignments: FakeAssignment[];
  readonly operations: { requestId: string; kind: string; status: string; principalId: string; failureReason?: string }[];
}

export interface FakeAwsOptions {
  readonly port?: number;
  readonly seed?: FakeAwsSeed;
  /** How many status describes answer IN_PROGRESS before the operation ends (default 1). */
  readonly pendingDescribes?: number;
  /** The most assignments one ListAccountAssignments page holds (default 100, AWS's maximum). */
  readonly pageSize?: number;
}

export interface FakeAws {
  readonly url: string;
  readonly port: number;
  readonly requests: FakeAwsRequest[];
  state(): FakeAwsState;
  seed(seed: FakeAwsSeed): void;
  failNext(failure: FakeAwsFailure): void;
  /** Operations on this principal's assignments end FAILED with `reason` until cleared with `undefined`. */
  failAssignmentFor(principalId: string, reason: string | undefined): void;
  settings(settings: { pendingDescribes?: number; pageSize?: number }): void;
  /** Whether the assignment exists now (operations in progress not counted). */
  hasAssignment(assignment: Omit<FakeAssignment, 'principalType'> & { principalType?: 'USER' | 'GROUP' }): boolean;
  /** Requests of one operation, in order. */
  calls(op: string): FakeAwsRequest[];
  close(): Promise<void>;
}

class AwsFault extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const SERVICES: Readonly<Record<string, string>> = { SWBExternalService: 'sso', AWSIdentityStore: 'identitystore' };
const ACCOUNT_ID = /^\d{12}$/;

class FakeAwsServer {
  readonly requests: FakeAwsRequest[] = [];
  private readonly instances = new Map<string, string>();
  private readonly users = new Map<string, { identityStoreId: string; userId: string; userName: string; email?: string; displayName?: string }>();
  private readonly permissionSets = new Map<string, { name: string; sessionDuration?: string; createdDate: number }>();
  private assignments: FakeAssignment[] = [];
  private readonly operations = new Map<string, Operation>();
  private readonly failures: (FakeAwsFailure & { left: number })[] = [];
  private readonly failingPrincipals = new Map<string, string>();
  pendingDescribes: number;
  pageSize: number;

  constructor(options: FakeAwsOptions) {
    this.pendingDescribes = options.pendingDescribes ?? 1;
    this.pageSize = options.pageSize ?? 100;
    if (options.seed) this.seed(options.seed);
  }

  seed(seed: FakeAwsSeed): void {
    for (const instance of seed.instances ?? []) this.instances.set(instance.instanceArn, instance.identityStoreId);
    for (const user of seed.users ?? []) {
      const userId = user.userId ?? randomUUID();
      this.users.set(userId, { ...user, userId });
    }
    for (const set of seed.permissionSets ?? []) {
      this.permissionSets.set(set.permissionSetArn, {
        name: set.name ?? set.permissionSetArn.split('/').pop() ?? 'set',
        ...(set.sessionDuration !== undefined ? { sessionDuration: set.sessionDuration } : {}),
        createdDate: 1_700_000_000,
      });
    }
    for (const assignment of seed.assignments ?? []) if (!this.findAssignment(assignment)) this.assignments.push({ ...assignment });
  }

  failNext(failure: FakeAwsFailure): void {
    this.failures.push({ ...failure, left: failure.count ?? 1 });
  }

  failAssignmentFor(principalId: string, reason: string | undefined): void {
    if (reason === undefined) this.failingPrincipals.delete(principalId);
    else this.failingPrincipals.set(principalId, reason);
  }

  state(): FakeAwsState {
    return {
      instances: [...this.instances].map(([instanceArn, identityStoreId]) => ({ instanceArn, identityStoreId })),
      users: [...this.users.values()].map((u) => ({ identityStoreId: u.identityStoreId, userId: u.userId, userName: u.userName, ...(u.email ? { email: u.email } : {}) })),
      permissionSets: [...this.permissionSets].map(([permissionSetArn, s]) => ({
        permissionSetArn,
        name: s.name,
        ...(s.sessionDuration !== undefined ? { sessionDuration: s.sessionDuration } : {}),
      })),
      assignments: this.assignments.map((a) => ({ ...a })),
      operations: [...this.operations.values()].map((o) => ({
        requestId: o.requestId,
        kind: o.kind,
        status: o.status,
        principalId: o.assignment.principalId,
        ...(o.failureReason !== undefined && o.status === 'FAILED' ? { failureReason: o.failureReason } : {}),
      })),
    };
  }

  findAssignment(a: Omit<FakeAssignment, 'principalType'> & { principalType?: string }): FakeAssignment | undefined {
    return this.assignments.find(
      (x) =>
        x.instanceArn === a.instanceArn &&
        x.accountId === a.accountId &&
        x.permissionSetArn === a.permissionSetArn &&
        x.principalId === a.principalId &&
        (a.principalType === undefined || x.principalType === a.principalType),
    );
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = req.url ?? '/';
    if (url.startsWith('/__fake/')) return this.control(req.method ?? 'GET', url, raw, res);
    const target = header(req, 'x-amz-target') ?? '';
    const [prefix, op = ''] = target.split('.');
    let body: Record<string, unknown> = {};
    try {
      body = raw.length > 0 ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return send(res, 400, { __type: 'SerializationException', Message: 'body is not JSON' });
    }
    const authorization = header(req, 'authorization');
    const scope = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(authorization ?? '');
    this.requests.push({ method: req.method ?? '', path: url, target, op, body, signedFor: scope?.[2], region: scope?.[1] });
    try {
      if (req.method !== 'POST') throw new AwsFault(404, 'UnknownOperationException', 'only POST');
      if (!scope) throw new AwsFault(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      const service = prefix !== undefined ? SERVICES[prefix] : undefined;
      if (service === undefined) throw new AwsFault(400, 'UnknownOperationException', `unknown target ${target}`);
      if (scope[2] !== service) throw new AwsFault(403, 'InvalidSignatureException', `Credential should be scoped to correct service: '${service}'.`);
      if (!(header(req, 'content-type') ?? '').startsWith('application/x-amz-json-1.1')) throw new AwsFault(400, 'SerializationException', 'expected application/x-amz-json-1.1');
      this.injectedFailure(op);
      const answer = service === 'sso' ? this.ssoAdmin(op, body) : this.identityStore(op, body);
      send(res, 200, answer);
    } catch (error) {
      if (error instanceof AwsFault) return send(res, error.status, { __type: error.type, Message: error.message }, error.headers);
      send(res, 500, { __type: 'InternalServerException', Message: String(error) });
    }
  }

  private injectedFailure(op: string): void {
    const index = this.failures.findIndex((f) => f.op === undefined || f.op === op);
    const failure = index >= 0 ? this.failures[index] : undefined;
    if (failure === undefined) return;
    failure.left -= 1;
    if (failure.left <= 0) this.failures.splice(index, 1);
    const headers: Record<string, string> = failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
    switch (failure.kind) {
      case 'throttle':
        throw new AwsFault(failure.status ?? 400, failure.type ?? 'ThrottlingException', failure.message ?? 'Rate exceeded', headers);
      case 'outage':
        throw new AwsFault(failure.status ?? 500, failure.type ?? 'InternalServerException', failure.message ?? 'We encountered an internal error. Please try again.', headers);
      case 'error':
        throw new AwsFault(failure.status ?? 400, failure.type ?? 'ValidationException', failure.message ?? 'injected error', headers);
    }
  }

  private ssoAdmin(op: string, body: Record<string, unknown>): unknown {
    switch (op) {
      case 'CreateAccountAssignment':
      case 'DeleteAccountAssignment': {
        const assignment = this.assignmentIn(body);
        const busy = [...this.operations.values()].some((o) => o.status === 'IN_PROGRESS' && sameAssignment(o.assignment, assignment));
        if (op === 'CreateAccountAssignment') {
          if (busy || this.findAssignment(assignment)) throw new AwsFault(400, 'ConflictException', 'Request already exists or is in progress for this assignment.');
        } else {
          if (busy) throw new AwsFault(400, 'ConflictException', 'An operation on this assignment is in progress.');
          if (!this.findAssignment(assignment)) throw new AwsFault(400, 'ResourceNotFoundException', 'Assignment does not exist.');
        }
        const identityStoreId = this.instances.get(assignment.instanceArn);
        const known = assignment.principalType === 'GROUP' || this.users.get(assignment.principalId)?.identityStoreId === identityStoreId;
        const reason = this.failingPrincipals.get(assignment.principalId) ?? (known ? undefined : 'Received a 404 status error: Principal does not exist.');
        const operation: Operation = {
          requestId: randomUUID(),
          kind: op === 'CreateAccountAssignment' ? 'creation' : 'deletion',
          assignment,
          describesLeft: this.pendingDescribes,
          status: 'IN_PROGRESS',
          outcome: reason === undefined ? 'SUCCEEDED' : 'FAILED',
          failureReason: reason,
          createdDate: Math.floor(Date.now() / 1000),
        };
        this.operations.set(operation.requestId, operation);
        const key = op === 'CreateAccountAssignment' ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus';
        return { [key]: statusOf(operation) };
      }
      case 'DescribeAccountAssignmentCreationStatus':
      case 'DescribeAccountAssignmentDeletionStatus': {
        const creation = op === 'DescribeAccountAssignmentCreationStatus';
        this.instanceIn(body);
        const id = requiredString(body, creation ? 'AccountAssignmentCreationRequestId' : 'AccountAssignmentDeletionRequestId');
        const operation = this.operations.get(id);
        if (!operation || operation.kind !== (creation ? 'creation' : 'deletion')) throw new AwsFault(400, 'ResourceNotFoundException', `request ${id} not found`);
        if (operation.status === 'IN_PROGRESS') {
          if (operation.describesLeft > 0) operation.describesLeft -= 1;
          else this.finish(operation);
        }
        return { [creation ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus']: statusOf(operation) };
      }
      case 'ListAccountAssignments': {
        const instanceArn = this.instanceIn(body);
        const accountId = requiredString(body, 'AccountId');
        const permissionSetArn = this.permissionSetIn(body, instanceArn);
        const max = Math.min(typeof body['MaxResults'] === 'number' ? body['MaxResults'] : this.pageSize, this.pageSize);
        const all = this.assignments.filter((a) => a.instanceArn === instanceArn && a.accountId === accountId && a.permissionSetArn === permissionSetArn);
        const start = typeof body['NextToken'] === 'string' ? Number(Buffer.from(body['NextToken'], 'base64url').toString()) : 0;
        if (!Number.isInteger(start) || start < 0) throw new AwsFault(400, 'ValidationException', 'invalid NextToken');
        const page = all.slice(start, start + max);
        const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
        return {
          AccountAssignments: page.map((a) => ({ AccountId: a.accountId, PermissionSetArn: a.permissionSetArn, PrincipalType: a.principalType, PrincipalId: a.principalId })),
          ...(next ? { NextToken: next } : {}),
        };
      }
      case 'DescribePermissionSet': {
        const instanceArn = this.instanceIn(body);
        const permissionSetArn = this.permissionSetIn(body, instanceArn);
        const set = this.permissionSets.get(permissionSetArn);
        return {
          PermissionSet: {
            Name: set?.name,
            PermissionSetArn: permissionSetArn,
            CreatedDate: set?.createdDate,
            ...(set?.sessionDuration !== undefined ? { SessionDuration: set.sessionDuration } : {}),
          },
        };
      }
      default:
        throw new AwsFault(400, 'UnknownOperationException', `SWBExternalService.${op} is not served by this fake`);
    }
  }

  private identityStore(op: string, body: Record<string, unknown>): unknown {
    const identityStoreId = requiredString(body, 'IdentityStoreId');
    if (![...this.instances.values()].includes(identityStoreId)) throw new AwsFault(400, 'ResourceNotFoundException', `identity store ${identityStoreId} not found`);
    const inStore = [...this.users.values()].filter((u) => u.identityStoreId === identityStoreId);
    switch (op) {
      case 'GetUserId': {
        const alternate = body['AlternateIdentifier'] as { UniqueAttribute?: { AttributePath?: unknown; AttributeValue?: unknown }; ExternalId?: unknown } | undefined;
        const unique = alternate?.UniqueAttribute;
        if (!unique) throw new AwsFault(400, 'ValidationException', 'AlternateIdentifier.UniqueAttribute is required by this fake');
        const value = unique.AttributeValue;
        let user;
        if (unique.AttributePath === 'emails.value') user = inStore.find((u) => u.email === value);
        else if (unique.AttributePath === 'userName') user = inStore.find((u) => u.userName.toLowerCase() === String(value).toLowerCase());
        else throw new AwsFault(400, 'ValidationException', 'the only valid paths are userName and emails.value');
        if (!user) throw new AwsFault(400, 'ResourceNotFoundException', 'USER not found.');
        return { IdentityStoreId: identityStoreId, UserId: user.userId };
      }
      case 'DescribeUser': {
        const userId = requiredString(body, 'UserId');
        const user = inStore.find((u) => u.userId === userId);
        if (!user) throw new AwsFault(400, 'ResourceNotFoundException', 'USER not found.');
        return {
          IdentityStoreId: identityStoreId,
          UserId: user.userId,
          UserName: user.userName,
          DisplayName: user.displayName ?? user.userName,
          ...(user.email ? { Emails: [{ Value: user.email, Type: 'work', Primary: true }] } : {}),
        };
      }
      default:
        throw new AwsFault(400, 'UnknownOperationException', `AWSIdentityStore.${op} is not served by this fake`);
    }
  }

  private finish(operation: Operation): void {
    operation.status = operation.outcome;
    if (operation.outcome !== 'SUCCEEDED') return;
    if (operation.kind === 'creation') {
      if (!this.findAssignment(operation.assignment)) this.assignments.push(operation.assignment);
    } else {
      this.assignments = this.assignments.filter((a) => !sameAssignment(a, operation.assignment));
    }
  }

  private instanceIn(body: Record<string, unknown>): string {
    const instanceArn = requiredString(body, 'InstanceArn');
    if (!this.instances.has(instanceArn)) throw new AwsFault(400, 'ResourceNotFoundException', `instance ${instanceArn} not found`);
    return instanceArn;
  }

  private permissionSetIn(body: Record<string, unknown>, instanceArn: string): string {
    const permissionSetArn = requiredString(body, 'PermissionSetArn');
    const instanceId = instanceArn.split('/').pop();
    if (!this.permissionSets.has(permissionSetArn) || permissionSetArn.split('/')[1] !== instanceId) {
      throw new AwsFault(400, 'ResourceNotFoundException', `Could not find PermissionSet with ARN ${permissionSetArn}`);
    }
    return permissionSetArn;
  }

  private assignmentIn(body: Record<string, unknown>): FakeAssignment {
    const instanceArn = this.instanceIn(body);
    const permissionSetArn = this.permissionSetIn(body, instanceArn);
    const accountId = requiredString(body, 'TargetId');
    if (!ACCOUNT_ID.test(accountId)) throw new AwsFault(400, 'ValidationException', 'TargetId must be a 12-digit account id');
    if (body['TargetType'] !== 'AWS_ACCOUNT') throw new AwsFault(400, 'ValidationException', 'TargetType must be AWS_ACCOUNT');
    const principalType = body['PrincipalType'];
    if (principalType !== 'USER' && principalType !== 'GROUP') throw new AwsFault(400, 'ValidationException', 'PrincipalType must be USER or GROUP');
    return { instanceArn, accountId, permissionSetArn, principalType, principalId: requiredString(body, 'PrincipalId') };
  }

  private control(method: string, url: string, raw: string, res: http.ServerResponse): void {
    try {
      const body = raw.length > 0 ? (JSON.parse(raw) as Record<string, unknown>) : {};
      if (method === 'GET' && url === '/__fake/state') return send(res, 200, this.state());
      if (method === 'GET' && url === '/__fake/requests') return send(res, 200, this.requests);
      if (method === 'POST' && url === '/__fake/seed') {
        this.seed(body as FakeAwsSeed);
        return send(res, 200, this.state());
      }
      if (method === 'POST' && url === '/__fake/fail') {
        const kind = body['kind'];
        if (kind !== 'throttle' && kind !== 'outage' && kind !== 'error') return send(res, 400, { error: 'kind must be throttle, outage or error' });
        this.failNext(body as unknown as FakeAwsFailure);
        return send(res, 200, { ok: true });
      }
      if (method === 'POST' && url === '/__fake/fail-assignment') {
        this.failAssignmentFor(String(body['principalId']), typeof body['reason'] === 'string' ? body['reason'] : undefined);
        return send(res, 200, { ok: true });
      }
      if (method === 'POST' && url === '/__fake/settings') {
        if (typeof body['pendingDescribes'] === 'number') this.pendingDescribes = body['pendingDescribes'];
        if (typeof body['pageSize'] === 'number') this.pageSize = body['pageSize'];
        return send(res, 200, { ok: true });
      }
      send(res, 404, { error: `no ${method} ${url}` });
    } catch (error) {
      send(res, 400, { error: String(error) });
    }
  }
}

/** Starts the fake on 127.0.0.1 (port 0 unless told). */
export async function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  const fake = new FakeAwsServer(options);
  const server = http.createServer((req, res) => void fake.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: fake.requests,
    state: () => fake.state(),
    seed: (seed) => fake.seed(seed),
    failNext: (failure) => fake.failNext(failure),
    failAssignmentFor: (principalId, reason) => fake.failAssignmentFor(principalId, reason),
    settings: (settings) => {
      if (settings.pendingDescribes !== undefined) fake.pendingDescribes = settings.pendingDescribes;
      if (settings.pageSize !== undefined) fake.pageSize = settings.pageSize;
    },
    hasAssignment: (assignment) => fake.findAssignment(assignment) !== undefined,
    calls: (op) => fake.requests.filter((r) => r.op === op),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function statusOf(operation: Operation): Record<string, unknown> {
  return {
    Status: operation.status,
    RequestId: operation.requestId,
    TargetId: operation.assignment.accountId,
    TargetType: 'AWS_ACCOUNT',
    PermissionSetArn: operation.assignment.permissionSetArn,
    PrincipalType: operation.assignment.principalType,
    PrincipalId: operation.assignment.principalId,
    CreatedDate: operation.createdDate,
    ...(operation.status === 'FAILED' && operation.failureReason !== undefined ? { FailureReason: operation.failureReason } : {}),
  };
}

function sameAssignment(a: FakeAssignment, b: FakeAssignment): boolean {
  return a.instanceArn === b.instanceArn && a.accountId === b.accountId && a.permissionSetArn === b.permissionSetArn && a.principalType === b.principalType && a.principalId === b.principalId;
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw new AwsFault(400, 'ValidationException', `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`);
  return value;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const type = (body as { __type?: unknown } | null)?.__type;
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(typeof type === 'string' ? { 'x-amzn-errortype': type } : {}),
    ...headers,
  });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const portAt = argv.indexOf('--port');
  const seedAt = argv.indexOf('--seed');
  const port = portAt >= 0 ? Number(argv[portAt + 1]) : 0;
  const seedFile = seedAt >= 0 ? argv[seedAt + 1] : undefined;
  const seed = seedFile ? (JSON.parse(readFileSync(seedFile, 'utf8')) as FakeAwsSeed) : undefined;
  const fake = await startFakeAws({ port, ...(seed ? { seed } : {}) });
  process.stdout.write(`${JSON.stringify({ listening: fake.port })}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// NB: run as a process only when this file is the entry point, never when a test imports it.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === __filename) {
  void main(process.argv.slice(2));
}
