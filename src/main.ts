import { StoreError } from './app/errors';
import { loadConfig } from './config/env';
import { loadEnvFile, type EnvFileLoad } from './config/env-file';
import { createLogger } from './config/logger';
import { PolicyLoadError } from './service/open-app';
import { startService, StartupAborted, StartupError, type RunningService } from './service/start-service';

/** How long a shutdown may take before the process exits anyway (its lock and admin file are still removed). */
const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * The service's entry point: `node dist/main.js` in production, `npm start` to try it. SIGTERM
 * and SIGINT stop it cleanly at any moment, start-up included: a signal during start-up stops the
 * start after its current step and closes what it opened; a shutdown that hangs past the deadline,
 * or a second signal, ends the process at once, and exit hooks still remove its lock and admin file.
 */
async function main(): Promise<void> {
  let signalled: NodeJS.Signals | undefined;
  let stop: (() => void) | undefined;
  const starting = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      process.stderr.write(`prod-access: ${signal} again: exiting now\n`);
      process.exit(1);
    }
    signalled = signal;
    setTimeout(() => {
      process.stderr.write(`prod-access: did not stop within ${SHUTDOWN_DEADLINE_MS / 1000} s of ${signal}: exiting now\n`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    starting.abort();
    stop?.();
  };
  // NB: first of all, so that no signal finds the default handler, which kills without cleaning up.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // NB: whatever this process creates (the embedded database, its lock, the admin file) is born
  // readable by its owner only; the store also sets 0700/0600 itself, this closes the moment between.
  process.umask(0o077);
  let envFile: EnvFileLoad;
  try {
    envFile = loadEnvFile();
  } catch (error) {
    process.stderr.write(`prod-access: cannot start: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const loaded = loadConfig();
  if (!loaded.ok) {
    process.stderr.write(`prod-access: invalid environment:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\nSee .env.example.\n`);
    process.exit(2);
  }
  const config = loaded.config;
  const logger = createLogger(config.logLevel);
  if (envFile.loaded) {
    logger.info(
      { file: envFile.file, applied: envFile.applied, keptFromEnvironment: envFile.kept },
      `read ${envFile.applied.length} setting(s) from ${envFile.file}${envFile.kept.length > 0 ? `; already set in the environment, so not taken from it: ${envFile.kept.join(', ')}` : ''}`,
    );
  }
  let service: RunningService;
  try {
    service = await startService(config, logger, { env: process.env, abort: starting.signal });
  } catch (error) {
    if (error instanceof StartupAborted) {
      logger.info({ signal: signalled }, 'start-up interrupted; everything it had opened is closed');
      process.exit(0);
    }
    if (error instanceof StoreError && error.code === 'locked') {
      process.stderr.write(
        `prod-access: cannot start: another prod-access process already uses DATA_DIR ${config.dataDir} (${error.message}).\n` +
          'Only one process may open the embedded database. Stop the other one, choose another DATA_DIR, ' +
          'or run several replicas on a shared PostgreSQL with DATABASE_URL.\n',
      );
      process.exit(1);
    }
    if (error instanceof PolicyLoadError || error instanceof StartupError || (error instanceof StoreError && (error.code === 'exposed' || error.code === 'missing_database' || error.code === 'unavailable'))) {
      process.stderr.write(`prod-access: cannot start: ${error.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err: error }, 'prod-access failed to start');
    process.exit(signalled ? 0 : 1);
  }
  const running = service;
  stop = () => {
    logger.info({ signal: signalled }, 'shutting down');
    running
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  // NB: a signal that came during start-up is acted on now that there is something to close.
  if (signalled) stop();
}

void main();
