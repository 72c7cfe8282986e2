/**
 * pino loggers (DESIGN §11): fields first, constant messages, a child per component.
 * Library code never writes to the console; the CLI decides where logs go. Secrets are
 * redacted by path so a credential passed in a config or env map never reaches a log line.
 */
import { pino, destination, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  'env.AWS_SECRET_ACCESS_KEY',
  'env.AWS_SESSION_TOKEN',
  '*.env.AWS_SECRET_ACCESS_KEY',
  '*.env.AWS_SESSION_TOKEN',
];

export interface LoggerOptions {
  level?: string;
  /** Where to write; defaults to stderr so stdout stays free for command output. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['ALOFT_LOG_LEVEL'] ?? 'warn';
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    options.destination ?? destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything: the default for library components used as a library. */
export const silentLogger: Logger = pino({ level: 'silent' });
