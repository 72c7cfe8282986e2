/**
 * The one validated config loader (DESIGN §11): a schema, and sources merged in order
 * defaults < file < environment < flags. Every bad key of every source is collected and
 * thrown once as `AloftError.invalid(problems)`, each problem naming its source the way a
 * user would find it: `agent.yml: slots`, `env ALOFT_AGENT_SLOTS`, `--slots`.
 *
 * The file arrives already parsed (the caller owns the format: YAML parsing lives on the
 * submit side, and lib/ stays free of it). Unknown keys in the file and unknown variables
 * with the prefix are errors, with "did you mean" for near misses. Secret values never
 * appear in a message; `redactConfig` gives a copy fit for a log line.
 */
import { AloftError, type Problem } from '../errors/index.js';
import { didYouMean } from './did-you-mean.js';
import { parseValue } from './parse-value.js';
import { envName, flagName, type ConfigOf, type Schema } from './schema.js';

export interface ConfigFile {
  /** How messages name the file, e.g. `agent.yml` or its path. */
  name: string;
  /** The parsed content: a mapping, or null/undefined for an empty file. */
  data: unknown;
  /** Relative paths in the file resolve against this folder. */
  dir: string;
}

export interface LoadConfigOptions<S extends Schema> {
  schema: S;
  /** Environment variable prefix, e.g. `ALOFT_AGENT_`. */
  envPrefix: string;
  /** Names the config in messages about missing keys, e.g. `agent`. */
  what: string;
  file?: ConfigFile;
  env?: NodeJS.ProcessEnv;
  /** Flag values by flag name (without `--`), as node:util parseArgs returns them. */
  flags?: Record<string, string | boolean | string[] | undefined>;
  /** Relative paths from env and flags resolve against this (default process.cwd()). */
  cwd?: string;
  /** Checks across keys, run when every key on its own is valid. */
  validate?: (config: ConfigOf<S>) => Problem[];
}

export const REDACTED = '[redacted]';

function sourcesHint(key: string, schema: Schema, prefix: string): string {
  const field = schema[key];
  const flag = field ? flagName(key, field) : undefined;
  return (
    `set '${key}' in the config file, ${envName(prefix, key)} in the environment` +
    (flag ? ` or --${flag}` : '')
  );
}

/** Load and validate; throws AloftError INVALID_ARGUMENT listing every problem. */
export function loadConfig<S extends Schema>(opts: LoadConfigOptions<S>): ConfigOf<S> {
  const { schema, envPrefix } = opts;
  const cwd = opts.cwd ?? process.cwd();
  const keys = Object.keys(schema);
  const problems: Problem[] = [];
  /** Keys given with a bad value: already reported, not "missing" too. */
  const badKeys = new Set<string>();
  const values: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema)) {
    if (field.default !== undefined) values[key] = field.default;
  }

  const take = (
    key: string,
    raw: unknown,
    where: string,
    baseDir: string,
    fromFile: boolean,
  ): void => {
    const field = schema[key];
    if (!field) return;
    const parsed = parseValue(field, raw, baseDir, fromFile);
    if (parsed.ok) values[key] = parsed.value;
    else {
      problems.push({ where, message: parsed.message });
      badKeys.add(key);
    }
  };

  // file
  const file = opts.file;
  if (file && file.data !== null && file.data !== undefined) {
    if (typeof file.data !== 'object' || Array.isArray(file.data)) {
      problems.push({
        where: file.name,
        message: 'must be a mapping of settings (key: value)',
        hint: `known keys: ${keys.join(', ')}`,
      });
    } else {
      for (const [key, raw] of Object.entries(file.data as Record<string, unknown>)) {
        if (!Object.hasOwn(schema, key)) {
          const near = didYouMean(key, keys);
          problems.push({
            where: `${file.name}: ${key}`,
            message: 'unknown key',
            hint: near ? `did you mean '${near}'?` : `known keys: ${keys.join(', ')}`,
          });
          continue;
        }
        if (raw === null || raw === undefined) continue; // `key:` with no value = unset
        take(key, raw, `${file.name}: ${key}`, file.dir, true);
      }
    }
  }

  // environment
  const env = opts.env ?? {};
  const byEnv = new Map(keys.map((k) => [envName(envPrefix, k), k]));
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(envPrefix)) continue;
    const raw = env[name];
    if (raw === undefined) continue;
    const key = byEnv.get(name);
    if (key === undefined) {
      const near = didYouMean(name, [...byEnv.keys()]);
      problems.push({
        where: `env ${name}`,
        message: `unknown setting (variables starting with ${envPrefix} configure the ${opts.what})`,
        hint: near ? `did you mean ${near}?` : `known: ${[...byEnv.keys()].join(', ')}`,
      });
      continue;
    }
    take(key, raw, `env ${name}`, cwd, false);
  }

  // flags
  const flags = opts.flags ?? {};
  for (const [key, field] of Object.entries(schema)) {
    const name = flagName(key, field);
    if (name === undefined) continue;
    const raw = flags[name];
    if (raw === undefined) continue;
    take(key, Array.isArray(raw) ? raw.at(-1) : raw, `--${name}`, cwd, false);
  }

  // required
  for (const [key, field] of Object.entries(schema)) {
    if (field.required && values[key] === undefined && !badKeys.has(key)) {
      problems.push({
        where: `${opts.what} config: ${key}`,
        message: `is required${field.doc ? ` (${field.doc})` : ''}`,
        hint: sourcesHint(key, schema, envPrefix),
      });
    }
  }

  if (problems.length === 0 && opts.validate)
    problems.push(...opts.validate(values as ConfigOf<S>));
  if (problems.length > 0) {
    throw AloftError.invalid(
      problems,
      problems.length === 1 ? undefined : `${problems.length} problems in the ${opts.what} config`,
    );
  }
  return values as ConfigOf<S>;
}

/** A copy of a loaded config fit for logs and messages: secret values replaced. */
export function redactConfig<S extends Schema>(
  schema: S,
  config: ConfigOf<S>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    out[key] = schema[key]?.secret && value !== undefined ? REDACTED : value;
  }
  return out;
}

/** Lines describing every key (for a command's --help): key, env, flag, default, doc. */
export function describeSchema(schema: Schema, envPrefix: string): string[] {
  return Object.entries(schema).map(([key, field]) => {
    const flag = flagName(key, field);
    const dflt =
      field.default === undefined || field.secret
        ? ''
        : ` (default ${
            Array.isArray(field.default)
              ? field.default.join(',')
              : typeof field.default === 'object'
                ? Object.entries(field.default)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(',')
                : String(field.default)
          })`;
    return `  ${key}${flag ? `, --${flag}` : ''}, ${envName(envPrefix, key)}: ${field.doc ?? field.type}${field.required ? ' [required]' : ''}${dflt}`;
  });
}
