/**
 * Plan options: defaults (Pegasus' pegasus-plan defaults where it has one) and the
 * normalisation plan() applies before use (base URLs end in '/', lists copied).
 */
import type { PlanOptions } from './plan-types.js';
import { asBaseUrl } from './replicas.js';

/** Used only when a caller gives no storeRoot; the CLI and `aloft run` always pass one. */
export const DEFAULT_STORE_ROOT = 'file:///tmp/aloft-stores/';

export function defaultPlanOptions(overrides: Partial<PlanOptions> = {}): PlanOptions {
  const base: PlanOptions = {
    sites: [],
    outputSite: 'local',
    cleanup: 'inplace',
    cluster: [],
    reuse: false,
    force: false,
    siteSelector: 'random',
    seed: 1,
    defaultRetries: 3,
    storeRoot: DEFAULT_STORE_ROOT,
  };
  const merged: PlanOptions = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  return merged;
}

/** A copy with base URLs ending in '/' and de-duplicated lists, as recorded in the plan. */
export function normaliseOptions(options: PlanOptions): PlanOptions {
  const out: PlanOptions = {
    ...options,
    sites: [...new Set(options.sites)],
    cluster: [...new Set(options.cluster)],
    storeRoot: asBaseUrl(options.storeRoot),
  };
  if (options.outputUrl !== undefined) out.outputUrl = asBaseUrl(options.outputUrl);
  if (options.available !== undefined) out.available = [...options.available];
  if (options.existing !== undefined) out.existing = [...options.existing];
  return out;
}
