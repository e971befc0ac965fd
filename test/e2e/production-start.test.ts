import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/processes';

jest.setTimeout(400_000);

// NB: the production build goes to .test-dist/, beside dist/ (the same depth, so the compiled code
// finds migrations/ as dist/ does), never over a developer's own dist/.
const outDir = path.join(repoRoot, '.test-dist');
const main = path.join(outDir, 'main.js');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const started: ChildProcess[] = [];

/** `node .test-dist/main.js` as a process manager runs it: one process, signalled directly. */
function startProduction(dataDir: string) {
  const child = spawn(process.execPath, [main], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: '', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  });
  started.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

// NB: generous: a fresh embedded database on a loaded 2-core machine has taken over 30 s to start.
async function until(condition: () => boolean, timeoutMs = 120_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(stepMs);
  }
}

describe('the production command (node dist/main.js)', () => {
  let dir: string;

  beforeAll(async () => {
    // Given the service built to plain JavaScript, as `npm run build` does
    await promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: repoRoot });
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-prod-'));
  });
  afterAll(() => {
    // NB: a test that failed half-way leaves no service running behind it.
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  it('runs without tsx and stops cleanly on SIGTERM while serving', async () => {
    const dataDir = path.join(dir, 'serving');
    const service = startProduction(dataDir);
    await until(() => service.output().includes('prod-access listening on'));
    expect(existsSync(path.join(dataDir, 'admin.json'))).toBe(true);

    service.child.kill('SIGTERM');

    expect(await service.exited).toBe(0);
    expect(service.output()).not.toContain('did not stop within');
    expect(existsSync(path.join(dataDir, 'pgdata.lock'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'admin.json'))).toBe(false);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('stops cleanly on %s during start-up, leaving no lock or admin file', async (signal) => {
    // Given a database made by an earlier run (a restart: the start a process manager interrupts)
    const dataDir = path.join(dir, `starting-${signal}`);
    const first = startProduction(dataDir);
    await until(() => first.output().includes('prod-access listening on'));
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // And a start that has taken the database's lock but is not serving yet
    const service = startProduction(dataDir);
    await until(() => existsSync(path.join(dataDir, 'pgdata.lock')), 120_000, 2);
    expect(service.output()).not.toContain('prod-access listening on');

    // When the process manager signals it
    service.child.kill(signal);

    // Then it exits cleanly and leaves nothing behind
    const code = await service.exited;
    expect({ code, output: service.output() }).toEqual({ code: 0, output: expect.stringContaining('start-up interrupted') });
    expect(service.output()).not.toContain('did not stop within');
    expect(existsSync(path.join(dataDir, 'pgdata.lock'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'admin.json'))).toBe(false);

    // And the next start opens the database at once
    const next = startProduction(dataDir);
    await until(() => next.output().includes('prod-access listening on'));
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });

  it('hashes the audit chain in worker threads of the built JavaScript, without tsx', async () => {
    // Given a valid one-event segment, checked by the built checker in a plain node process
    // NB: every thread started is recorded: it must be the built worker file, never tsx's eval shim.
    const script = `
      const threads = require('node:worker_threads');
      const started = [];
      const RealWorker = threads.Worker;
      threads.Worker = class extends RealWorker { constructor(file, options) { started.push({ file: String(file), eval: Boolean(options && options.eval) }); super(file, options); } };
      const { WorkerChainChecker } = require(${JSON.stringify(path.join(outDir, 'adapters/threads/worker-chain-checker.js'))});
      const { chainHash, GENESIS_HASH } = require(${JSON.stringify(path.join(outDir, 'domain/audit-chain.js'))});
      const fields = { seq: 1, occurredAt: new Date('2026-03-03T10:00:00Z'), actor: 'system', action: 'policy_activated', requestId: null, data: { b: 1, a: 'x' } };
      const hash = chainHash(GENESIS_HASH, fields);
      const checker = new WorkerChainChecker(1);
      checker.check({ start: { seq: 1, prevHash: GENESIS_HASH }, events: [{ ...fields, occurredAt: '2026-03-03T10:00:00.000Z', data: JSON.stringify(fields.data), prevHash: GENESIS_HASH, hash }] })
        .then((check) => { process.stdout.write(JSON.stringify({ check, hash, started, tsx: Object.keys(require.cache).some((k) => k.includes('/tsx/')) })); return checker.close(); });`;
    // When
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: repoRoot });
    // Then a thread of the built worker checked it, and nothing loaded tsx
    const result = JSON.parse(stdout) as { check: unknown; hash: string; started: unknown; tsx: boolean };
    expect(result).toEqual({
      check: { count: 1, last: { seq: 1, hash: result.hash } },
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      started: [{ file: path.join(outDir, 'adapters/threads/chain-check-worker.js'), eval: false }],
      tsx: false,
    });
  });
});
