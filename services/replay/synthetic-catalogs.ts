/**
 * Catalogs that make an imported WfCommons trace runnable (DESIGN §4, `aloft replay`):
 * every distinct job name becomes a transformation installed on site `local` (or on each of
 * the given compute sites) whose pfn is the agent's built-in synthetic task, and every input
 * that no job produces gets a replica on `local` under `inputsUrl`. Pure: the caller creates
 * the input files (see generate-inputs.ts).
 */
import type { ReplicaCatalog, TransformationCatalog, Workflow } from '../model/types.js';

export const SYNTHETIC_PFN = 'aloft:synthetic';
export const REPLAY_SITE = 'local';

export interface SyntheticCatalogs {
  transformations: TransformationCatalog;
  replicas: ReplicaCatalog;
}

/** Lfns read by some job and written by none, with the largest size any use declares. */
export function rootInputs(workflow: Workflow): Map<string, number> {
  const produced = new Set<string>();
  for (const job of workflow.jobs) {
    for (const use of job.uses) if (use.link !== 'input') produced.add(use.lfn);
  }
  const roots = new Map<string, number>();
  for (const job of workflow.jobs) {
    for (const use of job.uses) {
      if (use.link !== 'input' || produced.has(use.lfn)) continue;
      roots.set(use.lfn, Math.max(roots.get(use.lfn) ?? 0, use.size ?? 0));
    }
  }
  return roots;
}

/**
 * `sites`: the compute sites every synthetic transformation is installed on (default
 * [`local`]); the planner's site selection spreads the jobs over them.
 */
export function syntheticCatalogs(
  workflow: Workflow,
  inputsUrl: string,
  sites: readonly string[] = [REPLAY_SITE],
): SyntheticCatalogs {
  const base = inputsUrl.endsWith('/') ? inputsUrl : `${inputsUrl}/`;
  const names = [...new Set(workflow.jobs.map((j) => j.name))].sort();
  const installed = [...new Set(sites.length > 0 ? sites : [REPLAY_SITE])];
  return {
    transformations: {
      containers: [],
      transformations: names.map((name) => ({
        name,
        requires: [],
        profiles: {},
        metadata: {},
        sites: installed.map((site) => ({
          name: site,
          pfn: SYNTHETIC_PFN,
          type: 'installed' as const,
          bypass: false,
          profiles: {},
          metadata: {},
        })),
      })),
    },
    replicas: {
      replicas: [...rootInputs(workflow).keys()].sort().map((lfn) => ({
        lfn,
        pfns: [{ pfn: `${base}${lfn}`, site: REPLAY_SITE }],
        regex: false,
        metadata: {},
      })),
    },
  };
}
