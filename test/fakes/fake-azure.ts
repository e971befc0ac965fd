/**
 * A local stand-in for the parts of Azure that the `azure` IAM provider calls: ARM's PIM role
 * assignment schedule requests and schedules (api-version 2020-10-01), role definitions, Microsoft
 * Graph users, and an Entra-style token endpoint. It answers as the documented API does, not as an
 * echo: one assignment per (principal, role definition, scope); `RoleAssignmentExists` on a second
 * AdminAssign; `RoleAssignmentDoesNotExist` on removing or updating what is not there;
 * `ActiveDurationTooShort` on AdminRemove within 5 minutes of the assignment's start; the
 * `ExpirationRule` refusal of an assignment shorter than 5 minutes ("Assignments must have a minimum
 * duration of five minutes. It can't be removed within five minutes of it being assigned", Microsoft's
 * PIM assignment pages; both minimums are settings, for tests that cannot wait 5 minutes);
 * `RoleAssignmentRequestExists` when a request name is used twice; assignments end by themselves at
 * their end time (on the fake's own clock, which tests move forward).
 *
 * Served over HTTPS only (the Azure SDK refuses to send a bearer token over plain http), with a
 * self-signed certificate for 127.0.0.1 made with `openssl` at start; `ca` / `caFile` give it to
 * the client (`tlsCa` in the provider's options, or `NODE_EXTRA_CA_CERTS=<caFile>` for a child process).
 *
 * In-process:
 *   const fake = await startFakeAzure({ users: [...], roleDefinitions: [...] });
 *   fake.url, fake.ca, fake.requests, fake.liveAssignments(), fake.advance(ms), fake.failNext(n, failure), await fake.close()
 *
 * As a process (the end-to-end tests):
 *   node --import tsx test/fakes/fake-azure.ts [--port 0] [--seed seed.json]
 * prints one line `{"listening":<port>,"caFile":"<path of the PEM certificate>"}` when ready and serves
 * until SIGTERM. Control endpoints (JSON bodies):
 *   GET  /__fake/state                       clock, live assignments, schedule requests, recorded requests
 *   POST /__fake/seed   {users?, roleDefinitions?, assignments?}   adds to the directory and state
 *   POST /__fake/fail   {count?, status, code?, message?, retryAfter?, network?, op?}  the next calls fail
 *   POST /__fake/clock  {advanceMs}          moves the fake's clock forward
 *   POST /__fake/settings {minimumActiveMs?, minimumDurationMs?}   Azure's two 5-minute rules, shortened
 * The seed file has the shape of the /__fake/seed body. Point the bot at it with
 * AZURE_RESOURCE_MANAGER_ENDPOINT=<url>, AZURE_GRAPH_ENDPOINT=<url>, AZURE_AUTHORITY_HOST=<url>.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface FakeAzureUser {
  /** Entra object id (GUID). */
  readonly id: string;
  readonly userPrincipalName: string;
  readonly mail?: string;
  readonly accountEnabled?: boolean;
}

export interface FakeRoleDefinition {
  readonly guid: string;
  readonly roleName: string;
  /** Default `['/']` (a built-in role). */
  readonly assignableScopes?: readonly string[];
}

export interface FakeAssignment {
  readonly scheduleName: string;
  readonly scope: string;
  readonly principalId: string;
  readonly roleDefinitionGuid: string;
  readonly roleDefinitionId: string;
  start: number;
  end: number | undefined;
  readonly createdOn: number;
  updatedOn: number;
  /** Full id of the schedule request that last shaped it. */
  requestId: string;
}

export interface FakeScheduleRequest {
  readonly name: string;
  readonly scope: string;
  readonly requestType: string;
  readonly status: string;
  readonly createdOn: number;
  readonly properties: Record<string, unknown>;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: Record<string, string>;
  /** What the call is: `scheduleRequests.create`, `schedules.list`, `roleDefinitions.get`, `graph.users.get`, … */
  readonly op: string;
  readonly body: Record<string, unknown> | undefined;
  readonly bearer: boolean;
}

