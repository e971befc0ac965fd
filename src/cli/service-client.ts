import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { adminFilePath, type AdminFile } from '../service/admin-endpoint';
import type { CliIo } from './program';

/** The running service that holds `dataDir`, if any: its admin file names a live process. */
export async function findService(dataDir: string): Promise<AdminFile | undefined> {
  let info: Partial<AdminFile>;
  try {
    info = JSON.parse(await readFile(adminFilePath(dataDir), 'utf8')) as Partial<AdminFile>;
  } catch {
    return undefined;
  }
  if (typeof info.pid !== 'number' || typeof info.port !== 'number' || typeof info.token !== 'string') return undefined;
  try {
    process.kill(info.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined; // left behind by a process that died
  }
  return { pid: info.pid, port: info.port, token: info.token };
}

/**
 * Runs the command inside the service and relays its output; resolves to the exit code. NB: the
 * OS user is not sent: the service reads it from the connection, so no client can choose it.
 */
export function runThroughService(service: AdminFile, argv: readonly string[], io: CliIo): Promise<number> {
  return new Promise((resolve, reject) => {
    // NB: whether this terminal shows progress is the client's to say; the service sends progress frames only then.
    const body = JSON.stringify({ argv, progress: io.progress !== undefined });
    const req = http.request(
      {
        host: '127.0.0.1',
        port: service.port,
        method: 'POST',
        path: '/cli',
        headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`the running service (pid ${service.pid}) refused the command with HTTP ${res.statusCode ?? '?'}`));
          return;
        }
        let buffer = '';
        let exit: number | undefined;
        let chain = Promise.resolve();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) {
            if (!line) continue;
            const frame = JSON.parse(line) as { out?: string; err?: string; progress?: string | null; exit?: number };
            if (frame.out !== undefined) {
              const text = frame.out;
              res.pause();
              chain = chain.then(() => io.out(text)).then(() => void res.resume());
            }
            if (frame.err !== undefined) io.err(frame.err);
            if (frame.progress !== undefined) io.progress?.(typeof frame.progress === 'string' ? frame.progress : undefined);
            if (frame.exit !== undefined) exit = frame.exit;
          }
        });
        res.on('end', () => {
          void chain.then(() => {
            if (exit === undefined) reject(new Error(`the running service (pid ${service.pid}) ended the command without an exit code`));
            else resolve(exit);
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (error) => reject(new Error(`cannot reach the running service (pid ${service.pid}) on 127.0.0.1:${service.port}: ${error.message}`)));
    req.end(body);
  });
}
