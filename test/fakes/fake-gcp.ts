/**
 * A local stand-in for the IAM part of Google's Cloud Resource Manager v3 REST API, as the real
 * `@google-cloud/resource-manager` client sends it in REST mode (`fallback: true`):
 *
 *   POST /v3/{projects|folders|organizations}/{id}:getIamPolicy        {"options":{"requestedPolicyVersion":3}}
 *   POST /v3/{projects|folders|organizations}/{id}:setIamPolicy        {"policy":{version,etag,bindings},"updateMask"?}
 *   POST /v3/{projects|folders|organizations}/{id}:testIamPermissions  {"permissions":[…]}
 *
 * The query string (`$alt=json;enum-encoding=int`) is ignored; the etag travels as base64 in JSON.
 * It behaves as the documented API does, not as an echo:
 * - one allow policy per seeded resource, bindings with conditions, an etag that changes on every write;
 *   an unknown resource is 403 PERMISSION_DENIED (Google does not say whether it exists);
 * - a stale etag is 409 ABORTED; a write without an etag over a policy with conditional bindings, or
 *   with version < 3 while conditions exist (before or after), is 400 INVALID_ARGUMENT;
 * - getIamPolicy with requestedPolicyVersion < 3 over conditional bindings answers version 1 with
 *   those roles renamed `<role>_withcond_<hash>` and no conditions, as Google does;
 * - conditions on basic roles (owner/editor/viewer) or on allUsers / allAuthenticatedUsers are 400;
 * - a `user:` member that is not a known account is 400 "User <e-mail> does not exist." (when a user
 *   list is seeded; without one every account exists); more than 1,500 members is 400; more than 20
 *   bindings of one role and one member with different conditions is 400; a condition needs a title
 *   (≤ 100 bytes), a description ≤ 256 bytes;
 * - bindings with the same role and the same condition are merged, as Google stores them;
 * - requests without `Authorization: Bearer …` are 401 UNAUTHENTICATED; when service accounts are
 *   seeded (`serviceAccounts: [{ email, publicKey }]`), the bearer must be a self-signed JWT of one of
 *   them, as the real client sends with a service-account key (see below), or it is 401 too;
 * - the bot's own permissions per resource (default: get and set) answer testIamPermissions, and a
 *   missing one makes the matching call 403.
 * Failure injection: the next N calls (optionally of one method / resource) answer a given HTTP error
 * (5xx, 429 with Retry-After, 403, …); `getIamPolicyDelayMs` holds each getIamPolicy answer (read at
 * arrival) so two read-modify-writes race and one gets 409.
 *
 * Service-account keys: with `GOOGLE_APPLICATION_CREDENTIALS` naming a key file, google-auth-library
 * (10.x, under a GAPIC client such as ProjectsClient, which sets `useJWTAccessWithScope`) never asks a
 * token endpoint: it signs a JWT itself (RS256, `iss` = `sub` = the account's e-mail, `scope`, `iat`,
 * `exp` one hour on, `kid` = `private_key_id`) and sends it as the bearer token, which Google verifies
 * with the account's public key. The fake does the same with the seeded public keys. (When the
 * library does ask for a token, gtoken 8 posts to https://oauth2.googleapis.com/token whatever the
 * key file's `token_uri` says, so a token endpoint here would never be reached.)
 *
 * In-process: `const fake = await startFakeGcp({ resources, users, serviceAccounts })`, then `fake.url`, `fake.port`,
 * `fake.requests`, `fake.policy(resource)`, `fake.hasAccess(resource, role, member)`, `fake.failNext(…)`,
 * `fake.close()`.
 *
 * As a process: `node --import tsx test/fakes/fake-gcp.ts [--port 0] [--seed seed.json]` prints one
 * line `{"listening":<port>}` when ready and serves on 127.0.0.1 until SIGTERM. The seed file is
 * `{"resources":{"projects/p":{"bindings":[…],"permissions":[…]}},"users":["dave@example.com"],
 *   "serviceAccounts":[{"email":"bot@p.iam.gserviceaccount.com","publicKey":"-----BEGIN PUBLIC KEY-----…","keyId":"…"}]}`.
 * Control over HTTP:
 *   GET  /__fake/state     → {"resources":{<name>:{version,etag,bindings,permissions}},"users":[…]|null,"serviceAccounts":[e-mail…],"requests":[…]}
 *   GET  /__fake/access?resource=…&role=…&member=…  → {"hasAccess":bool,"expiresAt":iso|null}
 *   POST /__fake/seed      (same shape as the seed file; adds or replaces resources, adds users)
 *   POST /__fake/fail      {"status":503,"count":1,"method"?,"resource"?,"retryAfterSeconds"?,"message"?}
 *   POST /__fake/delay     {"getIamPolicyMs":200}
 *   POST /__fake/reset     (forgets requests, failures and delay)
 */
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCondition {
  readonly expression: string;
  readonly title: string;
  readonly description?: string;
  readonly location?: string;
}

