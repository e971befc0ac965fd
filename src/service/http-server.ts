import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AppContext } from '../app/app-context';

/**
 * The largest request body the server reads, for every route. Slack's own payloads are bounded by
 * Block Kit's limits (a view holds at most 100 blocks of at most 3,000 characters, a message's text
 * 40,000): a few hundred kB at the very most, and this app's own views and cards, echoed back in
 * interactions, are a few kB. Teams caps a message at about 28 kB. Bolt would buffer up to 4 MB
 * of an unsigned body before checking its signature; nothing legitimate comes near 512 KiB.
 */
export const MAX_REQUEST_BODY_BYTES = 512 * 1024;

/** A request whose body the server has already read (at most `MAX_REQUEST_BODY_BYTES`). */
export interface BufferedRequest extends http.IncomingMessage {
  /** NB: the field Bolt's receivers take as an already-buffered body (`BufferedIncomingMessage`). */
  rawBody: Buffer;
}

export type RouteHandler = (req: BufferedRequest, res: http.ServerResponse) => void;

/**
 * The bot's one HTTP server: `GET /healthz` (the process is up), `GET /readyz` (database
 * reachable, policy loaded). Chat platforms mount their routes with `mount` (Slack's
 * `/slack/events`, Teams' `/api/messages`); a route gets the request with its body already read,
 * and a body larger than `MAX_REQUEST_BODY_BYTES` never reaches it.
 */
export class HttpServer {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly server: http.Server;
  private stopping = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly logger: Logger,
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    // NB: a client that asks before sending (`Expect: 100-continue`) is told no before it sends.
    this.server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (declaredTooLarge(req)) return refuseTooLarge(res);
      res.writeContinue();
      this.handle(req, res);
    });
  }

  mount(pathname: string, handler: RouteHandler): void {
    this.routes.set(pathname, handler);
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting connections and reports not ready; open requests finish. */
  async close(): Promise<void> {
    this.stopping = true;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    // NB: before anything else, and before a byte of the body is read: what it says it will send.
    if (declaredTooLarge(req)) return refuseTooLarge(res);
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && pathname === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && pathname === '/readyz') return void this.ready(res);
    const route = this.routes.get(pathname);
    if (!route) return json(res, 404, { error: 'not found' });
    readBounded(req, res, (body) => {
      const buffered = req as BufferedRequest;
      buffered.rawBody = body;
      route(buffered, res);
    });
  }

  private async ready(res: http.ServerResponse): Promise<void> {
    if (this.stopping) return json(res, 503, { status: 'stopping' });
    try {
      await this.ctx.store.ping();
      const policy = this.ctx.policy.current();
      json(res, 200, { status: 'ready', policySha: policy.sha256, roles: policy.policy.roles.size });
    } catch (err) {
      this.logger.warn({ err }, 'readiness check failed');
      json(res, 503, { status: 'database unreachable' });
    }
  }
}

function declaredTooLarge(req: http.IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > MAX_REQUEST_BODY_BYTES;
}

/**
 * Reads the body into memory, then calls `whenRead`; one that passes the limit (a chunked body
 * says nothing in advance) is answered 413 as soon as it does, and no more of it is read.
 */
function readBounded(req: http.IncomingMessage, res: http.ServerResponse, whenRead: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_REQUEST_BODY_BYTES) return void chunks.push(chunk);
    stop();
    chunks.length = 0;
    refuseTooLarge(res);
  };
  const onEnd = () => {
    stop();
    whenRead(Buffer.concat(chunks, size));
  };
  const stop = () => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', stop);
    // NB: paused, nothing more is pulled off the wire; the 413's `Connection: close` then has Node
    // destroy the socket once the answer is written, with the rest of the body unread.
    req.pause();
  };
  req.on('data', onData);
  req.on('end', onEnd);
  // NB: a client that went away: nothing to answer.
  req.on('error', stop);
}

function refuseTooLarge(res: http.ServerResponse): void {
  res.shouldKeepAlive = false;
  res
    .writeHead(413, { 'content-type': 'application/json', connection: 'close' })
    .end(JSON.stringify({ error: `request body larger than ${MAX_REQUEST_BODY_BYTES} bytes` }));
}

function json(res: http.ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
