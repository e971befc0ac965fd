import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const repoRoot = path.resolve(__dirname, '../..');
// NB: node with tsx's loader, not the tsx CLI: the CLI runs the program in a child of its own and
// relays signals with a SIGKILL after a few tens of ms, so a busy child was sometimes killed
// instead of stopping cleanly (exit 143), and a signal reached the wrapper, not the service.
// tsx's loader by its path (what `--import tsx` resolves to), so a process run from another
// directory (an auditor's) finds it too.
const withTsx = ['--import', pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href];

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // NB: ENV_FILE empty: a developer's own .env in the checkout never leaks into the tests.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ENV_FILE: '', ...extra };
  return env;
}

/** Runs `prod-access <args>` as a separate process, as an operator would (from `cwd`, default the checkout). */
export function runCliProcess(args: readonly string[], env: Record<string, string>, opts: { readonly cwd?: string } = {}): Promise<RunResult> {
  return runNodeScript([...withTsx, path.join(repoRoot, 'src/cli/index.ts'), ...args], { cwd: opts.cwd ?? repoRoot, env: baseEnv({ LOG_LEVEL: 'warn', ...env }) });
}

/** Runs `node <args>` to its end and collects what it wrote; `env` is its whole environment. */
export function runNodeScript(args: readonly string[], opts: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], opts);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything it logged so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `npm start`'s entry point as a separate process and waits until it listens. */
export function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...withTsx, path.join(repoRoot, 'src/main.ts')], { cwd: repoRoot, env: baseEnv({ PORT: '0', HOST: '127.0.0.1', ...env }) });
    let output = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = /prod-access listening on [^:]+:(\d+)/.exec(output);
      if (match) {
        child.stdout?.off('data', onData);
        child.stdout?.on('data', (more: Buffer) => (output += more.toString()));
        resolve({
          child,
          port: Number(match[1]),
          output: () => output,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((code) => reject(new Error(`service exited with ${code} before listening:\n${output}`)));
  });
}

/** Runs the service entry point expecting it to refuse to start; resolves with its exit and output. */
export function runServiceExpectingExit(env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...withTsx, path.join(repoRoot, 'src/main.ts')], { cwd: repoRoot, env: baseEnv({ PORT: '0', HOST: '127.0.0.1', ...env }) });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Spawns `npm start`'s entry point without waiting for anything, for tests that kill it mid-work. */
export function spawnServiceProcess(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  // NB: node with tsx's loader, not the tsx CLI: the CLI runs the service in a child of its own,
  // and a SIGKILL would kill the wrapper and leave the service running.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/main.ts')], { cwd: repoRoot, env: baseEnv({ PORT: '0', HOST: '127.0.0.1', ...env }) });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}
