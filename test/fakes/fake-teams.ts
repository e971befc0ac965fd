import { createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BotTokenSource } from '../../src/adapters/chat/teams/teams-connector';

/** One call the fake Bot Connector received (or the token endpoint, as `token`). */
export interface TeamsCall {
  readonly kind: 'send' | 'reply' | 'update' | 'createConversation' | 'member' | 'pagedMembers' | 'teamChannels' | 'token';
  readonly method: string;
  /** The conversation the call names (`19:…`, `a:…`), as sent. */
  readonly conversationId?: string;
  /** `send`, `reply`: the new activity's id; `update`: the activity replaced. */
  readonly activityId?: string;
  /** `reply`: the activity answered. */
  readonly replyToId?: string;
  /** The JSON body, when there is one. */
  readonly body?: Record<string, unknown>;
  readonly userId?: string;
  /** The bearer token the call carried. */
  readonly token?: string;
  /** The HTTP status the fake answered. */
  readonly status: number;
}

/** A person in the fake tenant's roster, as the member look-up answers it. */
export interface FakeTeamsUser {
  /** `29:…` */
  readonly id: string;
  readonly aadObjectId: string;
  readonly email?: string;
  readonly userPrincipalName?: string;
  readonly userRole?: 'user' | 'guest' | 'anonymous';
  readonly tenantId?: string;
  readonly name?: string;
  /** Teams refuses to let the bot write to this person (403 MessageWritesBlocked / no 1:1 chat possible). */
  readonly blocked?: boolean;
}

/** A failure the next matching call gets. */
export interface TeamsFailure {
  readonly status: number;
  /** Seconds, sent as `Retry-After`. */
  readonly retryAfter?: number;
  /** Teams' error code in the body (`MessageWritesBlocked`, `ServiceError`, …). */
  readonly code?: string;
  readonly when?: (call: { conversationId?: string; body?: Record<string, unknown> }) => boolean;
}

export interface TokenOptions {
  readonly aud?: string | string[];
  readonly iss?: string;
  /** Seconds from now (negative: already expired). */
  readonly expiresIn?: number;
  readonly notBeforeIn?: number;
  /** The `serviceurl` claim; `null` leaves it out. */
  readonly serviceUrl?: string | null;
  /** Sign with another key (a forger's), under the same key id. */
  readonly forged?: boolean;
  readonly kid?: string;
  readonly alg?: 'RS256' | 'none' | 'HS256';
  readonly extra?: Record<string, unknown>;
}

const WINDOWS = [
  { limit: 7, ms: 1_000 },
  { limit: 60, ms: 30_000 },
];

/**
 * A local stand-in for everything Teams and Microsoft Entra ID give a bot, for the real
 * agents-hosting code to talk to over HTTP:
 * - an issuer with an RSA key set (`{authority}/{tenant}/discovery/v2.0/keys` and OpenID metadata)
 *   that mints real RS256 JWTs as the Bot Framework signs them, with any claim a test wants wrong;
 * - the token endpoint the bot's own credentials are exchanged at (client credentials);
 * - the Bot Connector (`serviceUrl`): posts, replies, card updates (PUT), new conversations, member
 *   look-ups, team channels and rosters, recorded and answered as Teams does, with Teams' per
 *   conversation limits (7 per second, 60 per 30 s: 429 with Retry-After) and failures on demand.
 */
export class FakeTeams {
  readonly calls: TeamsCall[] = [];
  readonly tenantId: string;
  readonly appId: string;
  readonly appPassword = `secret-${randomBytes(8).toString('hex')}`;
  /** Enforce Teams' per-conversation limits (answer 429 past them). */
  enforceLimits = true;
  /** Accept connector calls without a token (anonymous mode, as the Agents Playground does). */
  acceptAnonymous = false;
  private readonly key: { privateKey: KeyObject; publicKey: KeyObject };
  private readonly forgerKey: { privateKey: KeyObject };
  readonly kid = `kid-${randomBytes(4).toString('hex')}`;
  private readonly users = new Map<string, FakeTeamsUser>();
  private readonly teams = new Map<string, { channels: string[]; members: string[] }>();
  private readonly failures: { kind: TeamsCall['kind']; failure: TeamsFailure }[] = [];
  private readonly issued = new Set<string>();
  private readonly sent = new Map<string, number[]>();
  private readonly waiters: (() => void)[] = [];
  private nextActivity = 1;

  private constructor(
    private readonly server: http.Server,
    opts: { tenantId: string; appId: string },
  ) {
    this.tenantId = opts.tenantId;
    this.appId = opts.appId;
    this.key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.forgerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  }