export interface FakeAzureFailure {
  readonly status: number;
  /** ARM `error.code` (Graph too). */
  readonly code?: string;
  readonly message?: string;
  /** Seconds, sent as `Retry-After`. */
  readonly retryAfter?: number;
  /** Cut the connection instead of answering. */
  readonly network?: boolean;
  /** Only calls whose `op` starts with this fail (default: any ARM or Graph call). */
  readonly op?: string;
}

export interface FakeAzureOptions {
  readonly port?: number;
  readonly users?: readonly FakeAzureUser[];
  readonly roleDefinitions?: readonly FakeRoleDefinition[];
  /** Azure's rule is 5 minutes; 0 lets a contract suite grant and revoke back to back. */
  readonly minimumActiveMs?: number;
  /** The shortest assignment Azure accepts (ExpirationRule): 5 minutes. */
  readonly minimumDurationMs?: number;
  /** A PIM role setting "active assignment may last at most …": longer requests fail the ExpirationRule. */
  readonly maximumActiveMs?: number;
  /** The fake clock's start (default: real time). */
  readonly startMs?: number;
}

export interface FakeAzure {
  readonly url: string;
  readonly port: number;
  /** The PEM certificate to trust. */
  readonly ca: string;
  readonly caFile: string;
  readonly requests: RecordedRequest[];
  readonly scheduleRequests: Map<string, FakeScheduleRequest>;
  now(): number;
  advance(ms: number): void;
  /** Assignments that exist now (not ended, not removed). */
  liveAssignments(): FakeAssignment[];
  /** Whether the principal holds the role at the scope now (started, and not past its end). */
  hasAccess(principalId: string, scope: string, roleDefinitionGuid: string): boolean;
  assignmentOf(principalId: string, scope: string, roleDefinitionGuid: string): FakeAssignment | undefined;
  /** The next `count` matching calls fail this way. */
  failNext(count: number, failure: FakeAzureFailure): void;
  seed(seed: FakeAzureSeed): void;
  /** Changes Azure's minimum active time before a removal, and its minimum assignment duration. */
  settings(settings: FakeAzureSettings): void;
  close(): Promise<void>;
}

export interface FakeAzureSettings {
  readonly minimumActiveMs?: number;
  readonly minimumDurationMs?: number;
}

export interface FakeAzureSeed {
  readonly users?: readonly FakeAzureUser[];
  readonly roleDefinitions?: readonly FakeRoleDefinition[];
  /** Assignments that exist already (made by hand, or earlier): start/end in ms since the epoch. */
  readonly assignments?: readonly { scope: string; principalId: string; roleDefinitionGuid: string; start?: number; end?: number; justification?: string }[];
}

