import type { Logger as CronLogger } from 'node-cron';
import type { Logger } from 'pino';

/**
 * node-cron's own messages (missed ticks, …) through our logger instead of the console; its info
 * lines at debug level with `quietInfo` (a job that runs often and says nothing worth reading).
 */
export function cronLogger(log: Logger, options: { readonly quietInfo?: boolean } = {}): CronLogger {
  return {
    info: (message) => (options.quietInfo ? log.debug(message) : log.info(message)),
    warn: (message) => log.warn(message),
    error: (message, err) => log.error({ err: err ?? message }, typeof message === 'string' ? message : 'node-cron error'),
    debug: (message, err) => log.debug({ err }, typeof message === 'string' ? message : message.message),
  };
}
