export {
  createLogger,
  silentLogger,
  REDACT_PATHS,
  type Logger,
  type LoggerOptions,
} from './logger.js';
