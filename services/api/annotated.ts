/**
 * Profiles and metadata, which workflows, jobs, transformations, sites and containers all
 * carry (Pegasus' Python API `ProfileMixin` / `MetadataMixin`). Values are validated when
 * they are added and stored as strings, as the model wants them.
 */
import { AloftError } from '../../lib/errors/index.js';
import type { Metadata, Profiles } from '../model/types.js';
import { PROFILE_NAMESPACES } from '../formats/index.js';

export type ScalarValue = string | number | boolean;

const ENV_KEY = /^[A-Za-z0-9_.-]+$/;

export function scalarText(value: ScalarValue, where: string): string {
  if (typeof value === 'number' && !Number.isFinite(value))
    throw AloftError.invalid({ where, message: `${value} is not a usable value` });
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    throw AloftError.invalid({ where, message: 'must be a string, number or boolean' });
  return String(value);
}

function checkKey(key: string, where: string): void {
  if (key === '' || key.startsWith('x-'))
    throw AloftError.invalid({
      where,
      message: key === '' ? 'empty key' : `key '${key}' starts with 'x-', which readers ignore`,
    });
}

export abstract class Annotated {
  /** Profiles by namespace, as they will be written. */
  readonly profiles: Profiles = {};
  /** Metadata, as it will be written. */
  readonly metadata: Metadata = {};

  /** For error messages: `Job(preprocess)`, `Site(local)`. */
  protected abstract describe(): string;

  /**
   * Add profiles in one namespace (env, pegasus, condor, dagman, globus, hints, selector,
   * aloft): `addProfiles('env', { JAVA_HOME: '/opt/java' })`. Later values win.
   */
  addProfiles(namespace: string, values: Record<string, ScalarValue>): this {
    const where = `${this.describe()}.addProfiles(${JSON.stringify(namespace)})`;
    if (!PROFILE_NAMESPACES.has(namespace))
      throw AloftError.invalid({
        where,
        message: `unknown profile namespace '${namespace}'`,
        hint: `one of: ${[...PROFILE_NAMESPACES].join(', ')}`,
      });
    const target = (this.profiles[namespace] ??= {});
    for (const [key, value] of Object.entries(values)) {
      checkKey(key, where);
      if (namespace === 'env' && !ENV_KEY.test(key))
        throw AloftError.invalid({
          where,
          message: `${JSON.stringify(key)} is not a valid environment variable name`,
          hint: "use letters, digits, '_', '.' and '-' only",
        });
      target[key] = scalarText(value, `${where}: ${key}`);
    }
    return this;
  }

  /** Environment variables for the job(s): `addEnv({ PATH: '/usr/bin' })`. */
  addEnv(values: Record<string, ScalarValue>): this {
    return this.addProfiles('env', values);
  }

  /** Pegasus profiles: `addPegasusProfiles({ cores: 4, memory: 2048 })`. */
  addPegasusProfiles(values: Record<string, ScalarValue>): this {
    return this.addProfiles('pegasus', values);
  }

  addMetadata(values: Record<string, ScalarValue>): this {
    const where = `${this.describe()}.addMetadata`;
    for (const [key, value] of Object.entries(values)) {
      checkKey(key, where);
      this.metadata[key] = scalarText(value, `${where}: ${key}`);
    }
    return this;
  }
}

/** Copy profiles for a document (namespaces with no keys are left out). */
export function profilesDoc(profiles: Profiles): Profiles | undefined {
  const out: Profiles = {};
  for (const [ns, values] of Object.entries(profiles)) {
    if (Object.keys(values).length > 0) out[ns] = { ...values };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function metadataDoc(metadata: Metadata): Metadata | undefined {
  return Object.keys(metadata).length > 0 ? { ...metadata } : undefined;
}

/** Build a document object, leaving out keys whose value is undefined. */
export function compact(entries: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in entries) {
    const v = entries[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