export interface FakeBinding {
  readonly role: string;
  readonly members: readonly string[];
  readonly condition?: FakeCondition;
}

export interface FakeResourceSeed {
  readonly bindings?: readonly FakeBinding[];
  /** What the bot's identity holds there (testIamPermissions); default: get and set IAM policy. */
  readonly permissions?: readonly string[];
}

/** A service account whose key the bot holds: its self-signed JWTs are accepted as bearer tokens. */
export interface FakeServiceAccount {
  readonly email: string;
  /** PEM (SPKI) public key of the account's key. */
  readonly publicKey: string;
  /** The key's id (`private_key_id` in the key file); when given, a JWT's `kid` must match it. */
  readonly keyId?: string;
}

export interface FakeGcpOptions {
  readonly port?: number;
  readonly resources?: Readonly<Record<string, FakeResourceSeed>>;
  /** Existing Google accounts (e-mails); `undefined`: every account exists. */
  readonly users?: readonly string[];
  /** When any is seeded, only self-signed JWTs of these accounts authenticate; else any bearer does. */
  readonly serviceAccounts?: readonly FakeServiceAccount[];
}

export interface FakePolicy {
  readonly version: number;
  /** Base64, as on the wire. */
  readonly etag: string;
  readonly bindings: readonly FakeBinding[];
}

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  /** `getIamPolicy`, `setIamPolicy`, `testIamPermissions` (or the control path). */
  readonly op: string;
  readonly resource: string;
  readonly body: Record<string, unknown>;
  readonly authorization: string | undefined;
}

export interface FakeFailure {
  readonly status: number;
  /** How many matching calls fail (default 1). */
  readonly count?: number;
  readonly method?: string;
  readonly resource?: string;
  readonly retryAfterSeconds?: number;
  readonly message?: string;
}

export interface FakeGcp {
  readonly url: string;
  readonly port: number;
  readonly requests: FakeRequest[];
  /** The API calls only (no control requests), optionally of one method. */
  calls(op?: string): FakeRequest[];
  policy(resource: string): FakePolicy | undefined;
  /** Whether `member` holds `role` on `resource` at `now`: a binding exists and its condition's time is in the future. */
  hasAccess(resource: string, role: string, member: string, now?: Date): boolean;
  /** The latest condition expiry among `member`'s bindings of `role`. */
  expiryOf(resource: string, role: string, member: string): Date | undefined;
  seed(seed: { resources?: Readonly<Record<string, FakeResourceSeed>>; users?: readonly string[]; serviceAccounts?: readonly FakeServiceAccount[] }): void;
  /** Replaces a resource's bindings as someone else (the console, Terraform) would: a new etag. */
  writeAsSomeoneElse(resource: string, bindings: readonly FakeBinding[]): void;
  failNext(failure: FakeFailure): void;
  failNextWithOutage(count?: number): void;
  throttleNext(count?: number, retryAfterSeconds?: number): void;
  getIamPolicyDelayMs: number;
  reset(): void;
  close(): Promise<void>;
}

const BASIC_ROLES = ['roles/owner', 'roles/editor', 'roles/viewer'];
const MAX_MEMBERS = 1_500;
const MAX_SAME_ROLE_MEMBER_CONDITIONS = 20;
const MEMBER = /^(user|group|serviceAccount|domain):[^\s:]+$|^(allUsers|allAuthenticatedUsers)$|^principal(Set)?:\/\/\S+$|^deleted:(user|group|serviceAccount):[^\s]+$/;
const API_PATH = /^\/v3\/((projects|folders|organizations)\/[^/:]+):(getIamPolicy|setIamPolicy|testIamPermissions)$/;
const EXPIRY = /^request\.time < timestamp\("([^"]+)"\)$/;
/** What a self-signed JWT must be good for: the scope GAPIC clients sign with, or the API as audience. */
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const API_AUDIENCE = 'https://cloudresourcemanager.googleapis.com/';
/** Clock skew Google tolerates on `iat`. */
const SKEW_SECONDS = 60;
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

