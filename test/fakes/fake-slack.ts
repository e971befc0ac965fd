import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One Web API call as the fake received it. */
export interface SlackCall {
  readonly method: string;
  /** Form or JSON body; `blocks`, `view` and other JSON-in-a-string fields decoded. */
  readonly args: Record<string, unknown>;
  readonly token: string | undefined;
}

export interface FakeSlackUser {
  readonly id: string;
  readonly email?: string;
  readonly isBot?: boolean;
  readonly deleted?: boolean;
  readonly tz?: string;
  /** Shown as `real_name` (default: the id). */
  readonly realName?: string;
  /** The user's own workspace (default T0FAKE, the bot's); another one is a Slack Connect user. */
  readonly teamId?: string;
  /** Set for a member of an Enterprise Grid organisation (`enterprise_user.enterprise_id`). */
  readonly enterpriseId?: string;
  /** `is_email_confirmed` (default true). */
  readonly emailConfirmed?: boolean;
  /** `is_restricted` (multi-channel guest) or `is_ultra_restricted` (single-channel guest). */
  readonly guest?: 'multi-channel' | 'single-channel';
  readonly isAppUser?: boolean;
  /** `is_stranger`: seen through Slack Connect. */
  readonly isStranger?: boolean;
}

/** A failure the next call to a method gets. */
export interface Failure {
  /** Slack's `error` field (`ratelimited`, `channel_not_found`, …) with HTTP 200, unless `status` says otherwise. */
  readonly error?: string;
  readonly status?: number;
  /** Seconds, sent as `Retry-After` (with status 429). */
  readonly retryAfter?: number;
  /** Only calls whose arguments match fail (default: the next call to the method). */
  readonly when?: (args: Record<string, unknown>) => boolean;
}

const JSON_FIELDS = ['blocks', 'view', 'attachments'];

