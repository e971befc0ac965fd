import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { loopbackOperator } from '../adapters/os/cli-operator';
import { runCli, type CliEnv } from '../cli/program';
import type { CheckpointSigner } from '../ports/checkpoint-signer';
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
 * The OS user recorded for the command is the owner of the client's socket (Linux), or else the
 * service's own user; never what the client sends.
 * Output streams back as JSON lines: `{"out":…}`, `{"err":…}`, and finally `{"exit":code}`; with
 * `"progress": true` in the request (the client's stderr is a terminal), also `{"progress":line}`
 * and `{"progress":null}` to erase it.
 */
export async function startAdminEndpoint(
  app: OpenedApp,
  dataDir: string,
  knownProviders: readonly string[],
  logger: Logger,
  /** The service's checkpoint signer: commands run here sign with it, whatever the caller's own settings. */
  signer?: CheckpointSigner,
  options: { readonly monotonicMs?: () => number } = {},
): Promise<{ close(): Promise<void> }> {
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
      // NB: any `osUser` in the body is ignored: the OS user comes from the connection itself.
      let body: { argv?: unknown; progress?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return void res.writeHead(400).end();
      }
      const argv = body.argv;
      if (!Array.isArray(argv) || !argv.every((a): a is string => typeof a === 'string')) {
        return void res.writeHead(400).end();
      }
      runFor(argv, body.progress === true).catch((err: unknown) => {
        logger.error({ err }, 'cli command could not be run inside the service');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    const runFor = async (argv: string[], progress: boolean): Promise<void> => {
      // NB: while the client waits for the answer, its end of the connection is in the kernel's
      // socket table under the uid that opened it: that is who runs this command.
      const { remoteAddress, remotePort, localAddress, localPort } = req.socket;
      const operator = await loopbackOperator(
        { address: remoteAddress ?? '', port: remotePort ?? 0 },
        { address: localAddress ?? '', port: localPort ?? 0 },
      );
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const send = (frame: object) =>
        new Promise<void>((resolve) => {
          if (!res.write(`${JSON.stringify(frame)}\n`)) res.once('drain', resolve);
          else resolve();
        });
      const env: CliEnv = {
        io: {
          out: (text) => send({ out: text }),
          err: (text) => void send({ err: text }),
          ...(progress ? { progress: (line: string | undefined) => void send({ progress: line ?? null }) } : {}),
        },
        app: async () => app,
        operator,
        knownProviders,
        ...(signer ? { signer: async () => signer } : {}),
        ...(options.monotonicMs ? { monotonicMs: options.monotonicMs } : {}),
      };
      logger.info({ command: argv.slice(0, 2), osUser: operator.osUser, osUserFrom: operator.osUserFrom }, 'cli command run through the service');
      runCli(argv, env)
        .then((code) => send({ exit: code }))
        .catch((err: unknown) => {
          logger.error({ err }, 'cli command failed inside the service');
          return send({ err: `${err instanceof Error ? err.message : String(err)}\n` }).then(() => send({ exit: 3 }));
        })
        .finally(() => res.end());
    };
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const file = adminFilePath(dataDir);
  const info: AdminFile = { pid: process.pid, port: (server.address() as AddressInfo).port, token };
  await writeFile(file, JSON.stringify(info), { mode: 0o600 });
  await chmod(file, 0o600);
  // NB: gone even when the process exits without closing (a shutdown deadline, a second signal).
  const onExit = () => rmSync(file, { force: true });
  process.once('exit', onExit);
  return {
    close: async () => {
      process.off('exit', onExit);
      await rm(file, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