interface StoredResource {
  bindings: FakeBinding[];
  etag: Buffer;
  permissions: Set<string>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startFakeGcp(options: FakeGcpOptions = {}): Promise<FakeGcp> {
  const resources = new Map<string, StoredResource>();
  let users: Set<string> | undefined = options.users ? new Set(options.users.map((u) => u.toLowerCase())) : undefined;
  const serviceAccounts = new Map<string, { key: KeyObject; keyId: string | undefined }>();
  const requests: FakeRequest[] = [];
  let failures: (FakeFailure & { left: number })[] = [];

  const defaultPermissions = (resource: string): string[] => {
    const kind = resource.split('/')[0];
    return [`resourcemanager.${kind}.getIamPolicy`, `resourcemanager.${kind}.setIamPolicy`];
  };
  const seed: FakeGcp['seed'] = (s) => {
    for (const [name, r] of Object.entries(s.resources ?? {})) {
      resources.set(name, { bindings: normalise(r.bindings ?? []), etag: newEtag(), permissions: new Set(r.permissions ?? defaultPermissions(name)) });
    }
    if (s.users) users = new Set([...(users ?? []), ...s.users.map((u) => u.toLowerCase())]);
    for (const account of s.serviceAccounts ?? []) serviceAccounts.set(account.email.toLowerCase(), { key: createPublicKey(account.publicKey), keyId: account.keyId });
  };
  seed({ ...(options.resources ? { resources: options.resources } : {}), ...(options.serviceAccounts ? { serviceAccounts: options.serviceAccounts } : {}) });

  /** The service account a bearer token is a valid self-signed JWT of; throws 401 otherwise. */
  const authenticate = (authorization: string | undefined): void => {
    const unauthenticated = (why: string) =>
      new HttpError(401, `Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. (${why})`);
    if (!authorization || !/^Bearer \S+/.test(authorization)) throw new HttpError(401, 'Request is missing required authentication credential. Expected OAuth 2 access token.');
    if (serviceAccounts.size === 0) return;
    const parts = authorization.slice('Bearer '.length).trim().split('.');
    if (parts.length !== 3) throw unauthenticated('not a JWT');
    const [rawHeader, rawPayload, signature] = parts as [string, string, string];
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(rawHeader, 'base64url').toString('utf8')) as Record<string, unknown>;
      payload = JSON.parse(Buffer.from(rawPayload, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw unauthenticated('the JWT does not decode');
    }
    if (header['alg'] !== 'RS256') throw unauthenticated('the JWT is not RS256');
    const account = serviceAccounts.get(String(payload['iss'] ?? '').toLowerCase());
    if (!account || payload['sub'] !== payload['iss']) throw unauthenticated('the JWT is not self-signed by a known service account');
    if (account.keyId !== undefined && header['kid'] !== undefined && header['kid'] !== account.keyId) throw unauthenticated('the JWT names another key');
    if (!verify('sha256', Buffer.from(`${rawHeader}.${rawPayload}`), account.key, Buffer.from(signature, 'base64url'))) throw unauthenticated('bad JWT signature');
    const nowSeconds = Date.now() / 1000;
    const exp = Number(payload['exp']);
    const iat = Number(payload['iat']);
    if (!Number.isFinite(exp) || exp <= nowSeconds) throw unauthenticated('the JWT has expired');
    if (!Number.isFinite(iat) || iat > nowSeconds + SKEW_SECONDS || exp - iat > 3600) throw unauthenticated('the JWT iat/exp are out of range');
    const scopes = typeof payload['scope'] === 'string' ? payload['scope'].split(' ') : [];
    if (!scopes.includes(CLOUD_PLATFORM_SCOPE) && payload['aud'] !== API_AUDIENCE) throw unauthenticated(`the JWT is for neither ${CLOUD_PLATFORM_SCOPE} nor ${API_AUDIENCE}`);
  };

  const policyOf = (name: string): FakePolicy | undefined => {
    const r = resources.get(name);
    return r ? { version: hasConditions(r.bindings) ? 3 : 1, etag: r.etag.toString('base64'), bindings: r.bindings } : undefined;
  };
  const memberBindings = (resource: string, role: string, member: string): FakeBinding[] =>
    (resources.get(resource)?.bindings ?? []).filter((b) => b.role === role && b.members.some((m) => m.toLowerCase() === member.toLowerCase()));

  const fake: FakeGcp = {
    url: '',
    port: 0,
    requests,
    getIamPolicyDelayMs: 0,
    calls: (op) => requests.filter((r) => !r.path.startsWith('/__fake/') && (op === undefined || r.op === op)),
    policy: policyOf,
    hasAccess: (resource, role, member, now = new Date()) =>
      memberBindings(resource, role, member).some((b) => {
        if (!b.condition) return true;
        const expiry = expiryOf(b.condition.expression);
        // NB: a condition the fake cannot evaluate counts as granting: tests asserting "no access" stay honest.
        return expiry === undefined || expiry.getTime() > now.getTime();
      }),
    expiryOf: (resource, role, member) => {
      const times = memberBindings(resource, role, member)
        .map((b) => (b.condition ? expiryOf(b.condition.expression) : undefined))
        .filter((d): d is Date => d !== undefined)
        .map((d) => d.getTime());
      return times.length > 0 ? new Date(Math.max(...times)) : undefined;
    },
    seed,
    writeAsSomeoneElse: (resource, bindings) => {
      const r = resources.get(resource);
      if (!r) throw new Error(`fake-gcp: unknown resource ${resource}`);
      r.bindings = normalise(bindings);
      r.etag = newEtag();
    },
    failNext: (failure) => {
      failures.push({ ...failure, left: failure.count ?? 1 });
    },
    failNextWithOutage: (count = 1) => fake.failNext({ status: 503, count, message: 'The service is currently unavailable.' }),
    throttleNext: (count = 1, retryAfterSeconds) =>
      fake.failNext({ status: 429, count, message: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute'.", ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) }),
    reset: () => {
      requests.length = 0;
      failures = [];
      fake.getIamPolicyDelayMs = 0;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };

  const injected = (op: string, resource: string): FakeFailure | undefined => {
    const failure = failures.find((f) => f.left > 0 && (f.method === undefined || f.method === op) && (f.resource === undefined || f.resource === resource));
    if (!failure) return undefined;
    failure.left -= 1;
    failures = failures.filter((f) => f.left > 0);
    return failure;
  };

  const api = async (op: string, resource: string, body: Record<string, unknown>, authorization: string | undefined): Promise<unknown> => {
    authenticate(authorization);
    const failure = injected(op, resource);
    if (failure) {
      throw new HttpError(failure.status, failure.message ?? `injected ${failure.status}`, failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {});
    }
    const stored = resources.get(resource);
    const denied = (permission: string): HttpError =>
      new HttpError(403, `Permission '${permission}' denied on resource '//cloudresourcemanager.googleapis.com/${resource}' (or it may not exist).`);
    const kind = resource.split('/')[0];
    if (op === 'testIamPermissions') {
      if (!stored) throw denied(`resourcemanager.${kind}.getIamPolicy`);
      const asked = Array.isArray(body['permissions']) ? (body['permissions'] as unknown[]).filter((p): p is string => typeof p === 'string') : [];
      return { permissions: asked.filter((p) => stored.permissions.has(p)) };
    }
    if (op === 'getIamPolicy') {
      if (!stored || !stored.permissions.has(`resourcemanager.${kind}.getIamPolicy`)) throw denied(`resourcemanager.${kind}.getIamPolicy`);
      const requested = Number((body['options'] as Record<string, unknown> | undefined)?.['requestedPolicyVersion'] ?? 0);
      // NB: read at arrival, answered after the delay: what a slow network does to a read-modify-write.
      const answer = wirePolicy(stored, requested);
      if (fake.getIamPolicyDelayMs > 0) await new Promise((r) => setTimeout(r, fake.getIamPolicyDelayMs));
      return answer;
    }
    // setIamPolicy
    if (!stored || !stored.permissions.has(`resourcemanager.${kind}.setIamPolicy`)) throw denied(`resourcemanager.${kind}.setIamPolicy`);
    const policy = (body['policy'] ?? {}) as Record<string, unknown>;
    const etag = typeof policy['etag'] === 'string' && policy['etag'] !== '' ? Buffer.from(policy['etag'], 'base64') : undefined;
    const version = Number(policy['version'] ?? 0);
    const bindings = parseBindings(policy['bindings']);
    if (etag !== undefined && !etag.equals(stored.etag)) {
      throw new HttpError(409, 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff. The request\'s ETag \'' + etag.toString('base64') + '\' did not match the current policy\'s ETag \'' + stored.etag.toString('base64') + '\'.');
    }
    if (etag === undefined && hasConditions(stored.bindings)) {
      throw new HttpError(400, 'The policy contains conditional role bindings; set the etag from getIamPolicy to overwrite it, so that no condition is lost.');
    }
    if (version < 3 && (hasConditions(bindings) || hasConditions(stored.bindings))) {
      throw new HttpError(400, `Policy version ${version} cannot be used with conditional role bindings; use version 3.`);
    }
    validateBindings(bindings, stored.bindings, users);
    const mask = typeof body['updateMask'] === 'string' ? body['updateMask'].split(',').map((p) => p.trim()) : ['bindings', 'etag'];
    if (mask.includes('bindings')) stored.bindings = normalise(bindings);
    stored.etag = newEtag();
    return wirePolicy(stored, 3);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let body: Record<string, unknown> = {};
    try {
      body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      return send(res, 400, errorBody(400, 'Invalid JSON payload received.'));
    }
    const api_ = API_PATH.exec(decodeURIComponent(url.pathname));
    requests.push({ method: req.method ?? '', path: url.pathname, op: api_?.[3] ?? url.pathname, resource: api_?.[1] ?? '', body, authorization: req.headers['authorization'] });
    try {
      if (url.pathname.startsWith('/__fake/')) return send(res, 200, control(req.method ?? '', url, body));
      if (req.method !== 'POST' || !api_) throw new HttpError(404, `The requested URL ${url.pathname} was not found on this server.`);
      return send(res, 200, await api(api_[3]!, api_[1]!, body, req.headers['authorization']));
    } catch (error) {
      if (error instanceof HttpError) return send(res, error.status, errorBody(error.status, error.message), error.headers);
      return send(res, 500, errorBody(500, error instanceof Error ? error.message : String(error)));
    }
  };

  const control = (method: string, url: URL, body: Record<string, unknown>): unknown => {
    switch (`${method} ${url.pathname}`) {
      case 'GET /__fake/state':
        return {
          resources: Object.fromEntries([...resources.keys()].map((name) => [name, { ...policyOf(name), permissions: [...(resources.get(name)?.permissions ?? [])] }])),
          users: users ? [...users] : null,
          serviceAccounts: [...serviceAccounts.keys()],
          requests: fake.calls(),
        };
      case 'GET /__fake/access': {
        const [resource, role, member] = ['resource', 'role', 'member'].map((k) => url.searchParams.get(k) ?? '') as [string, string, string];
        return { hasAccess: fake.hasAccess(resource, role, member), expiresAt: fake.expiryOf(resource, role, member)?.toISOString() ?? null };
      }
      case 'POST /__fake/seed':
        seed(body as Parameters<FakeGcp['seed']>[0]);
        return { ok: true };
      case 'POST /__fake/fail':
        if (typeof body['status'] !== 'number') throw new HttpError(400, 'fail needs a numeric status');
        fake.failNext(body as unknown as FakeFailure);
        return { ok: true };
      case 'POST /__fake/delay':
        fake.getIamPolicyDelayMs = Number(body['getIamPolicyMs'] ?? 0);
        return { ok: true };
      case 'POST /__fake/reset':
        fake.reset();
        return { ok: true };
      default:
        throw new HttpError(404, `no control endpoint ${method} ${url.pathname}`);
    }
  };

  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  Object.assign(fake, { port, url: `http://127.0.0.1:${port}` });
  return fake;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

function errorBody(code: number, message: string): unknown {
  return { error: { code, message, status: STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION') } };
}

function newEtag(): Buffer {
  return randomBytes(8);
}

function hasConditions(bindings: readonly FakeBinding[]): boolean {
  return bindings.some((b) => b.condition !== undefined);
}

function expiryOf(expression: string): Date | undefined {
  const match = EXPIRY.exec(expression);
  if (!match) return undefined;
  const time = Date.parse(match[1]!);
  return Number.isNaN(time) ? undefined : new Date(time);
}

function wirePolicy(stored: StoredResource, requestedVersion: number): Record<string, unknown> {
  const conditional = hasConditions(stored.bindings);
  const bindings =
    conditional && requestedVersion < 3
      ? stored.bindings.map((b) =>
          b.condition ? { role: `${b.role}_withcond_${createHash('sha256').update(JSON.stringify(b.condition)).digest('hex').slice(0, 20)}`, members: b.members } : b,
        )
      : stored.bindings;
  return { version: conditional && requestedVersion >= 3 ? 3 : 1, etag: stored.etag.toString('base64'), bindings };
}

function parseBindings(value: unknown): FakeBinding[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new HttpError(400, 'Invalid value at \'policy.bindings\'');
  return value.map((raw, i) => {
    const b = (raw ?? {}) as Record<string, unknown>;
    if (typeof b['role'] !== 'string' || b['role'] === '') throw new HttpError(400, `policy.bindings[${i}].role is required`);
    const members = Array.isArray(b['members']) ? (b['members'] as unknown[]).map(String) : [];
    const c = b['condition'] as Record<string, unknown> | undefined | null;
    const condition =
      c && typeof c['expression'] === 'string' && c['expression'] !== ''
        ? {
            expression: c['expression'],
            title: typeof c['title'] === 'string' ? c['title'] : '',
            ...(typeof c['description'] === 'string' && c['description'] !== '' ? { description: c['description'] } : {}),
            ...(typeof c['location'] === 'string' && c['location'] !== '' ? { location: c['location'] } : {}),
          }
        : undefined;
    return { role: b['role'], members, ...(condition ? { condition } : {}) };
  });
}

function validateBindings(bindings: readonly FakeBinding[], current: readonly FakeBinding[], users: Set<string> | undefined): void {
  const existing = new Set(current.flatMap((b) => b.members));
  const conditionsPerRoleMember = new Map<string, Set<string>>();
  for (const binding of bindings) {
    if (binding.members.length === 0) throw new HttpError(400, `Policy binding for role ${binding.role} must have at least one member.`);
    if (binding.condition) {
      if (BASIC_ROLES.includes(binding.role)) throw new HttpError(400, `Conditions are not supported for the basic role ${binding.role}.`);
      if (binding.condition.title === '') throw new HttpError(400, 'A condition must have a title.');
      if (Buffer.byteLength(binding.condition.title) > 100) throw new HttpError(400, 'The condition title exceeds 100 bytes.');
      if (Buffer.byteLength(binding.condition.description ?? '') > 256) throw new HttpError(400, 'The condition description exceeds 256 bytes.');
    }
    for (const member of binding.members) {
      if (!MEMBER.test(member)) throw new HttpError(400, `Invalid member ${member}: policy members must be of the form "<type>:<value>".`);
      if (binding.condition && (member === 'allUsers' || member === 'allAuthenticatedUsers')) {
        throw new HttpError(400, `Conditions are not supported for ${member}.`);
      }
      // NB: Google checks the accounts being added; members already in the policy may since have been deleted.
      if (users && member.startsWith('user:') && !existing.has(member) && !users.has(member.slice(5).toLowerCase())) {
        throw new HttpError(400, `User ${member.slice(5)} does not exist.`);
      }
      if (binding.condition) {
        const key = `${binding.role}\u0000${member}`;
        const set = conditionsPerRoleMember.get(key) ?? new Set<string>();
        set.add(binding.condition.expression);
        conditionsPerRoleMember.set(key, set);
        if (set.size > MAX_SAME_ROLE_MEMBER_CONDITIONS) {
          throw new HttpError(400, `The policy has more than ${MAX_SAME_ROLE_MEMBER_CONDITIONS} bindings of role ${binding.role} for ${member} with different conditions.`);
        }
      }
    }
  }
  const count = bindings.reduce((n, b) => n + b.members.length, 0);
  if (count > MAX_MEMBERS) throw new HttpError(400, `The number of members in the policy (${count}) is larger than the maximum allowed size ${MAX_MEMBERS}.`);
}

/** Merges bindings with the same role and condition (as Google stores them), keeping the first's position. */
function normalise(bindings: readonly FakeBinding[]): FakeBinding[] {
  const out: FakeBinding[] = [];
  const byKey = new Map<string, number>();
  for (const binding of bindings) {
    const key = JSON.stringify([binding.role, binding.condition?.expression ?? null, binding.condition?.title ?? null, binding.condition?.description ?? null]);
    const at = byKey.get(key);
    if (at === undefined) {
      byKey.set(key, out.length);
      out.push({ role: binding.role, members: [...new Set(binding.members)], ...(binding.condition ? { condition: binding.condition } : {}) });
    } else {
      const merged = out[at]!;
      out[at] = { ...merged, members: [...new Set([...merged.members, ...binding.members])] };
    }
  }
  return out;
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seedFile = arg('--seed');
  const seedData = seedFile ? (JSON.parse(readFileSync(seedFile, 'utf8')) as FakeGcpOptions) : {};
  const fake = await startFakeGcp({ ...seedData, port: Number(arg('--port') ?? 0) });
  process.stdout.write(`${JSON.stringify({ listening: fake.port })}\n`);
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`fake-gcp: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
