import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';

// NB: Slack's SDKs log free-text messages (pino's path redaction cannot see inside them); any token
// or bearer value in one is masked before it is written.
const SECRETS = /\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]+|Bearer\s+[A-Za-z0-9._~+/=-]+/g;

/** Bolt's and web-api's logger interface on our pino logger, with tokens masked in message text. */
export function toBoltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) =>
    msg
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m)))
      .join(' ')
      .replace(SECRETS, '[redacted]');
  // NB: Bolt logs at debug on every request; formatting (JSON of whole payloads) is skipped for
  // levels pino would drop anyway.
  return {
    debug: (...msg) => log.isLevelEnabled('debug') && log.debug(text(msg)),
    info: (...msg) => log.isLevelEnabled('info') && log.info(text(msg)),
    warn: (...msg) => log.isLevelEnabled('warn') && log.warn(text(msg)),
    error: (...msg) => log.isLevelEnabled('error') && log.error(text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
