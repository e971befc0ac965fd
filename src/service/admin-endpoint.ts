import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { runCli, type CliEnv } from '../cli/program';
import type { OpenedApp } from './open-app';

/** Where a running service tells the CLI how to reach it: `{ pid, port, token }`, mode 0600. */
export function adminFilePath(dataDir: string): string {
  return path.join(dataDir, 'admin.json');
}

export interface AdminFile {
  readonly pid: number;
  readonly port: number;
  readonly token: string;
}

const MAX_BODY = 64 * 1024;

/**
 * A loopback-only endpoint through which the CLI runs its commands inside the service while the
 * service holds the embedded database (PGlite is single-process). The caller proves it may read
 * the service's files by presenting the token from `admin.json`, which only the owner can read.
 * Output streams back as JSON lines: `{"out":…}`, `{"err":…}`, and finally `{"exit":code}`.
 */
export async function startAdminEndpoint(app: OpenedApp, dataDir: string, knownProviders: readonly string[], logger: Logger): Promise<{ close(): Promise<void> }> {
  const token = randomBytes(32).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  const server = http.createServer((req, res) => {
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (req.method !== 'POST' || req.url !== '/cli') return void res.writeHead(404).end();
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) return void res.writeHead(401).end();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      let body: { argv?: unknown; osUser?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return void res.writeHead(400).end();
      }
      const argv = body.argv;
      if (!Array.isArray(argv) || !argv.every((a): a is string => typeof a === 'string') || typeof body.osUser !== 'string') {
        return void res.writeHead(400).end();
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const send = (frame: object) =>
        new Promise<void>((resolve) => {
          if (!res.write(`${JSON.stringify(frame)}\n`)) res.once('drain', resolve);
          else resolve();
        });
      const env: CliEnv = {
        io: { out: (text) => send({ out: text }), err: (text) => void send({ err: text }) },
        app: async () => app,
        osUser: body.osUser.slice(0, 64),
        knownProviders,
      };
      logger.info({ command: argv.slice(0, 2), osUser: env.osUser }, 'cli command run through the service');
      runCli(argv, env)
        .then((code) => send({ exit: code }))
        .catch((err: unknown) => {
          logger.error({ err }, 'cli command failed inside the service');
          return send({ err: `${err instanceof Error ? err.message : String(err)}\n` }).then(() => send({ exit: 3 }));
        })
        .finally(() => res.end());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const file = adminFilePath(dataDir);
  const info: AdminFile = { pid: process.pid, port: (server.address() as AddressInfo).port, token };
  await writeFile(file, JSON.stringify(info), { mode: 0o600 });
  await chmod(file, 0o600);
  return {
    close: async () => {
      await rm(file, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
