import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { spawn } from 'node:child_process';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/env';
import { startService } from '../src/service/start-service';
import { postSigned, slashCommandBody } from '../test/fakes/slack-signing';
import { repoRoot } from '../test/support/processes';
import { people, SIGNING_SECRET } from '../test/support/slack-bot';
import { createPostgresDatabase } from '../test/support/test-database';

export interface AckFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly failures: number;
}

const WARM_UP = 2_000;

/** Sends `total` signed slash commands, `concurrency` at a time, and times each HTTP answer (the ack). */
async function load(url: string, total: number, concurrency: number, text: (i: number) => string, responseUrl: string): Promise<AckFigures> {
  const times: number[] = [];
  let failures = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const body = slashCommandBody({ text: text(i), user_id: people.dave.id, response_url: responseUrl });
        const t0 = performance.now();
        const res = await postSigned(url, body, { secret: SIGNING_SECRET });
        times.push(performance.now() - t0);
        if (res.status !== 200) failures += 1;
      }
    }),
  );
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: times[times.length - 1] ?? NaN, failures };
}

/**
 * Slash-command ack latency: the real bot (HTTP mode, PostgreSQL, every request opened for real
 * after the ack) against a bare Bolt app that only acks, on this process, measured from the client
 * as Slack would see it. The fake Slack that both talk to runs in a process of its own.
 */
export async function benchSlackAck(opts: { total: number; concurrency: number }): Promise<{ bot: AckFigures; bare: AckFigures }> {
  const fake = await startFakeSlackProcess();
  try {
    const apiUrl = `http://127.0.0.1:${fake.port}/api/`;
    const responseUrl = `http://127.0.0.1:${fake.port}/response/bench`;
    const database = await createPostgresDatabase({ migrate: false });
    const env = {
      DATABASE_URL: database.url,
      POLICY_FILE: path.join(repoRoot, 'manifests/policy.example.yaml'),
      PORT: '0',
      HOST: '127.0.0.1',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: apiUrl,
    };
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    let bot: AckFigures;
    const service = await startService(loaded.config, pino({ level: 'silent' }), { env });
    try {
      const url = `http://127.0.0.1:${service.port}/slack/events`;
      // NB: the same warm-up on both sides (JIT, connections): with a short one, whichever side ran
      // first paid for warming up the shared load generator too (p99 2.5× with 100 warm-up commands).
      await load(url, WARM_UP, opts.concurrency, () => 'help', responseUrl);
      bot = await load(url, opts.total, opts.concurrency, (i) => `sandbox-admin 1h OPS-${i + 1} bench request number ${i + 1}`, responseUrl);
    } finally {
      await service.close();
      await database.close();
    }

    const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
    const app = new App({ token: 'xoxb-bare', receiver, botId: 'B1', botUserId: 'U1', clientOptions: { slackApiUrl: apiUrl }, logLevel: LogLevel.ERROR });
    app.command('/prod-access', async ({ ack }) => {
      await ack();
    });
    const server = http.createServer(receiver.requestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    try {
      await load(url, WARM_UP, opts.concurrency, () => 'help', responseUrl);
      return { bot, bare: await load(url, opts.total, opts.concurrency, () => 'help', responseUrl) };
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  } finally {
    await fake.stop();
  }
}

async function startFakeSlackProcess(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, 'fake-slack-process.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /FAKE_SLACK_PORT=(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`the fake Slack process exited with ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