const PROVIDER = '/providers/Microsoft.Authorization/';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROLE_DEFINITION_ID = /^(?:\/subscriptions\/[0-9a-f-]{36}|\/providers\/Microsoft\.Management\/managementGroups\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([0-9a-f-]{36})$/i;
const REQUEST_TYPES = ['AdminAssign', 'AdminRemove', 'AdminUpdate', 'AdminExtend', 'AdminRenew', 'SelfActivate', 'SelfDeactivate', 'SelfExtend', 'SelfRenew'];

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the fake on 127.0.0.1 (port 0 by default). */
export async function startFakeAzure(options: FakeAzureOptions = {}): Promise<FakeAzure> {
  const tls = selfSignedCertificate();
  const offset = (options.startMs ?? Date.now()) - Date.now();
  let advanced = 0;
  const now = (): number => Date.now() + offset + advanced;
  let minimumActiveMs = options.minimumActiveMs ?? 5 * 60_000;
  let minimumDurationMs = options.minimumDurationMs ?? 5 * 60_000;
  const settings = (s: FakeAzureSettings): void => {
    for (const value of [s.minimumActiveMs, s.minimumDurationMs]) {
      if (value !== undefined && (!Number.isFinite(value) || value < 0)) throw new HttpFailure(400, 'FakeControl', 'settings must be milliseconds >= 0');
    }
    minimumActiveMs = s.minimumActiveMs ?? minimumActiveMs;
    minimumDurationMs = s.minimumDurationMs ?? minimumDurationMs;
  };
  const users = new Map<string, FakeAzureUser>();
  const roleDefinitions = new Map<string, FakeRoleDefinition>();
  const assignments: FakeAssignment[] = [];
  const scheduleRequests = new Map<string, FakeScheduleRequest>();
  const requests: RecordedRequest[] = [];
  const failures: { remaining: number; failure: FakeAzureFailure }[] = [];
  let tokens = 0;

  const key = (principalId: string, scope: string, guid: string) => `${principalId.toLowerCase()}|${norm(scope)}|${guid.toLowerCase()}`;
  const live = (a: FakeAssignment) => a.end === undefined || now() < a.end;
  const liveAssignments = () => assignments.filter(live);
  const assignmentOf = (principalId: string, scope: string, guid: string) => liveAssignments().find((a) => key(a.principalId, a.scope, a.roleDefinitionGuid) === key(principalId, scope, guid));

  const seed = (s: FakeAzureSeed): void => {
    for (const u of s.users ?? []) users.set(u.id.toLowerCase(), u);
    for (const r of s.roleDefinitions ?? []) roleDefinitions.set(r.guid.toLowerCase(), r);
    for (const a of s.assignments ?? []) {
      const name = randomUUID();
      const requestName = randomUUID();
      const requestId = `${a.scope}${PROVIDER}roleAssignmentScheduleRequests/${requestName}`;
      scheduleRequests.set(requestName.toLowerCase(), {
        name: requestName,
        scope: a.scope,
        requestType: 'AdminAssign',
        status: 'Provisioned',
        createdOn: a.start ?? now(),
        properties: { principalId: a.principalId, requestType: 'AdminAssign', ...(a.justification ? { justification: a.justification } : {}) },
      });
      assignments.push({
        scheduleName: name,
        scope: a.scope,
        principalId: a.principalId.toLowerCase(),
        roleDefinitionGuid: a.roleDefinitionGuid.toLowerCase(),
        roleDefinitionId: roleDefinitionIdUnder(a.scope, a.roleDefinitionGuid),
        start: a.start ?? now(),
        end: a.end,
        createdOn: a.start ?? now(),
        updatedOn: a.start ?? now(),
        requestId,
      });
    }
  };
  seed({ users: options.users ?? [], roleDefinitions: options.roleDefinitions ?? [] });

  const scheduleJson = (a: FakeAssignment) => ({
    id: `${a.scope}${PROVIDER}roleAssignmentSchedules/${a.scheduleName}`,
    name: a.scheduleName,
    type: 'Microsoft.Authorization/roleAssignmentSchedules',
    properties: {
      scope: a.scope,
      roleDefinitionId: a.roleDefinitionId,
      principalId: a.principalId,
      principalType: 'User',
      roleAssignmentScheduleRequestId: a.requestId,
      assignmentType: 'Assigned',
      memberType: 'Direct',
      status: 'Provisioned',
      startDateTime: iso(a.start),
      endDateTime: a.end === undefined ? null : iso(a.end),
      createdOn: iso(a.createdOn),
      updatedOn: iso(a.updatedOn),
    },
  });

  const requestJson = (r: FakeScheduleRequest) => ({
    id: `${r.scope}${PROVIDER}roleAssignmentScheduleRequests/${r.name}`,
    name: r.name,
    type: 'Microsoft.Authorization/RoleAssignmentScheduleRequests',
    properties: { ...r.properties, scope: r.scope, status: r.status, createdOn: iso(r.createdOn), principalType: 'User' },
  });

  const createRequest = (scope: string, name: string, body: Record<string, unknown> | undefined): Record<string, unknown> => {
    if (scheduleRequests.has(name.toLowerCase())) throw new HttpFailure(409, 'RoleAssignmentRequestExists', `A role assignment request with Id: ${name} already exists`);
    const p = (body?.['properties'] ?? {}) as Record<string, unknown>;
    const requestType = String(p['requestType'] ?? '');
    if (!REQUEST_TYPES.includes(requestType)) throw new HttpFailure(400, 'InvalidRoleAssignmentRequest', `The request type '${requestType}' is not valid.`);
    if (!requestType.startsWith('Admin')) throw new HttpFailure(400, 'InvalidRoleAssignmentRequest', `The fake serves only Admin* requests, not ${requestType}.`);
    const principalId = String(p['principalId'] ?? '').toLowerCase();
    if (!GUID.test(principalId) || !users.has(principalId)) throw new HttpFailure(400, 'PrincipalNotFound', `Principal ${principalId} does not exist in the directory.`);
    const definition = ROLE_DEFINITION_ID.exec(String(p['roleDefinitionId'] ?? ''));
    const guid = definition?.[1]?.toLowerCase();
    if (guid === undefined || !roleDefinitions.has(guid)) throw new HttpFailure(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${String(p['roleDefinitionId'])}' does not exist.`);
    const existing = assignmentOf(principalId, scope, guid);
    const requestId = `${scope}${PROVIDER}roleAssignmentScheduleRequests/${name}`;
    let status = 'Provisioned';
    if (requestType === 'AdminAssign' || requestType === 'AdminUpdate' || requestType === 'AdminExtend' || requestType === 'AdminRenew') {
      if (requestType === 'AdminAssign' && existing) throw new HttpFailure(409, 'RoleAssignmentExists', 'The Role assignment already exists.');
      if (requestType !== 'AdminAssign' && requestType !== 'AdminRenew' && !existing) throw new HttpFailure(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.');
      const { start, end } = schedule(p['scheduleInfo'], existing?.start ?? now());
      if (end !== undefined && end - start < minimumDurationMs) throw new HttpFailure(400, 'RoleAssignmentRequestPolicyValidationFailed', 'The following policy rules failed: ["ExpirationRule"]');
      if (options.maximumActiveMs !== undefined && (end === undefined || end - start > options.maximumActiveMs)) {
        throw new HttpFailure(400, 'RoleAssignmentRequestPolicyValidationFailed', 'The following policy rules failed: ["ExpirationRule"]');
      }
      if (end !== undefined && end <= now()) throw new HttpFailure(400, 'InvalidRoleAssignmentRequest', 'The schedule ends in the past.');
      if (existing && requestType !== 'AdminAssign') {
        existing.start = start;
        existing.end = end;
        existing.updatedOn = now();
        existing.requestId = requestId;
      } else {
        assignments.push({ scheduleName: randomUUID(), scope, principalId, roleDefinitionGuid: guid, roleDefinitionId: String(p['roleDefinitionId']), start, end, createdOn: now(), updatedOn: now(), requestId });
      }
    } else if (requestType === 'AdminRemove') {
      if (!existing) throw new HttpFailure(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.');
      if (now() < Math.max(existing.start, existing.createdOn) + minimumActiveMs) {
        throw new HttpFailure(400, 'ActiveDurationTooShort', 'The role assignment cannot be removed: it has been active for less than 5 minutes.');
      }
      assignments.splice(assignments.indexOf(existing), 1);
      status = 'Revoked';
    }
    const stored: FakeScheduleRequest = { name, scope, requestType, status, createdOn: now(), properties: { ...p, requestType } };
    scheduleRequests.set(name.toLowerCase(), stored);
    return requestJson(stored);
  };

  const listSchedules = (scope: string, filter: string | undefined) => {
    const asked = norm(scope);
    const atOrAbove = (a: FakeAssignment) => asked === norm(a.scope) || asked.startsWith(`${norm(a.scope)}/`);
    const below = (a: FakeAssignment) => norm(a.scope).startsWith(`${asked}/`);
    let pick: (a: FakeAssignment) => boolean;
    if (filter === undefined || filter === '') pick = (a) => atOrAbove(a) || below(a);
    else if (filter === 'atScope()') pick = atOrAbove;
    else {
      const principal = /^principalId eq '([0-9a-fA-F-]{36})'$/.exec(filter);
      if (!principal) throw new HttpFailure(400, 'InvalidFilter', `The filter '${filter}' is not supported.`);
      pick = (a) => a.principalId === principal[1]!.toLowerCase() && (atOrAbove(a) || below(a));
    }
    return { value: liveAssignments().filter(pick).map(scheduleJson) };
  };

  const getRoleDefinition = (scope: string, guid: string) => {
    const r = roleDefinitions.get(guid.toLowerCase());
    if (!r) throw new HttpFailure(404, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${guid}' does not exist.`);
    return {
      id: roleDefinitionIdUnder(scope, r.guid),
      name: r.guid,
      type: 'Microsoft.Authorization/roleDefinitions',
      properties: { roleName: r.roleName, type: r.assignableScopes ? 'CustomRole' : 'BuiltInRole', assignableScopes: r.assignableScopes ?? ['/'], permissions: [] },
    };
  };

  const userJson = (u: FakeAzureUser) => ({ id: u.id, userPrincipalName: u.userPrincipalName, mail: u.mail ?? null, accountEnabled: u.accountEnabled ?? true });

  const route = (method: string, pathname: string, query: Record<string, string>, body: Record<string, unknown> | undefined): { op: string; answer: () => { status: number; json: unknown } } => {
    const i = pathname.indexOf(PROVIDER);
    if (i > 0 || pathname.startsWith(PROVIDER)) {
      const scope = pathname.slice(0, i);
      const rest = pathname.slice(i + PROVIDER.length).split('/');
      if (rest[0] === 'roleAssignmentScheduleRequests' && rest.length === 2 && method === 'PUT') {
        return { op: 'scheduleRequests.create', answer: () => ({ status: 201, json: createRequest(scope, rest[1]!, body) }) };
      }
      if (rest[0] === 'roleAssignmentScheduleRequests' && rest.length === 2 && method === 'GET') {
        return {
          op: 'scheduleRequests.get',
          answer: () => {
            const r = scheduleRequests.get(rest[1]!.toLowerCase());
            if (!r || norm(r.scope) !== norm(scope)) throw new HttpFailure(404, 'RoleAssignmentScheduleRequestNotFound', `The role assignment schedule request '${rest[1]}' is not found.`);
            return { status: 200, json: requestJson(r) };
          },
        };
      }
      if (rest[0] === 'roleAssignmentSchedules' && rest.length === 1 && method === 'GET') {
        return { op: 'schedules.list', answer: () => ({ status: 200, json: listSchedules(scope, query['$filter']) }) };
      }
      if (rest[0] === 'roleDefinitions' && rest.length === 2 && method === 'GET') {
        return { op: 'roleDefinitions.get', answer: () => ({ status: 200, json: getRoleDefinition(scope, rest[1]!) }) };
      }
    }
    const user = /^\/v1\.0\/users\/([^/]+)$/.exec(pathname);
    if (user && method === 'GET') {
      return {
        op: 'graph.users.get',
        answer: () => {
          const wanted = decodeURIComponent(user[1]!).toLowerCase();
          const u = [...users.values()].find((x) => x.id.toLowerCase() === wanted || x.userPrincipalName.toLowerCase() === wanted);
          if (!u) throw new HttpFailure(404, 'Request_ResourceNotFound', `Resource '${wanted}' does not exist or one of its queried reference-property objects are not present.`);
          return { status: 200, json: userJson(u) };
        },
      };
    }
    if (pathname === '/v1.0/users' && method === 'GET') {
      return {
        op: 'graph.users.list',
        answer: () => {
          const f = /^(mail|userPrincipalName) eq '((?:[^']|'')*)'$/.exec(query['$filter'] ?? '');
          if (!f) throw new HttpFailure(400, 'Request_UnsupportedQuery', 'Unsupported query.');
          const value = f[2]!.replace(/''/g, "'").toLowerCase();
          const found = [...users.values()].filter((u) => (f[1] === 'mail' ? u.mail : u.userPrincipalName)?.toLowerCase() === value);
          return { status: 200, json: { value: found.map(userJson) } };
        },
      };
    }
    if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(pathname) && method === 'POST') {
      return { op: 'token', answer: () => ({ status: 200, json: { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: `fake-azure-token-${++tokens}` } }) };
    }
    const tenant = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(pathname);
    if (tenant && method === 'GET') {
      return { op: 'token.discovery', answer: () => ({ status: 200, json: openIdConfiguration(url, tenant[1]!) }) };
    }
    if (pathname === '/common/discovery/instance' && method === 'GET') {
      return {
        op: 'token.discovery',
        answer: () => ({ status: 200, json: { tenant_discovery_endpoint: `${url}/common/v2.0/.well-known/openid-configuration`, 'api-version': '1.1', metadata: [{ preferred_network: '127.0.0.1', preferred_cache: '127.0.0.1', aliases: ['127.0.0.1'] }] } }),
      };
    }
    return { op: 'unknown', answer: () => { throw new HttpFailure(404, 'NotFound', `The fake does not serve ${method} ${pathname}.`); } };
  };

  const control = (method: string, pathname: string, body: Record<string, unknown> | undefined): unknown => {
    if (method === 'GET' && pathname === '/__fake/state') {
      return { now: iso(now()), assignments: liveAssignments().map(scheduleJson), scheduleRequests: [...scheduleRequests.values()].map(requestJson), requests };
    }
    if (method === 'POST' && pathname === '/__fake/seed') {
      seed((body ?? {}) as FakeAzureSeed);
      return { ok: true };
    }
    if (method === 'POST' && pathname === '/__fake/fail') {
      const { count, ...failure } = (body ?? {}) as unknown as { count?: number } & FakeAzureFailure;
      failNext(count ?? 1, failure);
      return { ok: true };
    }
    if (method === 'POST' && pathname === '/__fake/settings') {
      settings((body ?? {}) as FakeAzureSettings);
      return { ok: true, minimumActiveMs, minimumDurationMs };
    }
    if (method === 'POST' && pathname === '/__fake/clock') {
      advance(Number((body ?? {})['advanceMs'] ?? 0));
      return { now: iso(now()) };
    }
    throw new HttpFailure(404, 'NotFound', `no control endpoint ${method} ${pathname}`);
  };

  const failNext = (count: number, failure: FakeAzureFailure): void => {
    failures.push({ remaining: count, failure });
  };
  const advance = (ms: number): void => {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('the fake clock only moves forward');
    advanced += ms;
  };

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'https://127.0.0.1');
      const method = req.method ?? 'GET';
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(json === undefined ? '' : JSON.stringify(json));
      };
      if (text !== '') {
        const contentType = req.headers['content-type'] ?? '';
        if (contentType.includes('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(text));
        else {
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            send(400, { error: { code: 'InvalidRequestContent', message: 'The request content is not valid JSON.' } });
            return;
          }
        }
      }
      if (parsed.pathname.startsWith('/__fake/')) {
        try {
          send(200, control(method, parsed.pathname, body));
        } catch (error) {
          send(error instanceof HttpFailure ? error.status : 400, { error: { code: 'FakeControl', message: (error as Error).message } });
        }
        return;
      }
      const query = Object.fromEntries(parsed.searchParams);
      const { op, answer } = route(method, parsed.pathname, query, body);
      const bearer = /^Bearer \S+$/.test(req.headers.authorization ?? '');
      requests.push({ method, path: parsed.pathname, query, op, body, bearer });
      const failure = failures.find((f) => f.remaining > 0 && (f.failure.op === undefined || op.startsWith(f.failure.op)) && !op.startsWith('token'));
      if (failure) {
        failure.remaining -= 1;
        if (failure.failure.network) {
          req.socket.destroy();
          return;
        }
        const { status, code, message, retryAfter } = failure.failure;
        send(status, { error: { code: code ?? (status === 429 ? 'TooManyRequests' : 'InternalServerError'), message: message ?? `Injected failure ${status}.` } }, retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
        return;
      }
      if (!op.startsWith('token') && !bearer) {
        send(401, { error: { code: op.startsWith('graph') ? 'InvalidAuthenticationToken' : 'AuthenticationFailed', message: 'Authentication failed. The Authorization header is missing.' } });
        return;
      }
      try {
        const { status, json } = answer();
        send(status, json);
      } catch (error) {
        if (!(error instanceof HttpFailure)) {
          send(500, { error: { code: 'InternalServerError', message: String(error) } });
          return;
        }
        send(error.status, { error: { code: error.code, message: error.message } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  return {
    url,
    port,
    ca: tls.cert,
    caFile: tls.certFile,
    requests,
    scheduleRequests,
    now,
    advance,
    liveAssignments,
    hasAccess: (principalId, scope, guid) => {
      const a = assignmentOf(principalId, scope, guid);
      return a !== undefined && now() >= a.start;
    },
    assignmentOf,
    failNext,
    seed,
    settings,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(tls.dir, { recursive: true, force: true });
    },
  };
}

function schedule(info: unknown, fallbackStart: number): { start: number; end: number | undefined } {
  const i = (info ?? {}) as { startDateTime?: string; expiration?: { type?: string; endDateTime?: string; duration?: string } };
  const start = i.startDateTime ? Date.parse(i.startDateTime) : fallbackStart;
  if (!Number.isFinite(start)) throw new HttpFailure(400, 'InvalidRoleAssignmentRequest', 'scheduleInfo.startDateTime is not a date.');
  const e = i.expiration ?? { type: 'NoExpiration' };
  if (e.type === 'AfterDateTime') {
    const end = Date.parse(e.endDateTime ?? '');
    if (!Number.isFinite(end)) throw new HttpFailure(400, 'InvalidRoleAssignmentRequest', 'expiration.endDateTime is required with AfterDateTime.');
    return { start, end };
  }
  if (e.type === 'AfterDuration') {
    const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(e.duration ?? '');
    if (!m || (e.duration ?? '').length <= 1) throw new HttpFailure(400, 'InvalidRoleAssignmentRequest', 'expiration.duration must be an ISO 8601 duration with AfterDuration.');
    const ms = ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
    return { start, end: start + ms };
  }
  if (e.type === 'NoExpiration') return { start, end: undefined };
  throw new HttpFailure(400, 'InvalidRoleAssignmentRequest', `expiration.type '${String(e.type)}' is not valid.`);
}

function roleDefinitionIdUnder(scope: string, guid: string): string {
  const sub = /^\/subscriptions\/[^/]+/i.exec(scope);
  return `${sub ? sub[0] : ''}${PROVIDER}roleDefinitions/${guid}`;
}

function openIdConfiguration(url: string, tenant: string): Record<string, unknown> {
  return {
    token_endpoint: `${url}/${tenant}/oauth2/v2.0/token`,
    authorization_endpoint: `${url}/${tenant}/oauth2/v2.0/authorize`,
    issuer: `${url}/${tenant}/v2.0`,
    jwks_uri: `${url}/${tenant}/discovery/v2.0/keys`,
    end_session_endpoint: `${url}/${tenant}/oauth2/v2.0/logout`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
  };
}

function norm(scope: string): string {
  return scope.replace(/\/+$/, '').toLowerCase();
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A throw-away certificate for 127.0.0.1 (and localhost), valid for a day. */
function selfSignedCertificate(): { key: string; cert: string; certFile: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-azure-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile, dir };
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seedFile = arg('--seed');
  const fake = await startFakeAzure({ port: Number(arg('--port') ?? 0) });
  if (seedFile !== undefined) fake.seed(JSON.parse(readFileSync(seedFile, 'utf8')) as FakeAzureSeed);
  process.stdout.write(`${JSON.stringify({ listening: fake.port, caFile: fake.caFile })}\n`);
  const stop = () => {
    void fake.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
