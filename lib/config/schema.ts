/**
 * Config schemas (DESIGN §11 "one validated loader per binary"): a flat record of typed
 * fields. The schema key is the key in a config file (`workDir`); the environment variable
 * is the prefix plus the key in upper snake case (`ALOFT_AGENT_WORK_DIR`); the flag is the
 * key in kebab case (`--work-dir`) unless the field names another (`flag: 'work'`).
 * `ConfigOf<S>` is the typed result of loading schema S.
 */

interface Base<T> {
  /** One line for --help and for "missing key" messages. */
  doc?: string;
  required?: boolean;
  default?: T;
  /** Values never appear in a message or log (they are replaced by `[redacted]`). */
  secret?: boolean;
  /** Flag name without `--` (default: the key in kebab case); `false` = no flag. */
  flag?: string | false;
  /** Further check of a well-typed value; returns what is wrong, or undefined. */
  check?: (value: T) => string | undefined;
}

export interface StringField extends Base<string> {
  type: 'string';
}
export interface IntegerField extends Base<number> {
  type: 'integer';
  min?: number;
  max?: number;
}
export interface NumberField extends Base<number> {
  type: 'number';
  min?: number;
  max?: number;
}
export interface BooleanField extends Base<boolean> {
  type: 'boolean';
}
/** `500ms`, `5s`, `2m`, `1h`, `1d`, or several (`1m30s`); the value is milliseconds. */
export interface DurationField extends Base<number> {
  type: 'duration';
  /** Bounds in milliseconds. */
  min?: number;
  max?: number;
}
/** A list of strings: a YAML sequence, or `a,b,c` from env/flags. */
export interface ListField extends Base<string[]> {
  type: 'list';
}
/** A map string→string: a YAML mapping, or `k=v,k2=v2` from env/flags. */
export interface MapField extends Base<Record<string, string>> {
  type: 'map';
}
export interface EnumField<V extends string = string> extends Base<V> {
  type: 'enum';
  values: readonly V[];
}
/** A filesystem path, made absolute: against the config file's folder for a value from the
 *  file, against the working directory for env and flags. */
export interface PathField extends Base<string> {
  type: 'path';
}

export type Field =
  | StringField
  | IntegerField
  | NumberField
  | BooleanField
  | DurationField
  | ListField
  | MapField
  | EnumField
  | PathField;

export type Schema = Record<string, Field>;

/** The TS type of one field's value. */
export type ValueOf<F> =
  F extends EnumField<infer V>
    ? V
    : F extends IntegerField | NumberField | DurationField
      ? number
      : F extends BooleanField
        ? boolean
        : F extends ListField
          ? string[]
          : F extends MapField
            ? Record<string, string>
            : string;

type Present<F> = F extends { required: true }
  ? true
  : F extends { default: unknown }
    ? true
    : false;

/** The loaded config: required and defaulted keys are always present, others optional. */
export type ConfigOf<S extends Schema> = {
  [K in keyof S as Present<S[K]> extends true ? K : never]: ValueOf<S[K]>;
} & {
  [K in keyof S as Present<S[K]> extends true ? never : K]?: ValueOf<S[K]>;
};

/** `workDir` → `WORK_DIR`. */
export function envName(prefix: string, key: string): string {
  return prefix + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `workDir` → `work-dir` (or the field's own flag name); undefined when it has no flag. */
export function flagName(key: string, field: Field): string | undefined {
  if (field.flag === false) return undefined;
  return field.flag ?? key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Flag specs for node:util parseArgs: one per field that has a flag (booleans take none). */
export function flagOptions(schema: Schema): Record<string, { type: 'string' | 'boolean' }> {
  const out: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [key, field] of Object.entries(schema)) {
    const name = flagName(key, field);
    if (name !== undefined) out[name] = { type: field.type === 'boolean' ? 'boolean' : 'string' };
  }
  return out;
}
