import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const redactPaths = [
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
];

/** The one root logger (STYLE §13): JSON lines, secrets redacted, user text under `input`. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'prod-access' }, redact: { paths: redactPaths, censor: '[redacted]' } }, destination);
}
