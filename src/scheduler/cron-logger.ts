import type { Logger as CronLogger } from 'node-cron';
import type { Logger } from 'pino';

/** node-cron's own messages (missed ticks, …) through our logger instead of the console. */
export function cronLogger(log: Logger): CronLogger {
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message, err) => log.error({ err: err ?? message }, typeof message === 'string' ? message : 'node-cron error'),
    debug: (message, err) => log.debug({ err }, typeof message === 'string' ? message : message.message),
  };
}
