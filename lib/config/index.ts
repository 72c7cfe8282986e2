/** Public surface of the config loader: schemas, the loader, redaction. */
export {
  envName,
  flagName,
  flagOptions,
  type BooleanField,
  type ConfigOf,
  type DurationField,
  type EnumField,
  type Field,
  type IntegerField,
  type ListField,
  type MapField,
  type NumberField,
  type PathField,
  type Schema,
  type StringField,
  type ValueOf,
} from './schema.js';
export { parseDuration, formatDuration } from './parse-value.js';
export { didYouMean } from './did-you-mean.js';
export {
  describeSchema,
  loadConfig,
  redactConfig,
  REDACTED,
  type ConfigFile,
  type LoadConfigOptions,
} from './load-config.js';
export { setTogether } from './cross-checks.js';
