import pino from 'pino';
import path from 'node:path';
import { readSigningKeyFile } from '../adapters/crypto/signing-key-file';
import { providerKinds } from '../adapters/iam/provider-kinds';
import { processOperator } from '../adapters/os/cli-operator';
import { assertPrivateDataDir } from '../adapters/store/private-data-dir';
import { StoreError } from '../app/errors';
import { LogLevel, WebClient } from '@slack/web-api';
import { checkSlackSetup, type SetupFinding } from '../adapters/chat/slack/slack-doctor';
import { loadConfig, type Config } from '../config/env';
import type { Policy } from '../domain/policy';
import { loadEnvFile } from '../config/env-file';
import { createLogger } from '../config/logger';
import type { AdminFile } from '../service/admin-endpoint';
import { openApp, type OpenedApp } from '../service/open-app';
import { EXIT_FAILED, EXIT_USAGE, runCli, type CliEnv, type CliIo } from './program';
import { WorkerChainChecker } from '../adapters/threads/worker-chain-checker';
import { findService, runThroughService } from './service-client';
import { terminalIo } from './terminal-io';

/** Thrown when a command needs the embedded database and a running service holds it. */
class ServiceHoldsDatabase extends Error {
  constructor(readonly service: AdminFile) {
    super('the running service holds the embedded database');
  }
}

const KNOWN_PROVIDERS: readonly string[] = providerKinds;

// NB: progress lines only when stderr is a terminal; piped or redirected, no transient output.
const io: CliIo = terminalIo(process.stdout, process.stderr);

async function main(argv: string[]): Promise<number> {
  // NB: as the service: what the CLI creates when it opens DATA_DIR itself is its owner's only.
  process.umask(0o077);
  // NB: the same .env as the service, so the CLI finds the service's DATA_DIR or DATABASE_URL.
  try {
    loadEnvFile();
  } catch (error) {
    io.err(`prod-access: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  const loaded = loadConfig();
  if (!loaded.ok) {
    io.err(`prod-access: invalid environment:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return EXIT_USAGE;
  }
  const config = loaded.config;
  // NB: run on its own, the CLI can vouch only for the OS user it runs as; `--as` stays a claim.
  const operator = await processOperator();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', pino.destination(2));
  let opened: OpenedApp | undefined;
  const env: CliEnv = {
    io,
    operator,
    knownProviders: KNOWN_PROVIDERS,
    ...(config.slack ? { checkSlack: slackChecker(config.slack) } : {}),
    ...(config.auditSigningKeyFile ? { signer: signerFrom(config.auditSigningKeyFile) } : {}),
    // NB: on PostgreSQL the hashing threads read the log over connections of their own.
    chainChecker: () => new WorkerChainChecker(undefined, config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    app: async (options) => {
      if (opened) return opened;
      // NB: PGlite must never be opened by two processes. While a service holds DATA_DIR, the
      // command runs inside it; only when none does does the CLI open DATA_DIR itself.
      if (!config.databaseUrl) {
        // NB: before trusting its admin file: in a DATA_DIR others can write, anyone could plant one.
        assertPrivateDataDir(config.dataDir);
        const service = await findService(config.dataDir);
        if (service) throw new ServiceHoldsDatabase(service);
      }
      try {
        opened = await openApp(config, logger, { origin: { via: 'cli', osUser: operator.osUser, osUserFrom: operator.osUserFrom }, env: process.env, policyFrom: 'in-force', create: options?.create === true });
        // NB: said on stderr, so scripts reading stdout are unaffected: which data this answer comes from.
        if (!config.databaseUrl) io.err(`prod-access: no service is running on DATA_DIR ${config.dataDir}; using its embedded database directly\n`);
      } catch (error) {
        const service = error instanceof StoreError && error.code === 'locked' ? await waitForService(config.dataDir) : undefined;
        if (service) throw new ServiceHoldsDatabase(service);
        throw error;
      }
      return opened;
    },
  };
  try {
    return await runCli(argv, env);
  } catch (error) {
    if (error instanceof ServiceHoldsDatabase) {
      try {
        return await runThroughService(error.service, withAbsolutePaths(argv), io);
      } catch (remoteError) {
        io.err(`prod-access: ${(remoteError as Error).message}\n`);
        return EXIT_FAILED;
      }
    }
    // NB: an unexpected error may quote SQL and its parameters; the detail goes to the log only.
    logger.error({ err: error }, 'unexpected error');
    io.err(`prod-access: unexpected ${error instanceof Error ? error.name : 'error'}; run with LOG_LEVEL=debug or see the log line above for details\n`);
    return EXIT_FAILED;
  } finally {
    await opened?.close();
  }
}

/** The signing key, read once, when a command first needs it. */
function signerFrom(file: string): () => ReturnType<typeof readSigningKeyFile> {
  let loading: ReturnType<typeof readSigningKeyFile> | undefined;
  return () => (loading ??= readSigningKeyFile(file));
}

/** Options naming files the caller reads in a command that runs inside the service. */
const CALLER_FILE_OPTIONS = ['--public-key'];

/**
 * NB: a command run inside the service reads files from the service's working directory; paths the
 * caller gave relative to their own are made absolute first. Only the same OS user (or root) can reach
 * the service (its token file is 0600), so the files are readable there too.
 */
function withAbsolutePaths(argv: readonly string[]): string[] {
  return argv.map((arg, i) => {
    const previous = argv[i - 1];
    if (previous !== undefined && CALLER_FILE_OPTIONS.includes(previous)) return path.resolve(arg);
    const option = CALLER_FILE_OPTIONS.find((name) => arg.startsWith(`${name}=`));
    return option ? `${option}=${path.resolve(arg.slice(option.length + 1))}` : arg;
  });
}

/** `doctor`'s Slack check, with the token and Web API URL the service would use. */
function slackChecker(slack: NonNullable<Config['slack']>): (policy: Policy) => Promise<SetupFinding[]> {
  return (policy) => checkSlackSetup(new WebClient(slack.botToken, { ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}), retryConfig: { retries: 2 }, logLevel: LogLevel.ERROR }), policy);
}

/** A service that is starting holds the lock before it writes its admin file: give it a moment. */
async function waitForService(dataDir: string): Promise<AdminFile | undefined> {
  for (let i = 0; i < 20; i++) {
    const service = await findService(dataDir);
    if (service) return service;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