/**
 * A local stand-in for Slack's Web API, `response_url`s and the Socket Mode WebSocket, for the
 * real Bolt and web-api clients to talk to. It records every call and answers like Slack does,
 * with a directory of users the test registers. Start one per test file; `close()` it after.
 */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly responses: { key: string; body: Record<string, unknown> }[] = [];
  private readonly users = new Map<string, FakeSlackUser>();
  private readonly usergroups = new Map<string, string[]>();
  private readonly channels = new Map<string, { name: string; isMember: boolean; isArchived?: boolean }>();
  /** The bot token's scopes, as the `x-oauth-scopes` header names them (default: all the manifest asks for). */
  scopes: string[] = ['commands', 'chat:write', 'users:read', 'users:read.email', 'usergroups:read', 'channels:read', 'groups:read'];
  private readonly failures = new Map<string, Failure[]>();
  private readonly waiters: (() => void)[] = [];
  private readonly sockets = new Set<WebSocket>();
  private readonly acks = new Map<string, (payload: unknown) => void>();
  private nextTs = 1_700_000_000;
  private nextEnvelope = 1;
  private wss: WebSocketServer | undefined;

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<FakeSlack> {
    const server = http.createServer();
    const fake = new FakeSlack(server);
    server.on('request', (req, res) => void fake.handle(req, res));
    fake.wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      fake.wss?.handleUpgrade(req, socket, head, (ws) => fake.connected(ws));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The Web API base URL for `SLACK_API_URL` / `slackApiUrl`. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** A `response_url` whose POSTs are recorded under `key`. */
  responseUrl(key: string): string {
    return `http://127.0.0.1:${this.port}/response/${encodeURIComponent(key)}`;
  }

  addUser(user: FakeSlackUser): void {
    this.users.set(user.id, user);
  }

  /** Sets the members (user ids) of a user group, as `usergroups.users.list` answers. */
  setUsergroup(id: string, members: readonly string[]): void {
    this.usergroups.set(id, [...members]);
  }

  /** A channel for `conversations.info`: its name and whether the bot is in it. */
  addChannel(id: string, channel: { name: string; isMember: boolean; isArchived?: boolean }): void {
    this.channels.set(id, channel);
  }

  failNext(method: string, failure: Failure): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), failure]);
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Waits until a call (or response_url POST, method `response`) matches, up to `timeoutMs`. */
  async waitFor(method: string, match: (call: SlackCall) => boolean = () => true, timeoutMs = 10_000): Promise<SlackCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.all().find((c) => c.method === method && match(c));
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${method} call matched within ${timeoutMs} ms; calls: ${this.all().map((c) => c.method).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Socket Mode: sends an envelope to every connected client and resolves with the first ack's payload. */
  async sendEnvelope(type: 'slash_commands' | 'interactive' | 'events_api', payload: unknown, timeoutMs = 5_000): Promise<unknown> {
    const [socket] = this.sockets;
    if (!socket) throw new Error('no Socket Mode client is connected');
    const envelopeId = `env-${this.nextEnvelope++}`;
    const acked = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`envelope ${envelopeId} was not acked within ${timeoutMs} ms`)), timeoutMs);
      this.acks.set(envelopeId, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
    });
    socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
    return acked;
  }

  get socketClients(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    // NB: a clean close handshake, not terminate(). Bolt's app.stop() resolves before the client's
    // close frame is answered, and socket-mode 3.1 arms a 30 s timer per close frame it sends: a
    // socket dropped mid-handshake makes it send a second one over the first timer, which is then
    // never cleared and keeps jest from exiting for 30 s.
    await Promise.all([...this.sockets].map((socket) => closeGracefully(socket)));
    this.wss?.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private all(): SlackCall[] {
    return [...this.calls, ...this.responses.map((r) => ({ method: 'response', args: { key: r.key, ...r.body }, token: undefined }))];
  }

  private connected(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { envelope_id?: string; payload?: unknown };
      if (message.envelope_id) this.acks.get(message.envelope_id)?.(message.payload);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake-slack' }, connection_info: { app_id: 'A1' } }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname.startsWith('/response/')) {
      this.responses.push({ key: decodeURIComponent(url.pathname.slice('/response/'.length)), body: raw ? (parseJson(raw) ?? { raw }) : {} });
      this.wake();
      res.writeHead(200).end('ok');
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      res.writeHead(404).end();
      return;
    }
    const method = url.pathname.slice('/api/'.length);
    const args = parseBody(raw, req.headers['content-type']);
    if (!args) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'invalid_json' }));
      return;
    }
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : undefined;
    this.calls.push({ method, args, token });
    this.wake();
    const queue = this.failures.get(method) ?? [];
    const index = queue.findIndex((f) => f.when === undefined || f.when(args));
    const failure = index >= 0 ? queue.splice(index, 1)[0] : undefined;
    if (failure) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
      res.writeHead(failure.status ?? 200, headers).end(JSON.stringify({ ok: false, error: failure.error ?? 'fatal_error' }));
      return;
    }
    // NB: Slack names the token's scopes in a header on every answer; the client reads them into response_metadata.scopes.
    res.writeHead(200, { 'content-type': 'application/json', 'x-oauth-scopes': this.scopes.join(',') }).end(JSON.stringify(this.answer(method, args)));
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'prod-access', team_id: 'T0FAKE', user_id: 'UBOT', bot_id: 'BBOT' };
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${this.port}/socket` };
      case 'users.info': {
        const user = this.users.get(String(args.user));
        if (!user) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: slackUser(user) };
      }
      case 'users.lookupByEmail': {
        const user = [...this.users.values()].find((u) => u.email?.toLowerCase() === String(args.email).toLowerCase());
        return user ? { ok: true, user: slackUser(user) } : { ok: false, error: 'users_not_found' };
      }
      case 'conversations.info': {
        const channel = this.channels.get(String(args.channel));
        if (!channel) return { ok: false, error: 'channel_not_found' };
        return { ok: true, channel: { id: args.channel, name: channel.name, is_member: channel.isMember, is_archived: channel.isArchived ?? false } };
      }
      case 'usergroups.users.list': {
        const members = this.usergroups.get(String(args.usergroup));
        return members ? { ok: true, users: members } : { ok: false, error: 'no_such_subteam' };
      }
      case 'chat.postMessage': {
        const channel = String(args.channel);
        return { ok: true, channel: channel.startsWith('U') ? `D${channel.slice(1)}` : channel, ts: `${this.nextTs++}.000100`, message: { text: args.text } };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${this.nextTs++}.000200` };
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(args.users ?? 'X').slice(1)}` } };
      case 'views.open':
      case 'views.update':
      case 'views.publish':
        return { ok: true, view: { id: `V${this.nextTs++}` } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

function closeGracefully(socket: WebSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.readyState === socket.CLOSED) return resolve();
    const timer = setTimeout(() => socket.terminate(), 1_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (socket.readyState === socket.OPEN) socket.close(1000);
  });
}

function slackUser(user: FakeSlackUser): Record<string, unknown> {
  return {
    id: user.id,
    team_id: user.teamId ?? 'T0FAKE',
    ...(user.enterpriseId ? { enterprise_user: { id: user.id, enterprise_id: user.enterpriseId, enterprise_name: 'Fake Org', teams: [user.teamId ?? 'T0FAKE'] } } : {}),
    name: user.id.toLowerCase(),
    deleted: user.deleted ?? false,
    is_bot: user.isBot ?? false,
    is_app_user: user.isAppUser ?? false,
    is_restricted: user.guest !== undefined,
    is_ultra_restricted: user.guest === 'single-channel',
    ...(user.isStranger ? { is_stranger: true } : {}),
    is_email_confirmed: user.emailConfirmed ?? true,
    tz: user.tz ?? 'Europe/Berlin',
    real_name: user.realName ?? user.id,
    profile: { ...(user.email ? { email: user.email } : {}), real_name: user.realName ?? user.id },
  };
}

/** The call's arguments, or undefined when a JSON body does not parse (Slack answers `invalid_json`). */
function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> | undefined {
  if (!raw) return {};
  const args = contentType?.includes('application/json') ? parseJson(raw) : Object.fromEntries(new URLSearchParams(raw));
  if (!args) return undefined;
  for (const field of JSON_FIELDS) {
    const value = args[field];
    // NB: a field that does not parse is left as sent; a test asserting on it sees the raw string.
    if (typeof value === 'string') args[field] = parseJson(value) ?? value;
  }
  return args;
}

// NB: a body the fake cannot read must still get an answer: a throw here would leave the client
// waiting and surface as an unhandled rejection far from the test that caused it.
function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
