import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakeSlack } from '../test/fakes/fake-slack';
import { spawnServiceProcess } from '../test/support/processes';
import { SIGNING_SECRET } from '../test/support/slack-bot';
import { createPostgresDatabase } from '../test/support/test-database';
import { postJunk } from '../test/support/junk-body';

export interface BodyFloodFigures {
  readonly rssBeforeMiB: number;
  /** The highest resident set sampled (every 20 ms) while the flood ran. */
  readonly rssMaxDuringMiB: number;
  readonly rssAfterMiB: number;
  /** The service's peak resident set (VmHWM) before and after the flood, start-up included. */
  readonly peakBeforeMiB: number;
  readonly peakAfterMiB: number;
  readonly statuses: Record<string, number>;
  /** Bytes the flood handed to its sockets, all requests together. */
  readonly sentMiB: number;
  readonly seconds: number;
  readonly sent: number;
}

const MiB = 1024 * 1024;

/** VmRSS and VmHWM of a process, in MiB (Linux). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** One unsigned POST of `size` bytes of junk; `reset` when the connection closed before an answer was read. */
async function forge(url: string, size: number, chunked: boolean): Promise<{ status: string; sent: number }> {
  const { status, sent } = await postJunk(url, size, { chunked });
  return { status: status === undefined ? 'reset' : String(status), sent };
}

/**
 * A flood of large unsigned bodies at `/slack/events` of the real service (HTTP mode), in a process
 * of its own whose memory is read from /proc: loopback only, a bounded count, and no new request
 * after `maxSeconds`. NB: on PostgreSQL, not PGlite: the embedded database's start-up peak (about
 * 900 MiB, then released) would hide what the flood does.
 */
export async function benchBodyFlood(opts: { total: number; concurrency: number; bodyBytes: number; maxSeconds: number }): Promise<BodyFloodFigures> {
  const slack = await FakeSlack.start();
  const database = await createPostgresDatabase({ migrate: false });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-bench-bodies-'));
  const { child, output } = spawnServiceProcess({
    DATABASE_URL: database.url,
    DATA_DIR: path.join(dir, 'data'),
    POLICY_FILE: path.join(__dirname, '../manifests/policy.example.yaml'),
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /prod-access listening on [^:]+:(\d+)/.exec(output());
        if (match) {
          clearInterval(timer);
          resolve(Number(match[1]));
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`the service exited before listening:\n${output()}`));
        }
      }, 100);
    });
    const pid = child.pid ?? NaN;
    const url = `http://127.0.0.1:${port}/slack/events`;
    const before = memoryOf(pid);
    let rssMax = before.rss;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, memoryOf(pid).rss)), 20);
    const statuses: Record<string, number> = {};
    let sentBytes = 0;
    let next = 0;
    const t0 = performance.now();
    const deadline = t0 + opts.maxSeconds * 1000;
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        for (let i = next++; i < opts.total && performance.now() < deadline; i = next++) {
          const { status, sent } = await forge(url, opts.bodyBytes, i % 2 === 1);
          statuses[status] = (statuses[status] ?? 0) + 1;
          sentBytes += sent;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const after = memoryOf(pid);
    return {
      rssBeforeMiB: before.rss,
      rssMaxDuringMiB: Math.max(rssMax, after.rss),
      rssAfterMiB: after.rss,
      peakBeforeMiB: before.peak,
      peakAfterMiB: after.peak,
      statuses,
      sentMiB: sentBytes / MiB,
      seconds,
      sent: Object.values(statuses).reduce((a, b) => a + b, 0),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    await slack.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
