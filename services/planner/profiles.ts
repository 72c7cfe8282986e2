/**
 * Profiles (Pegasus 5): merging and reading the keys the planner understands.
 *
 * Merge order, low to high precedence, per namespace and key: site catalog profiles of the
 * chosen site < transformation profiles < transformation-site profiles < container profiles
 * < workflow profiles < job profiles. Keys of the condor and dagman namespaces are read
 * case-insensitively (HTCondor and DAGMan ignore case; Pegasus writes `RETRY` and `retry`
 * alike).
 */
import type { Profiles } from '../model/index.js';
import type { Resources } from './plan-types.js';

export function mergeProfiles(layers: readonly (Profiles | undefined)[]): Profiles {
  const out: Profiles = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const ns of Object.keys(layer)) {
      const values = layer[ns];
      if (!values) continue;
      const target = (out[ns] ??= {});
      for (const key of Object.keys(values)) target[key] = values[key]!;
    }
  }
  return out;
}

/** No namespace holds a key (runs once per job: for-in, no key lists). */
export function isEmptyProfiles(p: Profiles): boolean {
  for (const ns in p) {
    if (!Object.hasOwn(p, ns)) continue;
    const values = p[ns];
    for (const key in values) if (Object.hasOwn(values, key)) return false;
  }
  return true;
}

const CASE_INSENSITIVE = new Set(['condor', 'dagman']);

/** A profile value, or undefined. */
export function profile(p: Profiles, ns: string, key: string): string | undefined {
  const values = p[ns];
  if (!values) return undefined;
  const exact = values[key];
  if (exact !== undefined || !CASE_INSENSITIVE.has(ns)) return exact;
  const lower = key.toLowerCase();
  for (const k of Object.keys(values)) if (k.toLowerCase() === lower) return values[k];
  return undefined;
}

export interface NumberRule {
  integer: boolean;
  min: number;
}

const POSITIVE_INT: NumberRule = { integer: true, min: 1 };
const NON_NEGATIVE_INT: NumberRule = { integer: true, min: 0 };
const NON_NEGATIVE: NumberRule = { integer: false, min: 0 };

/** Parse a numeric profile; `bad` receives a sentence when the value is not acceptable. */
export function numberProfile(
  p: Profiles,
  ns: string,
  key: string,
  rule: NumberRule,
  bad: (message: string, hint: string) => void,
): number | undefined {
  const raw = profile(p, ns, key);
  if (raw === undefined) return undefined;
  const v = Number(String(raw).trim());
  if (
    String(raw).trim() === '' ||
    !Number.isFinite(v) ||
    (rule.integer && !Number.isInteger(v)) ||
    v < rule.min
  ) {
    const what = `${rule.integer ? 'an integer' : 'a number'} >= ${rule.min}`;
    bad(
      `profile ${ns}.${key} is ${JSON.stringify(raw)}, not ${what}`,
      `set ${ns}.${key} to ${what}`,
    );
    return undefined;
  }
  return v;
}

/** Integers that may be negative (priorities). */
export function integerProfile(
  p: Profiles,
  ns: string,
  key: string,
  bad: (message: string, hint: string) => void,
): number | undefined {
  return numberProfile(p, ns, key, { integer: true, min: -Number.MAX_SAFE_INTEGER }, (_m, _h) =>
    bad(
      `profile ${ns}.${key} is ${JSON.stringify(profile(p, ns, key))}, not an integer`,
      `set ${ns}.${key} to a whole number`,
    ),
  );
}

/**
 * Resources from merged profiles: pegasus.cores (else condor.request_cpus, default 1),
 * pegasus.memory MB (else condor.request_memory, default 0 = unspecified),
 * pegasus.diskspace MB, pegasus.runtime s, pegasus.gpus (else condor.request_gpus).
 */
export function resourcesOf(p: Profiles, bad: (message: string, hint: string) => void): Resources {
  const first = (
    a: [string, string],
    b: [string, string] | undefined,
    rule: NumberRule,
  ): number | undefined =>
    profile(p, a[0], a[1]) !== undefined
      ? numberProfile(p, a[0], a[1], rule, bad)
      : b
        ? numberProfile(p, b[0], b[1], rule, bad)
        : undefined;
  return {
    cores: first(['pegasus', 'cores'], ['condor', 'request_cpus'], POSITIVE_INT) ?? 1,
    memoryMb: first(['pegasus', 'memory'], ['condor', 'request_memory'], NON_NEGATIVE) ?? 0,
    diskMb: first(['pegasus', 'diskspace'], undefined, NON_NEGATIVE) ?? 0,
    runtimeSec: first(['pegasus', 'runtime'], undefined, NON_NEGATIVE) ?? 0,
    gpus: first(['pegasus', 'gpus'], ['condor', 'request_gpus'], NON_NEGATIVE_INT) ?? 0,
  };
}

export function defaultResources(): Resources {
  return { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 };
}

/**
 * The resources of every helper job (transfers, registration, cleanup): one frozen object
 * shared by all of them, as plans are data to read.
 */
export const HELPER_RESOURCES: Resources = Object.freeze(defaultResources());

export { POSITIVE_INT, NON_NEGATIVE_INT };