  static async start(opts: { tenantId?: string; appId?: string } = {}): Promise<FakeTeams> {
    const server = http.createServer();
    const fake = new FakeTeams(server, { tenantId: opts.tenantId ?? 'aaaaaaaa-0000-4000-8000-000000000001', appId: opts.appId ?? '11111111-2222-4333-8444-555555555555' });
    server.on('request', (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** For MICROSOFT_AUTHORITY: keys are at `{authority}/{tenant}/discovery/v2.0/keys`. */
  get authority(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The issuer of the tokens the fake mints (the tenant's v2 issuer under the local authority). */
  get issuer(): string {
    return `${this.authority}/${this.tenantId}/v2.0`;
  }

  /** The Bot Connector's base URL, as Teams puts it in every activity. */
  get serviceUrl(): string {
    return `http://127.0.0.1:${this.port}/teams/`;
  }

  addUser(user: FakeTeamsUser): void {
    this.users.set(user.id, user);
  }

  /** A team: its channels (the General channel's id is the team's) and its members (Teams user ids). */
  addTeam(teamId: string, channels: readonly string[], members: readonly string[]): void {
    this.teams.set(teamId, { channels: [teamId, ...channels.filter((c) => c !== teamId)], members: [...members] });
  }

  /** The 1:1 chat Teams keeps between the bot and a person (the same id every time it is opened). */
  personalChatOf(userId: string): string {
    return `a:1on1-${userId.replace(/^29:/, '')}`;
  }

  failNext(kind: TeamsCall['kind'], failure: TeamsFailure): void {
    this.failures.push({ kind, failure });
  }

  callsOf(kind: TeamsCall['kind']): TeamsCall[] {
    return this.calls.filter((c) => c.kind === kind);
  }

  /**
   * Waits until a successful call matches, up to `timeoutMs`. NB: the default covers a message that
   * waits its turn under Teams' 60 per 30 s in a busy channel (the bot paces itself, as it must).
   */
  async waitFor(kind: TeamsCall['kind'], match: (call: TeamsCall) => boolean = () => true, timeoutMs = 45_000): Promise<TeamsCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.find((c) => c.kind === kind && c.status < 300 && match(c));
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind} call matched within ${timeoutMs} ms; calls: ${this.calls.map((c) => `${c.kind}:${c.status}`).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** A Bot Framework token for an activity to the bot: valid unless the options say otherwise. */
  token(opts: TokenOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: opts.alg ?? 'RS256', typ: 'JWT', kid: opts.kid ?? this.kid };
    const payload: Record<string, unknown> = {
      iss: opts.iss ?? this.issuer,
      aud: opts.aud ?? this.appId,
      iat: now - 10,
      nbf: now - 10 + (opts.notBeforeIn ?? 0),
      exp: now + (opts.expiresIn ?? 3600),
      ...(opts.serviceUrl === null ? {} : { serviceurl: opts.serviceUrl ?? this.serviceUrl }),
      ...opts.extra,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    if (header.alg === 'none') return `${signingInput}.`;
    if (header.alg === 'HS256') return `${signingInput}.${b64url(randomBytes(32))}`;
    const signer = createSign('RSA-SHA256');
    signer.update(signingInput);
    return `${signingInput}.${b64url(signer.sign(opts.forged ? this.forgerKey.privateKey : this.key.privateKey))}`;
  }

  /**
   * The bot's own token source for tests: client credentials at this fake's token endpoint (what
   * MSAL does against Entra ID, which MSAL will only do over https), cached until it expires.
   */
  tokenSource(clientId = this.appId, clientSecret = this.appPassword): BotTokenSource {
    let cached: { token: string; until: number } | undefined;
    return {
      token: async () => {
        if (cached && cached.until > Date.now()) return cached.token;
        const res = await fetch(`${this.authority}/${this.tenantId}/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'https://api.botframework.com/.default' }).toString(),
        });
        const answer = (await res.json()) as { access_token?: string; expires_in?: number; error?: string };
        if (!res.ok || !answer.access_token) throw new Error(`token endpoint: ${answer.error ?? res.status}`);
        cached = { token: answer.access_token, until: Date.now() + (answer.expires_in ?? 3600) * 1000 - 60_000 };
        return cached.token;
      },
    };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.authority);
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      req.on('end', () => resolve(data));
    });
    const path = decodeURIComponent(url.pathname);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body === undefined ? '' : JSON.stringify(body));
    };

    // Entra ID: key set, OpenID metadata, token endpoint.
    if (req.method === 'GET' && path === `/${this.tenantId}/discovery/v2.0/keys`) {
      return answer(200, { keys: [{ ...this.key.publicKey.export({ format: 'jwk' }), kid: this.kid, use: 'sig', alg: 'RS256' }] });
    }
    if (req.method === 'GET' && path === `/${this.tenantId}/v2.0/.well-known/openid-configuration`) {
      return answer(200, { issuer: this.issuer, jwks_uri: `${this.authority}/${this.tenantId}/discovery/v2.0/keys`, token_endpoint: `${this.authority}/${this.tenantId}/oauth2/v2.0/token`, id_token_signing_alg_values_supported: ['RS256'] });
    }
    if (req.method === 'POST' && path === `/${this.tenantId}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(raw);
      const ok = form.get('grant_type') === 'client_credentials' && form.get('client_id') === this.appId && form.get('client_secret') === this.appPassword;
      this.record({ kind: 'token', method: 'POST', status: ok ? 200 : 401 });
      if (!ok) return answer(401, { error: 'invalid_client' });
      const token = `bot-${randomBytes(12).toString('hex')}`;
      this.issued.add(token);
      return answer(200, { token_type: 'Bearer', expires_in: 3600, access_token: token });
    }

    // The Bot Connector.
    const connector = /^\/teams\/v3\/(.*)$/.exec(path);
    if (!connector) return answer(404, { error: { code: 'NotFound', message: path } });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!(token ? this.issued.has(token) : this.acceptAnonymous)) return answer(401, { message: 'Authorization has been denied for this request.' });
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
    const route = connector[1] ?? '';
    const call = (c: Omit<TeamsCall, 'status' | 'token' | 'method'>, status: number): void => this.record({ ...c, method: req.method ?? '', status, ...(token ? { token } : {}) });
    const failed = (kind: TeamsCall['kind'], fields: Omit<TeamsCall, 'status' | 'kind' | 'method'>): boolean => {
      const index = this.failures.findIndex((f) => f.kind === kind && (f.failure.when?.({ ...(fields.conversationId ? { conversationId: fields.conversationId } : {}), ...(body ? { body } : {}) }) ?? true));
      const failure = index >= 0 ? this.failures.splice(index, 1)[0]?.failure : undefined;
      if (!failure) return false;
      call({ kind, ...fields }, failure.status);
      answer(failure.status, { error: { code: failure.code ?? 'ServiceError', message: 'injected by the test' } }, failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {});
      return true;
    };
    const throttled = (kind: TeamsCall['kind'], conversationId: string): boolean => {
      if (!this.enforceLimits) return false;
      const key = conversationId.split(';')[0] ?? conversationId;
      const now = Date.now();
      const times = (this.sent.get(key) ?? []).filter((t) => t > now - 30_000);
      if (WINDOWS.some((w) => times.filter((t) => t > now - w.ms).length >= w.limit)) {
        call({ kind, conversationId, ...(body ? { body } : {}) }, 429);
        answer(429, { error: { code: 'TooManyRequests', message: 'Too many requests' } }, { 'retry-after': '1' });
        return true;
      }
      this.sent.set(key, [...times, now]);
      return false;
    };

    let m: RegExpExecArray | null;
    if (req.method === 'POST' && route === 'conversations') {
      if (failed('createConversation', { ...(body ? { body } : {}) })) return;
      const members = (body?.members as { id?: string }[] | undefined) ?? [];
      const userId = members[0]?.id;
      const user = userId ? this.users.get(userId) : undefined;
      if (!user || user.blocked) {
        call({ kind: 'createConversation', ...(body ? { body } : {}), ...(userId ? { userId } : {}) }, 403);
        return answer(403, { error: { code: 'Forbidden', message: 'The bot is not part of the conversation roster.' } });
      }
      call({ kind: 'createConversation', ...(body ? { body } : {}), userId: user.id }, 201);
      return answer(201, { id: this.personalChatOf(user.id) });
    }
    if ((m = /^conversations\/([^/]+)\/activities$/.exec(route)) && req.method === 'POST') {
      const conversationId = m[1] ?? '';
      if (failed('send', { conversationId, ...(body ? { body } : {}) }) || throttled('send', conversationId)) return;
      if (this.blockedChat(conversationId)) {
        call({ kind: 'send', conversationId, ...(body ? { body } : {}) }, 403);
        return answer(403, { error: { code: 'MessageWritesBlocked', message: 'Thread is blocked for writes' } });
      }
      const id = `act-${this.nextActivity++}`;
      call({ kind: 'send', conversationId, activityId: id, ...(body ? { body } : {}) }, 201);
      return answer(201, { id });
    }
    if ((m = /^conversations\/([^/]+)\/activities\/([^/]+)$/.exec(route)) && req.method === 'PUT') {
      const conversationId = m[1] ?? '';
      const activityId = m[2] ?? '';
      if (failed('update', { conversationId, activityId, ...(body ? { body } : {}) }) || throttled('update', conversationId)) return;
      call({ kind: 'update', conversationId, activityId, ...(body ? { body } : {}) }, 200);
      return answer(200, { id: activityId });
    }
    if ((m = /^conversations\/([^/]+)\/activities\/([^/]+)$/.exec(route)) && req.method === 'POST') {
      const conversationId = m[1] ?? '';
      const replyToId = m[2] ?? '';
      if (failed('reply', { conversationId, replyToId, ...(body ? { body } : {}) }) || throttled('reply', conversationId)) return;
      if (this.blockedChat(conversationId)) {
        call({ kind: 'reply', conversationId, replyToId, ...(body ? { body } : {}) }, 403);
        return answer(403, { error: { code: 'MessageWritesBlocked', message: 'Thread is blocked for writes' } });
      }
      const id = `act-${this.nextActivity++}`;
      call({ kind: 'reply', conversationId, activityId: id, replyToId, ...(body ? { body } : {}) }, 201);
      return answer(201, { id });
    }
    if ((m = /^conversations\/([^/]+)\/members\/([^/]+)$/.exec(route)) && req.method === 'GET') {
      const conversationId = m[1] ?? '';
      const userId = m[2] ?? '';
      if (failed('member', { conversationId, userId })) return;
      const user = this.users.get(userId);
      call({ kind: 'member', conversationId, userId }, user ? 200 : 404);
      if (!user) return answer(404, { error: { code: 'MemberNotFoundInConversation', message: 'The member was not found' } });
      return answer(200, this.memberOf(user));
    }
    if ((m = /^conversations\/([^/]+)\/pagedmembers$/.exec(route)) && req.method === 'GET') {
      const teamId = m[1] ?? '';
      const team = this.teams.get(teamId);
      call({ kind: 'pagedMembers', conversationId: teamId }, team ? 200 : 404);
      if (!team) return answer(404, { error: { code: 'NotFound', message: 'no such team' } });
      // NB: two members a page, so the bot has to follow continuation tokens as with a real roster.
      const start = Number(url.searchParams.get('continuationToken') ?? '0');
      const page = team.members.slice(start, start + 2);
      const next = start + 2 < team.members.length ? String(start + 2) : undefined;
      return answer(200, { members: page.flatMap((id) => (this.users.has(id) ? [this.memberOf(this.users.get(id) as FakeTeamsUser)] : [])), ...(next ? { continuationToken: next } : {}) });
    }
    if ((m = /^teams\/([^/]+)\/conversations$/.exec(route)) && req.method === 'GET') {
      const teamId = m[1] ?? '';
      const team = this.teams.get(teamId);
      call({ kind: 'teamChannels', conversationId: teamId }, team ? 200 : 404);
      if (!team) return answer(404, { error: { code: 'NotFound', message: 'no such team' } });
      return answer(200, { conversations: team.channels.map((id) => ({ id, name: id === teamId ? 'General' : id })) });
    }
    return answer(404, { error: { code: 'NotFound', message: `${req.method} ${route}` } });
  }

  /** The 1:1 chat of someone who blocked the bot: Teams refuses the bot's writes there. */
  private blockedChat(conversationId: string): boolean {
    return [...this.users.values()].some((u) => u.blocked && this.personalChatOf(u.id) === conversationId);
  }

  private memberOf(user: FakeTeamsUser): Record<string, unknown> {
    return {
      id: user.id,
      name: user.name ?? user.id,
      aadObjectId: user.aadObjectId,
      ...(user.email ? { email: user.email } : {}),
      userPrincipalName: user.userPrincipalName ?? user.email ?? `${user.aadObjectId}@example.onmicrosoft.com`,
      userRole: user.userRole ?? 'user',
      tenantId: user.tenantId ?? this.tenantId,
    };
  }

  private record(call: TeamsCall): void {
    this.calls.push(call);
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** Every text a card (or any activity the bot sent) shows: TextRuns, TextBlocks, action titles, in order. */
export function textOf(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if ((o.type === 'TextRun' || o.type === 'TextBlock') && typeof o.text === 'string') out.push(o.text);
    if (typeof o.title === 'string' && typeof o.type === 'string' && o.type.startsWith('Action.')) out.push(`[${o.title}]`);
    for (const [k, child] of Object.entries(o)) if (k !== 'text' && k !== 'title') walk(child);
  };
  walk(value);
  return out.join('');
}

/** The Adaptive Card an activity the bot sent carries. */
export function cardIn(body: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const attachments = (body?.attachments as { contentType?: string; content?: Record<string, unknown> }[] | undefined) ?? [];
  return attachments.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
}

/** The `Action.Execute` verbs a card offers (inside `Action.ShowCard` too). */
export function verbsOf(value: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.type === 'Action.Execute' && typeof o.verb === 'string') out.push(o.verb);
    Object.values(o).forEach(walk);
  };
  walk(value);
  return out;
}
