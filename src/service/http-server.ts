import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AppContext } from '../app/app-context';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * The bot's one HTTP server: `GET /healthz` (the process is up), `GET /readyz` (database
 * reachable, policy loaded). Chat platforms mount their routes with `mount` (Slack's
 * `/slack/events`, Teams' `/api/messages`).
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
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && pathname === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && pathname === '/readyz') return void this.ready(res);
    const route = this.routes.get(pathname);
    if (route) return route(req, res);
    json(res, 404, { error: 'not found' });
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

function json(res: http.ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
