import { StoreError } from './app/errors';
import { loadConfig } from './config/env';
import { loadEnvFile, type EnvFileLoad } from './config/env-file';
import { createLogger } from './config/logger';
import { PolicyLoadError } from './service/open-app';
import { startService, StartupError } from './service/start-service';

async function main(): Promise<void> {
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
  let service;
  try {
    service = await startService(config, logger, { env: process.env });
  } catch (error) {
    if (error instanceof StoreError && error.code === 'locked') {
      process.stderr.write(
        `prod-access: cannot start: another prod-access process already uses DATA_DIR ${config.dataDir} (${error.message}).\n` +
          'Only one process may open the embedded database. Stop the other one, choose another DATA_DIR, ' +
          'or run several replicas on a shared PostgreSQL with DATABASE_URL.\n',
      );
      process.exit(1);
    }
    if (error instanceof PolicyLoadError || error instanceof StartupError || (error instanceof StoreError && error.code === 'exposed')) {
      process.stderr.write(`prod-access: cannot start: ${error.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err: error }, 'prod-access failed to start');
    process.exit(1);
  }
  const running = service;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
